# memlimit.sh - simd under memory pressure (ulimit -v): a run too big for the memory it may have is
# refused with a one-line reason, the daemon goes on, and the next run that fits has the rows of
# a run without the limit.
set -eu
. "$TOP/tests/lib/common.sh"
if [ "${SIMD_VALGRIND:-0}" = 1 ] || nm "$SIMD" 2>/dev/null | grep -q __asan_init ||
    ldd "$SIMD" 2>/dev/null | grep -q libasan; then
	echo "a limit of address space cannot be used under valgrind or AddressSanitizer"
	exit 77
fi
t_setup
t_conf "seed = 31" "checkpoint_interval = 86400"
ARGS="--agents 300 --cycles 10 --all-shop"

t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"
rm -rf "$DATA"; mkdir "$DATA"

# 400 MB of address space: simd itself needs a few tens; ten million agents need gigabytes
ulimit -v 400000
t_start_simd
rc=0; t_ctl start --agents 10000000 --cycles 1 --time-scale 0 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "a run too big for the memory refused"
t_expect_match "$(cat "$T/err")" '^simctl: (start: )?out of memory for 10000000 agents$' \
    "the refusal, one line with the reason"
t_expect_eq "$(wc -l <"$T/err")" 1 "one line"
t_expect_match "$(t_ctl status)" 'state: +idle' "the daemon goes on, idle"
t_ctl start $ARGS --time-scale 0 --wait >/dev/null || t_fail "a run that fits, after the refusal"
t_expect_match "$(t_ctl --json status | tr -d ' \n')" '"errors":0' "no errors"
t_expect_eq "$(t_digest "$DATA/shop.db")" "$ref" "rows = rows of a run without the limit"
t_stop_simd || t_fail "exit"
