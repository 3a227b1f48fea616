#!/bin/sh
# profile.sh -- the per-kernel profile (runtime/profile.c, prof_tick.c):
# bench --profile and predict --profile print one line per kernel call of
# the entry, in the descriptor's order of calls, with shares that add up to
# the whole; profiling changes no output; predict --data refuses it.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/cli/lib/common.sh

if ! bin/lunac build models/tiny_cnn.lua -O1 -o "$tmp/m" 2>"$tmp/err"; then
	notok "profile: build tiny_cnn" "$(head -c 300 "$tmp/err")"; exit 0
fi
expect_status "bench --profile: exit 0" 0 "$tmp/m" bench --entry train_adam --batch 4 --steps 2 --repeat 2 --profile
cp "$tmp/out" "$tmp/bench"
# the table: a header, one row per call, a total naming the number of calls and runs
calls=$(grep -c '^[0-9]' "$tmp/bench")
if grep -q "^total $calls kernel calls, [0-9.]* ms per run (4 runs, batch 4)" "$tmp/bench" && [ "$calls" -gt 20 ]; then
	ok "bench --profile: a row per kernel call, and the total"
else
	notok "bench --profile: a row per kernel call, and the total" "$(tail -2 "$tmp/bench")"
fi
# The rows' times add up to the total, and each share is its time over the
# total, to the printed precision (0.001 ms, 0.1%): the rounded shares
# themselves need not add up to 100.0 when there are many rows.
share=$(awk '/^[0-9]/ { sub("%", "", $6); ms[NR] = $5; sh[NR] = $6; s += $5; n++ }
	/^total / { t = $5 }
	END { bad = (t <= 0 || s - t > 0.0005 * n + 0.001 || t - s > 0.0005 * n + 0.001)
	      tol = t > 0 ? 0.051 + 0.0505 / t : 0
	      for (i in ms) if (t > 0) { d = sh[i] - 100 * ms[i] / t; if (d > tol || d < -tol) bad = 1 }
	      printf "%s (rows %.3f ms, total %.3f ms)", bad ? "off" : "ok", s, t }' "$tmp/bench")
case $share in
ok*) ok "bench --profile: the times add up to the total, the shares are their parts" ;;
*) notok "bench --profile: the times add up to the total, the shares are their parts" "$share" ;;
esac
for op in conv2d conv2d_dw maxpool_dx batchnorm; do
	has "bench --profile: names $op" "$tmp/bench" " $op "
done
if grep -q '^[0-9].* conv2d .*GFLOP/s$' "$tmp/bench" && grep -q '^[0-9].* relu .*GB/s$' "$tmp/bench"; then
	ok "bench --profile: GFLOP/s for convolutions, GB/s for elementwise ops"
else
	notok "bench --profile: rates" "$(grep -m2 ' conv2d \| relu ' "$tmp/bench")"
fi
rows=$(grep -c '^[0-9]' "$tmp/bench")
if [ "$(awk '/^[0-9]/ { print $1 }' "$tmp/bench" | sort -n | uniq | wc -l)" -eq "$rows" ]; then
	ok "bench --profile: each call once"
else
	notok "bench --profile: each call once" "$(awk '/^[0-9]/ { print $1 }' "$tmp/bench" | sort -n | uniq -d | head -3)"
fi
expect_status "bench --warmup 0: exit 0" 0 "$tmp/m" bench --entry predict --batch 2 --steps 1 --repeat 1 --warmup 0
out_has "bench --warmup 0: the JSON line" '"median_ms": '
expect_status "bench --warmup x: a usage error" 2 "$tmp/m" bench --warmup x
err_has "bench --warmup x: says why" "--warmup x: not a non-negative integer"

"$tmp/m" init --seed 3 -o "$tmp/w.safetensors" 2>/dev/null
/usr/bin/python3 -c 'import numpy as np; np.save("'"$tmp"'/x.npy", (np.arange(3 * 784, dtype="f4") % 17 / 17).reshape(3, 1, 28, 28))' 2>/dev/null ||
	python3 -c 'import numpy as np; np.save("'"$tmp"'/x.npy", (np.arange(3 * 784, dtype="f4") % 17 / 17).reshape(3, 1, 28, 28))'
expect_status "predict: exit 0" 0 "$tmp/m" predict --weights "$tmp/w.safetensors" --input "$tmp/x.npy"
cp "$tmp/out" "$tmp/plain.json"
expect_status "predict --profile: exit 0" 0 "$tmp/m" predict --weights "$tmp/w.safetensors" --input "$tmp/x.npy" --profile
check "predict --profile: the same JSON on stdout" cmp "$tmp/plain.json" "$tmp/out"
err_has "predict --profile: the table on stderr" "total 7 kernel calls"
err_has "predict --profile: the batch it ran" "(1 run, batch 3)"
expect_status "predict --data --profile: a usage error" 2 "$tmp/m" predict --weights "$tmp/w.safetensors" --data "npy:$tmp/x.npy" --profile
err_has "predict --data --profile: says what profiles" "--profile profiles --input runs"
exit 0
