# pgtimeout.sh - statement_timeout: a statement stuck behind another client's lock is cancelled
# by the server and retried; a server that stops answering (SIGSTOP) costs connections, never
# the loop: status still answers, the steps fail as timeouts, are retried, nothing is lost.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_conf "seed = 4" "checkpoint_interval = 86400" "retry_window = 120" "retry_backoff_ms = 20" \
    "statement_timeout = 0.5" "connect_timeout = 1" "log_level = debug"


stats_field() {
	t_ctl --json stats | tr -d ' \n' | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# another client locks every user row mid-run (each session's first step updates its user),
# and lets go once simd has retried behind it
url=$(t_pg_db simd_lock)
t_conf "database_url = $url"
t_start_simd
t_ctl start --agents 40 --all-shop --cycles 0 --time-scale 0 --max-concurrent 8 >/dev/null
t_wait_for '[ "$(t_status_field sessions)" -ge 20 ]' 60
mkfifo "$T/lock.fifo"
_pg_admin -d simd_lock <"$T/lock.fifo" >"$T/lock.out" 2>&1 &
locker=$!
exec 3>"$T/lock.fifo"
echo "BEGIN; SELECT count(*) AS locked FROM (SELECT id FROM users FOR UPDATE) x;" >&3
t_wait_for 'grep -q "^ *40$" "$T/lock.out"' 30
r0=$(stats_field retries)
t_wait_for 'grep -q "canceling statement due to statement timeout" "$T/simd.log"' 60
t_wait_for '[ "$(stats_field retries)" -ge $((r0 + 2)) ]' 60
t_expect_match "$(t_ctl status)" 'state: +running' "the run waits behind the lock"
echo "COMMIT;" >&3
exec 3>&-
wait "$locker" || t_fail "the locking client failed: $(cat "$T/lock.out")"
n0=$(t_status_field sessions)
t_wait_for '[ "$(t_status_field sessions)" -gt "$n0" ]' 120
out=$(t_ctl --json stop --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "finished once the lock went"
t_expect_match "$out" '"errors":0' "nothing lost behind the lock"
n=$(printf '%s' "$out" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
t_expect_eq "$(_pg_admin -At -d simd_lock -c "SELECT count(*) FROM shopping_sessions
    WHERE outcome IS NOT NULL")" "$n" "every session landed, none half-written"
t_stop_simd || t_fail "exit"

# a stopped server, on a private one: every process of it gets SIGSTOP, then SIGCONT
t_pg_own
url=$(t_pg_db simd_stop)
t_conf "database_url = $url" "pg_prepared = no"
t_start_simd
t_ctl start --agents 200 --all-shop --cycles 0 --time-scale 0 --max-concurrent 16 >/dev/null
t_wait_for '[ "$(t_status_field sessions)" -ge 50 ]' 60
pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
procs="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
# shellcheck disable=SC2086
kill -STOP $procs
t_wait_for 'grep -q "no answer from the server within statement_timeout" "$T/simd.log"' 60
st=$(timeout 10 "$SIMCTL" -s "$SIMD_SOCKET" status) || { kill -CONT $procs; t_fail "status hung"; }
t_expect_match "$st" 'state: +running' "status answers while the server is stopped"
n0=$(t_status_field sessions)
# shellcheck disable=SC2086
kill -CONT $procs
t_wait_for '[ "$(t_status_field sessions)" -gt "$n0" ]' 120
out=$(t_ctl --json stop --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "finished after the server came back"
t_expect_match "$out" '"errors":0' "nothing lost to the stopped server"
t_expect_match "$(t_ctl --json stats | tr -d ' \n')" '"retries":[1-9]' "timeouts were retried"
n=$(printf '%s' "$out" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
t_expect_eq "$(_pg_admin -At -d simd_stop -c "SELECT count(*) FROM shopping_sessions")" "$n" \
    "every session landed"
t_stop_simd || t_fail "exit"
