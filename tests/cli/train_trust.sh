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
. tests/cli/lib/common.sh

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

# ---- data (numpy) and two compiled models -------------------------------------------
numpy_python || exit 0
cat >"$tmp/h.py" <<'PY'
import json, sys
import numpy as np

def lines(path):
    return [json.loads(l) for l in open(path)]

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "data":
    d = a[0]
    rng = np.random.default_rng(1)
    n = 400                                  # 28x28, class c (of 10) brightens band c
    y = rng.integers(0, 10, n)
    x = rng.uniform(0, 0.3, (n, 1, 28, 28)).astype(np.float32)
    for c in range(10):
        x[y == c, 0, 2 * c + 3:2 * c + 6, :] += 0.7
    np.save(d + "/x.npy", x); np.save(d + "/y.npy", y.astype(np.int32))
    np.save(d + "/xv.npy", x[:80]); np.save(d + "/ywrong.npy", ((y[:80] + 1) % 10).astype(np.int32))
    np.save(d + "/y3.npy", (y % 3).astype(np.int32))      # a 3-class labelling: fewer classes
    n = 120                                  # two 3x16x16 modalities, 3 and 4 classes
    y1, y2 = rng.integers(0, 3, n), rng.integers(0, 4, n)
    xa = rng.uniform(0, 0.3, (n, 3, 16, 16)).astype(np.float32)
    xb = rng.uniform(0, 0.3, (n, 3, 16, 16)).astype(np.float32)
    for c in range(3):
        xa[y1 == c, c] += 0.6
    for c in range(4):
        xb[y2 == c, :, 8 * (c // 2):8 * (c // 2) + 8, 8 * (c % 2):8 * (c % 2) + 8] += 0.6
    np.save(d + "/xa.npy", xa); np.save(d + "/y1.npy", y1.astype(np.int32))
    np.save(d + "/xb.npy", xb); np.save(d + "/y2.npy", y2.astype(np.int32))
elif cmd == "acc1":         # one task: train_acc a number in [0,1] every epoch, no tasks object
    L = lines(a[0])
    assert all(isinstance(l["train_acc"], float) or l["train_acc"] in (0, 1) for l in L), L
    assert all(0 <= l["train_acc"] <= 1 for l in L)
    assert L[-1]["train_acc"] >= 0.9, L[-1]["train_acc"]
elif cmd == "acc2":         # two tasks: each task's train_acc, the top level their mean
    L = lines(a[0])
    for l in L:
        t1, t2 = l["tasks"]["task1"]["train_acc"], l["tasks"]["task2"]["train_acc"]
        assert t1 is not None and t2 is not None, l
        assert 0 <= t1 <= 1 and 0 <= t2 <= 1
        assert abs(l["train_acc"] - (t1 + t2) / 2) < 1e-9, l
PY
py() { "$PY" "$tmp/h.py" "$@"; }
d=$tmp/d; R=$tmp/runs
mkdir -p "$d" "$R"
py data "$d" || { notok "make the toy data" "numpy failed"; exit 0; }
if bin/lunac build models/tiny_cnn.lua -o "$tmp/tiny" >"$tmp/lunac.log" 2>&1 &&
   bin/lunac build models/attn_test.lua -o "$tmp/attn" >>"$tmp/lunac.log" 2>&1; then
	ok "tiny_cnn and attn_test build"
else
	notok "lunac build" "$(head -c 400 "$tmp/lunac.log")"; exit 0
fi
T="npy:$d/x.npy,$d/y.npy"

# ---- 2. training accuracy ---------------------------------------------------------------
expect_status "tiny_cnn trains" 0 "$tmp/tiny" train --data "$T" --epochs 3 --lr 0.01 --threads 1 --out "$R/t"
check "one task: metrics.jsonl's train_acc is measured every epoch" py acc1 "$R/t/metrics.jsonl"
n=$(grep -c '^epoch [0-9]/3  loss [0-9.]* acc [0-9.]*  val_loss' "$tmp/err")
if [ "$n" -eq 3 ]; then ok "one task: every epoch line shows acc"; else notok "epoch lines" "$(head -c 400 "$tmp/err")"; fi
err_lacks "a model that generalises gets no note about chance" "near or below chance"
expect_status "attn_test (two tasks) trains" 0 "$tmp/attn" train --data "a=npy:$d/xa.npy,$d/y1.npy" \
	--data "b=npy:$d/xb.npy,$d/y2.npy" --epochs 2 --threads 1 --out "$R/a"
check "two tasks: each task's train_acc in metrics.jsonl, the top level their mean" py acc2 "$R/a/metrics.jsonl"
if grep -q '^  task1: acc [0-9.]* val_loss' "$tmp/err" && grep -q '^  task2: acc [0-9.]* val_loss' "$tmp/err" &&
   grep -q '^epoch 2/2  loss [0-9.]* mean acc [0-9.]*  val_loss' "$tmp/err"; then
	ok "two tasks: the epoch line shows the mean acc, each task's line its own"
else notok "two-task epoch lines" "$(head -c 600 "$tmp/err")"; fi
if command -v script >/dev/null 2>&1; then
	script -qc "'$tmp/tiny' train --data '$T' --epochs 1 --threads 1 --out '$R/tty'" "$tmp/tty.log" >/dev/null 2>&1
	if grep -q "ETA [0-9:]*  loss [0-9.]* acc [0-9.]*  [0-9]* img/s" "$tmp/tty.log"; then
		ok "on a terminal the progress bar shows the running training accuracy"
	else notok "progress bar acc" "$(head -c 300 "$tmp/tty.log")"; fi
fi
expect_status "validation labels that disagree with training: train exits 0" 0 "$tmp/tiny" train --data "$T" \
	--val-data "npy:$d/xv.npy,$d/ywrong.npy" --epochs 4 --lr 0.01 --threads 1 --out "$R/chance"
err_has "high train accuracy, validation at chance: a note names the numbers" "validation accuracy 0.00, near or below chance (0."
err_has "the note names batch norm's momentum" "raise its momentum"
err_has "the note names a train/validation mismatch" "training and validation data differ"
n=$(grep -c "near or below chance" "$tmp/err")
if [ "$n" -eq 1 ]; then ok "the note is printed once"; else notok "note once" "$n times"; fi

# ---- 12. the opening line says how the lr moves ------------------------------------
expect_status "--schedule none trains" 0 "$tmp/tiny" train --data "$T" --epochs 1 --schedule none --lr 0.01 --threads 1 --out "$R/none"
err_has "the opening line: a constant lr says so" "adam, lr 0.01, constant, batch 32"
err_lacks "the opening line: no \"none schedule\"" "none schedule"
expect_status "the default schedule trains" 0 "$tmp/tiny" train --data "$T" --epochs 1 --threads 1 --out "$R/plateau"
err_has "the opening line: the plateau schedule in words" "lr 0.001, x0.2 after 5 epochs without improvement (min 1e-05)"
expect_status "--schedule cosine trains" 0 "$tmp/tiny" train --data "$T" --epochs 1 --schedule cosine --threads 1 --out "$R/cos"
err_has "the opening line: the cosine schedule in words" "lr 0.001, cosine to 1e-05 over 1 epochs"

# ---- 12. --min-delta ------------------------------------------------------------------
expect_status "train --help lists --min-delta" 0 "$tmp/tiny" help train
if grep -q -- "--min-delta R" "$tmp/out" "$tmp/err"; then ok "--min-delta is in train's help"; else notok "--min-delta help" "$(head -c 300 "$tmp/out")"; fi
expect_status "--min-delta 2 exits 2" 2 "$tmp/tiny" train --data "$T" --min-delta 2 --out "$R/md"
err_has "--min-delta 2 is explained" "--min-delta 2: not a number from 0 to 1"
expect_status "--min-delta 1 trains" 0 "$tmp/tiny" train --data "$T" --epochs 3 --lr 0.01 --min-delta 1 --threads 1 --out "$R/md"
# the loss falls every epoch (see the plain run above), but with --min-delta 1 a new best
# would have to be below best - |best| = 0: only epoch 1 (which improves on +inf) is one
n=$(grep -c '"best":true' "$R/md/metrics.jsonl")
if [ "$n" -eq 1 ]; then ok "--min-delta 1: only the first epoch is a new best"
else notok "--min-delta 1" "$n of 3 epochs were a new best: $(cat "$R/md/metrics.jsonl")"; fi
if "$PY" -c "import json,struct,sys; b=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',b[:8])[0]; m=json.loads(b[8:8+n])['__metadata__']; assert float(m['train.min_delta'])==1, m" "$R/md/last.safetensors" 2>"$tmp/py.err"; then
	ok "checkpoints keep train.min_delta"; else notok "train.min_delta in the checkpoint" "$(head -c 300 "$tmp/py.err")"; fi
expect_status "resume with another --min-delta exits 1" 1 "$tmp/tiny" train --resume "$R/md/last.safetensors" --epochs 5 --min-delta 0.1
err_has "resume with another --min-delta is refused" "--min-delta 0.10000000000000001 differs from the checkpoint's 1"

# ---- 12. init reports what it writes ---------------------------------------------------
for f in fixture_train; do
	build_fixture "$f" "$tmp/$f" || exit 0
done
X=$tmp/fixture_train
expect_status "init exits 0" 0 "$X" init -o "$tmp/init.safetensors"
k=$("$PY" -c "import json,struct,sys; b=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',b[:8])[0]; h=json.loads(b[8:8+n]); h.pop('__metadata__',None); print(len(h))" "$tmp/init.safetensors")
err_has "init reports the tensors it wrote ($k), not the optimizer state" "($k tensors: 4 parameters, 1 buffer; seed 0)"

# ---- 12. an interrupted run says how to resume ----------------------------------------
# fixture: 300 samples, 8 steps an epoch; FIXTURE_SLEEP_MS slows each step
F="npy:$d/fx.npy,$d/fy.npy"
"$PY" -c "
import numpy as np
rng = np.random.default_rng(0); n = 300
y = rng.integers(0, 3, n); x = rng.normal(0, 0.3, (n, 1, 4, 4)).astype(np.float32)
for c in range(3): x[y == c, 0, c, :] += 1.0
np.save('$d/fx.npy', x); np.save('$d/fy.npy', y.astype(np.int32))"
A="--data $F --lr 0.05 --seed 5 --optimizer sgd --schedule cosine --min-lr 0.001"
# launch SLEEPMS DIR EPOCHS: start a run of the fixture in the background ($pid), stderr in
# $tmp/err. Python starts it with SIGINT at its default (a background job of a
# non-interactive shell inherits SIGINT ignored, and train leaves an ignored signal ignored).
launch() {
	# shellcheck disable=SC2086
	FIXTURE_SLEEP_MS=$1 "$PY" -c "import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])" \
		"$X" train $A --epochs "$3" --out "$2" 2>"$tmp/err" &
	pid=$!
}
# interrupt SIGNAL DIR: a 40-epoch run in DIR, sent SIGNAL once an epoch has finished; exit status in $rc.
interrupt() {
	launch 4 "$2" 40
	i=0
	while [ ! -f "$2/last.safetensors" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
	sleep 0.2
	kill -"$1" $pid 2>/dev/null
	wait $pid; rc=$?
}
interrupt INT "$R/int"
if [ "$rc" -eq 130 ]; then ok "SIGINT: train exits 130"; else notok "SIGINT status" "exit $rc: $(tail -c 300 "$tmp/err")"; fi
n=$(wc -l <"$R/int/metrics.jsonl")
err_has "SIGINT: train says it was interrupted" "interrupted (SIGINT) during epoch $((n + 1)): its progress is not kept"
err_has "SIGINT: train prints the exact command to resume" "$X train --resume $R/int/last.safetensors --epochs 40"
err_has "SIGINT: train says what last.safetensors holds" "$R/int/last.safetensors holds epoch $n"
if [ "$n" -lt 40 ] && ! ls -A "$R/int" | grep -q '\.tmp\.'; then ok "SIGINT: stopped mid-run (after epoch $n), no temporaries"
else notok "SIGINT mid-run" "$n epochs: $(ls -A "$R/int")"; fi
expect_status "SIGINT: the printed command resumes the run" 0 "$X" train --resume "$R/int/last.safetensors" --epochs 40
# shellcheck disable=SC2086
"$X" train $A --epochs 40 --out "$R/ref" 2>/dev/null
check "SIGINT + resume = an uninterrupted run, bit for bit" cmp "$R/int/last.safetensors" "$R/ref/last.safetensors"
interrupt TERM "$R/term"
if [ "$rc" -eq 143 ]; then ok "SIGTERM: train exits 143"; else notok "SIGTERM status" "exit $rc: $(tail -c 300 "$tmp/err")"; fi
err_has "SIGTERM: train prints how to resume" "train --resume $R/term/last.safetensors --epochs 40"
# before the first epoch ends there is nothing to resume: say so
launch 200 "$R/early" 40
i=0
while ! grep -q "^training" "$tmp/err" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3
kill -INT $pid 2>/dev/null
wait $pid; rc=$?
if [ "$rc" -eq 130 ] && grep -q "no epoch has finished, so $R/early holds no checkpoint" "$tmp/err"; then
	ok "SIGINT in the first epoch: no checkpoint, and it says so"
else notok "SIGINT in epoch 1" "exit $rc: $(tail -c 300 "$tmp/err")"; fi
# shellcheck disable=SC2086
expect_status "SIGINT in the first epoch: the same command starts over" 0 "$X" train $A --epochs 2 --out "$R/early"

# ---- 9. the data's classes against the task's -----------------------------------------
expect_status "numeric labels below the task's classes: train runs" 0 "$tmp/tiny" train --data "npy:$d/x.npy,$d/y3.npy" --epochs 1 --threads 1 --out "$R/y3"
err_has "numeric labels below the task's classes: a note names the task, both counts and the file" \
	"note: the model's task \"probs\" has 10 classes, but the labels of $d/y3.npy go up to 2 only: classes 3 to 9 never appear in training"
if bin/lunac-synth derm-mri --out "$tmp/syn" --count 40 --size 16 --threads 1 >"$tmp/synth.log" 2>&1 &&
   bin/lunac build models/tiny_cnn.lua -D classes=7 -o "$tmp/tiny7" >>"$tmp/synth.log" 2>&1 &&
   bin/lunac build models/tiny_cnn.lua -D classes=3 -o "$tmp/tiny3" >>"$tmp/synth.log" 2>&1; then
	ok "5-class folders and 7- and 3-class models"
	expect_status "5 class folders for a 7-class task: train exits 1" 1 "$tmp/tiny7" train --data "folders:$tmp/syn/derm" --epochs 1 --out "$R/f7"
	err_has "fewer class folders: the message names the task, both counts and the folder" \
		"the model's task \"probs\" has 7 classes, but the training data $tmp/syn/derm has 5 ("
	if [ ! -e "$R/f7" ]; then ok "fewer class folders: no run directory"; else notok "fewer classes: run dir" "$(ls "$R/f7")"; fi
	expect_status "5 class folders for a 3-class task: train exits 1" 1 "$tmp/tiny3" train --data "folders:$tmp/syn/derm" --epochs 1 --out "$R/f3"
	err_has "more class folders: the message names both counts and the task" \
		"$tmp/syn/derm has 5 classes ("
	err_has "more class folders: ... more than the task's, named" "), more than the 3 of the model's task (labels of the task \"probs\")"
	"$tmp/tiny3" init -o "$tmp/w3.safetensors" 2>/dev/null
	expect_status "5 class folders for a 3-class task: eval exits 1" 1 "$tmp/tiny3" eval -w "$tmp/w3.safetensors" --data "folders:$tmp/syn/derm_test"
	err_has "eval: more class folders are named the same way" "), more than the 3 of the model's task (labels of the task \"probs\")"
	expect_status "labels 0..9 for a 3-class task: eval exits 1" 1 "$tmp/tiny3" eval -w "$tmp/w3.safetensors" --data "$T"
	err_has "eval: labels out of range name the data's class count" "is out of range for 3 classes; the labels go up to 9, so the data has 10 classes (labels of the task \"probs\")"
	expect_status "labels 0..9 for a 3-class task: train exits 1" 1 "$tmp/tiny3" train --data "$T" --out "$R/n3"
	err_has "train: labels out of range name the data's class count" "the labels go up to 9, so the data has 10 classes"
else
	notok "lunac-synth / lunac build" "$(head -c 400 "$tmp/synth.log")"
fi
