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
# an event says what happened: only sessions that abandoned a cart have an abandon event
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM shopping_session_events e JOIN
    shopping_sessions s ON s.id = e.session_id WHERE e.event_type = 'abandon'
    AND s.outcome <> 'abandoned'")" 0 "no abandon event outside abandoned sessions"
t_expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM shopping_session_events WHERE event_type = 'abandon'")" \
    "$abandoned" "one abandon event per abandoned cart"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM shopping_sessions WHERE outcome = 'browsed'")" -gt 0 ] ||
    t_fail "no browse-only session to check"
# numbers are rounded to what they mean: no 0.068000000000000005
js=$(t_ctl --json stats)
printf '%s\n' "$js" | grep -Eq '[0-9]\.[0-9]{7,}' && t_fail "unrounded number in stats: $js"
printf '%s\n' "$(t_ctl --json status)" | grep -Eq '[0-9]\.[0-9]{7,}' && t_fail "unrounded number in status"
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
st=$(t_ctl status)
t_expect_match "$st" 'lag [0-9]+\.[0-9]{3} s' "lag shown in text status"
printf '%s\n' "$st" | grep -q ' eta ' && t_fail "eta shown for a finished run: $st"
t_expect_match "$(t_ctl --json status | tr -d ' \n')" '"eta_s":null' "no eta once finished"

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
usage() {	# expected-message args...: refused by simctl itself (exit 2)
	msg=$1; shift
	rc=0; t_ctl "$@" 2>"$T/err" >/dev/null || rc=$?
	t_expect_eq "$rc" 2 "simctl $* exit status"
	t_expect_match "$(head -n 1 "$T/err")" "$msg" "simctl $*"
}
usage 'N must be a whole number from 1 to 100000 \(got "0"\)' set-concurrency 0
usage 'N must be a whole number from 1 to 100000 \(got "100001"\)' set-concurrency 100001
usage 'N must be a whole number from 1 to 100000 \(got "abc"\)' set-concurrency abc
usage 'got "99999999999999999999"' set-concurrency 99999999999999999999
usage '--hours: bad value "abc": it wants a number of hours' start --hours abc
usage '--time-scale: bad value "nan": it wants a finite number' start --time-scale nan
usage '--agents: bad value "lots": it wants a whole number of agents' start --agents lots
bad 'time_scale.*0 \(as fast as possible\) or from 0.001 to 1e\+06 \(got 1e-09\)' start --time-scale 1e-9
# the daemon's own check of the same bound, for a client that is not simctl
out=$(printf '{"jsonrpc":"2.0","id":1,"method":"set-concurrency","params":{"limit":0}}\n' |
    "$TOP/tests/tools/rawsock" "$SIMD_SOCKET" 1)
t_expect_match "$out" '"code":-32602.*limit.*from 1 to' "set-concurrency 0 over the socket"
bad 'nothing to pause' pause
bad 'nothing to resume' resume
bad 'nothing to stop' stop
t_expect_match "$(t_ctl status)" 'state: +finished' "state unchanged by bad requests"

# status answers while a big run is busy; starting again is refused
big=20000
[ "${SIMD_VALGRIND:-0}" = 1 ] && big=2000   # valgrind runs ~50 times slower
# cycles 0: it lasts until stopped, whatever the machine's speed
t_ctl start --agents $big --all-shop --cycles 0 --time-scale 0 >/dev/null
bad 'already running' start --agents 5
i=0
while [ $i -lt 10 ]; do
	t_ctl status >/dev/null || t_fail "status failed during a busy run"
	i=$((i + 1))
done
t_expect_match "$(t_ctl status)" 'state: +running' "busy run state"
out=$(t_ctl --json stop --wait)
t_expect_match "$out" '"state": "finished"' "stop --wait ends the run"
t_expect_match "$out" '"in_flight": 0' "nothing in flight after stop --wait"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
