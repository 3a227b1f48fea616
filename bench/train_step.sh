#!/bin/sh
# bench/train_step.sh -- the training step of models/fashion_cnn.lua compiled
# by lunac against the same network in PyTorch (Debian's python3-torch),
# side by side: same batch, same threads, synthetic data, Adam; medians of
# several rounds. Prints both and the ratio lunac/PyTorch (above 1: slower).
#
#   sh bench/train_step.sh [BATCH [THREADS [ROUNDS]]]      (make bench runs it)
set -eu
cd "$(dirname "$0")/.."
batch=${1:-64}; threads=${2:-1}; rounds=${3:-7}
py=/usr/bin/python3
$py -c 'import torch' 2>/dev/null || { echo "bench: needs python3-torch (apt-get install python3-torch)" >&2; exit 2; }
mkdir -p generated
bin/lunac build models/fashion_cnn.lua -o generated/fashion_cnn_bench
ours=$(generated/fashion_cnn_bench bench --entry train_adam --batch "$batch" --threads "$threads" --steps 20 --repeat "$rounds")
peer=$(OMP_NUM_THREADS=$threads $py bench/torch_fashion_cnn.py --batch "$batch" --threads "$threads" --steps 20 --repeat "$rounds")
echo "lunac:   $ours"
echo "pytorch: $peer"
$py - "$ours" "$peer" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("train step, batch %d, %d thread(s): lunac %.1f ms, %s %.1f ms, ratio %.2f (lunac / pytorch)"
      % (a["batch"], a["threads"], a["median_ms"], b["peer"], b["median_ms"], a["median_ms"] / b["median_ms"]))
PY
