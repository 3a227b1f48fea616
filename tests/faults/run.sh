#!/bin/sh
# tests/faults/run.sh [--quick] -- fault injection into the generated
# executable's runtime (docs/runtime.md, "Faults"), with tests/faults/
# faultshim.c preloaded into tests/cli/fixture_train.c linked with
# lib/liblunacrt.a (the runtime as every generated executable has it):
#
#   allocations  each scenario (info, init, predict on a .npy and on a PNG,
#                eval and train on .npy and class-folder datasets, resume)
#                is run once counting its allocations, then once per
#                allocation N with the Nth failing: every run must end with
#                status 0, or 1/2 and a message on stderr (no crash, no hang,
#                no "internal error", no temporary left behind). --quick, and
#                scenarios of more than LUNAC_FAULT_MAX (default 4000) runs,
#                take every k-th N (k = ceil(count / max), quick max 12) plus
#                the last ones.
#   short reads  every read() and pread() returns one byte at most: the
#                same outputs as without.
#   write faults ENOSPC and EIO after B bytes, at offsets spread over the
#                writes of a resumed epoch (metrics line, best and last
#                checkpoint), and a failing fsync: the run fails naming the
#                error, last.safetensors is the previous one, bit for bit,
#                nothing temporary is left, and resuming afterwards ends with
#                the same bytes as an uninterrupted run.
#
# Prints ok / not ok lines (tests/run.sh counts them) and a summary line
# "# faults: N runs over S allocation sites in T s". The shim does not work
# under ASan (its interceptors come first), so this runs on the plain build;
# the helpers it exercises are also unit-tested under ASan (make check-asan).
cd "$(dirname "$0")/../.." || exit 2
quick=0; [ "$1" = --quick ] && quick=1
MAX=${LUNAC_FAULT_MAX:-4000}; [ $quick = 1 ] && MAX=12
LIBRT=${LUNAC_FAULT_LIB:-lib/liblunacrt.a}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }
t0=$(date +%s)

if [ ! -f "$LIBRT" ]; then notok "faults: build" "$LIBRT is not built (run make)"; exit 0; fi
if ! cc -O2 -g -shared -fPIC -o "$tmp/faultshim.so" tests/faults/faultshim.c -ldl >"$tmp/cc.log" 2>&1; then
	notok "faults: the shim builds" "$(head -c 400 "$tmp/cc.log")"; exit 0
fi
if ! cc -std=c11 -O2 -g -Iruntime -o "$tmp/x" tests/cli/fixture_train.c "$LIBRT" \
	-lcjson -lpng -ljpeg -lm -lpthread -lz >"$tmp/cc.log" 2>&1; then
	notok "faults: the fixture builds" "$(head -c 400 "$tmp/cc.log")"; exit 0
fi
X=$tmp/x SHIM=$tmp/faultshim.so
D=$tmp/d; mkdir -p "$D"

# Data without numpy: x.npy [40,1,4,4] f4, y.npy [40] i8, one 4x4 PNG per
# sample in class folders, one PNG alone.
python3 - "$D" <<'PY' || { notok "faults: data" "python3 failed"; exit 0; }
import os, random, struct, sys, zlib
d = sys.argv[1]
random.seed(3)
def npy(path, descr, shape, vals, fmt):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    hdr += " " * (-(10 + len(hdr) + 1) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%d%s" % (len(vals), fmt), *vals))
def png(path, pix):
    raw = b"".join(b"\0" + bytes(pix[r * 4:r * 4 + 4]) for r in range(4))
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
n = 40
y = [i % 3 for i in range(n)]
x = []
for i in range(n):
    img = [random.uniform(0, 0.3) for _ in range(16)]
    for j in range(4):
        img[y[i] * 4 + j] += 1.0
    x += img
npy(d + "/x.npy", "<f4", [n, 1, 4, 4], x, "f")
npy(d + "/y.npy", "<i8", [n], y, "q")
npy(d + "/one.npy", "<f4", [1, 4, 4], x[:16], "f")
for c in range(3):
    os.makedirs("%s/folders/class%d" % (d, c))
for i in range(24):
    png("%s/folders/class%d/%02d.png" % (d, y[i], i), [min(255, int(v * 200)) for v in x[i * 16:i * 16 + 16]])
png(d + "/img.png", [min(255, int(v * 200)) for v in x[:16]])
PY
"$X" init --seed 1 -o "$D/w.safetensors" 2>/dev/null
"$X" train --data "npy:$D/x.npy,$D/y.npy" --epochs 1 --seed 1 --out "$D/run0" 2>/dev/null
if [ -f "$D/w.safetensors" ] && [ -f "$D/run0/last.safetensors" ]; then ok "faults: fixture, data, weights and a checkpoint"
else notok "faults: setup" "init or train failed"; exit 0; fi

W=$D/w.safetensors
NPY="npy:$D/x.npy,$D/y.npy"
runs=0; sites=0; bad=0

# The command of scenario $1, run in directory $2 (train writes there).
scenario() {
	case $1 in
	info) echo info ;;
	init) echo init -o "$2/out.safetensors" ;;
	predict-npy) echo predict -w "$W" -i "$D/x.npy" -o "$2/y.npy" ;;
	predict-png) echo predict -w "$W" -i "$D/img.png" ;;
	eval-npy) echo eval -w "$W" --data "$NPY" --json ;;
	train-npy) echo train --data "$NPY" --epochs 1 --threads 1 --out "$2/run" ;;
	train-folders) echo train --data "folders:$D/folders" --epochs 1 --threads 1 --val-split 0 --out "$2/run" ;;
	resume) echo train --resume "$2/run/last.safetensors" --epochs 2 --threads 1 ;;
	esac
}
# A fresh work directory for one run of scenario $1.
workdir() {
	w=$tmp/w; rm -rf "$w"; mkdir -p "$w"
	[ "$1" = resume ] && cp -r "$D/run0" "$w/run"
	echo "$w"
}

# Run scenario $1 with allocation $2 failing; check how it ended.
one() {
	s=$1; n=$2; w=$(workdir "$s")
	# shellcheck disable=SC2046
	LUNAC_FAULT_ALLOC=$n LD_PRELOAD=$SHIM timeout 60 "$X" $(scenario "$s" "$w") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	runs=$((runs + 1))
	why=""
	if [ $rc -ge 124 ]; then why="exit status $rc (crash or hang)"
	elif [ $rc -ne 0 ] && [ ! -s "$tmp/err" ]; then why="exit status $rc without a message"
	elif grep -q "internal error\|AddressSanitizer\|runtime error:" "$tmp/err"; then why="$(head -c 300 "$tmp/err")"
	elif find "$w" -name '*.tmp.*' | grep -q .; then why="temporaries left: $(find "$w" -name '*.tmp.*')"
	fi
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		notok "faults: $s, allocation $n fails" "$why"
	fi
}

for s in info init predict-npy predict-png eval-npy train-npy train-folders resume; do
	w=$(workdir "$s")
	# shellcheck disable=SC2046
	LUNAC_FAULT_COUNT=$tmp/count LD_PRELOAD=$SHIM "$X" $(scenario "$s" "$w") >/dev/null 2>"$tmp/err"
	rc=$?
	read -r count _ <"$tmp/count"
	if [ $rc -ne 0 ] || [ -z "$count" ]; then notok "faults: $s runs under the shim" "$(head -c 300 "$tmp/err")"; continue; fi
	step=$(( (count + MAX - 1) / MAX )); [ $step -lt 1 ] && step=1
	b0=$bad
	n=1
	while [ $n -le "$count" ]; do one "$s" $n; n=$((n + step)); done
	[ $step -gt 1 ] && for n in $((count - 1)) "$count"; do one "$s" $n; done
	sites=$((sites + count))
	if [ $bad -eq $b0 ]; then ok "faults: $s: each of $count allocations failing (stride $step) ends cleanly"; fi
done

# ---- short reads: the same answers ---------------------------------------------
for s in predict-npy predict-png eval-npy; do
	w=$(workdir "$s")
	# shellcheck disable=SC2046
	"$X" $(scenario "$s" "$w") >"$tmp/ref" 2>/dev/null
	# shellcheck disable=SC2046
	LUNAC_FAULT_READ=1 LD_PRELOAD=$SHIM "$X" $(scenario "$s" "$w") >"$tmp/out" 2>"$tmp/err"
	if [ $? -eq 0 ] && cmp -s "$tmp/ref" "$tmp/out"; then ok "faults: $s with one-byte reads gives the same output"
	else notok "faults: $s with one-byte reads" "$(head -c 300 "$tmp/err")"; fi
done
w=$(workdir resume)
LUNAC_FAULT_READ=1 LD_PRELOAD=$SHIM "$X" $(scenario resume "$w") >/dev/null 2>"$tmp/err"
rc=$?
"$X" train --data "$NPY" --epochs 2 --seed 1 --out "$tmp/ref2" 2>/dev/null
if [ $rc -eq 0 ] && cmp -s "$w/run/last.safetensors" "$tmp/ref2/last.safetensors"; then
	ok "faults: resume with one-byte reads continues bit for bit"
else notok "faults: resume with one-byte reads" "$(head -c 300 "$tmp/err")"; fi

# ---- ENOSPC and EIO in the middle of checkpoint writes ---------------------------
w=$(workdir resume)
LUNAC_FAULT_WRITE=999999999999 LUNAC_FAULT_COUNT=$tmp/count LD_PRELOAD=$SHIM "$X" $(scenario resume "$w") >/dev/null 2>&1
read -r _ total <"$tmp/count"
if [ -z "$total" ] || [ "$total" -le 0 ]; then notok "faults: bytes a resumed epoch writes" "none counted"; total=1; fi
npoints=12; [ $quick = 1 ] && npoints=4
for err in ENOSPC EIO; do
	[ $err = EIO ] && text="Input/output error" || text="No space left on device"
	i=0; fails=0
	while [ $i -le $npoints ]; do
		B=$((total * i / (npoints + 1) + i)); i=$((i + 1))
		w=$(workdir resume)
		LUNAC_FAULT_WRITE=$B LUNAC_FAULT_ERRNO=$err LD_PRELOAD=$SHIM timeout 60 "$X" $(scenario resume "$w") >/dev/null 2>"$tmp/err"
		rc=$?; runs=$((runs + 1)); why=""
		if [ $rc -ne 1 ]; then why="exit status $rc"
		elif ! grep -qF "$text" "$tmp/err"; then why="no \"$text\": $(head -c 300 "$tmp/err")"
		elif ! cmp -s "$w/run/last.safetensors" "$D/run0/last.safetensors"; then why="last.safetensors changed"
		elif find "$w" -name '*.tmp.*' | grep -q .; then why="temporaries left"
		elif ! "$X" eval -w "$w/run/best.safetensors" --data "$NPY" >/dev/null 2>&1; then why="best.safetensors does not load"
		elif ! "$X" $(scenario resume "$w") >/dev/null 2>"$tmp/err2"; then why="resume fails: $(head -c 300 "$tmp/err2")"
		elif ! cmp -s "$w/run/last.safetensors" "$tmp/ref2/last.safetensors"; then why="the resumed run differs from an uninterrupted one"
		fi
		if [ -n "$why" ]; then fails=$((fails + 1)); notok "faults: $err after $B of $total bytes" "$why"; fi
	done
	[ $fails -eq 0 ] && ok "faults: $err at $((npoints + 1)) offsets of a resumed epoch's $total bytes: clean error, previous checkpoint intact, resume exact"
done
w=$(workdir resume)
LUNAC_FAULT_FSYNC=1 LUNAC_FAULT_ERRNO=EIO LD_PRELOAD=$SHIM "$X" $(scenario resume "$w") >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "write failed: Input/output error" "$tmp/err" && cmp -s "$w/run/last.safetensors" "$D/run0/last.safetensors" \
	&& ! find "$w" -name '*.tmp.*' | grep -q .; then ok "faults: a failing fsync is a write error, the previous checkpoint stays"
else notok "faults: failing fsync" "exit $rc: $(head -c 300 "$tmp/err")"; fi

echo "# faults: $runs runs over $sites allocation sites in $(( $(date +%s) - t0 )) s"
