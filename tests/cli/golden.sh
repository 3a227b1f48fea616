#!/bin/sh
# golden.sh -- IR golden tests: the printed IR is the oracle.
#
# Each tests/golden/*.expected starts with a line "# lunac ARGS"; the rest is
# what `bin/lunac ARGS` must print (stdout and stderr together). To accept
# new output after a deliberate change: `make golden` (UPDATE=1), then read
# the diff before committing it.
cd "$(dirname "$0")/../.." || exit 2
status=0
for f in tests/golden/*.expected; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .expected)
	args=$(head -1 "$f" | sed -n 's/^# lunac //p')
	if [ -z "$args" ]; then
		echo "not ok - golden $name: first line must be '# lunac ARGS'"; status=1; continue
	fi
	out=$(mktemp)
	# shellcheck disable=SC2086
	bin/lunac $args >"$out" 2>&1
	if [ "${UPDATE:-0}" = 1 ]; then
		{ head -1 "$f"; cat "$out"; } >"$f.new" && mv "$f.new" "$f"
		echo "ok - golden $name (updated)"
	elif tail -n +2 "$f" | diff -u - "$out" >"$out.diff"; then
		echo "ok - golden $name"
	else
		echo "not ok - golden $name: printed IR differs (make golden to accept):"
		head -40 "$out.diff" | sed 's/^/    /'
		status=1
	fi
	rm -f "$out" "$out.diff"
done
exit $status
