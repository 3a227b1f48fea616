#!/bin/sh
# bench/check_agreement.sh -- is bench/drifa_torch.py the network lunac
# compiles? For a small and the full DRIFA-Net: lunac `init --seed 1`, every
# batch-norm statistic, bias and scale then drawn at random (agree.py prep),
# a fixed input pair; lunac's predict, PyTorch in eval mode and ONNX Runtime
# (the model drifa_torch.py exports) on the same weights and inputs. Prints
# the max relative difference of the probabilities (lunac and ONNX Runtime
# against PyTorch) and fails above AGREE_LIMIT (1e-5). Writes
# generated/bench/agreement.json (one JSON object per line).
#
#   sh bench/check_agreement.sh [small] [full]       (default: both)
# Env: LUNAC_FULL=EXE reuses a full-size executable already built
#      (drifa_bench.sh passes the one it timed); NO_ORT=1 skips ONNX Runtime.
set -eu
cd "$(dirname "$0")/.."
py=/usr/bin/python3
out=generated/bench
mkdir -p "$out"
: > "$out/agreement.json"
$py -c 'import torch' 2>/dev/null || { echo "check_agreement: needs python3-torch (apt-get install python3-torch)" >&2; exit 2; }
ort=1
[ "${NO_ORT:-0}" = 1 ] && ort=0
if [ $ort = 1 ] && [ ! -d bench/node_modules/onnxruntime-node ]; then
	echo "check_agreement: no bench/node_modules/onnxruntime-node (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install); ONNX Runtime skipped" >&2
	ort=0
fi

# compare WHAT REF.npz NAME=X.npy ...: agree.py compare, its line printed and
# appended to agreement.json; exit 1 when it fails.
compare() {
	st=0
	r=$($py bench/agree.py compare "$@") || st=$?
	echo "$r"
	echo "$r" >> "$out/agreement.json"
	[ $st = 0 ] || { echo "check_agreement: $1: the outputs differ by more than ${AGREE_LIMIT:-1e-5} relative" >&2; exit 1; }
}

# check NAME EXE "MODEL FLAGS FOR drifa_torch.py" SIZE N: the comparison for one configuration.
check() {
	name=$1 exe=$2 flags=$3 size=$4 n=$5
	d=$out/agree_$name
	mkdir -p "$d"
	"$exe" init --seed 1 -o "$d/w0.safetensors" >/dev/null
	$py bench/agree.py prep "$d/w0.safetensors" "$d/w.safetensors" "$size" "$n" "$d"
	"$exe" predict --quiet --weights "$d/w.safetensors" --input a="$d/a.npy" --input b="$d/b.npy" \
		-o task1="$d/lunac1.npy" -o task2="$d/lunac2.npy"
	# shellcheck disable=SC2086
	$py bench/drifa_torch.py predict --weights "$d/w.safetensors" --input a="$d/a.npy" --input b="$d/b.npy" \
		-o "$d/torch.npz" $flags >/dev/null
	compare "lunac vs pytorch, $name" "$d/torch.npz" task1="$d/lunac1.npy" task2="$d/lunac2.npy"
	if [ $ort = 1 ]; then
		# shellcheck disable=SC2086
		$py bench/drifa_torch.py onnx --weights "$d/w.safetensors" -o "$d/model.onnx" $flags >/dev/null 2>"$d/onnx.log" ||
			{ cat "$d/onnx.log" >&2; exit 1; }
		node bench/ort_run.js "$d/model.onnx" --input a="$d/a.npy" --input b="$d/b.npy" \
			--output task1="$d/ort1.npy" --output task2="$d/ort2.npy" >/dev/null
		compare "onnxruntime vs pytorch, $name" "$d/torch.npz" task1="$d/ort1.npy" task2="$d/ort2.npy"
	fi
}

which=${*:-small full}
for w in $which; do
	case $w in
	small)
		bin/lunac build models/drifa_net.lua -D size=32 -D width=0.125 -D blocks=1 -o "$out/drifa_small"
		check small "$out/drifa_small" "--size 32 --width 0.125 --blocks 1" 32 4 ;;
	full)
		exe=${LUNAC_FULL:-}
		if [ -z "$exe" ]; then
			exe=$out/drifa_full
			bin/lunac build models/drifa_net.lua -D classes1=5 -D classes2=7 -o "$exe"
		fi
		check full "$exe" "--classes1 5 --classes2 7" 128 2 ;;
	*) echo "check_agreement: $w: small or full" >&2; exit 2 ;;
	esac
done
