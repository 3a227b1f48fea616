#!/bin/sh
# frontend_errors.sh -- `lunac ir` on every bad script in tests/errors/ exits
# non-zero and prints the message the script's "-- expect:" line gives on
# stderr (a "-- defs: k=v ..." line adds -D flags); the models in models/
# load. Prints "ok - NAME" / "not ok - NAME: why".
cd "$(dirname "$0")/../.." || exit 2
if [ ! -x bin/lunac ]; then
	echo "not ok - frontend_errors: bin/lunac is not built"; exit 1
fi
status=0
err=$(mktemp); trap 'rm -f "$err"' EXIT
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
exit $status
