# sigstop.sh - simd stopped (SIGSTOP) for several cycles' worth of wall time, then continued: to
# its monotonic clock that is a jump.  One cycle starts at once with the lateness reported, the
# schedule moves by it (no burst of the missed cycles), clients waiting meanwhile get their
# answers, and the rows are those of a run never stopped.
#
# A cycle every quarter of a wall second (time_scale 14400); stopped 3 s, twelve cycles' worth.
# A loaded machine may make a cycle late on its own; what is checked is the cycle after the
# jump: in a burst it would start nearly as late as the one before.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 23" "checkpoint_interval = 86400"
ARGS="--agents 100 --cycles 40 --all-shop --max-concurrent 16"

t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"
rm -rf "$DATA"; mkdir "$DATA"

t_start_simd
t_ctl start $ARGS --time-scale 14400 >/dev/null
until [ "$(t_cycle)" -ge 3 ]; do sleep 0.05; done
kill -STOP "$SIMD_PID"
t_ctl -t 60 ping >"$T/ping" 2>&1 &
pinger=$!
sleep 3
kill -CONT "$SIMD_PID"
wait "$pinger" || t_fail "a client that asked while simd was stopped got no answer"
# the first cycle after the jump says how late it starts
i=0
until grep -Eq 'cycle [0-9]+ starts ([2-9]|[1-9][0-9]+)\.[0-9]+ s late' "$T/simd.log"; do
	i=$((i + 1))
	[ $i -lt 600 ] || t_fail "the jump was not reported as lag"
	sleep 0.05
done
t_wait_end
line=$(grep -E 'cycle [0-9]+ starts ([2-9]|[1-9][0-9]+)\.[0-9]+ s late' "$T/simd.log" | head -n 1)
n=$(printf '%s\n' "$line" | sed -n 's/.*cycle \([0-9]*\) starts.*/\1/p')
lag=$(printf '%s\n' "$line" | sed -n 's/.* starts \([0-9.]*\) s late.*/\1/p')
next=$(sed -n "s/.*cycle $((n + 1)) starts \([0-9.]*\) s late.*/\1/p" "$T/simd.log")
if [ -n "$next" ] && awk -v a="$next" -v b="$lag" 'BEGIN { exit !(a > b - 1) }'; then
	t_fail "a burst after the jump: cycle $n started $lag s late, cycle $((n + 1)) $next s"
fi
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "run finished"
t_expect_match "$st" '"errors":0' "no session lost to the stop"
t_expect_eq "$(t_digest "$DATA/shop.db")" "$ref" "rows = rows of a run never stopped"
t_stop_simd || t_fail "exit"
