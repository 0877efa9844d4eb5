# pgrestart.sh - the server restarts mid-run: connections come back with backoff, steps in flight
# are retried (and in write_mode = bulk, batches), the run finishes with nothing lost and
# nothing duplicated.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_pg_own
t_conf "seed = 9" "checkpoint_interval = 86400" "retry_window = 60"
ARGS="--agents 600 --all-shop --cycles 12 --max-concurrent 32"

ref_url=$(t_pg_db simd_ref)
t_conf "database_url = $ref_url"
t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
t_stop_simd || t_fail "exit"
ref=$(t_pg_digest simd_ref)

# paced (half a second a cycle): the restart lands mid-run whatever the machine's speed
url=$(t_pg_db simd_rs)
t_conf "database_url = $url"
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
sleep 1
t_expect_match "$(t_ctl status)" 'state: +running' "running before the restart"
pg_restart 1 >/dev/null || t_fail "server restart"
t_wait_end
# the outage is said once when it starts and once when it ends, with its length
log=$(cat "$T/simd.log")
t_expect_eq "$(grep -c 'the database is unreachable' "$T/simd.log")" 1 "the loss logged once"
t_expect_match "$log" 'warn\] postgres: the database is unreachable \(cannot connect to' "the loss, at warn"
t_expect_eq "$(grep -c 'reachable again after' "$T/simd.log")" 1 "the recovery logged once"
t_expect_match "$log" 'info\] postgres: the database at .* is reachable again after [0-9.]+ s' \
    "the recovery, with the outage's length"
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "run finished across the restart"
t_expect_match "$st" '"errors":0' "no session lost to the restart"
t_expect_match "$(t_ctl --json stats | tr -d ' \n')" '"retries":[1-9]' "steps were retried"
t_expect_eq "$(t_pg_digest simd_rs)" "$ref" "rows after a restart = rows of a quiet run"
t_stop_simd || t_fail "exit"

# the same in write_mode = bulk (whose rows equal realistic's, pgbulk.sh): the batches that
# failed stay queued and are written again once the server is back, nothing lost or doubled
url=$(t_pg_db simd_rs_bulk)
t_conf "database_url = $url" "event_flush_interval = 0.5"
t_start_simd
t_ctl start $ARGS --write-mode bulk --time-scale 7200 >/dev/null
sleep 1
t_expect_match "$(t_ctl status)" 'state: +running' "bulk: running before the restart"
pg_restart 1 >/dev/null || t_fail "server restart"
t_wait_end
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "bulk run finished across the restart"
t_expect_match "$st" '"errors":0' "bulk: no session lost to the restart"
t_expect_match "$(cat "$T/simd.log")" 'reachable again after' "bulk: the outage was seen"
t_expect_eq "$(t_pg_digest simd_rs_bulk)" "$ref" "bulk: rows after a restart = rows of a quiet run"
t_expect_eq "$(_pg_admin -At -d simd_rs_bulk -c "SELECT count(*) FROM shopping_sessions
    WHERE outcome IS NULL OR ended_at IS NULL")" 0 "bulk: no session left looking in progress"
t_stop_simd || t_fail "exit"
sed -i '/^event_flush_interval/d' "$T/simd.conf"

# a restart while the run is still being set up (users being written): the set-up is retried.
# The server itself makes the set-up last (each statement writing users sleeps 0.2 s), so
# the restart lands in it whatever the machine's speed.
url=$(t_pg_db simd_setup)
t_conf "database_url = $url"
t_start_simd
_pg_admin -d simd_setup -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END \$\$" \
    -c "CREATE TRIGGER slow BEFORE INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION slow()"
t_ctl start --agents 20000 --cycles 1 --time-scale 0 >/dev/null
sleep 0.5
grep -q 'agents ready' "$T/simd.log" && t_fail "the set-up ended before the restart"
pg_restart 1 >/dev/null || t_fail "server restart"
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +finished' "set-up survived the restart"
t_expect_match "$(cat "$T/simd.log")" 'set-up failed .*retrying' "the set-up was retried"
t_expect_eq "$(_pg_admin -At -d simd_setup -c "SELECT count(*) FROM users")" 20000 "all users"
t_stop_simd || t_fail "exit"

# TLS: sslmode=require works; verify-full without a root certificate is refused with libpq's
# whole advice, however long
pg_enable_ssl >/dev/null || t_fail "cannot turn TLS on"
rm -rf "$DATA"; mkdir "$DATA"
sed -i '/^database_url/d' "$T/simd.conf"
url="postgresql://postgres@127.0.0.1:$PGPORT/simtest"
t_conf "database_url = $url?sslmode=require"
t_start_simd
t_expect_match "$(t_ctl --json start --agents 20 --cycles 2 --time-scale 0 --wait | tr -d ' \n')" \
    '"state":"finished"' "a run over TLS"
[ "$(_pg_admin -At -d postgres -c "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a
    USING (pid) WHERE a.application_name LIKE 'simd/%' AND s.ssl")" -ge 1 ] ||
    t_fail "simd's connections are not encrypted"
t_stop_simd || t_fail "exit"
sed -i '/^database_url/d' "$T/simd.conf"
mkdir -p "$T/nohome"
rc=0; HOME=$T/nohome DATABASE_URL="$url?sslmode=verify-full" "$SIMD" -f -c "$T/simd.conf" \
    2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "verify-full without a root certificate"
t_expect_match "$(cat "$T/err")" 'root certificate file .* does not exist.*disable server certificate verification\.$' \
    "the whole TLS advice, uncut"

# (on this private server) a wrong password is refused without being shown; the right one
# is never in an answer or the log
rm -rf "$DATA"; mkdir "$DATA"
sed -i '/^database_url/d' "$T/simd.conf"
pg_set_password sekrit99 >/dev/null
rc=0; DATABASE_URL="postgresql://postgres:wr0ngpw77@127.0.0.1:$PGPORT/simtest" \
    "$SIMD" -f -d "$DATA" -s "$T/x.sock" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "wrong password refused"
t_expect_match "$(cat "$T/err")" 'password|authentication' "auth failure named"
grep -q wr0ngpw77 "$T/err" && t_fail "password printed: $(cat "$T/err")"
# the right password works, and is never in the status answer or the log
DATABASE_URL="postgresql://postgres:sekrit99@127.0.0.1:$PGPORT/simtest"
export DATABASE_URL
t_start_simd
unset DATABASE_URL
t_ctl status >/dev/null
t_ctl --json status | grep -q sekrit99 && t_fail "password in status"
grep -q sekrit99 "$T/simd.log" && t_fail "password in the log"
t_stop_simd || t_fail "exit"
