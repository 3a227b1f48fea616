#!/bin/sh
# tests/cli/inputs.sh -- how files reach a model (runtime/input.c), with
# small models built here by lunac: the same uint8 .npy, float .npy and PNG
# (resized and converted) give the same probabilities through predict, mc
# and eval; the resize note; --resize recorded by train and followed by
# predict; weights of another model named first on every command that loads
# them; mc gives each sample of a batch its own dropout masks.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh

# first NAME TEXT: the first line of the last stderr mentions TEXT.
first() { if head -1 "$tmp/err" | grep -qF -- "$2"; then ok "$1"; else notok "$1" "first line: $(head -1 "$tmp/err")"; fi; }
# py NAME ARGS...: a check in Python (plain python3) passes.
py() { n=$1; shift; if python3 "$tmp/h.py" "$@" >"$tmp/py.out" 2>&1; then ok "$n"; else notok "$n" "$(tail -c 300 "$tmp/py.out")"; fi; }

if [ ! -x bin/lunac ]; then notok "inputs: build" "bin/lunac is not built (run make)"; exit 0; fi
if ! command -v python3 >/dev/null 2>&1; then notok "inputs: python3" "python3 is needed"; exit 0; fi

cat >"$tmp/m.lua" <<'LUA'
local nn = require "nn"
local cfg = config{ p = 0.5, hidden = 16 }
local x = input("image", {1, 8, 8})
local h = relu(nn.dense("fc1", flatten(x), cfg.hidden))
task("probs", nn.dense("fc2", dropout(h, cfg.p, "mc"), 3))
LUA
cp "$tmp/m.lua" "$tmp/other.lua"
# M0: dropout 1e-7, so mc's mean is predict's probabilities to ~1e-6
if bin/lunac build "$tmp/m.lua" -O0 -D p=1e-7 -o "$tmp/m0" >"$tmp/b.log" 2>&1 &&
	bin/lunac build "$tmp/m.lua" -O0 -o "$tmp/m5" >>"$tmp/b.log" 2>&1 &&
	bin/lunac build "$tmp/other.lua" -O0 -D hidden=12 -o "$tmp/oth" >>"$tmp/b.log" 2>&1; then
	ok "inputs: lunac builds three small models"
else notok "inputs: lunac build" "$(head -c 400 "$tmp/b.log")"; exit 0; fi

cat >"$tmp/h.py" <<'PY'
import json, math, struct, sys, zlib

def npy(path, descr, shape, data):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % s for s in shape))
    h += " " * (-(10 + len(h) + 1) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data)

def png(path, w, h, px):  # 8-bit RGB
    raw = b"".join(b"\x00" + bytes(px[y * w * 3:(y + 1) * w * 3]) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def img(seed):
    return [(i * 37 + seed * 101) % 256 for i in range(64)]

def data(d):
    xs = b"".join(bytes(img(s)) for s in range(30))
    npy(d + "/xt.npy", "|u1", (30, 8, 8), xs)
    npy(d + "/yt.npy", "<i8", (30,), b"".join(struct.pack("<q", s % 3) for s in range(30)))
    one = img(7)
    npy(d + "/one.npy", "|u1", (1, 1, 8, 8), bytes(one))
    npy(d + "/onef.npy", "<f4", (1, 1, 8, 8), b"".join(struct.pack("<f", v / 255) for v in one))
    npy(d + "/y1.npy", "<i8", (1,), struct.pack("<q", 1))
    png(d + "/f/c0/one.png", 16, 16, [(i * 53) % 251 for i in range(16 * 16 * 3)])
    for c in range(3):   # a folder of every class the model has, for train
        png(d + "/f3/c%d/x.png" % c, 16, 16, [(i * 53 + c * 31) % 251 for i in range(16 * 16 * 3)])
    npy(d + "/two.npy", "|u1", (2, 1, 8, 8), bytes(one) * 2)
    npy(d + "/x.npy", "|u1", (1, 1, 8, 8), bytes(img(1)))
    npy(d + "/xy.npy", "|u1", (2, 1, 8, 8), bytes(img(1) + img(2)))
    npy(d + "/xyz.npy", "|u1", (3, 1, 8, 8), bytes(img(1) + img(2) + img(3)))

def probs(path):
    return json.load(open(path))["outputs"]["probs"]["data"][0]

def means(path):
    return [r["probs"]["mean"] for r in json.load(open(path))["results"]]

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "data":
    data(a[0])
elif cmd == "same":         # predict JSON, mc JSON, eval JSON, label: one input everywhere
    p, m, loss = probs(a[0]), means(a[1])[0], json.load(open(a[2]))["loss"]
    assert max(abs(x - y) for x, y in zip(p, m)) < 1e-5, (p, m)
    assert abs(-math.log(p[int(a[3])]) - loss) < 1e-5 * max(1, loss), (p, loss)
elif cmd == "equal":        # two predict outputs are identical
    assert probs(a[0]) == probs(a[1]), (probs(a[0]), probs(a[1]))
elif cmd == "differ":
    assert probs(a[0]) != probs(a[1]), probs(a[0])
elif cmd == "mc_own":       # identical samples of one batch get their own masks
    r = means(a[0])
    assert r[0] != r[1], r
elif cmd == "mc_prefix":    # alone, in [x,y], in [x,y,z]: sample i's numbers do not change
    alone, two, three = means(a[0]), means(a[1]), means(a[2])
    assert alone[0] == two[0] == three[0] and two[1] == three[1], (alone, two, three)
PY
mkdir -p "$tmp/f/c0" "$tmp/f3/c0" "$tmp/f3/c1" "$tmp/f3/c2"
python3 "$tmp/h.py" data "$tmp" || { notok "inputs: write the data" "h.py data failed"; exit 0; }
T="--threads 1"

# ---- one file, every command ---------------------------------------------------
expect_status "train: a uint8 .npy, normalised, one epoch" 0 "$tmp/m0" train --data npy:$tmp/xt.npy,$tmp/yt.npy \
	--epochs 1 --val-split 0 --normalize 0.5,0.25 --out "$tmp/r0" $T
W=$tmp/r0/last.safetensors
for f in one onef; do
	"$tmp/m0" predict -w "$W" --input "$tmp/$f.npy" $T >"$tmp/p_$f.json" 2>"$tmp/p_$f.err"
	"$tmp/m0" mc -w "$W" --input "$tmp/$f.npy" --samples 2 --json $T >"$tmp/m_$f.json" 2>/dev/null
	"$tmp/m0" eval -w "$W" --data npy:$tmp/$f.npy,$tmp/y1.npy --json $T >"$tmp/e_$f.json" 2>/dev/null
	py "$f.npy: predict, mc and eval see the same input (the checkpoint's normalisation, uint8 / 255)" \
		same "$tmp/p_$f.json" "$tmp/m_$f.json" "$tmp/e_$f.json" 1
done
py "a uint8 .npy and its float copy give the same probabilities in predict" equal "$tmp/p_one.json" "$tmp/p_onef.json"
"$tmp/m0" predict -w "$W" --input "$tmp/f/c0/one.png" $T >"$tmp/p_png.json" 2>"$tmp/p_png.err"
"$tmp/m0" mc -w "$W" --input "$tmp/f/c0/one.png" --samples 2 --json $T >"$tmp/m_png.json" 2>"$tmp/m_png.err"
"$tmp/m0" eval -w "$W" --data folders:$tmp/f --json $T >"$tmp/e_png.json" 2>"$tmp/e_png.err"
py "a PNG (16x16 RGB for an 8x8 grey input): predict, mc and eval see the same input" \
	same "$tmp/p_png.json" "$tmp/m_png.json" "$tmp/e_png.json" 0
note="image ($tmp/f/c0/one.png): image 16x16 RGB resized to 8x8 grey (area)"
for c in predict mc; do
	e=$tmp/$(echo $c | cut -c1)_png.err
	if [ "$(grep -cF "note: $note" "$e")" -eq 1 ]; then ok "$c: the resize is said once (from what to what)"
	else notok "$c: resize note" "$(head -c 300 "$e")"; fi
done
has "eval: the resize is said" "$tmp/e_png.err" "note: image: image 16x16 RGB resized to 8x8 grey (area)"
if [ ! -s "$tmp/p_one.err" ]; then ok "an array that fits is not mentioned"; else notok "npy note" "$(head -c 200 "$tmp/p_one.err")"; fi

# ---- --resize ----------------------------------------------------------------
expect_status "train --resize bilinear on a PNG folder" 0 "$tmp/m0" train --data folders:$tmp/f3 --resize bilinear \
	--epochs 1 --val-split 0 --out "$tmp/rb" $T
has "train: says how it resizes" "$tmp/err" "image: 3 images 16x16 RGB resized to 8x8 grey (bilinear)"
has "train: the checkpoint records train.resize" "$tmp/rb/last.safetensors" '"train.resize":"bilinear"'
WB=$tmp/rb/last.safetensors
expect_status "predict: the checkpoint's filter by default" 0 "$tmp/m0" predict -w "$WB" --input "$tmp/f/c0/one.png" $T
cp "$tmp/out" "$tmp/pb.json"; has "predict: says bilinear" "$tmp/err" "resized to 8x8 grey (bilinear)"
"$tmp/m0" predict -w "$WB" --input "$tmp/f/c0/one.png" --resize bilinear $T >"$tmp/pb2.json" 2>/dev/null
py "predict --resize bilinear is what the checkpoint says" equal "$tmp/pb.json" "$tmp/pb2.json"
expect_status "predict --resize area over a bilinear checkpoint: followed" 0 "$tmp/m0" predict -w "$WB" \
	--input "$tmp/f/c0/one.png" --resize area $T
has "predict: a note says the flag differs from the checkpoint" "$tmp/err" \
	"--resize area differs from the bilinear filter the weights were trained with"
py "area and bilinear give different inputs" differ "$tmp/pb.json" "$tmp/out"
expect_status "--resize cubic is a usage error" 2 "$tmp/m0" predict -w "$WB" --input "$tmp/one.npy" --resize cubic
has "--resize cubic: the message" "$tmp/err" "--resize cubic: use area (the default) or bilinear"
expect_status "train --resize cubic is a usage error" 2 "$tmp/m0" train --data npy:$tmp/xt.npy,$tmp/yt.npy \
	--resize cubic --out "$tmp/rx"

# ---- weights of another model -------------------------------------------------
"$tmp/oth" train --data npy:$tmp/xt.npy,$tmp/yt.npy --epochs 1 --val-split 0 --out "$tmp/ro" $T >/dev/null 2>&1
WO=$tmp/ro/last.safetensors
why="was made for model \"other\""
expect_status "predict: another model's weights fail" 1 "$tmp/m0" predict -w "$WO" --input "$tmp/one.npy"
first "predict: the other model is named first" "$why"
expect_status "mc: another model's weights fail" 1 "$tmp/m0" mc -w "$WO" --input "$tmp/one.npy"
first "mc: the other model is named first" "$why"
expect_status "eval: another model's weights fail" 1 "$tmp/m0" eval -w "$WO" --data npy:$tmp/one.npy,$tmp/y1.npy
first "eval: the other model is named first" "$why"
expect_status "train --weights: another model's weights fail" 1 "$tmp/m0" train -w "$WO" \
	--data npy:$tmp/xt.npy,$tmp/yt.npy --epochs 1 --out "$tmp/rw"
first "train --weights: the other model is named first" "$why"
expect_status "train --resume: another model's checkpoint fails" 1 "$tmp/m0" train --resume "$WO" --epochs 3
first "train --resume: the other model is named first" "$why"
expect_status "predict: same shapes, another spec hash: used, with a warning" 0 "$tmp/m5" predict -w "$W" \
	--input "$tmp/one.npy"
first "predict: the warning names both spec hashes" "but this executable is model \"m\" (spec hash"

# ---- mc: each sample its own dropout masks -------------------------------------
"$tmp/m5" init --seed 3 -o "$tmp/w5.safetensors" 2>/dev/null
for f in two x xy xyz; do
	"$tmp/m5" mc -w "$tmp/w5.safetensors" --input "$tmp/$f.npy" --samples 4 --seed 1 --json $T >"$tmp/mc_$f.json" 2>/dev/null
done
py "mc: two identical samples of one batch get different outputs (their own masks)" mc_own "$tmp/mc_two.json"
py "mc: a sample's numbers do not depend on how many samples follow it" \
	mc_prefix "$tmp/mc_x.json" "$tmp/mc_xy.json" "$tmp/mc_xyz.json"
