#!/usr/bin/env bash
# Install everything from this repository's own files, then run every check:
# lint (ruff), types (mypy --strict on src/), the whole test suite (pytest), and Django's own
# staticfiles test suite against corral's drop-in (docs/django-compat.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/install-serving-deps.sh
python -m pip install --quiet -e '.[test]'
python -m ruff check .
python -m ruff format --check .
python -m mypy
# Every core: the suite is mostly waiting on real servers and subprocesses.
python -m pytest -n "${CORRAL_TEST_JOBS:-auto}" "$@"
python scripts/django_conformance.py --quiet
