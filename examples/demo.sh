#!/bin/sh
# examples/demo.sh -- lunac end to end on built-in data (what `make demo` runs):
#
#   1. generate a synthetic two-modality data set (dermoscopy-like + MRI-like
#      images, 5 and 7 classes) with bin/lunac-synth;
#   2. compile DRIFA-Net in a reduced configuration into one executable;
#   3. train it (two tasks, weighted loss, checkpoints, metrics.jsonl);
#   4. evaluate it on the held-out images, per task;
#   5. run the Monte-Carlo dropout diagnosis on a few held-out image pairs.
#
# Everything lands in generated/demo/ (override with DEMO_DIR). Knobs:
# DEMO_EPOCHS (default 20), DEMO_COUNT (images per modality, 3000),
# DEMO_SIZE (input side, 32), DEMO_OPT (LLVM level, -O3).
#
# The configuration is DRIFA-Net reduced to fit two minutes on two cores:
# a channel width of 1/8, one block per stage, 32x32 inputs, and dropout
# 0.1 instead of the paper's 0.25 (with so few channels and epochs the
# paper's dropout and flip augmentation keep the model from fitting); Adam at
# lr 0.008 with a cosine schedule.
set -eu
cd "$(dirname "$0")/.."
dir=${DEMO_DIR:-generated/demo}
epochs=${DEMO_EPOCHS:-20}
count=${DEMO_COUNT:-3000}
size=${DEMO_SIZE:-32}
opt=${DEMO_OPT:--O3}
exe=$dir/drifa_small

step() { printf '\n== %s\n' "$*"; }

rm -rf "$dir"
mkdir -p "$dir"

step "1/5 synthetic data: $count dermoscopy-like and $count MRI-like images, ${size}x$size -> $dir/data"
bin/lunac-synth derm-mri --out "$dir/data" --count "$count" --size "$size" --seed 1

step "2/5 compile DRIFA-Net (size $size, width 0.125, one block per stage, dropout 0.1) -> $exe"
cfg="-D size=$size -D width=0.125 -D blocks=1 -D dropout=0.1 -D classes1=5 -D classes2=7"
# shellcheck disable=SC2086
bin/lunac stats models/drifa_net.lua $cfg
# shellcheck disable=SC2086
bin/lunac build models/drifa_net.lua $cfg "$opt" -o "$exe"

step "3/5 train $epochs epochs: a = dermoscopy (task1, 5 classes), b = MRI (task2, 7 classes), loss 0.5 CE1 + 0.5 CE2"
"$exe" train --data a=folders:"$dir/data/derm" --data b=folders:"$dir/data/mri" \
	--epochs "$epochs" --batch 32 --lr 0.008 --schedule cosine --seed 1 --out "$dir/run"

step "4/5 evaluate the best checkpoint on the held-out images"
"$exe" eval --weights "$dir/run/best.safetensors" \
	--data a=folders:"$dir/data/derm_test" --data b=folders:"$dir/data/mri_test"

step "5/5 Monte-Carlo dropout: 30 stochastic passes on three held-out pairs"
# The true class of a held-out image is its folder's name.
for k in 0 1 2; do
	a=$(find "$dir/data/derm_test" -name '*.png' | sort | sed -n "$((k * 97 + 1))p")
	b=$(find "$dir/data/mri_test" -name '*.png' | sort | sed -n "$((k * 131 + 1))p")
	printf '\npair %d: a=%s  b=%s\n' "$k" "${a#"$dir"/data/}" "${b#"$dir"/data/}"
	"$exe" mc --weights "$dir/run/best.safetensors" --samples 30 --seed 1 --input a="$a" --input b="$b" \
		>"$dir/mc$k.txt"
	cat "$dir/mc$k.txt"
	for t in 1 2; do
		if [ "$t" = 1 ]; then truth=$(basename "$(dirname "$a")"); else truth=$(basename "$(dirname "$b")"); fi
		said=$(sed -n "s/^task task$t ([0-9]* classes): predicted [0-9]* (\(.*\))\$/\1/p" "$dir/mc$k.txt")
		if [ "$said" = "$truth" ]; then verdict=right; else verdict=wrong; fi
		printf '  task%d: true class %s, predicted %s: %s\n' "$t" "$truth" "${said:-?}" "$verdict"
	done
done

step "done"
cat <<EOF
  data          $dir/data/{derm,mri}{,_test}/CLASS/*.png
  executable    $exe   (try: $exe --help)
  checkpoints   $dir/run/best.safetensors, $dir/run/last.safetensors
  metrics       $dir/run/metrics.jsonl (one line per epoch)
  try next      $exe predict --weights $dir/run/best.safetensors \\
                    --data a=folders:$dir/data/derm_test --data b=folders:$dir/data/mri_test -o $dir/predictions.csv
                $exe export --weights $dir/run/best.safetensors -o $dir/drifa_small.safetensors
EOF
