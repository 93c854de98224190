#!/usr/bin/env bash
# Install everything from this repository's own files, then run every check:
# lint (ruff), types (mypy --strict on src/), the whole test suite (pytest), and Django's own
# staticfiles test suite against corral's drop-in (docs/django-compat.md); then the same
# Django checks on every other supported Django (the matrix below).
#
# Needs: root for the Debian packages scripts/install-system-deps.sh installs when missing,
# and network access to PyPI (packages, and the Django source distributions the conformance
# runs download once into ~/.cache/corral/django-sdist). Without either, run the suite alone:
# `python -m pytest -n 2` in an environment with `pip install -e '.[test]'`.
#
# Environment: CORRAL_VENV         the virtual environment made when none is active
#                                 (default .venv in this checkout)
#              CORRAL_MATRIX_DIR  where the matrix's virtual environments are kept and reused
#                                 (default ~/.cache/corral/matrix)
#              CORRAL_MATRIX=0    skip the matrix (with CI=true it always runs)
#              CORRAL_MATRIX=only run the matrix alone
set -euo pipefail
cd "$(dirname "$0")/.."

# Django 6.0 and 6.1 need Python 3.12 or later; each runs on Python 3.13, in a virtual
# environment of its own: the newest (the last here) the whole suite, the others corral's
# Django tests; then each its own Django's staticfiles tests. Django 5.2 is the default
# environment's (the `test` extra pins it).
DJANGO_MATRIX=(6.0.10 6.1.3)
MATRIX_PYTHON=3.13

bash scripts/install-system-deps.sh
bash scripts/install-serving-deps.sh

# Outside a virtual environment (CI runs on a machine's own Python), make one: packages
# installed system-wide, pytest plugins above all, must not change what the suite does.
if ! python -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  venv=${CORRAL_VENV:-$PWD/.venv}
  [ -x "$venv/bin/python" ] || python -m venv "$venv"
  export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH
  echo "scripts/test.sh: running in the virtual environment $venv"
fi
if [ "${CORRAL_MATRIX:-1}" != only ]; then
  python -m pip install --quiet -e '.[test]'
  python -m ruff check .
  python -m ruff format --check .
  python -m mypy
  # Every core: the suite is mostly waiting on real servers and subprocesses.
  python -m pytest -n "${CORRAL_TEST_JOBS:-auto}" "$@"
  python scripts/django_conformance.py --quiet
fi

find_python() {
  # The interpreter's own path (a pyenv shim on PATH may name a version it can't run).
  local version=$1 candidate found
  for candidate in "python$version" /root/.pyenv/versions/"$version".*/bin/python "$HOME"/.pyenv/versions/"$version".*/bin/python; do
    if found=$("$candidate" -c "import sys; assert sys.version.startswith('$version.'); print(sys.executable)" 2>/dev/null); then
      echo "$found"
      return 0
    fi
  done
  return 1
}

if [ "${CI:-}" != true ] && [ "${CORRAL_MATRIX:-1}" = 0 ]; then
  echo "scripts/test.sh: CORRAL_MATRIX=0: the Django ${DJANGO_MATRIX[*]} runs are skipped" >&2
  exit 0
fi
if ! interpreter=$(find_python "$MATRIX_PYTHON"); then
  message="no Python $MATRIX_PYTHON (python$MATRIX_PYTHON on PATH or under ~/.pyenv/versions/) for Django ${DJANGO_MATRIX[*]}"
  if [ "${CI:-}" = true ]; then
    echo "scripts/test.sh: error: $message" >&2
    exit 1
  fi
  echo "scripts/test.sh: warning: $message: those runs are skipped" >&2
  exit 0
fi
matrix_dir=${CORRAL_MATRIX_DIR:-$HOME/.cache/corral/matrix}
stamp_source=$({ cat pyproject.toml; "$interpreter" -VV; } | sha256sum | cut -c1-16)
for version in "${DJANGO_MATRIX[@]}"; do
  venv="$matrix_dir/py$MATRIX_PYTHON-django$version"
  stamp="$stamp_source django==$version"
  # Reused while pyproject.toml and the interpreter are the same (corral itself is
  # installed editable from this checkout, below).
  if [ "$(cat "$venv/.corral-stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    "$interpreter" -m venv "$venv"
    # The `test` extra's requirements, with this Django in place of its pin.
    mapfile -t requirements < <("$venv/bin/python" -c '
import re, tomllib
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]
for requirement in extras["test"]:
    if re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0].lower() != "django":
        print(requirement)
')
    "$venv/bin/python" -m pip install --quiet -e . "${requirements[@]}" "django==$version"
    echo "$stamp" > "$venv/.corral-stamp"
  fi
  # A reused environment may point at another checkout's sources: point it at this one.
  "$venv/bin/python" -m pip install --quiet --no-deps -e .
  echo "== Django $version on $("$venv/bin/python" -V)"
  if [ "$version" = "${DJANGO_MATRIX[-1]}" ]; then
    "$venv/bin/python" -m pytest -n "${CORRAL_TEST_JOBS:-auto}" -q
  else
    "$venv/bin/python" -m pytest -n "${CORRAL_TEST_JOBS:-auto}" -q tests/contrib/django
  fi
  "$venv/bin/python" scripts/django_conformance.py --quiet
done
