# pgqueue.sh - the event queue is bounded (event_queue_max) with back-pressure: while another
# client keeps the events table locked (pg_prepared = no: preparing an INSERT would wait on
# it too), the queue fills to its bound, no new session starts,
# status shows the queue; once the lock goes the run finishes with every event written.
# pg_pipeline = no: a session's chain writes its events in its last step's transaction (which
# the lock would hold, as it would an application's), so the queue is the lone steps' path.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
MAX=300
t_conf "seed = 8" "checkpoint_interval = 86400" "event_queue_max = $MAX" \
    "event_batch_size = 50" "statement_timeout = 0" "retry_window = 120" "pg_prepared = no" \
    "pg_pipeline = no"
url=$(t_pg_db simd_queue)
t_conf "database_url = $url"
t_start_simd # migrates: the table exists

mkfifo "$T/lock.fifo"
_pg_admin -d simd_queue <"$T/lock.fifo" >"$T/lock.out" 2>&1 &
locker=$!
exec 3>"$T/lock.fifo"
# EXCLUSIVE: reads go on, inserts wait
echo "BEGIN; LOCK TABLE shopping_session_events IN EXCLUSIVE MODE; SELECT 'locked';" >&3
t_wait_for 'grep -q locked "$T/lock.out"' 30

agents=600 conc=20
t_ctl start --agents $agents --all-shop --cycles 1 --time-scale 0 --max-concurrent $conc \
    >/dev/null
# the queue reaches its bound, then the sessions in flight drain and none starts
t_wait_for '[ "$(t_status_field events_queued)" -ge $MAX ] && [ "$(t_status_field in_flight)" = 0 ]' 120
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"running"' "the run waits, it does not fail"
t_expect_match "$st" "\"events_queue_max\":$MAX" "status shows the bound"
s1=$(t_status_field sessions)
[ "$s1" -lt "$agents" ] || t_fail "every session ran although the queue was full"
sleep 1
t_expect_eq "$(t_status_field sessions)" "$s1" "no session starts while the queue is full"
# over the bound by at most what the sessions in flight when it was reached had to add
peak=$(t_status_field events_queued_peak)
[ "$peak" -le $((MAX + conc * 48)) ] || t_fail "queue peak $peak far over its bound $MAX"
echo "queue peak $peak (bound $MAX); $s1 of $agents sessions ran before it was full"
echo "COMMIT;" >&3
exec 3>&-
wait "$locker" || t_fail "the locking client failed: $(cat "$T/lock.out")"
t_wait_end 300
out=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "finished once the table was free"
t_expect_match "$out" '"errors":0' "nothing lost"
t_expect_match "$out" '"events_queued":0' "the queue drained"
events=$(printf '%s' "$out" | sed -n 's/.*"events":\([0-9]*\).*/\1/p')
t_expect_eq "$(_pg_admin -At -d simd_queue -c "SELECT count(*) FROM shopping_session_events")" \
    "$events" "every event written"
t_expect_eq "$(_pg_admin -At -d simd_queue -c "SELECT count(*) FROM shopping_sessions")" \
    "$agents" "every session ran"
peak=$(t_status_field events_queued_peak)
[ "$peak" -le $((MAX + conc * 48)) ] || t_fail "queue peak $peak far over its bound $MAX"
t_stop_simd || t_fail "exit"
