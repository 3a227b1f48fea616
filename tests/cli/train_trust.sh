#!/bin/sh
# tests/cli/train_trust.sh -- what training tells a new user (issue 11):
# batch norm's default momentum and DRIFA-Net's -D bn_momentum, training
# accuracy from the train entries (compiled models, one and two tasks) in
# the epoch lines, the progress bar and metrics.jsonl, the note when
# validation sits at chance, the class-count check of train and eval, the
# header's schedule, the resume hint after SIGINT/SIGTERM, init's tensor
# count and the plateau threshold (--min-delta).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }
# check NAME CMD...: ok when CMD succeeds.
check() { n=$1; shift; if "$@" >"$tmp/check.out" 2>&1; then ok "$n"; else notok "$n" "$(head -c 400 "$tmp/check.out")"; fi; }
# expect_status NAME WANT CMD...: the exit status is WANT; stdout in $tmp/out, stderr in $tmp/err.
expect_status() {
	n=$1; want=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$n"; else notok "$n" "exit $rc, wanted $want: $(head -c 300 "$tmp/err")"; fi
}
# err_has NAME TEXT: the last command's stderr mentions TEXT.
err_has() { if grep -qF -- "$2" "$tmp/err"; then ok "$1"; else notok "$1" "stderr lacks '$2': $(head -c 400 "$tmp/err")"; fi; }
# err_lacks NAME TEXT: the last command's stderr does not mention TEXT.
err_lacks() { if ! grep -qF -- "$2" "$tmp/err"; then ok "$1"; else notok "$1" "stderr has '$2'"; fi; }

if [ ! -x bin/lunac ] || [ ! -f lib/liblunacrt.a ]; then
	notok "build" "bin/lunac or lib/liblunacrt.a is not built (run make)"
	exit 0
fi

# ---- 1. batch norm's momentum ---------------------------------------------------
cat >"$tmp/bn.lua" <<'EOF'
local nn = require "nn"
local x = input("x", {2, 4, 4})
local y = relu(nn.batchnorm("bn", nn.conv2d("c", x, 2, 3, {pad = 1})))
local m = buffer("m", {2}, "zeros")
y = batchnorm(y, param("g", {2}, "ones"), param("b", {2}, "zeros"), m, buffer("v", {2}, "ones"))
task("t", nn.dense("fc", gavg(y), 3))
EOF
bin/lunac ir "$tmp/bn.lua" >"$tmp/bn.ir" 2>&1
n=$(grep -c 'batchnorm.* momentum=0\.1 ' "$tmp/bn.ir")
if [ "$n" -eq 2 ]; then ok "nn.batchnorm and batchnorm default to momentum 0.1 (PyTorch's)"
else notok "batch norm's default momentum" "$(grep batchnorm "$tmp/bn.ir")"; fi
D="-D size=32 -D width=0.125 -D blocks=1"
# shellcheck disable=SC2086
bin/lunac ir models/drifa_net.lua $D >"$tmp/d.ir" 2>&1
# shellcheck disable=SC2086
bin/lunac ir models/drifa_net.lua $D -D bn_momentum=0.01 >"$tmp/d01.ir" 2>&1
all=$(grep -c ' = batchnorm ' "$tmp/d.ir")
a=$(grep -c 'batchnorm.* momentum=0\.1 ' "$tmp/d.ir")
b=$(grep -c 'batchnorm.* momentum=0\.01 ' "$tmp/d01.ir")
if [ "$all" -gt 0 ] && [ "$a" -eq "$all" ] && [ "$b" -eq "$all" ]; then
	ok "DRIFA-Net: every batch norm at 0.1 by default, at 0.01 with -D bn_momentum=0.01 ($all)"
else notok "DRIFA-Net bn_momentum" "$all batch norms, $a at 0.1 by default, $b at 0.01 with the flag"; fi
