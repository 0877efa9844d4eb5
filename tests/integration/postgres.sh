# postgres.sh - the PostgreSQL store against a real server: a 372-agent run, the same digest as
# the SQLite store, the pool cap under 500 sessions in flight, pool timeout, recycle, bad URLs.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_conf "seed = 3" "checkpoint_interval = 86400"

# the reference on the embedded store
t_start_simd
t_ctl start --agents 372 --cycles 24 --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"

# simd --init-db creates the schema and exits
url=$(t_pg_db simd_init)
DATABASE_URL=$url "$SIMD" --init-db -d "$DATA" -s "$T/init.sock" >"$T/out" 2>&1 ||
    t_fail "simd --init-db: $(cat "$T/out")"
t_expect_match "$(cat "$T/out")" 'shop database ready' "--init-db message"
t_expect_eq "$(_pg_admin -At -d simd_init -c "SELECT count(*) FROM information_schema.tables
    WHERE table_name IN ('users', 'orders', 'order_items', 'shopping_session_events',
    'shopping_sessions', 'cart_items', 'products', 'coupons', 'user_coupons', 'stores',
    'interactions')")" 11 "--init-db created the tables"
[ ! -e "$T/init.sock" ] || t_fail "--init-db left a socket"

# the same run on PostgreSQL
url=$(t_pg_db simd_a)
t_conf "database_url = $url"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_expect_match "$(t_ctl status)" 'store: +postgres' "postgres driver chosen"
out=$(t_ctl --json start --agents 372 --cycles 24 --time-scale 0 --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "372 x 24 on PostgreSQL"
t_expect_match "$out" '"errors":0' "no errors"
t_expect_match "$out" '"driver":"postgres"' "status names the driver"
t_expect_eq "$(t_pg_digest simd_a)" "$ref" "PostgreSQL digest = SQLite digest for the same seed"
t_expect_eq "$(_pg_admin -At -d simd_a -c "SELECT count(*) FROM users")" 372 "users on PostgreSQL"
# the set-up ends with ANALYZE (not autovacuum's: analyze_count counts only the statement)
t_expect_eq "$(_pg_admin -At -d simd_a -c "SELECT count(*) FROM pg_stat_user_tables
    WHERE relname IN ('users', 'user_coupons', 'stores', 'products', 'coupons')
    AND analyze_count > 0")" 5 "set-up analyzed the tables sessions read"
# ordering events by id gives the order in which they happened (step, then index)
t_expect_eq "$(_pg_admin -At -d simd_a -c "SELECT count(*) FROM (SELECT
    split_part(event_key, ':', 4)::int AS st, split_part(event_key, ':', 5)::int AS ix,
    lag(split_part(event_key, ':', 4)::int) OVER w AS pst,
    lag(split_part(event_key, ':', 5)::int) OVER w AS pix
    FROM shopping_session_events WINDOW w AS (PARTITION BY session_id ORDER BY id)) t
    WHERE (st, ix) < (pst, pix)")" 0 "event ids follow the order of events"
t_stop_simd || t_fail "exit"

# the pool's hard cap while 500 sessions are in flight
url=$(t_pg_db simd_b)
t_conf "database_url = $url" "pool_size = 8" "max_overflow = 4" "pool_max = 10" \
    "pool_timeout = 30"
t_start_simd
# cycles 0: the run lasts until stopped, however fast the machine
t_ctl start --agents 2000 --all-shop --cycles 0 --time-scale 0 --max-concurrent 500 >/dev/null
peak=0; inflight_peak=0; n=0
while t_ctl status | grep -Eq 'state: +running' && [ $n -lt 60 ]; do
	c=$(_pg_admin -At -d postgres -c "SELECT count(*) FROM pg_stat_activity
	    WHERE datname = 'simd_b' AND backend_type = 'client backend'")
	[ "$c" -gt "$peak" ] && peak=$c
	f=$(t_status_field in_flight)
	[ "${f:-0}" -gt "$inflight_peak" ] && inflight_peak=$f
	n=$((n + 1))
done
echo "peak connections $peak, peak sessions in flight $inflight_peak"
[ "$peak" -le 10 ] || t_fail "pool_max 10 exceeded: $peak connections"
[ "$peak" -ge 2 ] || t_fail "the pool never opened more than $peak connection(s)"
[ "$inflight_peak" -ge 400 ] || t_fail "only $inflight_peak sessions in flight (wanted ~500)"
out=$(t_ctl --json stop --wait | tr -d ' \n')
t_expect_match "$out" '"errors":0' "no errors under pool pressure"
n=$(printf '%s' "$out" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
t_expect_eq "$(_pg_admin -At -d simd_b -c "SELECT count(*) FROM shopping_sessions")" "$n" \
    "every session landed"
t_stop_simd || t_fail "exit"

# pool timeout: one connection, each session start made slow by the server itself (a trigger
# that sleeps 20 ms), a 0.1 s pool timeout: waiters time out, are retried, and nothing is lost
url=$(t_pg_db simd_c)
t_conf "database_url = $url" "pool_size = 1" "max_overflow = 0" "pool_max = 1" \
    "pool_timeout = 0.1" "retry_window = 60" "retry_backoff_ms = 5"
t_start_simd
_pg_admin -d simd_c -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END \$\$" \
    -c "CREATE TRIGGER slow BEFORE INSERT ON shopping_sessions FOR EACH ROW EXECUTE FUNCTION slow()"
out=$(t_ctl --json start --agents 100 --all-shop --cycles 1 --time-scale 0 --max-concurrent 50 \
    --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "run under pool timeouts finished"
t_expect_match "$out" '"errors":0' "no session lost to pool timeouts"
t_expect_match "$(t_ctl --json stats | tr -d ' \n')" '"retries":[1-9]' "timeouts were retried"
t_expect_eq "$(_pg_admin -At -d simd_c -c "SELECT count(*) FROM shopping_sessions")" 100 \
    "every session landed"
t_stop_simd || t_fail "exit"

# recycle: connections older than pool_recycle are replaced
url=$(t_pg_db simd_d)
t_conf "database_url = $url" "pool_size = 4" "max_overflow = 0" "pool_max = 4" \
    "pool_timeout = 30" "pool_recycle = 0.2"
t_start_simd
t_ctl start --agents 300 --all-shop --cycles 0 --time-scale 0 --max-concurrent 8 >/dev/null
# until more connections than the pool holds were opened (a loaded machine takes longer to
# get there; a run that never recycles fails at the deadline)
t_wait_for '[ "$(t_status_field opened)" -gt 4 ]' 120
t_ctl stop --wait >/dev/null
t_expect_match "$(t_ctl --json stats | tr -d ' \n')" '"store":\{"driver":"postgres"' "stats report the pool"
opened=$(t_status_field opened)
closed=$(t_status_field closed)
[ "$opened" -gt 4 ] || t_fail "recycle: only $opened connections opened"
[ "$closed" -gt 0 ] || t_fail "recycle: no connection closed"
t_stop_simd || t_fail "exit"

# bad URL, wrong password, unreachable host: refused with one line, no password shown
rm -rf "$DATA"; mkdir "$DATA"
for bad in "postgresql://postgres@127.0.0.1:1/simtest" "not a url = = =" \
    "postgresql://postgres:sekrit99@127.0.0.1:$PGPORT/no_such_db"; do
	rc=0; DATABASE_URL=$bad "$SIMD" -f -d "$DATA" -s "$T/x.sock" 2>"$T/err" || rc=$?
	t_expect_eq "$rc" 1 "refused: $bad"
	t_expect_eq "$(wc -l <"$T/err")" 1 "one line for $bad"
	grep -q sekrit99 "$T/err" && t_fail "password printed: $(cat "$T/err")"
	t_expect_match "$(cat "$T/err")" 'simd: ' "message for $bad"
done
