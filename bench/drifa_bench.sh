#!/bin/sh
# bench/drifa_bench.sh -- full-size DRIFA-Net (heads 5 and 7, two 128x128x3
# inputs) compiled by lunac against PyTorch (bench/drifa_torch.py) and ONNX
# Runtime (bench/ort_run.js), side by side: compile time, inference at batch
# 1 and 32, the batch-32 training step and its peak RSS, at 1 and 2 threads,
# medians of interleaved rounds. bench/check_agreement.sh runs first (after
# the timed compile) and stops the benchmark when the networks disagree.
# Writes bench/results.json and prints a table (bench/drifa_bench.py has the
# details).
#
#   sh bench/drifa_bench.sh                 (make bench runs it)
#   QUICK=1 sh bench/drifa_bench.sh         3 rounds, one compile, no training case
# Env: ROUNDS, THREADS ("1 2"), CASES ("compile infer_b1 infer_b32 train_b32"),
#      EXE, AGREE=0 (see bench/drifa_bench.py).
set -eu
cd "$(dirname "$0")/.."
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
	{ echo "drifa_bench: needs python3-torch (apt-get install python3-torch)" >&2; exit 2; }
if [ ! -d bench/node_modules/onnxruntime-node ]; then
	command -v npm >/dev/null || { echo "drifa_bench: needs npm for ONNX Runtime (apt-get install npm)" >&2; exit 2; }
	(cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund)
fi
exec /usr/bin/python3 bench/drifa_bench.py
