# crash.sh - kill -9 at random moments, resume each time: the rows converge exactly to those of
# a run that was never interrupted (DESIGN.md 3.3, 3.4, 7).
#
# The killed run is paced (time_scale 7200: half a wall second a cycle, 10 s for 20 cycles),
# so every kill lands mid-run whatever the machine's speed: a fast machine only waits
# longer between cycles, a slow one lags.  The reference runs flat out: pacing changes
# when rows are written, never which.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 11" "checkpoint_interval = 0.25"
ARGS="--agents 1000 --cycles 20 --all-shop --max-concurrent 32"

# the reference: one uninterrupted run
t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
ref_orders=$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")
t_stop_simd || t_fail "exit"
[ "$ref_orders" -gt 0 ] || t_fail "reference run made no orders"

# the same run, killed with SIGKILL five times, each life 0.4 .. 1.2 s long
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
t_kill_resume 5
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +finished' "resumed run finished"
t_expect_match "$(t_ctl --json status)" '"cycle": 20' "all cycles ran"
got=$(t_digest "$DATA/shop.db")
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")" "$ref_orders" "order count"
t_expect_eq "$got" "$ref" "digest after $kills kills and resumes"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions
    WHERE outcome IS NULL OR ended_at IS NULL")" 0 "no session left looking in progress"
t_stop_simd || t_fail "exit"

# killed before its first interval (the default 300 s): the start checkpoint resumes it
rm -rf "$DATA"; mkdir "$DATA"
sed -i '/^checkpoint_interval/d' "$T/simd.conf"
t_start_simd
run=$(t_ctl --json start $ARGS --time-scale 7200 | tr -d ' \n' | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')
sleep 0.5
kill -KILL "$SIMD_PID"
wait "$SIMD_PID" 2>/dev/null || true
SIMD_PID=
t_start_simd --resume
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" "\"run_id\":\"$run\"" "simd --resume continues the run killed early"
t_expect_match "$st" '"state":"running"' "the early-killed run runs again"
t_ctl stop --wait >/dev/null
t_stop_simd || t_fail "exit"
