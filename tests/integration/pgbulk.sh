# pgbulk.sh - write_mode = bulk on PostgreSQL: every table holds the same rows as a realistic
# run of the same seed, in far fewer transactions; kill -9 mid-run and resume converge to the
# same rows; SQLite accepts the mode and writes the same rows; a bad mode is refused in one
# line.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_conf "seed = 5" "checkpoint_interval = 86400"
ARGS="--agents 300 --cycles 6 --all-shop --time-scale 0"

# Every row simd writes, in every table, in an order that does not depend on ids or timing.
full_digest() {
	_pg_admin -At -F '|' -d "$1" \
	    -c "SELECT id, last_shopped_at FROM users ORDER BY id" \
	    -c "SELECT session_key, user_id, started_at, ended_at, outcome, error
	        FROM shopping_sessions ORDER BY session_key" \
	    -c "SELECT o.idem_key, o.user_id, s.session_key, o.coupon_id, o.total_cents,
	        o.created_at FROM orders o LEFT JOIN shopping_sessions s ON s.id = o.session_id
	        ORDER BY o.idem_key" \
	    -c "SELECT o.idem_key, i.product_id, i.quantity, i.price_cents FROM order_items i
	        JOIN orders o ON o.id = i.order_id ORDER BY 1, 2" \
	    -c "SELECT interaction_key, user_id, product_id, kind, created_at FROM interactions
	        ORDER BY 1" \
	    -c "SELECT * FROM cart_items ORDER BY user_id, store_id, product_id" \
	    -c "SELECT user_id, coupon_id, redeemed_at, order_key FROM user_coupons ORDER BY 1, 2" \
	    -c "SELECT e.event_key, s.session_key, e.user_id, e.event_type, e.payload, e.created_at
	        FROM shopping_session_events e LEFT JOIN shopping_sessions s ON s.id = e.session_id
	        ORDER BY 1" | sha256sum | cut -d' ' -f1
}

commits() {
	_pg_admin -At -d postgres -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'"
}

# the reference: realistic, the default
url=$(t_pg_db bulk_real)
t_conf "database_url = $url"
t_start_simd
out=$(t_ctl --json start $ARGS --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "realistic run"
t_expect_match "$out" '"write_mode":"realistic"' "realistic is the default"
sessions=$(printf '%s' "$out" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
t_stop_simd || t_fail "exit"
ref=$(t_pg_digest bulk_real)
ref_full=$(full_digest bulk_real)
real_commits=$(commits bulk_real)
[ "$sessions" -gt 100 ] || t_fail "the reference run had only $sessions sessions"

# the same run in bulk mode, chosen at start
url=$(t_pg_db bulk_a)
sed -i '/^database_url/d' "$T/simd.conf"
t_conf "database_url = $url"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
out=$(t_ctl --json start $ARGS --write-mode bulk --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "bulk run"
t_expect_match "$out" '"errors":0' "no errors in bulk"
t_expect_match "$out" '"write_mode":"bulk"' "status names the mode"
t_expect_match "$out" "\"sessions\":$sessions," "as many sessions as realistic"
t_stop_simd || t_fail "exit"
t_expect_eq "$(t_pg_digest bulk_a)" "$ref" "bulk digest = realistic digest"
t_expect_eq "$(full_digest bulk_a)" "$ref_full" "every table: bulk rows = realistic rows"
bulk_commits=$(commits bulk_a)
echo "commits: realistic $real_commits, bulk $bulk_commits, $sessions sessions"
# realistic commits at least twice per session; bulk batches many sessions per commit
[ $((bulk_commits * 4)) -lt "$sessions" ] ||
    t_fail "bulk made $bulk_commits commits for $sessions sessions"
t_expect_eq "$(_pg_admin -At -d bulk_a -c "SELECT count(*) FROM (SELECT
    split_part(event_key, ':', 4)::int AS st, split_part(event_key, ':', 5)::int AS ix,
    lag(split_part(event_key, ':', 4)::int) OVER w AS pst,
    lag(split_part(event_key, ':', 5)::int) OVER w AS pix
    FROM shopping_session_events WINDOW w AS (PARTITION BY session_id ORDER BY id)) t
    WHERE (st, ix) < (pst, pix)")" 0 "bulk: event ids follow the order of events"

# the key in the file, killed with SIGKILL four times and resumed: the same rows as an
# uninterrupted bulk run.  The run is
# paced (time_scale 7200: half a wall second a cycle) so that every kill lands mid-run
# whatever the machine's speed.
url=$(t_pg_db bulk_k)
sed -i '/^database_url/d; /^checkpoint_interval/d' "$T/simd.conf"
t_conf "database_url = $url" "write_mode = bulk" "checkpoint_interval = 0.25"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start --agents 300 --cycles 20 --all-shop --time-scale 0 --wait >/dev/null
ref_k=$(full_digest bulk_k)
t_stop_simd || t_fail "exit"
url=$(t_pg_db bulk_k2)
sed -i '/^database_url/d' "$T/simd.conf"
t_conf "database_url = $url"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
# every batch takes 0.1 s more on the server, so that kills land while batches are in flight,
# their rows not yet committed (a statement-level trigger: the rows stay the same)
_pg_admin -d bulk_k2 -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END \$\$" \
    -c "CREATE TRIGGER slow AFTER INSERT ON shopping_session_events
    FOR EACH STATEMENT EXECUTE FUNCTION slow()" >/dev/null
t_ctl start --agents 300 --cycles 20 --all-shop --time-scale 7200 >/dev/null
keeps_bulk() {
	t_expect_match "$(t_ctl --json status | tr -d ' \n')" '"write_mode":"bulk"' \
	    "resume $1 keeps the bulk mode"
}
t_kill_resume 4 keeps_bulk
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +finished' "resumed run finished"
t_stop_simd || t_fail "exit"
t_expect_eq "$(full_digest bulk_k2)" "$ref_k" "bulk rows after $kills kills and resumes"
t_expect_eq "$(_pg_admin -At -d bulk_k2 -c "SELECT count(*) FROM shopping_sessions
    WHERE outcome IS NULL OR ended_at IS NULL")" 0 "no session left looking in progress"

# the embedded SQLite store accepts bulk and writes as realistic: the same rows
sed -i '/^database_url/d; /^write_mode/d; /^checkpoint_interval/d' "$T/simd.conf"
t_conf "checkpoint_interval = 86400"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start $ARGS --wait >/dev/null
sq_ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
out=$(t_ctl --json start $ARGS --write-mode bulk --wait | tr -d ' \n')
t_expect_match "$out" '"write_mode":"bulk"' "SQLite: bulk accepted"
t_expect_eq "$(t_digest "$DATA/shop.db")" "$sq_ref" "SQLite: bulk digest = realistic digest"
t_expect_eq "$sq_ref" "$ref" "SQLite digest = PostgreSQL digest"
t_stop_simd || t_fail "exit"

# a bad mode: one line, at start and in the file
t_start_simd
rc=0; t_ctl start --write-mode fast >"$T/out" 2>&1 || rc=$?
t_expect_eq "$rc" 1 "start --write-mode fast refused"
t_expect_eq "$(wc -l <"$T/out")" 1 "one line for --write-mode fast"
t_expect_match "$(cat "$T/out")" 'write_mode.*realistic or bulk' "the message names the modes"
t_stop_simd || t_fail "exit"
t_conf "write_mode = fast"
rc=0; "$SIMD" -n -c "$T/simd.conf" >"$T/out" 2>&1 || rc=$?
t_expect_eq "$rc" 1 "simd -n refuses write_mode = fast"
t_expect_eq "$(wc -l <"$T/out")" 1 "one line for write_mode = fast"
t_expect_match "$(cat "$T/out")" 'write_mode: must be one of realistic, bulk' "the file's message"
