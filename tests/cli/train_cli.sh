#!/bin/sh
# tests/cli/train_cli.sh -- the executable's `train` and `eval` commands
# (runtime/train*.c, eval.c, checkpoint.c, rundir.c), against a hand-written
# stand-in for generated code with a loss (tests/cli/fixture_train.c) on a
# small separable dataset made here with numpy: learning, byte-identical
# reruns, exact resume, a kill -9 mid-run, metrics.jsonl, eval's report,
# and every error a user is likely to meet (one message, the right exit
# status, nothing half-written in the run directory).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh

# absent NAME DIR: DIR was not created.
absent() { if [ ! -e "$2" ]; then ok "$1"; else notok "$1" "$(ls -la "$2")"; fi; }
# unchanged NAME DIR SUM: DIR's files hash to SUM (from dirsum) and it holds no temporary.
dirsum() { (cd "$1" && ls -A | sort | while read -r f; do echo "$f $(cksum <"$f")"; done) | cksum; }
unchanged() {
	if [ "$(dirsum "$2")" = "$3" ] && ! ls -A "$2" | grep -q '\.tmp\.'; then ok "$1"; else notok "$1" "$(ls -la "$2")"; fi
}

if [ ! -f lib/liblunacrt.a ]; then
	notok "train fixture: build" "lib/liblunacrt.a is not built (run make)"
	exit 0
fi
numpy_python || exit 0
for f in fixture_train fixture_model; do
	build_fixture "$f" "$tmp/$f" || exit 0
done
X=$tmp/fixture_train
NOLOSS=$tmp/fixture_model

cat >"$tmp/h.py" <<'PY'
import json, math, struct, sys
import numpy as np

def data(d):
    """A separable toy problem: class c lights up row c of a noisy 4x4 image."""
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 1, 4, 4)).astype(np.float32)
    for c in range(3):
        x[y == c, 0, c, :] += 1.0
    np.save(d + "/x.npy", x)
    np.save(d + "/y.npy", y.astype(np.int64))
    np.save(d + "/xv.npy", x[:60]); np.save(d + "/yv.npy", y[:60].astype(np.uint8))
    bad = y.copy(); bad[7] = 5
    np.save(d + "/ybad.npy", bad)
    np.save(d + "/x5.npy", np.zeros((n, 1, 5, 5), np.float32))

def st_read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n].decode())
    meta = h.pop("__metadata__", {})
    return meta, h, b[8 + n:]

def st_write(path, meta, h, blob):
    hdr = dict(h); hdr["__metadata__"] = meta
    out, body = {}, b""
    for k, t in h.items():
        s, e = t["data_offsets"]
        out[k] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [len(body), len(body) + e - s]}
        body += blob[s:e]
    out["__metadata__"] = meta
    j = json.dumps(out).encode()
    j += b" " * (-(8 + len(j)) % 8)
    open(path, "wb").write(struct.pack("<Q", len(j)) + j + body)

def lines(path):
    return [json.loads(l) for l in open(path)]

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "data":
    data(a[0])
elif cmd == "jsonl":        # path, epochs: one valid line per epoch, 1..N, every key
    L = lines(a[0])
    assert [l["epoch"] for l in L] == list(range(1, int(a[1]) + 1)), [l["epoch"] for l in L]
    for l in L:
        for k in ("step", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1",
                  "time_s", "images_per_s", "best"):
            assert k in l, k
    assert all(L[i]["step"] < L[i + 1]["step"] for i in range(len(L) - 1))
elif cmd == "learns":       # the loss falls and validation accuracy is high
    L = lines(a[0])
    assert L[-1]["train_loss"] < 0.5 * L[0]["train_loss"], (L[0]["train_loss"], L[-1]["train_loss"])
    assert L[-1]["val_acc"] >= 0.95, L[-1]["val_acc"]
elif cmd == "cosine":       # lr per epoch follows the cosine schedule
    L = lines(a[0]); lr0, lo, E = float(a[1]), float(a[2]), len(L)
    for e, l in enumerate(L):
        want = lo + (lr0 - lo) * (1 + math.cos(math.pi * e / E)) / 2
        assert abs(l["lr"] - want) <= 1e-9 * lr0, (e, l["lr"], want)
elif cmd == "noval":        # without validation the val fields are null
    L = lines(a[0])
    assert all(l["val_loss"] is None and l["train_loss"] is not None for l in L)
elif cmd == "ckpt":         # a checkpoint: metadata keys, tensors of params, buffer, state
    meta, h, _ = st_read(a[0])
    for k in ("format", "model", "spec_hash", "compiler", "epoch", "step", "seed", "optimizer",
              "lr", "best_val_loss", "best_epoch", "plateau_wait", "early_stop_wait",
              "train.data", "train.epochs", "train.batch", "train.lr", "train.schedule"):
        assert k in meta, k
    assert meta["format"] == "lunac-checkpoint" and meta["epoch"] == a[1], meta
    want = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "bn.running_mean"}
    want |= {"opt.v." + p for p in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    if a[2] != "sgd":
        want |= {"opt.m." + p for p in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    assert set(h) == want, sorted(h)
elif cmd == "samew":        # two files hold the same tensors, bit for bit
    _, h1, b1 = st_read(a[0]); _, h2, b2 = st_read(a[1])
    assert set(h1) == set(h2)
    for k in h1:
        s1, e1 = h1[k]["data_offsets"]; s2, e2 = h2[k]["data_offsets"]
        assert b1[s1:e1] == b2[s2:e2], k
elif cmd == "sethash":      # copy a checkpoint with another spec hash of the same length
    meta, h, blob = st_read(a[0])
    meta["spec_hash"] = "0" * len(meta["spec_hash"])
    st_write(a[1], meta, h, blob)
elif cmd == "dropstate":    # copy a checkpoint without its opt.m.* tensors
    meta, h, blob = st_read(a[0])
    st_write(a[1], meta, {k: t for k, t in h.items() if not k.startswith("opt.m.")}, blob)
elif cmd == "setmeta":      # copy a checkpoint with metadata key a[2] set to a[3]
    meta, h, blob = st_read(a[0])
    meta[a[2]] = a[3]
    st_write(a[1], meta, h, blob)
elif cmd == "nanw":         # copy a weights file with every float NaN
    meta, h, blob = st_read(a[0])
    st_write(a[1], meta, h, np.full(len(blob) // 4, np.nan, np.float32).tobytes())
elif cmd == "data28":       # 28x28 images for the compiled models: class c brightens band c
    rng = np.random.default_rng(1)
    n = 400
    y = rng.integers(0, 10, n)
    x = rng.uniform(0, 0.3, (n, 1, 28, 28)).astype(np.float32)
    for c in range(10):
        x[y == c, 0, 2 * c + 3:2 * c + 6, :] += 0.7
    np.save(a[0] + "/x28.npy", x)
    np.save(a[0] + "/y28.npy", y.astype(np.int32))
elif cmd == "evaljson":     # eval --json: accuracy at least a[1]; every report field; loss or null
    j = json.load(open(a[0]))
    t = j["tasks"][a[2]]
    assert t["accuracy"] >= float(a[1]), t["accuracy"]
    for k in ("macro", "per_class", "confusion", "cross_entropy"):
        assert k in t, k
    assert len(t["per_class"]) == 3 and len(t["confusion"]) == 3
    assert all("auc" in c and "f1" in c for c in t["per_class"])
    assert (j["loss"] is None) == (a[3] == "null"), j["loss"]
    assert j["samples"] == 300
PY
py() { "$PY" "$tmp/h.py" "$@"; }
d=$tmp/d
mkdir -p "$d"
py data "$d" || { notok "make the toy data" "numpy failed"; exit 0; }
D="npy:$d/x.npy,$d/y.npy"

# ---- learning, metrics.jsonl, eval -------------------------------------------
R=$tmp/runs; mkdir -p "$R"
expect_status "train exits 0" 0 "$X" train --data "$D" --epochs 12 --lr 0.01 --seed 1 --out "$R/a"
check "metrics.jsonl: one valid JSON line per epoch" py jsonl "$R/a/metrics.jsonl" 12
check "training lowers the loss and reaches high validation accuracy" py learns "$R/a/metrics.jsonl"
check "last.safetensors is a checkpoint: metadata, params, buffer, Adam state" py ckpt "$R/a/last.safetensors" 12 adam
n=$(grep -c '^epoch [0-9]*/12 ' "$tmp/err")
if [ "$n" -eq 12 ]; then ok "one progress line per epoch when stderr is not a terminal"; else notok "progress lines" "$n lines: $(head -c 300 "$tmp/err")"; fi
if ! grep -q "$(printf '\r')" "$tmp/err"; then ok "no carriage returns in a log file"; else notok "no carriage returns" "found"; fi
expect_status "eval --json exits 0" 0 "$X" eval --weights "$R/a/best.safetensors" --data "$D" --json
check "eval --json reports accuracy, P/R/F1, AUC, confusion and the loss" py evaljson "$tmp/out" 0.95 shape number
expect_status "eval prints a table" 0 "$X" eval -w "$R/a/last.safetensors" --data "$D" --batch 7
if grep -q "confusion matrix" "$tmp/out" && grep -q "^macro" "$tmp/out" && grep -q "loss" "$tmp/out"; then
	ok "eval's table has the macro row, the confusion matrix and the loss"; else notok "eval table" "$(head -c 300 "$tmp/out")"; fi
py_x1() { "$PY" -c "import numpy as np; np.save('$d/one.npy', np.load('$d/x.npy')[:5])"; }
py_x1
expect_status "predict reads a checkpoint (optimizer state ignored), needs no label" 0 "$X" predict -w "$R/a/best.safetensors" -i "$d/one.npy"
expect_status "info lists the task and the optimizer state" 0 "$X" info
if grep -q '"tasks"' "$tmp/out" && grep -q '"optimizer_state"' "$tmp/out"; then ok "info: tasks and optimizer_state"; else notok "info" "$(head -c 300 "$tmp/out")"; fi

if command -v script >/dev/null 2>&1; then
	FIXTURE_SLEEP_MS=30 script -qc "'$X' train --data '$D' --epochs 1 --out '$R/tty'" "$tmp/tty.log" >/dev/null 2>&1
	if grep -q "ETA" "$tmp/tty.log" && grep -q "$(printf '\r')" "$tmp/tty.log" && grep -q "img/s" "$tmp/tty.log"; then
		ok "on a terminal: a progress bar with ETA and img/s, redrawn with \\r"
	else notok "progress bar" "$(head -c 300 "$tmp/tty.log")"; fi
fi

# ---- reproducibility and exact resume ----------------------------------------
"$X" train --data "$D" --epochs 12 --lr 0.01 --seed 1 --out "$R/b" 2>/dev/null
check "the same seed gives a byte-identical last.safetensors" cmp "$R/a/last.safetensors" "$R/b/last.safetensors"
check "the same seed gives a byte-identical best.safetensors" cmp "$R/a/best.safetensors" "$R/b/best.safetensors"
"$X" train --data "$D" --epochs 12 --lr 0.01 --seed 2 --out "$R/s2" 2>/dev/null
check "another seed gives other weights" sh -c "! cmp -s '$R/a/last.safetensors' '$R/s2/last.safetensors'"
"$X" train --data "$D" --epochs 6 --lr 0.01 --seed 1 --out "$R/c" 2>/dev/null
expect_status "resume exits 0" 0 "$X" train --resume "$R/c/last.safetensors" --epochs 12
check "adam: 6 epochs + resume to 12 = 12 epochs, bit for bit" cmp "$R/a/last.safetensors" "$R/c/last.safetensors"
check "resume: metrics.jsonl continues with one line per epoch" py jsonl "$R/c/metrics.jsonl" 12
for opt in sgd adamw; do
	set -- --data "$D" --lr 0.05 --seed 4 --optimizer $opt --clip 0.5 --weight-decay 0.01 --batch 25 --plateau-patience 1
	"$X" train "$@" --epochs 8 --out "$R/$opt-full" 2>/dev/null
	"$X" train "$@" --epochs 3 --out "$R/$opt-half" 2>/dev/null
	"$X" train --resume "$R/$opt-half/last.safetensors" --epochs 8 2>/dev/null
	check "$opt (clip, decay, short last batch, plateau): 3 epochs + resume to 8 = 8 epochs, bit for bit" \
		cmp "$R/$opt-full/last.safetensors" "$R/$opt-half/last.safetensors"
done
check "sgd checkpoints hold only the state SGD uses" py ckpt "$R/sgd-full/last.safetensors" 8 sgd
"$X" train --data "$D" --lr 0.05 --seed 4 --schedule cosine --min-lr 0.001 --epochs 8 --out "$R/cos" 2>/dev/null
check "cosine: lr(e) = min + (lr - min)(1 + cos(pi e/E))/2" py cosine "$R/cos/metrics.jsonl" 0.05 0.001
expect_status "--val-data and --val-split 0 train" 0 "$X" train --data "$D" --val-data "npy:$d/xv.npy,$d/yv.npy" --epochs 2 --out "$R/vd"
expect_status "--val-split 0 trains without validation" 0 "$X" train --data "$D" --val-split 0 --epochs 2 --out "$R/nv"
check "without validation metrics.jsonl has null val fields" py noval "$R/nv/metrics.jsonl"
expect_status "--weights starts from trained weights" 0 "$X" train --data "$D" --weights "$R/a/best.safetensors" --epochs 1 --out "$R/w"
# lr 1e-10 moves no weight by an ulp: the validation loss stays put from epoch 1 on.
expect_status "--early-stop 3 stops a run that does not improve" 0 "$X" train --data "$D" --lr 1e-10 --early-stop 3 --epochs 60 --out "$R/es"
n=$(wc -l <"$R/es/metrics.jsonl")
if [ "$n" -eq 4 ] && grep -q "early stopping: no improvement for 3 epochs" "$tmp/err"; then
	ok "early stopping ends the run after 1 + 3 epochs and says so"; else notok "early stopping" "$n epochs: $(tail -c 300 "$tmp/err")"; fi

# ---- kill -9 mid-run ----------------------------------------------------------
K=$R/k
set -- --data "$D" --epochs 40 --lr 0.05 --seed 5 --optimizer sgd --clip 1 --schedule cosine --min-lr 0.001
FIXTURE_SLEEP_MS=4 "$X" train "$@" --out "$K" 2>/dev/null &
pid=$!
i=0
while [ ! -f "$K/last.safetensors" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
n=$(wc -l <"$K/metrics.jsonl")
if [ -f "$K/last.safetensors" ] && [ "$n" -lt 40 ]; then ok "kill -9 mid-run (after epoch $n): last.safetensors is there"
else notok "kill -9" "no checkpoint, or the run ended before the kill ($n epochs)"; fi
expect_status "kill -9: the last checkpoint loads (eval)" 0 "$X" eval -w "$K/last.safetensors" --data "$D"
expect_status "kill -9: the run resumes" 0 "$X" train --resume "$K/last.safetensors" --epochs 40
"$X" train "$@" --out "$R/k-ref" 2>/dev/null
check "kill -9 + resume (sgd, cosine) = an uninterrupted run, bit for bit" cmp "$K/last.safetensors" "$R/k-ref/last.safetensors"
check "kill -9 + resume: metrics.jsonl has each epoch once" py jsonl "$K/metrics.jsonl" 40
if ! ls -A "$K" | grep -q '\.tmp\.'; then ok "kill -9 + resume: no temporaries left"; else notok "temporaries" "$(ls -A "$K")"; fi

# ---- errors -----------------------------------------------------------------
E=$tmp/e; mkdir -p "$E"
expect_status "bad data path exits 1" 1 "$X" train --data "npy:$d/nope.npy,$d/y.npy" --out "$E/r1"
err_has "bad data path: the message names the file" "nope.npy"
absent "bad data path: no run directory" "$E/r1"
expect_status "labels out of range exit 1" 1 "$X" train --data "npy:$d/x.npy,$d/ybad.npy" --out "$E/r2"
err_has "labels out of range: label, index and class count" "label 5 at index 7 is out of range for 3 classes"
absent "labels out of range: no run directory" "$E/r2"
expect_status "image shape mismatch exits 1" 1 "$X" train --data "npy:$d/x5.npy,$d/y.npy" --out "$E/r3"
err_has "image shape mismatch is explained" "images are [1,5,5], the model's input \"image\" is [1,4,4]"
absent "image shape mismatch: no run directory" "$E/r3"
expect_status "unknown optimizer exits 2" 2 "$X" train --data "$D" --optimizer adagrad --out "$E/r4"
err_has "unknown optimizer is named" "--optimizer adagrad: unknown optimizer (adam, adamw or sgd)"
absent "unknown optimizer: no run directory" "$E/r4"
expect_status "missing --out exits 2" 2 "$X" train --data "$D"
err_has "missing --out is explained" "train needs --out RUNDIR"
expect_status "missing --data exits 2" 2 "$X" train --out "$E/r5"
expect_status "bad --lr exits 2" 2 "$X" train --data "$D" --lr -1 --out "$E/r5"
err_has "bad --lr is explained" "--lr -1: not a positive number"
expect_status "--resume with --weights exits 2" 2 "$X" train --resume "$R/a/last.safetensors" --weights "$R/a/best.safetensors"
expect_status "a directory that holds a run is refused" 1 "$X" train --data "$D" --out "$R/a"
err_has "an existing run: the message says how to resume" "--resume"

C=$R/c; S=$(dirsum "$C")
head -c 1000 "$C/last.safetensors" >"$E/trunc.safetensors"
expect_status "truncated checkpoint exits 1" 1 "$X" train --resume "$E/trunc.safetensors" --epochs 20 --out "$C"
err_has "truncated checkpoint: the reader's message names the file" "trunc.safetensors"
unchanged "truncated checkpoint: the run directory is untouched" "$C" "$S"
py sethash "$C/last.safetensors" "$E/other.safetensors"
expect_status "checkpoint of another model exits 1" 1 "$X" train --resume "$E/other.safetensors" --epochs 20 --out "$C"
err_has "checkpoint of another model is explained" "was made for model \"fixture_train\" (spec hash 0000000000000000), but this executable is model \"fixture_train\" (spec hash feedc0de00000001)"
unchanged "checkpoint of another model: the run directory is untouched" "$C" "$S"
py dropstate "$C/last.safetensors" "$E/nostate.safetensors"
expect_status "checkpoint without Adam's state exits 1" 1 "$X" train --resume "$E/nostate.safetensors" --epochs 20 --out "$C"
err_has "missing optimizer state is named" "lacks the optimizer state \"opt.m.fc1.weight\" that adam needs"
expect_status "a changed setting on resume exits 1" 1 "$X" train --resume "$R/a/best.safetensors" --epochs 20 --seed 9
err_has "a changed setting on resume is refused" "--seed 9 differs from the checkpoint's 1"
"$X" init -o "$E/init.safetensors" 2>/dev/null
expect_status "resume from a weights file exits 1" 1 "$X" train --resume "$E/init.safetensors" --epochs 20 --out "$E/r6"
err_has "resume from a weights file: use --weights" "is not a training checkpoint"
absent "resume from a weights file: no run directory" "$E/r6"
expect_status "resume at the last epoch exits 1" 1 "$X" train --resume "$C/last.safetensors" --epochs 12
err_has "resume at the last epoch: give more --epochs" "give --epochs more than that"
unchanged "failed resumes leave the run directory as it was" "$C" "$S"
expect_status "eval of a truncated file exits 1" 1 "$X" eval -w "$E/trunc.safetensors" --data "$D"
expect_status "eval without --data exits 2" 2 "$X" eval -w "$R/a/best.safetensors"
expect_status "eval with bad labels exits 1" 1 "$X" eval -w "$R/a/best.safetensors" --data "npy:$d/x.npy,$d/ybad.npy"

# ---- odd values: empty, very long, not a regular file ------------------------------
long=$(head -c 5000 /dev/zero | tr '\0' a)
mkfifo "$E/fifo"
expect_status "--out '' exits 2" 2 "$X" train --data "$D" --out ''
err_has "--out '': the value is empty" "--out: the value is empty"
expect_status "--out of 5000 characters exits 1" 1 "$X" train --data "$D" --epochs 1 --out "$E/$long"
err_has "--out of 5000 characters: the reason survives the cut message" "File name too long"
expect_status "--out a regular file exits 1" 1 "$X" train --data "$D" --epochs 1 --out "$E/trunc.safetensors"
err_has "--out a regular file is explained" "is not a directory"
expect_status "--out under /dev/null exits 1" 1 "$X" train --data "$D" --epochs 1 --out /dev/null/run
expect_status "--out with a trailing slash trains" 0 "$X" train --data "$D" --epochs 1 --out "$E/slash/"
for f in resume weights data val-data label-task task normalize augment optimizer schedule lr seed; do
	expect_status "--$f '' exits 2" 2 "$X" train --data "$D" --out "$E/r8" "--$f" ''
	err_has "--$f '': the value is empty" "--$f: the value is empty"
done
expect_status "--data of 5000 characters exits 1" 1 "$X" train --data "npy:$E/$long,$E/y.npy" --out "$E/r8"
expect_status "--data over 8200 bytes exits 2" 2 "$X" train --data "$long$long" --out "$E/r8"
expect_status "--label-task of 5000 characters exits 1" 1 "$X" train --data "$D" --label-task "$long" --out "$E/r8"
expect_status "--normalize of 5000 characters exits 2" 2 "$X" train --data "$D" --normalize "$long" --out "$E/r8"
expect_status "--resume of 5000 characters exits 1" 1 "$X" train --resume "$E/$long"
absent "odd values: no run directory" "$E/r8"
expect_status "--data a FIFO exits 1 at once" 1 timeout 20 "$X" train --data "npy:$E/fifo,$d/y.npy" --out "$E/r8"
expect_status "--resume a FIFO exits 1 at once" 1 timeout 20 "$X" train --resume "$E/fifo"
err_has "--resume a FIFO: not a regular file" "fifo is not a regular file"
expect_status "--weights a FIFO exits 1 at once" 1 timeout 20 "$X" train --data "$D" --weights "$E/fifo" --out "$E/r8"
expect_status "eval --weights a FIFO exits 1 at once" 1 timeout 20 "$X" eval --weights "$E/fifo" --data "$D"
expect_status "--data idx: a FIFO exits 1 at once" 1 timeout 20 "$X" train --data "idx:$E/fifo,$E/fifo" --out "$E/r8"
err_has "--data idx: a FIFO: not a regular file" "fifo is not a regular file"

# ---- values read back from a checkpoint are range-checked ---------------------------
for kv in "lr=-0.01=metadata \"lr\" is -0.01, not a non-negative number" \
          "lr=nan=metadata \"lr\" is nan" "train.lr=-1=metadata \"train.lr\": --lr -1: not a positive number" \
          "lr=0.5=metadata \"lr\" is 0.5, outside [" "train.momentum=1.5=metadata \"train.momentum\"" \
          "train.batch=0=metadata \"train.batch\"" "best_epoch=99=metadata \"best_epoch\" is 99, more than the 12 epochs done" \
          "step=-5=metadata \"step\" is -5" "epoch=abc=metadata \"epoch\" is abc"; do
	k=${kv%%=*}; rest=${kv#*=}; v=${rest%%=*}; msg=${rest#*=}
	py setmeta "$R/c/best.safetensors" "$E/bad-$k.safetensors" "$k" "$v"
	expect_status "checkpoint $k=$v: resume exits 1" 1 "$X" train --resume "$E/bad-$k.safetensors" --epochs 20 --out "$E/r9"
	err_has "checkpoint $k=$v: the message names the file and the key" "bad-$k.safetensors: $msg"
done
absent "bad checkpoints: no run directory" "$E/r9"

# ---- NaN: an answer is never made of NaN ---------------------------------------------
py nanw "$R/a/best.safetensors" "$E/nan.safetensors"
expect_status "predict with NaN weights exits 1" 1 "$X" predict -w "$E/nan.safetensors" -i "$d/one.npy"
err_has "predict with NaN weights: the output is not a number" "is not a number (NaN)"
expect_status "eval with NaN weights exits 1" 1 "$X" eval -w "$E/nan.safetensors" --data "$D"
err_has "eval with NaN weights: the probabilities are not numbers" "hold nan"
expect_status "train from NaN weights stops at once" 1 "$X" train --data "$D" --weights "$E/nan.safetensors" --epochs 3 --out "$E/r10"
err_has "train from NaN weights: the epoch is named" "epoch 1"
expect_status "train from NaN weights without validation stops at once" 1 "$X" train --data "$D" --val-split 0 --weights "$E/nan.safetensors" --epochs 3 --out "$E/r11"
err_has "train from NaN weights: NaN probabilities name epoch and step" "training diverged: the predicted probabilities are not numbers at epoch 1, step 1"
if [ ! -e "$E/r10/last.safetensors" ]; then ok "train from NaN weights: no checkpoint written"; else notok "NaN checkpoint" "$(ls "$E/r10")"; fi

# ---- a model without a loss ---------------------------------------------------
expect_status "no loss: train exits 1" 1 "$NOLOSS" train --data "$D" --out "$E/r7"
err_has "no loss: the message points to loss()" "this model defines no loss: it cannot be trained (see loss() in docs/model-language.md)"
absent "no loss: no run directory" "$E/r7"
"$NOLOSS" init -o "$E/nl.safetensors" 2>/dev/null
expect_status "no loss: eval runs predict" 0 "$NOLOSS" eval -w "$E/nl.safetensors" --data "$D" --json
check "no loss: eval reports metrics and a null loss" py evaljson "$tmp/out" 0 probs null

# ---- a compiled model (when bin/lunac is built) ---------------------------------
if [ -x bin/lunac ] && [ -f models/tiny_cnn.lua ]; then
	if bin/lunac build models/tiny_cnn.lua -o "$tmp/tiny" >"$tmp/lunac.log" 2>&1; then
		ok "tiny_cnn: lunac builds the executable"
		py data28 "$d"
		T="npy:$d/x28.npy,$d/y28.npy"
		expect_status "tiny_cnn: train exits 0" 0 "$tmp/tiny" train --data "$T" --epochs 4 --lr 0.01 --seed 3 --threads 1 --out "$R/t4"
		check "tiny_cnn: metrics.jsonl has one line per epoch" py jsonl "$R/t4/metrics.jsonl" 4
		check "tiny_cnn: training lowers the loss and reaches high validation accuracy" py learns "$R/t4/metrics.jsonl"
		"$tmp/tiny" train --data "$T" --epochs 2 --lr 0.01 --seed 3 --threads 1 --out "$R/t2" 2>/dev/null
		"$tmp/tiny" train --resume "$R/t2/last.safetensors" --epochs 4 --threads 1 2>/dev/null
		check "tiny_cnn: 2 epochs + resume to 4 = 4 epochs, bit for bit (batch norm, Adam)" \
			cmp "$R/t4/last.safetensors" "$R/t2/last.safetensors"
		expect_status "tiny_cnn: eval of the best checkpoint" 0 "$tmp/tiny" eval -w "$R/t4/best.safetensors" --data "$T" --json
	else
		notok "tiny_cnn: lunac build" "$(head -c 400 "$tmp/lunac.log")"
	fi
fi
