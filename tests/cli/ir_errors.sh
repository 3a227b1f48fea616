#!/bin/sh
# ir_errors.sh -- IR text is held to the same rules as a model script.
#
# Every tests/errors/ir/X.ir is refused by `lunac ir` and by `lunac build`
# with the message its "# expect: " line gives (it names the file and
# line), and build leaves nothing behind. Their unmodified base graphs are
# accepted, so each refusal comes from the one line that differs. Then: a
# NUL byte in IR text, the size limit and --max-bytes, and a parameter
# name of 5000 characters end to end (ir, IR text round trip, build, the
# executable's weights file). Prints "ok - NAME" / "not ok - NAME: why".
cd "$(dirname "$0")/../.." || exit 2
if [ ! -x bin/lunac ]; then
	echo "not ok - ir_errors: bin/lunac is not built"; exit 1
fi
status=0
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

ok() { echo "ok - $1"; }
bad() { echo "not ok - $1: $2"; status=1; }

# refused NAME EXPECT CMD...: CMD exits non-zero with EXPECT on stderr.
refused() {
	name=$1; expect=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; rc=$?
	if [ "$rc" -eq 0 ]; then
		bad "$name" "exited 0"
	elif ! grep -qF -- "$expect" "$T/err"; then
		bad "$name" "stderr lacks \"$expect\": $(head -3 "$T/err")"
	else
		ok "$name"
	fi
}

# accepted NAME CMD...: CMD exits 0.
accepted() {
	name=$1; shift
	if "$@" >"$T/out" 2>"$T/err"; then ok "$name"; else bad "$name" "$(head -3 "$T/err")"; fi
}

for f in tests/errors/ir/*.ir; do
	name=$(basename "$f" .ir)
	expect=$(sed -n 's/^# expect: //p' "$f" | head -1)
	if [ -z "$expect" ]; then
		bad "ir error $name" "no '# expect:' line"; continue
	fi
	refused "ir error $name (ir)" "$expect" bin/lunac ir "$f"
	refused "ir error $name (build)" "$expect" bin/lunac build "$f" -o "$T/exe"
	if [ -e "$T/exe" ] || ls "$T" | grep -q tmp; then
		bad "ir error $name (build)" "left files behind: $(ls "$T")"
	fi
done

# The bases the error files were made from are fine.
grep -v '^# expect' tests/errors/ir/task_classes.ir | sed 's/classes=5/classes=3/' >"$T/task.ir"
accepted "ir base: task model" bin/lunac ir "$T/task.ir"
grep -v '^# expect' tests/errors/ir/bn_eps_zero.ir | sed 's/eps=0 /eps=0.001 /' >"$T/bn.ir"
accepted "ir base: batch norm" bin/lunac ir "$T/bn.ir"

# A NUL byte would end the text early: the rest of the file would vanish.
{ printf 'graph n\n%%0 = input "x" : f32[N,4]\n'; printf '%%1 = relu %%0\0 junk\n'; printf 'output "y" %%1\n'; } >"$T/nul.ir"
refused "ir: NUL byte" "$T/nul.ir:3: a NUL byte in IR text" bin/lunac ir "$T/nul.ir"

# A node count past IR_MAXNODES (the frontend's cap too) is refused at its
# line, before the verifier's walks could take long.
awk 'BEGIN { print "graph big"; print "%0 = input \"x\" : f32[N,1]";
	for (i = 1; i <= 1048577; i++) printf "%%%d = relu %%%d\n", i, i - 1 }' >"$T/many.ir"
refused "ir: too many nodes" "$T/many.ir:1048578: the graph has more than 1048576 nodes" bin/lunac ir "$T/many.ir"

# The limit: exactly 2^34 bytes of parameters pass, one float more does not;
# --max-bytes raises it for ir and stats, and is checked itself.
printf 'graph s\n%%0 = param "w" init=zeros : f32[4294967296]\noutput "y" %%0\n' >"$T/at.ir"
printf 'graph s\n%%0 = param "w" init=zeros : f32[4294967297]\noutput "y" %%0\n' >"$T/over.ir"
accepted "limit: 16 GiB of parameters is allowed" bin/lunac ir "$T/at.ir"
refused "limit: 16 GiB + 4 bytes is refused" "$T/over.ir:2: param \"w\": the model's parameters reach 17179869188 bytes" \
	bin/lunac ir "$T/over.ir"
sed 1d tests/errors/ir/size_params.ir >"$T/big.ir"
accepted "limit: --max-bytes 32G accepts 20 GB (ir)" bin/lunac ir --max-bytes 32G "$T/big.ir"
accepted "limit: --max-bytes=32G accepts 20 GB (stats)" bin/lunac stats --max-bytes=32G "$T/big.ir"
if grep -q -- '-[0-9]' "$T/out" || ! grep -q 'parameters *5000000000 trainable' "$T/out"; then
	bad "limit: stats counts 5e9 parameters" "$(cat "$T/out")"
else
	ok "limit: stats counts 5e9 parameters"
fi
refused "limit: --max-bytes 1K refuses tiny_cnn" "over the limit of 1 KiB" bin/lunac ir --max-bytes 1K models/tiny_cnn.lua
accepted "limit: --max-bytes 20000000 (plain bytes) accepts tiny_cnn" bin/lunac ir --max-bytes 20000000 models/tiny_cnn.lua
for v in 0 -5 12X 2P 1e9 ""; do
	refused "limit: --max-bytes '$v' is refused" "--max-bytes: expected a size from 1 to 1P" bin/lunac ir --max-bytes "$v" "$T/at.ir"
done

# A parameter name of 5000 characters works end to end.
cat >"$T/long.lua" <<'EOF'
local n = string.rep("a", 4990) .. ".long.name"
local x = input("x", {4})
local y = dense(x, param(n, {3, 4}), param("b", {3}, "zeros"))
task("t", y)
EOF
if bin/lunac ir "$T/long.lua" >"$T/long.ir" 2>"$T/err" && grep -q "$(printf 'a%.0s' $(seq 1 50))" "$T/long.ir"; then
	ok "long name: lunac ir"
else
	bad "long name: lunac ir" "$(head -c 300 "$T/err")"
fi
if bin/lunac ir "$T/long.ir" >"$T/long2.ir" 2>"$T/err" && cmp -s "$T/long.ir" "$T/long2.ir"; then
	ok "long name: the printed IR reads back to the same IR"
else
	bad "long name: the printed IR reads back to the same IR" "$(head -c 300 "$T/err")"
fi
accepted "long name: training IR" bin/lunac ir --entry=train_adam "$T/long.lua"
n=$(grep -o 'opt\.m\.a*\.long\.name' "$T/out" | head -1 | wc -c)
if [ "$n" -eq 5007 ]; then ok "long name: optimizer state keeps the whole name"; else bad "long name: optimizer state keeps the whole name" "length $n"; fi
accepted "long name: lunac build (script)" bin/lunac build "$T/long.lua" -o "$T/long_exe"
accepted "long name: lunac build (IR text)" bin/lunac build "$T/long.ir" -o "$T/long_exe2"
accepted "long name: init writes the weights" "$T/long_exe" init -o "$T/w.safetensors"
if grep -q "$(printf 'a%.0s' $(seq 1 4990)).long.name" "$T/w.safetensors"; then
	ok "long name: the weights file holds the whole name"
else
	bad "long name: the weights file holds the whole name" "not found"
fi
exit $status
