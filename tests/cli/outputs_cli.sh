#!/bin/sh
# tests/cli/outputs_cli.sh -- what the executable writes for people and other
# programs (runtime/results.c, predict.c, eval.c, export.c): predict --data on
# labelled and unlabelled data (one row per case: file names or indices, the
# predicted class and its name, every probability) as CSV, JSON Lines or a
# table; eval --per-sample (the same plus the true label); class names in
# predict --input's JSON; export (the weights alone, loadable by every
# --weights reader). Errors: a bad -o extension, an unwritable place, a spec
# the executable cannot read, unlabelled data for train and eval; nothing
# half-written left behind. Uses the hand-written model of
# tests/cli/fixture_train.c (1x4x4 images, 3 classes, a batch-norm-like buffer).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh

# clean NAME DIR: DIR holds no temporary (*.tmp.*) and no FILE given after it.
clean() {
	n=$1; d=$2; shift 2
	bad=$(ls -A "$d" | grep '\.tmp\.')
	for f in "$@"; do [ -e "$d/$f" ] && bad="$bad $f"; done
	if [ -z "$bad" ]; then ok "$n"; else notok "$n" "left behind: $bad"; fi
}

if [ ! -f lib/liblunacrt.a ]; then
	notok "outputs: build" "lib/liblunacrt.a is not built (run make)"
	exit 0
fi
numpy_python || exit 0
build_fixture fixture_train "$tmp/x" || exit 0
X=$tmp/x

cat >"$tmp/h.py" <<'PY'
import csv, json, os, struct, sys
import numpy as np

NAMES = ["alpha", 'beta, "two"', "gamma"]   # a comma and quotes: CSV must quote them

def bmp(path, img):
    """img: HxW floats in [0,1] as a 24-bit BMP."""
    h, w = img.shape
    row = (w * 3 + 3) & ~3
    data = b""
    for r in range(h - 1, -1, -1):
        data += b"".join(bytes([int(round(v * 255))] * 3) for v in img[r]) + b"\0" * (row - w * 3)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    open(path, "wb").write(b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54) + info + data)

def data(d):
    """The separable toy problem of train_cli.sh, as arrays and as folders of images."""
    rng = np.random.default_rng(0)
    n = 90
    y = rng.integers(0, 3, n)
    x = np.clip(rng.normal(0.2, 0.1, (n, 1, 4, 4)), 0, 1).astype(np.float32)
    for c in range(3):
        x[y == c, 0, c, :] = 0.9
    x = np.round(x * 255) / 255   # exactly what 8-bit images hold
    np.save(d + "/x.npy", x.astype(np.float32))
    np.save(d + "/y.npy", y.astype(np.int64))
    np.save(d + "/x5.npy", np.zeros((4, 1, 5, 5), np.float32))
    for i in range(n):
        c = d + "/cls/" + NAMES[y[i]]
        os.makedirs(c, exist_ok=True)
        bmp("%s/%03d.bmp" % (c, i), x[i, 0])
    os.makedirs(d + "/flat", exist_ok=True)
    for i in range(6):
        bmp("%s/flat/case %d.bmp" % (d, i), x[i, 0])
    open(d + "/flat/README.txt", "w").write("not an image\n")

def rows(path):
    if path.endswith(".csv"):
        return list(csv.DictReader(open(path, newline="")))
    return [json.loads(l) for l in open(path)]

def st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return h.pop("__metadata__", {}), h

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "data":
    data(a[0])
elif cmd == "csv_npy":      # predict --data npy:x.npy -o r.csv against predict --input x.npy's JSON
    R, J = rows(a[0]), json.load(open(a[1]))["outputs"]["probs"]
    n = int(a[2]); names = a[3] == "names"
    assert len(R) == n, len(R)
    cols = ["index", "shape.pred"] + (["shape.pred_name"] if names else [])
    cols += ["shape.prob." + (NAMES[c] if names else str(c)) for c in range(3)]
    assert list(R[0].keys()) == cols, list(R[0].keys())
    for i, r in enumerate(R):
        assert int(r["index"]) == i
        p = [float(r[c]) for c in cols[-3:]]
        assert p == J["data"][i], (i, p, J["data"][i])      # the same float32, printed exactly
        assert int(r["shape.pred"]) == J["argmax"][i]
        if names:
            assert r["shape.pred_name"] == NAMES[J["argmax"][i]]
elif cmd == "jsonl_folders":  # predict --data folders:cls -o r.jsonl: file names, names, in file order
    R = rows(a[0]); n = int(a[1])
    assert len(R) == n, len(R)
    files = [r["file"] for r in R]
    assert files == sorted(files), files[:5]
    for r in R:
        t = r["tasks"]["shape"]
        assert set(r) == {"file", "tasks"} and "true" not in t, r
        assert list(t["probs"]) == NAMES and t["pred_name"] == NAMES[t["pred"]], t
        assert abs(sum(t["probs"].values()) - 1) < 1e-5
        assert max(t["probs"].values()) == t["probs"][t["pred_name"]]
elif cmd == "per_sample":   # eval --per-sample: true labels and "correct" agree with eval's accuracy
    R = rows(a[0]); acc = json.load(open(a[1]))["tasks"]["shape"]["accuracy"]
    if a[0].endswith(".csv"):
        right = [r["shape.correct"] == "true" for r in R]
        assert all((r["shape.true"] == r["shape.pred"]) == c for r, c in zip(R, right))
        assert all(r["shape.true_name"] == r["file"].split("/")[-2] for r in R)
    else:
        right = [r["tasks"]["shape"]["correct"] for r in R]
        assert all(r["tasks"]["shape"]["true_name"] == r["file"].split("/")[-2] for r in R)
    assert abs(sum(right) / len(R) - acc) < 1e-9, (sum(right) / len(R), acc)
elif cmd == "same_rows":    # two results files agree on every probability
    A, B = rows(a[0]), rows(a[1])
    assert A == B, "differ"
elif cmd == "exported":     # export's file: params and buffers only, the model's metadata
    meta, h = st(a[0]); cmeta, ch = st(a[1])
    assert set(h) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "bn.running_mean"}, sorted(h)
    assert meta["format"] == "lunac" and meta["model"] == cmeta["model"], meta
    assert meta["spec_hash"] == cmeta["spec_hash"] and meta["classes.shape"] == cmeta["classes.shape"]
    assert meta["train.normalize"] == cmeta["train.normalize"]
    assert not any(k.startswith("train.data") or k == "epoch" or k == "lr" for k in meta), meta
    assert 3 * os.path.getsize(a[0]) < os.path.getsize(a[1]) * 1.2, (os.path.getsize(a[0]), os.path.getsize(a[1]))
elif cmd == "nan":          # a copy of weights file a[0] with one NaN
    b = bytearray(open(a[0], "rb").read())
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); s = h["fc2.bias"]["data_offsets"][0]
    b[8 + n + s:8 + n + s + 4] = struct.pack("<f", float("nan"))
    open(a[1], "wb").write(bytes(b))
PY
check "make the data (arrays, class folders, a flat folder)" "$PY" "$tmp/h.py" data "$tmp"
d=$tmp

# ---- weights with and without class names ----------------------------------
check "train on class folders" "$X" train --data "folders:$d/cls" --out "$d/run" --epochs 8 --seed 1
check "train on arrays" "$X" train --data "npy:$d/x.npy,$d/y.npy" --out "$d/runa" --epochs 8 --seed 1
W=$d/run/best.safetensors
WA=$d/runa/best.safetensors

# ---- predict --input: class names next to indices --------------------------
expect_status "predict --input: exit 0" 0 "$X" predict --weights "$W" --input "$d/x.npy"
cp "$tmp/out" "$d/p_names.json"
out_has "predict --input: argmax_names from the checkpoint" '"argmax_names": ["'
out_has "predict --input: the classes listed" '"classes": ["alpha", "beta, \"two\"", "gamma"]'
expect_status "predict --input, weights without names: exit 0" 0 "$X" predict --weights "$WA" --input "$d/x.npy"
cp "$tmp/out" "$d/p_idx.json"
if grep -q argmax_names "$d/p_idx.json"; then notok "predict --input: no names when none are recorded" "$(head -c 300 "$d/p_idx.json")"; else ok "predict --input: no names when none are recorded"; fi

# ---- predict --data ---------------------------------------------------------
expect_status "predict --data npy:X (no labels) -o r.csv: exit 0" 0 "$X" predict --weights "$W" --data "npy:$d/x.npy" -o "$d/r.csv"
err_has "predict --data: says what it wrote" "wrote $d/r.csv (90 rows)"
check "predict --data CSV: index, pred, name, every probability, equal to predict --input" "$PY" "$tmp/h.py" csv_npy "$d/r.csv" "$d/p_names.json" 90 names
expect_status "predict --data, weights without names: exit 0" 0 "$X" predict --weights "$WA" --data "npy:$d/x.npy" -o "$d/ra.csv"
check "predict --data CSV without names: indices only" "$PY" "$tmp/h.py" csv_npy "$d/ra.csv" "$d/p_idx.json" 90 idx
expect_status "predict --data labelled folders -o r.jsonl: exit 0" 0 "$X" predict --weights "$W" --data "folders:$d/cls" -o "$d/r.jsonl" --batch 7
check "predict --data JSONL: file names in file order, class names, probabilities" "$PY" "$tmp/h.py" jsonl_folders "$d/r.jsonl" 90
expect_status "predict --data images:DIR (unlabelled folder), a table: exit 0" 0 "$X" predict --weights "$W" --data "images:$d/flat"
out_has "predict table: the file name" "$d/flat/case 0.bmp"
out_has "predict table: the task's column" "shape (predicted class, probability)"
if [ "$(grep -c '\.bmp' "$tmp/out")" -eq 6 ]; then ok "predict table: a row per image"; else notok "predict table: a row per image" "$(cat "$tmp/out")"; fi
err_has "predict images:DIR: the skipped file is noted" "skipped 1 file"
expect_status "predict --data -q -o: nothing on stdout" 0 "$X" predict --weights "$W" --data "npy:$d/x.npy" -q -o "$d/rq.jsonl"
if [ ! -s "$tmp/out" ]; then ok "predict -q: stdout empty"; else notok "predict -q: stdout empty" "$(head -c 200 "$tmp/out")"; fi

# ---- eval --per-sample ------------------------------------------------------
expect_status "eval --json --per-sample e.csv: exit 0" 0 "$X" eval --weights "$W" --data "folders:$d/cls" --json --per-sample "$d/e.csv"
cp "$tmp/out" "$d/e.json"
check "eval --per-sample CSV: true label, its name, correct = eval's accuracy" "$PY" "$tmp/h.py" per_sample "$d/e.csv" "$d/e.json"
expect_status "eval --per-sample e.jsonl: exit 0" 0 "$X" eval --weights "$W" --data "folders:$d/cls" --json --per-sample "$d/e.jsonl"
check "eval --per-sample JSONL: the same" "$PY" "$tmp/h.py" per_sample "$d/e.jsonl" "$d/e.json"

# ---- errors: nothing half-written ---------------------------------------------
expect_status "predict -o r.txt: a usage error" 2 "$X" predict --weights "$W" --data "npy:$d/x.npy" -o "$d/r.txt"
err_has "predict -o r.txt: names the extensions" "must end in .csv or .jsonl"
clean "predict -o r.txt: no file" "$d" r.txt
expect_status "eval --per-sample e.tsv: a usage error" 2 "$X" eval --weights "$W" --data "folders:$d/cls" --per-sample "$d/e.tsv"
clean "eval --per-sample e.tsv: no file" "$d" e.tsv
expect_status "predict -o in a place that cannot hold files: exit 1" 1 "$X" predict --weights "$W" --data "npy:$d/x.npy" -o "$d/x.npy/r.csv"
err_has "predict -o unwritable: names the file" "$d/x.npy/r.csv: cannot create"
expect_status "eval --per-sample into a missing folder: exit 1" 1 "$X" eval --weights "$W" --data "folders:$d/cls" --per-sample "$d/none/e.csv"
err_has "eval --per-sample unwritable: names the file" "$d/none/e.csv: cannot create"
expect_status "predict --data an unknown kind: exit 1" 1 "$X" predict --weights "$W" --data "bogus:$d/x.npy" -o "$d/rb.csv"
err_has "predict --data an unknown kind: lists the kinds" "unknown kind"
clean "predict --data an unknown kind: no file" "$d" rb.csv
expect_status "predict --data a missing file: exit 1" 1 "$X" predict --weights "$W" --data "npy:$d/missing.npy" -o "$d/rb.csv"
err_has "predict --data a missing file: names it" "$d/missing.npy"
expect_status "predict --data images of another shape: exit 1" 1 "$X" predict --weights "$W" --data "npy:$d/x5.npy" -o "$d/rb.csv"
err_has "predict --data another shape: says so" "images are [1,5,5]"
expect_status "predict --data a folder without images: exit 1" 1 "$X" predict --weights "$W" --data "images:$d/cls" -o "$d/rb.csv"
err_has "predict images:DIR of class folders: points at folders:" "for class folders use folders:DIR"
check "a weights file holding NaN" "$PY" "$tmp/h.py" nan "$W" "$d/nan.safetensors"
expect_status "predict --data with NaN weights: exit 1" 1 "$X" predict --weights "$d/nan.safetensors" --data "npy:$d/x.npy" -o "$d/rb.csv"
err_has "predict --data NaN: says so" "not a number (NaN)"
clean "predict --data errors: no results file, no temporary" "$d" rb.csv
expect_status "predict --input and --data together: a usage error" 2 "$X" predict --weights "$W" --data "npy:$d/x.npy" --input "$d/x.npy"
expect_status "predict --data with two -o: a usage error" 2 "$X" predict --weights "$W" --data "npy:$d/x.npy" -o "$d/a.csv" -o "$d/b.csv"
expect_status "eval on data without labels: exit 1" 1 "$X" eval --weights "$W" --data "npy:$d/x.npy"
err_has "eval without labels: says so" "npy:$d/x.npy holds no labels"
expect_status "train on data without labels: exit 1" 1 "$X" train --data "images:$d/flat" --out "$d/run_nolabels"
err_has "train without labels: says so" "images:$d/flat holds no labels"

# ---- export -------------------------------------------------------------------
C=$d/run/last.safetensors
expect_status "export a checkpoint: exit 0" 0 "$X" export --weights "$C" -o "$d/w.safetensors"
err_has "export: says what it wrote" "5 tensors"
check "export: params and buffers only, model metadata and classes, a third of the size" "$PY" "$tmp/h.py" exported "$d/w.safetensors" "$C"
expect_status "predict with the exported weights: exit 0" 0 "$X" predict --weights "$d/w.safetensors" --data "npy:$d/x.npy" -o "$d/rw.csv"
expect_status "predict with the checkpoint: exit 0" 0 "$X" predict --weights "$C" --data "npy:$d/x.npy" -o "$d/rc.csv"
check "exported and checkpoint weights: identical outputs and class names" cmp "$d/rw.csv" "$d/rc.csv"
check "eval reads the exported weights" "$X" eval --weights "$d/w.safetensors" --data "folders:$d/cls"
check "train --weights starts from the exported weights" "$X" train --weights "$d/w.safetensors" --data "npy:$d/x.npy,$d/y.npy" --out "$d/run_from" --epochs 1
expect_status "export -o w.bin: a usage error" 2 "$X" export --weights "$C" -o "$d/w.bin"
err_has "export -o w.bin: names the extension" "must end in .safetensors"
expect_status "export without --weights: a usage error" 2 "$X" export -o "$d/w2.safetensors"
expect_status "export over its own source: exit 1" 1 "$X" export --weights "$d/w.safetensors" -o "$d/w.safetensors"
err_has "export over its source: refused" "would replace the weights"
expect_status "export of a missing file: exit 1" 1 "$X" export --weights "$d/none.safetensors" -o "$d/w3.safetensors"
expect_status "export into a missing folder: exit 1" 1 "$X" export --weights "$C" -o "$d/none/w.safetensors"
clean "export errors: nothing left behind" "$d" w2.safetensors w3.safetensors w.bin
expect_status "help export" 0 "$X" help export
out_has "help export: the flags" "--weights"

# ---- decoding progress: on a terminal only, for a few hundred images -------
mkdir -p "$d/many"
i=0; while [ $i -lt 300 ]; do cp "$d/flat/case 0.bmp" "$d/many/c$i.bmp"; i=$((i + 1)); done
if command -v script >/dev/null; then
	script -qec "$X predict --weights $W --data images:$d/many -q" /dev/null >"$tmp/tty" 2>&1
	if grep -q 'decoding images 300/300 (100%)' "$tmp/tty"; then ok "decoding 300 images on a terminal: progress shown"
	else notok "decoding 300 images on a terminal: progress shown" "$(od -c "$tmp/tty" | head -5)"; fi
fi
expect_status "decoding into a log: exit 0" 0 "$X" predict --weights "$W" --data "images:$d/many" -q
if grep -q 'decoding images' "$tmp/err"; then notok "decoding into a log: no progress line" "$(head -c 200 "$tmp/err")"
else ok "decoding into a log: no progress line"; fi
