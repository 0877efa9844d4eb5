# pgrestart.sh - the server restarts mid-run: connections come back with backoff, steps in flight
# are retried, the run finishes with nothing lost and nothing duplicated.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_pg_own
t_conf "seed = 9" "checkpoint_interval = 86400" "retry_window = 60"
ARGS="--agents 600 --all-shop --cycles 12 --time-scale 0 --max-concurrent 32"

ref_url=$(t_pg_db simd_ref)
t_conf "database_url = $ref_url"
t_start_simd
t_ctl start $ARGS --wait >/dev/null
t_stop_simd || t_fail "exit"
ref=$(t_pg_digest simd_ref)

url=$(t_pg_db simd_rs)
t_conf "database_url = $url"
t_start_simd
t_ctl start $ARGS >/dev/null
sleep 1
t_expect_match "$(t_ctl status)" 'state: +running' "running before the restart"
pg_restart 1 >/dev/null || t_fail "server restart"
t_wait_end
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "run finished across the restart"
t_expect_match "$st" '"errors":0' "no session lost to the restart"
t_expect_match "$(t_ctl --json stats | tr -d ' \n')" '"retries":[1-9]' "steps were retried"
t_expect_eq "$(t_pg_digest simd_rs)" "$ref" "rows after a restart = rows of a quiet run"
t_stop_simd || t_fail "exit"

# a restart while the run is still being set up (users being written): the set-up is retried
url=$(t_pg_db simd_setup)
t_conf "database_url = $url"
t_start_simd
t_ctl start --agents 20000 --cycles 1 --time-scale 0 >/dev/null
sleep 0.3
pg_restart 1 >/dev/null || t_fail "server restart"
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +finished' "set-up survived the restart"
t_expect_match "$(cat "$T/simd.log")" 'set-up failed .*retrying' "the set-up was retried"
t_expect_eq "$(_pg_admin -At -d simd_setup -c "SELECT count(*) FROM users")" 20000 "all users"
t_stop_simd || t_fail "exit"

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
