#!/bin/sh
# frontend_errors.sh -- `lunac ir` on every bad script in tests/errors/ exits
# non-zero and prints the message the script's "-- expect:" line gives on
# stderr, and each "-- expect-also:" line's text (the call chain) after it
# (a "-- defs: k=v ..." line adds -D flags); the models in models/ load.
# Prints "ok - NAME" / "not ok - NAME: why".
cd "$(dirname "$0")/../.." || exit 2
if [ ! -x bin/lunac ]; then
	echo "not ok - frontend_errors: bin/lunac is not built"; exit 1
fi
status=0
err=$(mktemp); trap 'rm -f "$err"' EXIT
# Print the first "-- expect-also:" text of script $1 that is not a whole
# line of stderr after the line before it (they must come in order).
also_missing() {
	sed -n 's/^-- expect-also: //p' "$1" | awk -v errf="$err" '
		BEGIN { n = 0; while ((getline l < errf) > 0) lines[++n] = l; at = 1 }
		{ while (at <= n && lines[at] != $0) at++
		  if (at > n) { print; exit } at++ }'
}
for f in tests/errors/*.lua; do
	name=$(basename "$f" .lua)
	expect=$(sed -n 's/^-- expect: //p' "$f" | head -1)
	defs=$(sed -n 's/^-- defs: //p' "$f" | head -1)
	flags=""
	for d in $defs; do flags="$flags -D $d"; done
	# shellcheck disable=SC2086
	bin/lunac ir "$f" $flags >/dev/null 2>"$err"; rc=$?
	if [ -z "$expect" ]; then
		echo "not ok - error $name: no '-- expect:' line"; status=1
	elif [ "$rc" -eq 0 ]; then
		echo "not ok - error $name: lunac exited 0"; status=1
	elif ! grep -qF -- "$expect" "$err"; then
		echo "not ok - error $name: stderr lacks \"$expect\": $(head -3 "$err")"; status=1
	elif missing=$(also_missing "$f") && [ -n "$missing" ]; then
		echo "not ok - error $name: stderr lacks the line \"$missing\": $(cat "$err")"; status=1
	else
		echo "ok - error $name"
	fi
done
for m in models/tiny_cnn.lua models/mlp.lua models/attn_test.lua; do
	if bin/lunac ir "$m" >/dev/null 2>"$err"; then
		echo "ok - loads $m"
	else
		echo "not ok - loads $m: $(head -3 "$err")"; status=1
	fi
done
# The caps can be changed: lowered, a model that fits the defaults is stopped
# at its line; a cap of 0 is a usage error.
cap() {
	name=$1; expect=$2; want_rc=$3; shift 3
	bin/lunac ir "$@" >/dev/null 2>"$err"; rc=$?
	if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$expect" "$err"; then
		echo "not ok - $name: exit $rc, $(head -2 "$err")"; status=1
	else
		echo "ok - $name"
	fi
}
cap "--lua-instructions lowers the budget" "instruction budget of 1000 exhausted" 1 --lua-instructions 1000 models/attn_test.lua
cap "--lua-memory lowers the cap" "models/drifa_net.lua:62: memory limit of 96 KiB exceeded" 1 --lua-memory 96K models/drifa_net.lua
cap "--lua-memory 0 is refused" "--lua-memory: expected a size" 2 --lua-memory 0 models/tiny_cnn.lua
exit $status
