#!/bin/sh
# tests/fuzz/run.sh -- run libFuzzer harnesses (built by `make fuzz` into
# build-fuzz/fuzz/) for FUZZ_SECONDS each, one after the other on one core.
#
#   FUZZ_SECONDS=600 sh tests/fuzz/run.sh [PARSER...]   (default: all)
#
# Seeds: tests/fuzz/corpus/<p>/ and tests/fuzz/crashes/<p>/ (read only).
# New corpus entries go to build-fuzz/corpus/<p>/, logs to
# build-fuzz/logs/<p>.log, a crash reproducer to build-fuzz/artifacts/<p>/.
# Exits 1 if any harness found a crash, leak, timeout or out-of-memory.
cd "$(dirname "$0")/../.." || exit 2
F=build-fuzz
secs=${FUZZ_SECONDS:-60}
[ $# -gt 0 ] || set -- safetensors checkpoint npy idx png jpeg bmp csv descriptor ir frontend
failed=0
for p in "$@"; do
	bin=$F/fuzz/fuzz_$p
	[ -x "$bin" ] || { echo "fuzz $p: $bin is not built (make fuzz)"; failed=1; continue; }
	mkdir -p "$F/corpus/$p" "$F/artifacts/$p" "$F/logs"
	seeds="tests/fuzz/corpus/$p"
	[ -d "tests/fuzz/crashes/$p" ] && seeds="$seeds tests/fuzz/crashes/$p"
	dict=""
	[ -f "tests/fuzz/$p.dict" ] && dict="-dict=tests/fuzz/$p.dict"
	log=$F/logs/$p.log
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$F/artifacts/$p/" $dict "$F/corpus/$p" $seeds >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	n=$(find "$F/corpus/$p" -type f | wc -l)
	art=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
	if [ -n "$art" ]; then
		echo "fuzz $p: FOUND A CRASH after ${runs:-?} runs: reproducer $art"
		grep -m3 -E '^==[0-9]+==ERROR|SUMMARY|runtime error|fuzz [a-z]+:' "$log" | sed 's/^/    /'
		failed=1
	elif [ "$rc" -ne 0 ]; then
		echo "fuzz $p: libFuzzer exited with status $rc and no reproducer; see $log"
		failed=1
	else
		echo "fuzz $p: ${secs}s, ${runs:-?} runs, ${eps:-?} exec/s, $cov, $n corpus files: no crash"
	fi
done
exit $failed
