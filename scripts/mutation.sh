#!/usr/bin/env bash
# Mutation testing of one module against its tests, in a throw-away clone (mutmut writes a
# mutants/ tree and a cache that must not land in the working copy).
#   scripts/mutation.sh pgm_ar/counting.py tests/test_counting.py
# Prints mutmut's summary and the survivors; `mutmut show NAME` in the printed folder shows one.
set -euo pipefail
module=${1:?usage: scripts/mutation.sh MODULE.py TESTS...}
shift
tests=${*:?name the test files that should kill the module\'s mutants}
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
git clone -q "$root" "$work/repo"
cp "$root/$module" "$work/repo/$module"   # uncommitted edits count too
cd "$work/repo"
cat >> setup.cfg <<CFG
[mutmut]
source_paths=$module
pytest_add_cli_args_test_selection=$tests
also_copy=pgm_ar
CFG
mutmut=$(dirname "$py")/mutmut
OMP_NUM_THREADS=1 "$mutmut" run >/dev/null 2>&1 || true
"$mutmut" results --all true 2>/dev/null | awk -F': ' '{n[$2]++; t++}
    END {printf "killed %d of %d mutants (%.1f%%)\n", n["killed"], t, 100 * n["killed"] / (t ? t : 1)}'
"$mutmut" results 2>/dev/null | grep ": survived" || true
echo "mutants and cache: $work/repo (mutmut show NAME there)"
