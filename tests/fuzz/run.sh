#!/bin/sh
# run.sh - runs each libFuzzer harness given (tests/fuzz/fuzz_NAME) for FUZZ_SECS
# seconds, starting from its seeds in tests/fuzz/corpus/NAME/, and fails on any
# finding: a crash, a leak, undefined behaviour, a broken contract, an input
# slower than 10 s or a process over 2 GB.
#   FUZZ_SECS=60          seconds per harness
#   FUZZ_WORK=DIR         where each harness keeps the inputs it found
#                         (DIR/NAME/, kept between runs) and its findings
#                         (DIR/NAME-crash-*, -leak-*, -timeout-*, -oom-*)
# Prints one line per harness: executions, corpus size, and the verdict.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECS:-60}
work=${FUZZ_WORK:-$TOP/tests/fuzz/work}
failed=

for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	seeds=$TOP/tests/fuzz/corpus/$name
	mkdir -p "$work/$name" || exit 1
	log=$work/$name.log
	# The found inputs go to the first directory: the seeds in the tree stay as they are.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
	    -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$work/$name-" \
	    "$work/$name" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	corpus=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz $name: ${runs:-?} runs in ${secs}s, corpus of ${corpus:-?}, no finding"
	else
		failed="$failed $name"
		echo "fuzz $name: FINDING after ${runs:-?} runs (exit $rc); log $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*contract broken|.*runtime error|artifact_prefix|Test unit written)' \
		    "$log" | head -n 12 | sed 's/^/    | /'
		unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		if [ -n "$unit" ] && [ -f "$unit" ]; then
			echo "    input ($unit; replay: $bin FILE):"
			od -An -c "$unit" | head -n 16 | sed 's/^/    |/'
		fi
	fi
done
[ -z "$failed" ] || { echo "fuzz: findings in:$failed"; exit 1; }
