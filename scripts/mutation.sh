#!/usr/bin/env bash
# A time-boxed mutation run (mutmut) of some of corral's modules against some of its
# tests. Not part of CI (.ci/run): see docs/testing.md for what it is for, the runs made
# and their scores.
#
#   bash scripts/mutation.sh MINUTES 'src/corral/loadpath.py src/corral/digest.py' \
#       'tests/test_loadpath.py tests/test_publish.py' [PYTEST ARGS...]
#
# The tree is copied (git archive HEAD) into a scratch directory, so the checkout is
# never mutated; mutmut runs in its own virtualenv (MUT_VENV), one mutant at a time.
# Extra PYTEST ARGS (e.g. --deselect=...) go to every test run: deselect tests that run
# corral in a subprocess (`python -m corral`), which can't see mutmut's configuration.
# Results stay in the scratch directory: `cd DIR && $MUT_VENV/bin/mutmut results`.
set -euo pipefail
minutes=$1 modules=$2 tests=$3
shift 3
checkout=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
venv=${MUT_VENV:-/tmp/corral-mut-venv}
work=$(mktemp -d /tmp/corral-mut-XXXXXX)
if [ ! -x "$venv/bin/mutmut" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q mutmut==3.8.1 pytest==9.0.3 hypothesis==6.155.2 orjson brotli zstandard
fi
git -C "$checkout" archive HEAD | tar -x -C "$work"
cd "$work"
{
    echo "[mutmut]"
    echo "source_paths=src/corral/"
    echo "only_mutate="
    for m in $modules; do echo "    $m"; done
    echo "pytest_add_cli_args_test_selection="
    for t in $tests; do echo "    $t"; done
    echo "pytest_add_cli_args="
    printf '    %s\n' -p no:cacheprovider "$@"
    echo "also_copy="
    echo "    src/"
} > setup.cfg
echo "mutating in $work (commit $(git -C "$checkout" rev-parse --short HEAD), $(date -u +%FT%TZ))"
status=0
timeout "$((minutes * 60))" nice -n 19 "$venv/bin/mutmut" run --max-children 1 || status=$?
[ "$status" = 124 ] && echo "time box of $minutes minutes reached: the rest is 'not checked'"
"$venv/bin/mutmut" results --all true | sed 's/.*: //' | sort | uniq -c
echo "results: cd $work && $venv/bin/mutmut results"
