#!/bin/sh
# tests/run.sh -- run every test and print "N passed, N failed".
#
# A test is a program in build/tests/ (from tests/unit/test_*.c) or a shell
# script tests/cli/*.sh; each prints "ok - NAME" / "not ok - NAME: why"
# lines. A test that exits non-zero without printing a "not ok" line, or
# crashes, counts as one failure. With --asan only the unit programs run
# (built with AddressSanitizer into build-asan/).
cd "$(dirname "$0")/.." || exit 2
B=${LUNAC_TEST_BUILD:-build}
export LUNAC_TEST_BUILD=$B
log=$(mktemp); trap 'rm -f "$log"' EXIT
pass=0; fail=0

# Run one test command; fold its ok/not ok lines into the totals.
run_one() {
	name=$1; shift
	"$@" >"$log" 2>&1; rc=$?
	p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^not ok - ' "$log")
	grep '^not ok - ' "$log" | sed "s|^|[$name] |"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "[$name] not ok - exited with status $rc"; tail -5 "$log" | sed "s|^|[$name]   |"
		f=1
	fi
	echo "$name: $p passed, $f failed" >&2
	pass=$((pass + p)); fail=$((fail + f))
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
if [ "$1" != "--asan" ]; then
	for t in tests/cli/*.sh; do
		[ -f "$t" ] || continue
		run_one "$(basename "$t" .sh)" sh "$t"
	done
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
