# pgbulk_restart.sh - write_mode = bulk while the server restarts mid-run: the batches that
# failed stay queued and are written again once it is back; the run finishes with the rows of
# a quiet run, nothing lost and nothing doubled.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_pg_own
t_conf "seed = 9" "checkpoint_interval = 86400" "retry_window = 60" "write_mode = bulk" \
    "event_flush_interval = 0.5"
ARGS="--agents 600 --all-shop --cycles 12 --max-concurrent 32"

ref_url=$(t_pg_db bulk_ref)
t_conf "database_url = $ref_url"
t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
t_stop_simd || t_fail "exit"
ref=$(t_pg_digest bulk_ref)

# paced (half a second a cycle): the restart lands mid-run whatever the machine's speed
url=$(t_pg_db bulk_rs)
sed -i '/^database_url/d' "$T/simd.conf"
t_conf "database_url = $url"
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
sleep 1
t_expect_match "$(t_ctl status)" 'state: +running' "running before the restart"
pg_restart 1 >/dev/null || t_fail "server restart"
t_wait_end
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "bulk run finished across the restart"
t_expect_match "$st" '"errors":0' "no session lost to the restart"
t_expect_match "$(cat "$T/simd.log")" 'reachable again after' "the outage was seen"
t_expect_eq "$(t_pg_digest bulk_rs)" "$ref" "rows after a restart = rows of a quiet run"
t_expect_eq "$(_pg_admin -At -d bulk_rs -c "SELECT count(*) FROM shopping_sessions
    WHERE outcome IS NULL OR ended_at IS NULL")" 0 "no session left looking in progress"
t_stop_simd || t_fail "exit"
