# engine.sh - a real run on the embedded store: 372 agents, a simulated day, rows in shop.db.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_start_simd
DB=$DATA/shop.db

out=$(t_ctl --json start --agents 372 --cycles 24 --time-scale 0 --seed 7 --wait)
t_expect_match "$out" '"state": "finished"' "372 x 24 run finished"
t_expect_match "$out" '"cycle": 24' "all 24 cycles ran"
t_expect_match "$out" '"errors": 0' "no errors"
t_expect_match "$out" '"agents_processed": 8928' "every agent evaluated once per cycle"
orders=$(sqlite3 "$DB" "SELECT count(*) FROM orders")
abandoned=$(sqlite3 "$DB" "SELECT count(*) FROM shopping_sessions WHERE outcome = 'abandoned'")
events=$(sqlite3 "$DB" "SELECT count(*) FROM shopping_session_events")
[ "$orders" -gt 0 ] || t_fail "no orders in shop.db"
[ "$abandoned" -gt 0 ] || t_fail "no abandoned carts in shop.db"
[ "$events" -gt 0 ] || t_fail "no events in shop.db"
t_expect_match "$out" "\"orders\": $orders" "orders counted = rows in shop.db"
t_expect_match "$out" "\"events\": $events" "events counted = rows in shop.db"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM users")" 372 "users"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM users WHERE json_valid(persona) AND
    json_extract(persona, '$.sessions_per_week') > 0")" 372 "personas stored as JSON"
t_expect_eq "$(sqlite3 "$DB" "SELECT min(agent_id) || ' ' || max(agent_id) FROM users")" \
    "agent_001 agent_372" "agent ids"
# every order has lines, and an order without a coupon costs the sum of its lines
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM orders o WHERE NOT EXISTS
    (SELECT 1 FROM order_items i WHERE i.order_id = o.id)")" 0 "orders without items"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM orders o WHERE coupon_id IS NULL AND
    total_cents <> (SELECT sum(quantity * price_cents) FROM order_items i
    WHERE i.order_id = o.id)")" 0 "order totals"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM orders o WHERE coupon_id IS NOT NULL AND
    NOT EXISTS (SELECT 1 FROM user_coupons uc WHERE uc.user_id = o.user_id AND
    uc.coupon_id = o.coupon_id AND uc.redeemed_at IS NOT NULL)")" 0 "coupons redeemed"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM shopping_sessions s WHERE outcome = 'ordered'
    AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.session_id = s.id)")" 0 "ordered sessions"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM shopping_session_events e WHERE NOT EXISTS
    (SELECT 1 FROM shopping_sessions s WHERE s.id = e.session_id)")" 0 "events belong to sessions"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(DISTINCT event_type) >= 6 FROM shopping_session_events")" 1 \
    "event types"
# realism: the abandonment rate is reported and lands near Baymard's ~70 %
rate=$(t_ctl --json stats | tr -d ' \n' | sed -n 's/.*"abandonment_rate":\([0-9.]*\).*/\1/p')
awk -v r="$rate" 'BEGIN { exit !(r > 0.5 && r < 0.85) }' || t_fail "abandonment rate $rate"
st=$(t_ctl stats)
t_expect_match "$st" 'sessions/s' "stats throughput"
t_expect_match "$st" '^checkout +[0-9]+ ' "stats per step"
js=$(t_ctl --json stats)
for f in p50_ms p95_ms p99_ms avg_ms sessions_per_s writes_per_s by_type failed_agents; do
	t_expect_match "$js" "\"$f\"" "stats field $f"
done

# a second run with another seed in the same database: its keys never meet the first run's
before=$(sqlite3 "$DB" "SELECT count(*) FROM shopping_sessions")
out=$(t_ctl --json start --agents 372 --cycles 3 --time-scale 0 --seed 8 --wait | tr -d ' \n')
n=$(printf '%s' "$out" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
after=$(sqlite3 "$DB" "SELECT count(*) FROM shopping_sessions")
t_expect_eq "$((after - before))" "$n" "every session of a second seed landed"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM shopping_sessions WHERE session_key LIKE 's8:%'")" \
    "$n" "keys carry the seed"

# --agents-list runs only those agents; --all-shop makes each shop every cycle
out=$(t_ctl --json start --agents 50 --agents-list agent_001,agent_007,agent_007 --all-shop \
    --cycles 3 --time-scale 0 --wait)
t_expect_match "$out" '"agents": 2' "agents list size"
t_expect_match "$out" '"sessions": 6' "two agents x three cycles, all shopping"

# --hours bounds a run by wall time (0.0003 h is about a second)
out=$(t_ctl --json start --agents 50 --hours 0.0003 --time-scale 36000 --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "a run bounded by --hours ends"
t_expect_match "$out" '"cycles_total":0' "no cycle bound"
el=$(printf '%s' "$out" | sed -n 's/.*"elapsed_s":\([0-9.]*\).*/\1/p')
awk -v e="$el" 'BEGIN { exit !(e >= 0.9 && e < 5) }' || t_fail "--hours run took $el s"
# a cycle that overruns its wall budget (3.6 ms at time scale 10^6) makes the run lag, and says so
out=$(t_ctl --json start --agents 3000 --all-shop --cycles 3 --time-scale 1000000 --wait |
    tr -d ' \n')
t_expect_match "$out" '"lag_s":[0-9.]*[1-9]' "lag reported"
t_expect_match "$(cat "$T/simd.log")" 'cycle [0-9]+ starts [0-9.]+ s late' "lag logged"

# bad parameters: clear errors, state unchanged
bad() {	# expected-message args...
	msg=$1; shift
	rc=0; t_ctl "$@" 2>"$T/err" >/dev/null || rc=$?
	t_expect_eq "$rc" 1 "simctl $* exit status"
	t_expect_match "$(cat "$T/err")" "$msg" "simctl $*"
}
bad 'max_concurrent.*from 1 to' start --max-concurrent 0
bad 'max_concurrent.*from 1 to' start --max-concurrent 1000000
bad 'agents.*from 1 to' start --agents 0
bad 'cycles.*from 0' start --cycles -1
bad 'time_scale' start --time-scale -2
bad 'not an agent id' start --agents-list agent_x1
bad 'outside the population of 10 agents' start --agents 10 --agents-list agent_011
bad 'limit.*from 1 to' set-concurrency 0
bad 'limit.*from 1 to' set-concurrency 100001
bad 'nothing to pause' pause
bad 'nothing to resume' resume
bad 'nothing to stop' stop
t_expect_match "$(t_ctl status)" 'state: +finished' "state unchanged by bad requests"

# status answers while a big run is busy; starting again is refused
big=20000
[ "${SIMD_VALGRIND:-0}" = 1 ] && big=2000   # valgrind runs ~50 times slower
t_ctl start --agents $big --all-shop --cycles 3 --time-scale 0 >/dev/null
bad 'already running' start --agents 5
i=0
while [ $i -lt 10 ]; do
	t_ctl status >/dev/null || t_fail "status failed during a busy run"
	i=$((i + 1))
done
t_expect_match "$(t_ctl status)" 'state: +(running|finished)' "busy run state"
out=$(t_ctl --json stop --wait)
t_expect_match "$out" '"state": "finished"' "stop --wait ends the run"
t_expect_match "$out" '"in_flight": 0' "nothing in flight after stop --wait"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
