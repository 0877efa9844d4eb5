# lostwork.sh - a run that lost work does not end `finished' with exit 0: sessions that failed
# for good (the server rejects their first step) are counted and named, and above max_error_rate
# the run ends `failed', says why, and start --wait exits 1; at or under it, it finishes.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_conf "seed = 6" "checkpoint_interval = 86400"
# the server refuses to mark half the users as shopping (a session's first step): not a
# transient error, so never retried into success; the failure itself is recorded
reject() {
	_pg_admin -d "$1" -c "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
	    \$\$ BEGIN IF NEW.id % 2 = 0 THEN RAISE EXCEPTION 'refused by the test'; END IF;
	    RETURN NEW; END \$\$" \
	    -c "CREATE TRIGGER refuse BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION refuse()"
}
run="--agents 200 --all-shop --cycles 2 --time-scale 0"

# migrate the databases first (simd --init-db), then add the trigger
for db in simd_lost simd_tolerated; do
	url=$(t_pg_db $db)
	DATABASE_URL=$url "$SIMD" --init-db -d "$DATA" -s "$T/init.sock" >/dev/null 2>&1 ||
	    t_fail "--init-db $db"
	reject $db
done

t_conf "database_url = postgresql://postgres@127.0.0.1:$PGPORT/simd_lost"
t_start_simd
rc=0
out=$(t_ctl --json start $run --wait) || rc=$?
out=$(printf '%s' "$out" | tr -d ' \n')
t_expect_eq "$rc" 1 "start --wait exits 1 when sessions failed beyond max_error_rate"
t_expect_match "$out" 'therunfailed:[0-9]*of[0-9]*sessionsfailed\([0-9.]*%,abovemax_error_rate5%\)' \
    "start --wait says why"
out=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$out" '"state":"failed"' "the run ends failed"
t_expect_match "$(t_ctl status)" 'sessions failed' "status says why"
t_expect_match "$out" '"errors":[1-9]' "the failed sessions are counted"
t_expect_match "$(t_ctl --json stats | tr -d ' \n')" '"failed_agents":\["agent_' "and named"
failed=$(printf '%s' "$out" | sed -n 's/.*"errors":\([0-9]*\).*/\1/p')
t_expect_eq "$(_pg_admin -At -d simd_lost -c "SELECT count(*) FROM shopping_sessions
    WHERE outcome = 'failed'")" "$failed" "each failed session is recorded as failed"
t_expect_match "$(grep 'failed:' "$T/simd.log")" 'sessions failed' "the log says why"
t_stop_simd || t_fail "exit"

# the same losses under a tolerant max_error_rate: finished, exit 0, the errors still shown
t_conf "database_url = postgresql://postgres@127.0.0.1:$PGPORT/simd_tolerated" \
    "max_error_rate = 0.9"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
out=$(t_ctl --json start $run --wait | tr -d ' \n') || t_fail "start --wait under 0.9: $out"
t_expect_match "$out" '"state":"finished"' "finished within max_error_rate"
t_expect_match "$out" '"errors":[1-9]' "errors still counted"
# the flag overrides the key for one run
rc=0
t_ctl start $run --max-error-rate 0 --wait >/dev/null 2>&1 || rc=$?
t_expect_eq "$rc" 1 "--max-error-rate 0: any lost session fails the run"
t_stop_simd || t_fail "exit"
