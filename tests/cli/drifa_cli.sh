#!/bin/sh
# tests/cli/drifa_cli.sh -- DRIFA-Net end to end on image files: a small
# build (32x32, width 0.125, one block per stage, 3 and 2 classes), tiny PNG
# datasets written here (tests/cli/drifa_data.c), then two-input, two-task
# training with augmentation, eval of both tasks, Monte-Carlo dropout,
# predict on PNG and JPEG files, a paired CSV, and the loaders' and the
# pairing's errors (one message, exit status 1, no run directory).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh

# fails NAME TEXT CMD...: CMD exits 1 with TEXT on stderr, one line, and makes no $tmp/r/x.
fails() {
	n=$1; want=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ "$rc" -eq 1 ] && grep -qF -- "$want" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -e "$tmp/r/x" ]; then
		ok "$n"
	else
		notok "$n" "exit $rc: $(head -c 300 "$tmp/err")"
	fi
}

if [ ! -x bin/lunac ] || [ ! -f build/librtcore.a ]; then
	notok "drifa: build" "bin/lunac or build/librtcore.a is not built (run make)"
	exit 0
fi
PY=python3
command -v $PY >/dev/null 2>&1 || PY=
# -O0: the test is about the runtime, and -O0 compiles in seconds.
X=$tmp/drifa
if bin/lunac build models/drifa_net.lua -O0 -D size=32 -D width=0.125 -D blocks=1 -D classes1=3 \
	-D classes2=2 -o "$X" >"$tmp/lunac.log" 2>&1; then ok "drifa: lunac builds a small DRIFA-Net"
else notok "drifa: lunac build" "$(head -c 400 "$tmp/lunac.log")"; exit 0; fi
L="build/librtcore.a -lcjson -lpng -ljpeg -lz -lm -lpthread"
if cc -std=c11 -O2 -D_GNU_SOURCE -Iruntime -o "$tmp/mkdata" tests/cli/drifa_data.c $L >"$tmp/cc.log" 2>&1 &&
	cc -std=c11 -O2 -Iruntime -o "$tmp/nomc" tests/cli/fixture_model.c lib/liblunacrt.a $L >>"$tmp/cc.log" 2>&1; then
	ok "drifa: the data helper and a model without dropout build"
else notok "drifa: helpers build" "$(head -c 400 "$tmp/cc.log")"; exit 0; fi
d=$tmp/d; mkdir -p "$d" "$tmp/r"
"$tmp/mkdata" "$d" || { notok "drifa: write the PNG datasets" "drifa_data failed"; exit 0; }
T="--threads 2"

# ---- two datasets, two tasks: train, eval, mc, predict ---------------------------
set -- --data a=folders:$d/a --data b=folders:$d/b --batch 8 --val-split 0.25 \
	--augment all --normalize 0.5,0.25 --seed 3 $T
expect_status "train: --data a=folders:A --data b=folders:B exits 0" 0 "$X" train "$@" --epochs 2 --out "$tmp/r/a"
has "train: each task has its epoch line, with its training accuracy" "$tmp/err" "  task2: acc "
has "train: the run says how it augments and normalises" "$tmp/err" "augment all, normalize 0.5,0.25"
if [ -n "$PY" ] && "$PY" - "$tmp/r/a/metrics.jsonl" <<'PY' >"$tmp/py.out" 2>&1
import json, sys
L = [json.loads(l) for l in open(sys.argv[1])]
assert len(L) == 2, len(L)
for l in L:
    for t in ("task1", "task2"):
        m = l["tasks"][t]
        for k in ("val_loss", "val_acc", "val_macro_f1", "val_macro_auc"):
            assert m[k] is not None, (t, k)
    total = 0.5 * l["tasks"]["task1"]["val_loss"] + 0.5 * l["tasks"]["task2"]["val_loss"]
    assert abs(total - l["val_loss"]) < 1e-4, (total, l["val_loss"])
PY
then ok "metrics.jsonl: per-task loss, accuracy, F1, AUC; val_loss = 0.5 CE1 + 0.5 CE2"
else notok "metrics.jsonl per task" "$(head -c 400 "$tmp/py.out")"; fi
"$X" train "$@" --epochs 2 --out "$tmp/r/b" 2>/dev/null
check "train: the same seed (augmentation, resampling, dropout) gives the same bytes" \
	cmp "$tmp/r/a/last.safetensors" "$tmp/r/b/last.safetensors"
"$X" train "$@" --epochs 1 --out "$tmp/r/c" 2>/dev/null
expect_status "train: resume a two-dataset run" 0 "$X" train --resume "$tmp/r/c/last.safetensors" --epochs 2 $T
check "train: 1 epoch + resume to 2 = 2 epochs, bit for bit (augmentation keyed by epoch)" \
	cmp "$tmp/r/a/last.safetensors" "$tmp/r/c/last.safetensors"
W=$tmp/r/a/best.safetensors
expect_status "eval: both tasks of a two-dataset test set" 0 "$X" eval -w "$W" --data a=folders:$d/a_test --data b=folders:$d/b_test $T
if grep -q "^task task1 (3 classes)" "$tmp/out" && grep -q "^task task2 (2 classes)" "$tmp/out" &&
	grep -q "^0 c0" "$tmp/out" && grep -q "^1 n1" "$tmp/out"; then ok "eval: a table per task, with the class names"
else notok "eval tables" "$(head -c 400 "$tmp/out")"; fi
expect_status "eval --json" 0 "$X" eval -w "$W" --data a=folders:$d/a_test --data b=folders:$d/b_test --json $T
if grep -q '"task1":' "$tmp/out" && grep -q '"task2":' "$tmp/out" && ! grep -q '"loss":.*null' "$tmp/out"; then
	ok "eval --json: both tasks and the total loss"; else notok "eval --json" "$(head -c 400 "$tmp/out")"; fi

set -- mc -w "$W" --samples 6 --input a=$d/a/c1/00.png --input b=$d/b/n0/00.png $T
expect_status "mc: exits 0" 0 "$X" "$@" --seed 7
if grep -q "^task task1 (3 classes): predicted [0-2] (c[0-2])" "$tmp/out" && grep -q "^task task2" "$tmp/out" &&
	[ "$(grep -c 'mutual information' "$tmp/out")" -eq 2 ] && [ "$(grep -c 'aleatoric' "$tmp/out")" -eq 2 ]; then
	ok "mc: per task the prediction (named), entropy, aleatoric and mutual information"
else notok "mc table" "$(head -c 400 "$tmp/out")"; fi
"$X" "$@" --seed 7 --json >"$tmp/mc1.json" 2>/dev/null
"$X" "$@" --seed 7 --json >"$tmp/mc2.json" 2>/dev/null
"$X" "$@" --seed 8 --json >"$tmp/mc3.json" 2>/dev/null
check "mc: the same seed gives the same numbers" cmp "$tmp/mc1.json" "$tmp/mc2.json"
check "mc: another seed gives other numbers" sh -c "! cmp -s '$tmp/mc1.json' '$tmp/mc3.json'"
if [ -n "$PY" ] && "$PY" - "$tmp/mc1.json" <<'PY' >"$tmp/py.out" 2>&1
import json, math, sys
j = json.load(open(sys.argv[1]))
assert j["passes"] == 6 and len(j["results"]) == 1
for t, k in (("task1", 3), ("task2", 2)):
    r = j["results"][0][t]
    m = r["mean"]
    assert len(m) == k and len(r["variance"]) == k and abs(sum(m) - 1) < 1e-5
    h = -sum(p * math.log(p) for p in m if p > 0)
    assert abs(h - r["entropy"]) < 1e-6 and 0 <= r["aleatoric"] <= h + 1e-9
    assert abs(r["entropy"] - r["aleatoric"] - r["mutual_information"]) < 1e-9
    assert max(r["variance"]) > 0, "dropout is on: the passes differ"
    assert r["predicted"] == m.index(max(m)) and r["predicted_class"] == r["classes"][r["predicted"]]
PY
then ok "mc --json: mean sums to 1, H[mean] = entropy, MI = H - E[H], passes differ"
else notok "mc --json" "$(head -c 400 "$tmp/py.out")"; fi
expect_status "predict: PNG and JPEG inputs" 0 "$X" predict -w "$W" --input a=$d/a/c2/01.png --input b=$d/one.jpg $T
if grep -q '"task1"' "$tmp/out" && grep -q '"task2"' "$tmp/out" && grep -q '"shape": \[1, 3\]' "$tmp/out"; then
	ok "predict: one sample from image files, both outputs"; else notok "predict images" "$(head -c 300 "$tmp/out")"; fi

"$X" predict -w "$W" --input a=$d/a/c2/01.png --input b=$d/one.jpg --normalize 0.5,0.25 $T >"$tmp/p2" 2>"$tmp/p2.err"
"$X" predict -w "$W" --input a=$d/a/c2/01.png --input b=$d/one.jpg --normalize none $T >"$tmp/p3" 2>"$tmp/p3.err"
check "predict: images are normalised as the checkpoint was trained (train.normalize)" cmp "$tmp/out" "$tmp/p2"
check "predict: --normalize none overrides the checkpoint" sh -c "! cmp -s '$tmp/out' '$tmp/p3'"

# ---- a paired CSV ------------------------------------------------------------------
expect_status "train: paired:FILE.csv,a=derm,b=mri exits 0" 0 "$X" train --data "paired:$d/paired.csv,a=derm,b=mri" \
	--epochs 1 --batch 8 $T --out "$tmp/r/p"
has "train: the paired run trains both tasks" "$tmp/err" "  task1: acc "

# ---- errors ------------------------------------------------------------------------
cp -r "$d/a" "$d/ac"; head -c 300 "$d/a/c0/00.png" >"$d/ac/c1/bad.png"
mkdir -p "$d/aj/c0" "$d/aj/c1" "$d/aj/c2"; cp "$d/a/c0/00.png" "$d/aj/c0/"
cp "$d/a/c1/00.png" "$d/aj/c1/"; cp "$d/a/c2/00.png" "$d/aj/c2/"; head -c 500 "$d/one.jpg" >"$d/aj/c2/cut.jpg"
fails "error: a corrupt PNG is named" "ac/c1/bad.png: truncated PNG data" \
	"$X" train --data a=folders:$d/ac --data b=folders:$d/b --out "$tmp/r/x"
fails "error: a truncated JPEG is named" "aj/c2/cut.jpg: truncated JPEG data" \
	"$X" train --data a=folders:$d/aj --data b=folders:$d/b --out "$tmp/r/x"
fails "error: a CSV without the mapped column lists the columns" "no column \"ct\" (its columns: derm, mri, task1, task2)" \
	"$X" train --data "paired:$d/paired.csv,a=derm,b=ct" --out "$tmp/r/x"
printf 'derm,mri,task1,task2\na/c0/00.png,b/n0/00.png,1,0\na/c0/01.png,b/n0/01.png,5,0\n' >"$d/badlabel.csv"
fails "error: a paired CSV label beyond the task's classes" "label 5 at index 1 is out of range for 3 classes; the labels go up to 5, so the data has 6 classes (labels of the task \"task1\")" \
	"$X" train --data "paired:$d/badlabel.csv,a=derm,b=mri" --out "$tmp/r/x"
printf 'derm,mri,task1,task2\na/c0/00.png,b/n0/00.png,1,0\na/c0/01.png,b/n0/01.png,1\n' >"$d/short.csv"
fails "error: a paired CSV row with a missing field" "line 3 has 3 fields, the header has 4" \
	"$X" train --data "paired:$d/short.csv,a=derm,b=mri" --out "$tmp/r/x"
fails "error: one dataset for two image inputs" "give one dataset per input as --data INPUT=SPEC" \
	"$X" train --data folders:$d/a --out "$tmp/r/x"
fails "error: a dataset for an input the model lacks" "the model has no image input \"c\"" \
	"$X" train --data a=folders:$d/a --data c=folders:$d/b --out "$tmp/r/x"
fails "error: two datasets for one input" "the image input \"a\" is given two datasets" \
	"$X" train --data a=folders:$d/a --data a=folders:$d/b --out "$tmp/r/x"
fails "error: a task without labels" "the task \"task2\" has no labels" \
	"$X" train --data a=folders:$d/a --data b=folders:$d/b --task b=none --out "$tmp/r/x"
fails "error: datasets swapped (3 classes for a 2-class task)" "has 3 classes (c0 ... c2), more than the 2 of the model's task (labels of the task \"task2\")" \
	"$X" train --data a=folders:$d/b --data b=folders:$d/a --out "$tmp/r/x"
expect_status "error: --augment with an unknown mode exits 2" 2 "$X" train --data a=folders:$d/a --data b=folders:$d/b --augment spin --out "$tmp/r/x"
has "error: --augment lists the modes" "$tmp/err" "unknown augmentation (none, authors, flips or all)"
fails "error: predict on a corrupt image" "bad.png: truncated PNG data" \
	"$X" predict -w "$W" --input a=$d/ac/c1/bad.png --input b=$d/one.jpg
fails "error: mc on a model without dropout" "this model has no Monte-Carlo entry" \
	"$tmp/nomc" mc -w "$W" --input "$d/one.jpg"
