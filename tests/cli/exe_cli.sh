#!/bin/sh
# tests/cli/exe_cli.sh -- the generated executable's command line (runtime/main.c):
# info, init, predict, help, exit statuses and atomic output. It runs the same
# checks on two executables: a fixture model (tests/cli/fixture_model.c, a
# hand-written entry point linked with lib/liblunacrt.a, so the runtime is
# tested without the compiler) and, when bin/lunac exists, models/tiny_cnn.lua
# compiled by it. Files are checked with plain python3 (no numpy or
# safetensors package): the safetensors header is parsed by hand the way
# PyTorch's and HF's readers do, .npy files are written with struct.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh

cat >"$tmp/h.py" <<'PY'
import json, struct, sys, random

def st_check(path):
    """A safetensors file as a strict reader sees it: return (meta, tensors)."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    assert (8 + n) % 8 == 0, "header not padded to 8"
    h = json.loads(b[8:8 + n].decode("utf-8"))
    meta = h.pop("__metadata__", {})
    sizes = {"F32": 4, "F64": 8, "I64": 8, "I32": 4, "F16": 2, "BF16": 2, "U8": 1}
    spans = []
    for name, t in h.items():
        numel = 1
        for d in t["shape"]:
            numel *= d
        s, e = t["data_offsets"]
        assert e - s == numel * sizes[t["dtype"]], name
        spans.append((s, e))
    spans.sort()
    at = 0
    for s, e in spans:
        assert s == at, "gap or overlap"
        at = e
    assert at == len(b) - 8 - n, "data region not covered exactly"
    return meta, h

def npy_write(path, shape, seed):
    random.seed(seed)
    count = 1
    for d in shape:
        count *= d
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d," % d for d in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    pad = 64 - (10 + len(hdr) + 1) % 64
    hdr = hdr + " " * (pad % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%df" % count, *[random.uniform(0, 1) for _ in range(count)]))

def npy_shape(path):
    b = open(path, "rb").read()
    assert b[:6] == b"\x93NUMPY"
    hl = struct.unpack("<H", b[8:10])[0]
    d = eval(b[10:10 + hl].decode())
    return list(d["shape"])

cmd = sys.argv[1]
if cmd == "info":          # validate `info` JSON; print the first input's and output's names and per-sample shapes
    i = json.load(open(sys.argv[2]))
    assert i["trainable_parameters"] > 0 and i["parameters"] and i["inputs"] and i["outputs"]
    inp = i["inputs"][0]
    out = i["outputs"][0]
    print(inp["name"], ",".join(map(str, inp["shape"][1:])), out["name"],
          ",".join(map(str, out["shape"][1:])) or "-")
elif cmd == "st":           # a weights file written by `init`
    meta, h = st_check(sys.argv[2])
    i = json.load(open(sys.argv[3]))
    assert meta.get("format") == "lunac" and meta.get("spec_hash") == i["spec_hash"], meta
    assert sorted(h) == sorted(p["name"] for p in i["parameters"])
    for p in i["parameters"]:
        assert h[p["name"]]["dtype"] == "F32" and h[p["name"]]["shape"] == p["shape"], p["name"]
elif cmd == "npy":          # write a .npy: path, shape (comma-separated), seed
    npy_write(sys.argv[2], [int(x) for x in sys.argv[3].split(",")], int(sys.argv[4]))
elif cmd == "pred":         # predict's JSON: output name, samples
    j = json.load(open(sys.argv[2]))
    o = j["outputs"][sys.argv[3]]
    n = int(sys.argv[4])
    assert j["samples"] == n and o["shape"][0] == n and len(o["data"]) == n, (j["samples"], o["shape"])
elif cmd == "same":         # two predict outputs agree to 1e-5
    a, b = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
    for k in a["outputs"]:
        fa = json.dumps(a["outputs"][k]["data"]); fb = json.dumps(b["outputs"][k]["data"])
        la = [float(x) for x in fa.replace("[", " ").replace("]", " ").replace(",", " ").split()]
        lb = [float(x) for x in fb.replace("[", " ").replace("]", " ").replace(",", " ").split()]
        assert len(la) == len(lb) and max(abs(x - y) for x, y in zip(la, lb)) < 1e-5
elif cmd == "npyshape":     # a .npy's shape equals the given one
    assert npy_shape(sys.argv[2]) == [int(x) for x in sys.argv[3].split(",")], npy_shape(sys.argv[2])
PY
py() { python3 "$tmp/h.py" "$@"; }

# no_leftovers NAME FILE: FILE does not exist and no temporary is left in $d.
no_leftovers() {
	if [ ! -e "$2" ] && ! ls "$d" | grep -q '\.tmp\.'; then ok "$1"; else notok "$1" "$(ls "$d")"; fi
}

# suite LABEL EXE: every check, on one executable.
suite() {
	L=$1; exe=$2; d=$tmp/run-$L; mkdir -p "$d"
	expect_status "$L: info exits 0" 0 "$exe" info
	cp "$tmp/out" "$d/info.json"
	check "$L: info is valid JSON with inputs, outputs, parameters" py info "$d/info.json"
	set -- $(py info "$d/info.json" 2>/dev/null)
	in_name=${1:-image}; in_shape=${2:-1}; out_name=${3:-probs}; out_shape=5,${4:-1}
	[ "${4:-}" = - ] && out_shape=5

	expect_status "$L: init exits 0" 0 "$exe" init --seed 7 -o "$d/w.safetensors"
	check "$L: init writes a safetensors file a strict reader accepts" py st "$d/w.safetensors" "$d/info.json"
	"$exe" init --seed 7 -o "$d/w2.safetensors" 2>/dev/null
	"$exe" init --seed 8 -o "$d/w3.safetensors" 2>/dev/null
	check "$L: init is reproducible from the seed" cmp -s "$d/w.safetensors" "$d/w2.safetensors"
	check "$L: another seed gives other weights" sh -c "! cmp -s '$d/w.safetensors' '$d/w3.safetensors'"

	py npy "$d/x.npy" "5,$in_shape" 1
	py npy "$d/one.npy" "$in_shape" 2
	expect_status "$L: predict exits 0" 0 "$exe" predict --weights "$d/w.safetensors" --input "$in_name=$d/x.npy" -o "$d/y.npy"
	cp "$tmp/out" "$d/p1.json"
	check "$L: predict prints JSON with 5 samples" py pred "$d/p1.json" "$out_name" 5
	check "$L: predict -o writes a .npy with the batch dimension" py npyshape "$d/y.npy" "$out_shape"
	expect_status "$L: predict --batch 2 exits 0" 0 "$exe" predict -w "$d/w.safetensors" -i "$in_name=$d/x.npy" --batch 2
	cp "$tmp/out" "$d/p2.json"
	check "$L: --batch 2 gives the same outputs" py same "$d/p1.json" "$d/p2.json"
	expect_status "$L: predict on one sample without N" 0 "$exe" predict --weights "$d/w.safetensors" --input "$in_name=$d/one.npy"
	cp "$tmp/out" "$d/p3.json"
	check "$L: one sample gives samples 1" py pred "$d/p3.json" "$out_name" 1

	expect_status "$L: no command exits 2" 2 "$exe"
	expect_status "$L: unknown command exits 2" 2 "$exe" frobnicate
	err_has "$L: unknown command is named" "frobnicate"
	expect_status "$L: unknown flag exits 2" 2 "$exe" predict --bogus
	err_has "$L: unknown flag is named, with a usage hint" "--bogus"
	err_has "$L: usage hint" "help predict"
	expect_status "$L: missing flag value exits 2" 2 "$exe" predict --weights
	expect_status "$L: non-numeric seed exits 2" 2 "$exe" init --seed abc -o "$d/n.safetensors"
	expect_status "$L: negative seed exits 2" 2 "$exe" init --seed -1 -o "$d/n.safetensors"
	expect_status "$L: init without -o exits 2" 2 "$exe" init
	expect_status "$L: bad --batch exits 2" 2 "$exe" predict -w "$d/w.safetensors" -i "$in_name=$d/x.npy" --batch 0
	expect_status "$L: unknown input name exits 2" 2 "$exe" predict -w "$d/w.safetensors" -i "nosuch=$d/x.npy"
	expect_status "$L: missing input exits 2" 2 "$exe" predict -w "$d/w.safetensors"
	expect_status "$L: input given twice exits 2" 2 "$exe" predict -w "$d/w.safetensors" -i "$in_name=$d/x.npy" -i "$in_name=$d/x.npy"
	expect_status "$L: --help exits 0" 0 "$exe" --help
	expect_status "$L: help predict exits 0" 0 "$exe" help predict
	expect_status "$L: predict --help exits 0" 0 "$exe" predict --help
	expect_status "$L: --version exits 0" 0 "$exe" --version
	expect_status "$L: help for an unknown command exits 2" 2 "$exe" help nope

	head -c 100 "$d/w.safetensors" >"$d/bad.safetensors"
	expect_status "$L: corrupt weights exit 1" 1 "$exe" predict -w "$d/bad.safetensors" -i "$in_name=$d/x.npy" -o "$d/z.npy"
	err_has "$L: corrupt weights: the message names the file" "bad.safetensors"
	no_leftovers "$L: corrupt weights: no output file left behind" "$d/z.npy"
	py npy "$d/wrong.npy" "2,3,3" 3
	expect_status "$L: wrong input shape exits 1" 1 "$exe" predict -w "$d/w.safetensors" -i "$in_name=$d/wrong.npy" -o "$d/z.npy"
	err_has "$L: wrong input shape is explained" "wrong.npy: shape [2,3,3] does not match input \"$in_name\""
	no_leftovers "$L: wrong shape: no output file left behind" "$d/z.npy"
	expect_status "$L: missing weights file exits 1" 1 "$exe" predict -w "$d/nope.safetensors" -i "$in_name=$d/x.npy"
	expect_status "$L: unwritable output exits 1" 1 "$exe" init -o "$d/no/such/dir/w.safetensors"
	no_leftovers "$L: unwritable output: nothing left behind" "$d/no/such/dir/w.safetensors"
	odd_values
}

# odd_values: empty, "/", directory, FIFO, device and very long values for every
# flag of init and predict that takes a path or a string: a message and exit
# status 1 or 2 (or success), never a crash (status >= 128) or a hang.
odd_values() {
	long=$(head -c 5000 /dev/zero | tr '\0' a)
	mkdir -p "$d/adir"; rm -f "$d/fifo"; mkfifo "$d/fifo"
	W=$d/w.safetensors; X=$in_name=$d/x.npy
	odd() {   # odd NAME WANT_STATUS TEXT CMD...
		n=$1; want=$2; text=$3; shift 3
		timeout 20 "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
		if [ "$rc" -eq "$want" ] && grep -qF -- "$text" "$tmp/err"; then ok "$L: odd value: $n"
		else notok "$L: odd value: $n" "exit $rc (wanted $want), stderr: $(head -c 300 "$tmp/err")"; fi
	}
	odd "init -o ''" 2 "--output: the value is empty" "$exe" init -o ''
	odd "init -o /" 1 "/: names a directory" "$exe" init -o /
	odd "init -o DIR/" 1 "names a directory" "$exe" init -o "$d/adir/"
	odd "init -o an existing directory" 1 "adir is not a regular file (it is a directory)" "$exe" init -o "$d/adir"
	odd "init -o a FIFO" 1 "fifo is not a regular file (it is a named pipe)" timeout 20 "$exe" init -o "$d/fifo"
	odd "predict -o a FIFO" 1 "fifo is not a regular file (it is a named pipe)" timeout 20 "$exe" predict -w "$W" -i "$X" -o "$d/fifo"
	if [ -p "$d/fifo" ] && [ -z "$(ls -A "$d" | grep '\.tmp\.')" ]; then ok "$L: -o a FIFO leaves it a FIFO, no temporary beside it"
	else notok "$L: -o a FIFO leaves it a FIFO, no temporary beside it" "$(ls -l "$d")"; fi
	odd "init -o 5000 characters" 1 "cannot create" "$exe" init -o "$d/$long"
	odd "init -o a path far over PATH_MAX" 1 "..." "$exe" init -o "$d/$long/$long/x"
	odd "init --seed ''" 2 "--seed: the value is empty" "$exe" init --seed '' -o "$d/n.safetensors"
	odd "init --seed 5000 digits" 2 "not a non-negative integer" "$exe" init --seed "$(head -c 5000 /dev/zero | tr '\0' 9)" -o "$d/n.safetensors"
	odd "predict --weights ''" 2 "--weights: the value is empty" "$exe" predict --weights '' -i "$X"
	odd "predict -w 5000 characters" 1 "cannot open" "$exe" predict -w "$d/$long" -i "$X"
	odd "predict --input ''" 2 "the value is empty" "$exe" predict -w "$W" --input ''
	odd "predict --input NAME=" 2 "the file name is empty" "$exe" predict -w "$W" --input "$in_name="
	odd "predict --input a FIFO" 1 "fifo is not a regular file" timeout 20 "$exe" predict -w "$W" -i "$in_name=$d/fifo"
	odd "predict --input a directory" 1 "adir is not a regular file" "$exe" predict -w "$W" -i "$in_name=$d/adir"
	odd "predict --input /dev/zero" 1 "is not a regular file (it is a device)" "$exe" predict -w "$W" -i "$in_name=/dev/zero"
	odd "predict --input 5000 characters" 1 "cannot open" "$exe" predict -w "$W" -i "$in_name=$d/$long"
	odd "predict --input a 5000-character name" 2 "the model has no input" "$exe" predict -w "$W" -i "$long=$d/x.npy"
	odd "predict -o ''" 2 "--output: the value is empty" "$exe" predict -w "$W" -i "$X" -o ''
	odd "predict -o /" 1 "/: names a directory" "$exe" predict -w "$W" -i "$X" -o /
	odd "predict -o 5000 characters" 1 "cannot create" "$exe" predict -w "$W" -i "$X" -o "$d/$long"
	odd "predict --batch ''" 2 "--batch: the value is empty" "$exe" predict -w "$W" -i "$X" --batch ''
	odd "predict --threads huge" 2 "not an integer from 1 to 4096" "$exe" predict -w "$W" -i "$X" --threads 99999999999999999999999
	odd "predict --normalize ''" 2 "--normalize: the value is empty" "$exe" predict -w "$W" -i "$X" --normalize ''
	odd "predict --normalize a float overflow" 2 "expected mean,std numbers" "$exe" predict -w "$W" -i "$X" --normalize 1e39,1
	odd "predict --normalize 5000 characters" 2 "expected mean,std numbers" "$exe" predict -w "$W" -i "$X" --normalize "$long"
	odd "help with a 5000-character command" 2 "unknown command" "$exe" help "$long"
	odd "a 5000-character flag" 2 "unknown flag" "$exe" predict "--$long"
	odd "predict --weights a FIFO" 1 "fifo is not a regular file" timeout 20 "$exe" predict -w "$d/fifo" -i "$X"
	odd "predict --weights a directory" 1 "adir is not a regular file" timeout 20 "$exe" predict -w "$d/adir" -i "$X"
	odd "predict --weights a FIFO with --normalize" 1 "fifo is not a regular file" timeout 20 "$exe" predict -w "$d/fifo" -i "$X" --normalize 0,1
	if ls "$d" "$d/adir" | grep -q '\.tmp\.'; then notok "$L: odd values: no temporaries left" "$(ls "$d")"
	else ok "$L: odd values: no temporaries left"; fi
}

if [ ! -f lib/liblunacrt.a ]; then
	notok "fixture: build" "lib/liblunacrt.a is not built (run make)"
elif cc -std=c11 -O2 -Iruntime -o "$tmp/fixture" tests/cli/fixture_model.c lib/liblunacrt.a \
	-lcjson -lpng -ljpeg -lm -lpthread -lz >"$tmp/cc.log" 2>&1; then
	ok "fixture: builds against lib/liblunacrt.a"
	suite fixture "$tmp/fixture"
else
	notok "fixture: build" "$(head -c 400 "$tmp/cc.log")"
fi

# The same checks on a model with a loss (labels, hyper-parameters, optimizer
# state): predict and init must see only its image input and weights.
if [ -f lib/liblunacrt.a ] && cc -std=c11 -O2 -Iruntime -o "$tmp/fixture_train" tests/cli/fixture_train.c \
	lib/liblunacrt.a -lcjson -lpng -ljpeg -lm -lpthread -lz >"$tmp/cc.log" 2>&1; then
	ok "fixture_train: builds against lib/liblunacrt.a"
	suite fixture_train "$tmp/fixture_train"
elif [ -f lib/liblunacrt.a ]; then
	notok "fixture_train: build" "$(head -c 400 "$tmp/cc.log")"
fi

if [ -x bin/lunac ] && [ -f models/tiny_cnn.lua ]; then
	if bin/lunac build models/tiny_cnn.lua -o "$tmp/tiny" >"$tmp/lunac.log" 2>&1; then
		ok "tiny_cnn: lunac builds the executable"
		suite tiny_cnn "$tmp/tiny"
	else
		notok "tiny_cnn: lunac build" "$(head -c 400 "$tmp/lunac.log")"
	fi
fi
