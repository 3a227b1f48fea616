#!/bin/sh
# tests/cli/synth.sh -- bin/lunac-synth (runtime/tools/synth*.c): derm-mri's
# folder and paired layouts (structure, balanced counts, valid PNGs of the
# right size and colour type, the CSVs), byte-identical output for a seed
# whatever the thread count, fashion-pair's disjoint datasets checked
# against the IDX files, and the errors: one message, exit status 1 or 2,
# nothing left behind (not even the staging directory).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh
S=bin/lunac-synth

# nothing_left NAME DIR: neither DIR nor a staging DIR.tmp.* exists.
nothing_left() {
	if [ ! -e "$2" ] && ! ls -d "$2".tmp.* >/dev/null 2>&1; then ok "$1"; else notok "$1" "$(ls -d "$2"*)"; fi
}

if [ ! -x "$S" ]; then
	notok "lunac-synth: build" "$S is not built (run make)"
	exit 0
fi
PY=$(command -v python3) || { notok "python3" "not found (make deps installs it)"; exit 0; }

# A stdlib-only PNG reader: `pngcheck.py FILE... SIZE CHANNELS` checks the
# signature, IHDR, the IDAT size once inflated and IEND; pixels(FILE) gives
# the unfiltered pixel bytes.
cat >"$tmp/pngcheck.py" <<'PY'
import struct, sys, zlib

def chunks(path):
    d = open(path, 'rb').read()
    if d[:8] != b'\x89PNG\r\n\x1a\n':
        sys.exit(path + ': not a PNG signature')
    p = 8
    while p < len(d):
        n, = struct.unpack('>I', d[p:p + 4])
        yield d[p + 4:p + 8], d[p + 8:p + 8 + n]
        p += 12 + n

def parse(path):
    ihdr, idat, end = None, b'', False
    for t, c in chunks(path):
        if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', c)
        elif t == b'IDAT': idat += c
        elif t == b'IEND': end = True
    if not ihdr or not end:
        sys.exit(path + ': no IHDR or no IEND')
    return ihdr, zlib.decompress(idat)

def pixels(path):
    (w, h, depth, ctype, _, _, _), raw = parse(path)
    ch = {0: 1, 2: 3}[ctype]; st = w * ch; prev = bytearray(st); out = b''
    for y in range(h):
        f = raw[y * (st + 1)]; line = bytearray(raw[y * (st + 1) + 1:(y + 1) * (st + 1)])
        for i in range(st):
            a = line[i - ch] if i >= ch else 0; b = prev[i]; c = prev[i - ch] if i >= ch else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                q = a + b - c; pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line; prev = line
    return out

if __name__ == '__main__':
    size, chans = int(sys.argv[-2]), int(sys.argv[-1])
    for path in sys.argv[1:-2]:
        (w, h, depth, ctype, _, _, _), raw = parse(path)
        want = {1: 0, 3: 2}[chans]
        if (w, h, depth, ctype) != (size, size, 8, want):
            sys.exit('%s: %dx%d depth %d colour type %d, wanted %dx%d depth 8 type %d'
                     % (path, w, h, depth, ctype, size, size, want))
        if len(raw) != h * (1 + w * chans):
            sys.exit('%s: %d bytes of image data, wanted %d' % (path, len(raw), h * (1 + w * chans)))
PY

# ---- derm-mri, folders ------------------------------------------------------
D=$tmp/dm
expect_status "derm-mri folders: runs" 0 $S derm-mri --out "$D" --count 21 --size 24 --seed 5
# classes DIR: the class folder names, one line.
classes() { ls "$1" | tr '\n' ' '; }
check "derm-mri: derm classes" test "$(classes "$D/derm")" = "0_round 1_irregular 2_multicolour 3_dotted 4_elongated "
check "derm-mri: mri classes" test "$(classes "$D/mri")" = "0_healthy 1_mass 2_ring 3_diffuse 4_spots 5_dark 6_ventricles "
check "derm-mri: test splits have the same classes" test "$(classes "$D/derm_test")$(classes "$D/mri_test")" = "$(classes "$D/derm")$(classes "$D/mri")"
check "derm-mri: top level" test "$(classes "$D")" = "derm derm_test mri mri_test "
# counts MOD: per class, train+test images, one line.
counts() { for c in $(ls "$D/$1"); do echo $(( $(ls "$D/$1/$c" | wc -l) + $(ls "$D/${1}_test/$c" | wc -l) )); done | tr '\n' ' '; }
check "derm-mri: 21 derm images, balanced" test "$(counts derm)" = "5 4 4 4 4 "
check "derm-mri: 21 mri images, balanced" test "$(counts mri)" = "3 3 3 3 3 3 3 "
check "derm-mri: every class has a test image" test "$(find "$D"/*_test -mindepth 1 -type d -empty | wc -l)" -eq 0
check "derm-mri: 80/20 split" test "$(find "$D/derm_test" -type f | wc -l)" -eq 5
check "derm-mri: nothing but PNGs" test "$(find "$D" -type f ! -name '[0-9][0-9][0-9][0-9][0-9].png' | wc -l)" -eq 0
check "derm-mri: derm images are 24x24 RGB PNGs" "$PY" "$tmp/pngcheck.py" $(find "$D/derm" "$D/derm_test" -name '*.png') 24 3
check "derm-mri: mri images are 24x24 grey PNGs" "$PY" "$tmp/pngcheck.py" $(find "$D/mri" "$D/mri_test" -name '*.png') 24 1

# ---- determinism ------------------------------------------------------------
$S derm-mri --out "$tmp/dm2" --count 21 --size 24 --seed 5 --threads 1 >/dev/null 2>&1
check "derm-mri: same seed, one thread: identical files" diff -r "$D" "$tmp/dm2"
$S derm-mri --out "$tmp/dm3" --count 21 --size 24 --seed 5 --threads 4 >/dev/null 2>&1
check "derm-mri: same seed, four threads: identical files" diff -r "$D" "$tmp/dm3"
$S derm-mri --out "$tmp/dm4" --count 21 --size 24 --seed 6 >/dev/null 2>&1
if [ -f "$tmp/dm4/derm/0_round/00000.png" ] && ! cmp -s "$D/derm/0_round/00000.png" "$tmp/dm4/derm/0_round/00000.png" &&
   ! cmp -s "$D/mri/0_healthy/00000.png" "$tmp/dm4/mri/0_healthy/00000.png"; then
	ok "derm-mri: another seed: different images"
else
	notok "derm-mri: another seed: different images" "seed 6 wrote the same bytes as seed 5 (or nothing)"
fi
$S derm-mri --out "$tmp/dm5" --count 42 --size 24 --seed 5 >/dev/null 2>&1
check "derm-mri: an image depends on its seed and number, not on --count" \
	cmp "$D/mri/2_ring/00002.png" "$tmp/dm5/mri/2_ring/00002.png"

# ---- derm-mri, paired -------------------------------------------------------
P=$tmp/pair
expect_status "derm-mri paired: runs" 0 $S derm-mri --out "$P" --layout paired --count 12 --size 16
check "paired: top level" test "$(classes "$P")" = "derm mri paired.csv paired_test.csv "
check "paired: headers" test "$(head -qn1 "$P/paired.csv" "$P/paired_test.csv" | tr '\n' ' ')" = \
	"derm,mri,task1,task2 derm,mri,task1,task2 "
check "paired: 10 training and 2 test rows" test "$(wc -l <"$P/paired.csv") $(wc -l <"$P/paired_test.csv")" = "11 3"
cat >"$tmp/pairs.py" <<'PY'
import csv, os, sys
root, seen = sys.argv[1], set()
for name in ('paired.csv', 'paired_test.csv'):
    for r in csv.DictReader(open(os.path.join(root, name))):
        assert list(r) == ['derm', 'mri', 'task1', 'task2'], list(r)
        for col in ('derm', 'mri'):
            assert os.path.isfile(os.path.join(root, r[col])), r[col]
            assert r[col] not in seen, 'listed twice: ' + r[col]
            seen.add(r[col])
        assert 0 <= int(r['task1']) < 5 and 0 <= int(r['task2']) < 7, r
assert len(seen) == 24, len(seen)
PY
check "paired: rows name existing images once, labels in range" "$PY" "$tmp/pairs.py" "$P"
check "paired: images of the right kind" "$PY" "$tmp/pngcheck.py" "$P"/derm/*.png 16 3

# ---- fashion-pair -----------------------------------------------------------
F=$tmp/fash
FM=/usr/share/datasets/fashion-mnist
if [ ! -f "$FM/train-labels-idx1-ubyte.gz" ]; then
	notok "fashion-pair" "$FM is missing (make deps installs dataset-fashion-mnist)"
else
	expect_status "fashion-pair: runs" 0 $S fashion-pair --out "$F" --count 10 --size 28
	check "fashion-pair: fa classes" test "$(classes "$F/fa")$(classes "$F/fa_test")" = \
		"0_tshirt 1_trouser 2_pullover 3_dress 4_coat 0_tshirt 1_trouser 2_pullover 3_dress 4_coat "
	check "fashion-pair: fb classes" test "$(classes "$F/fb")$(classes "$F/fb_test")" = \
		"0_sandal 1_shirt 2_sneaker 3_bag 4_ankle_boot 0_sandal 1_shirt 2_sneaker 3_bag 4_ankle_boot "
	check "fashion-pair: 10 training images per dataset, 2 per class" test \
		"$(for c in "$F"/fa/* "$F"/fb/*; do ls "$c" | wc -l; done | tr '\n' ' ')" = "2 2 2 2 2 2 2 2 2 2 "
	check "fashion-pair: a test image per class" test "$(find "$F"/*_test -mindepth 1 -type d -empty | wc -l)" -eq 0
	cat >"$tmp/fash.py" <<'PY'
import gzip, os, sys
from pngcheck import pixels
root, fm = sys.argv[1], sys.argv[2]
for split, stem in (('', 'train'), ('_test', 't10k')):
    labels = gzip.open('%s/%s-labels-idx1-ubyte.gz' % (fm, stem)).read()[8:]
    images = gzip.open('%s/%s-images-idx3-ubyte.gz' % (fm, stem)).read()[16:]
    for ds, base in (('fa', 0), ('fb', 5)):
        for cls in os.listdir(os.path.join(root, ds + split)):
            for f in os.listdir(os.path.join(root, ds + split, cls)):
                i = int(f[:5])
                want = base + int(cls.split('_')[0])
                assert labels[i] == want, '%s%s/%s/%s: IDX label %d, wanted %d' % (ds, split, cls, f, labels[i], want)
                px = pixels(os.path.join(root, ds + split, cls, f))
                assert px == images[i * 784:(i + 1) * 784], '%s%s/%s/%s: pixels differ from the IDX image' % (ds, split, cls, f)
PY
	check "fashion-pair: labels disjoint, each image is its IDX image and label" "$PY" "$tmp/fash.py" "$F" "$FM"
	expect_status "fashion-pair --size 32: runs" 0 $S fashion-pair --out "$tmp/f32" --count 5
	check "fashion-pair --size 32: 32x32 grey PNGs" "$PY" "$tmp/pngcheck.py" $(find "$tmp/f32" -name '*.png') 32 1
fi

# ---- errors -----------------------------------------------------------------
expect_status "error: no command" 2 $S
expect_status "error: unknown command" 2 $S derm-ct --out "$tmp/x"
err_has "error: unknown command names it" "unknown command \"derm-ct\""
expect_status "error: unknown layout" 2 $S derm-mri --out "$tmp/x" --layout grid
err_has "error: unknown layout says the choices" "--layout grid: use folders or paired"
expect_status "error: bad number" 2 $S derm-mri --out "$tmp/x" --count 12x
err_has "error: bad number names it" "--count 12x: not an integer"
expect_status "error: too few for the folders layout" 2 $S derm-mri --out "$tmp/x" --count 10
expect_status "error: size too small" 2 $S derm-mri --out "$tmp/x" --size 4
expect_status "error: no --out" 2 $S derm-mri --count 20
expect_status "error: unknown flag" 2 $S fashion-pair --out "$tmp/x" --seed 3
expect_status "error: missing value" 2 $S derm-mri --out
nothing_left "error: usage errors write nothing" "$tmp/x"
expect_status "error: parent directory missing" 1 $S derm-mri --out "$tmp/no/such/dir" --count 14 --size 16
err_has "error: parent directory missing says so" "parent directory must exist"
echo hi >"$tmp/file"
expect_status "error: --out under a file" 1 $S derm-mri --out "$tmp/file/x" --count 14 --size 16
expect_status "error: --out is a file" 1 $S derm-mri --out "$tmp/file" --count 14 --size 16
err_has "error: --out is a file says so" "is not a directory"
expect_status "error: --out not empty" 1 $S derm-mri --out "$D" --count 14 --size 16
err_has "error: --out not empty says so" "already exists and is not empty"
check "error: the existing dataset is untouched" diff -r "$D" "$tmp/dm2"
check "error: no staging directory left" test -z "$(ls -d "$tmp"/*.tmp.* 2>/dev/null)"
mkdir "$tmp/empty"
expect_status "an existing empty --out is filled" 0 $S derm-mri --out "$tmp/empty" --count 14 --size 16
check "an existing empty --out: complete" test "$(find "$tmp/empty" -name '*.png' | wc -l)" -eq 28

# Interrupted: a run stopped by SIGTERM leaves neither DIR nor its staging directory.
$S derm-mri --out "$tmp/big" --count 200000 --size 64 --threads 2 >/dev/null 2>"$tmp/err" &
pid=$!
k=0
while [ $k -lt 100 ] && ! ls -d "$tmp"/big.tmp.*/derm/0_round/00000.png >/dev/null 2>&1; do sleep 0.1; k=$((k + 1)); done
kill -TERM $pid 2>/dev/null
wait $pid; rc=$?
if [ "$rc" -eq 1 ] && grep -q interrupted "$tmp/err"; then ok "interrupted: exit 1, says so"; else notok "interrupted: exit 1, says so" "exit $rc: $(head -c 200 "$tmp/err")"; fi
nothing_left "interrupted: nothing left behind" "$tmp/big"
# Progress: on a terminal a line "images K/N (P%)" redrawn in place; in a log nothing.
if command -v script >/dev/null; then
	script -qec "$S derm-mri --out $tmp/tty --count 20 --size 16" /dev/null >"$tmp/tty.out" 2>&1
	if grep -q 'images 40/40 (100%)' "$tmp/tty.out"; then ok "progress on a terminal"
	else notok "progress on a terminal" "$(od -c "$tmp/tty.out" | head -4)"; fi
fi
$S derm-mri --out "$tmp/log" --count 20 --size 16 >"$tmp/log.out" 2>&1
if [ ! -s "$tmp/log.out" ]; then ok "no progress in a log"; else notok "no progress in a log" "$(head -c 200 "$tmp/log.out")"; fi
exit 0
