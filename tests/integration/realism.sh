# realism.sh - a fixed-seed simulated week looks like a real shop's (issue 17, docs/realism.md):
# the realism report of `simctl stats --realism` and of the run's end, and the same figures
# measured again from the rows; store coupons discount only their store's lines; paced
# arrivals are spread over the cycle's wall time; the shopper keys a run started with are
# kept across a resume, whatever the configuration says then.  Nothing here is timed: the
# paced runs are paced by time_scale and the checks hold however slow the machine is.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 7" "checkpoint_interval = 0"

q() {	# SQL on the run's database
	sqlite3 "$DATA/shop.db" "$1"
}
fresh() {	# a new daemon on an empty data directory
	rm -rf "$DATA"; mkdir "$DATA"
	t_start_simd
}

# ---- a simulated week of 3,000 agents, flat out ----
fresh
t_ctl start --agents 3000 --cycles 168 --time-scale 0 --max-concurrent 32 --wait >/dev/null
rep=$(t_ctl --json stats --realism)
t_expect_eq "$(printf '%s' "$rep" | jq ".realism.figures | length")" 31 "figures in the report"
bad=$(printf '%s' "$rep" | jq -r '.realism.figures[] |
    select(.status != "in" and .status != "info") | "\(.name)=\(.value) (\(.status))"')
[ -z "$bad" ] || t_fail "realism figures outside their band: $(echo $bad)"
t_expect_eq "$(printf '%s' "$rep" | jq '.realism.outside')" 0 "figures outside"
t_expect_eq "$(printf '%s' "$rep" | jq '[.realism.figures[] | select(.n == 0)] | length')" 0 \
    "figures without data"
t_expect_eq "$(printf '%s' "$rep" | jq '.realism.sessions')" \
    "$(printf '%s' "$rep" | jq '.summary.sessions')" "the report covers every session"
t_expect_eq "$(printf '%s' "$rep" | jq '.arrivals.paced')" 0 "a flat-out run paces nothing"
human=$(t_ctl stats --realism)
t_expect_match "$human" 'realism: [0-9]+ sessions, [0-9]+ orders; 0 figures outside' "report head"
t_expect_match "$human" 'cart_abandonment +[0-9.]+ % +60-80 +in +~70 % \(Baymard' "a figure's line"
t_expect_match "$(t_ctl stats)" 'sessions [0-9]+, orders' "stats without --realism"
if t_ctl stats | grep -q 'cart_abandonment'; then t_fail "stats shows the report unasked"; fi
t_expect_match "$(cat "$T/simd.log")" 'realism: 0 of 31 figures outside their band' \
    "the end of the run logs the report"
t_expect_match "$(cat "$T/simd.log")" 'realism: conversion +[0-9.]+ %.*band 1.4-4 +in' \
    "a figure in the log"

# The same shape from the rows, independently of the tally.
sessions=$(q "SELECT count(*) FROM shopping_sessions")
t_within "sessions ending in an order (%)" \
    "$(q "SELECT 100.0 * count(*) / $sessions FROM orders")" 1.4 4
t_within "sessions adding to the cart (%)" "$(q "SELECT 100.0 * count(DISTINCT session_id) /
    $sessions FROM shopping_session_events WHERE event_type = 'cart_add'")" 6 14
t_within "sessions with a cart that end unbought (%)" "$(q "SELECT 100.0 *
    sum(outcome = 'abandoned') / sum(outcome IN ('abandoned', 'ordered')) FROM shopping_sessions")" 55 85
q "SELECT strftime('%s', ended_at) - strftime('%s', started_at) AS s FROM shopping_sessions
    ORDER BY s" >"$T/lengths"
median=$(awk '{ a[NR] = $1 } END { print a[int(NR / 2) + 1] }' "$T/lengths")
p90=$(awk '{ a[NR] = $1 } END { print a[int(NR * 0.9) + 1] }' "$T/lengths")
t_within "median session length (s)" "$median" 20 180
t_within "p90 / median session length" "$(awk -v a="$p90" -v b="$median" 'BEGIN { print a / b }')" 3 1000
t_within "distinct session lengths" "$(sort -u "$T/lengths" | wc -l)" 200 100000
# think times: seconds between a session's views, long-tailed, never all alike
q "SELECT g FROM (SELECT strftime('%s', created_at) - strftime('%s', lag(created_at) OVER
    (PARTITION BY session_id ORDER BY created_at, id)) AS g FROM shopping_session_events
    WHERE event_type = 'view') WHERE g IS NOT NULL ORDER BY g" >"$T/gaps"
gmed=$(awk '{ a[NR] = $1 } END { print a[int(NR / 2) + 1] }' "$T/gaps")
gp90=$(awk '{ a[NR] = $1 } END { print a[int(NR * 0.9) + 1] }' "$T/gaps")
t_within "median seconds between views" "$gmed" 5 120
t_within "p90 / median seconds between views" "$(awk -v a="$gp90" -v b="$gmed" 'BEGIN { print a / b }')" 2 1000
t_within "distinct gaps between views" "$(sort -u "$T/gaps" | wc -l)" 50 100000
# calendar: Monday or Sunday busiest, Saturday quietest, the peak in the evening
days=$(q "SELECT strftime('%w', started_at) AS d FROM shopping_sessions GROUP BY d ORDER BY count(*)")
t_expect_eq "$(echo "$days" | head -n 1)" 6 "quietest weekday (0 = Sunday)"
t_expect_match "$(echo "$days" | tail -n 1)" '^[01]$' "busiest weekday (0 = Sunday)"
t_within "peak hour" "$(q "SELECT strftime('%H', started_at) AS h FROM shopping_sessions
    GROUP BY h ORDER BY count(*) DESC LIMIT 1")" 19 22
t_within "trough hour" "$(q "SELECT strftime('%H', started_at) AS h FROM shopping_sessions
    GROUP BY h ORDER BY count(*) LIMIT 1")" 2 6
# baskets: from one store, a few units; few buyers order twice in the week
t_within "orders from one store (%)" "$(q "SELECT 100.0 * sum(n = 1) / count(*) FROM
    (SELECT count(DISTINCT p.store_id) AS n FROM order_items i JOIN products p ON p.id = i.product_id
    GROUP BY i.order_id)")" 80 100
t_within "mean units per order" "$(q "SELECT 1.0 * sum(quantity) / count(DISTINCT order_id)
    FROM order_items")" 2 5
t_within "buyers ordering twice or more (%)" "$(q "SELECT 100.0 * sum(n > 1) / count(*) FROM
    (SELECT count(*) AS n FROM orders GROUP BY user_id)")" 0 12
# coupons go with coupon-affine personas
t_within "coupon use per order, affine / other" "$(q "SELECT (1.0 * sum(a AND c) / sum(a)) /
    (1.0 * sum(NOT a AND c) / sum(NOT a)) FROM (SELECT o.coupon_id IS NOT NULL AS c,
    json_extract(u.persona, '\$.coupon_affinity') >= 0.5 AS a FROM orders o
    JOIN users u ON u.id = o.user_id)")" 2 1000
t_stop_simd || t_fail "simd exit after the week"

# ---- store coupons discount only their store's lines ----
# Every visit fills a cart and buys it, and looks at a second store: baskets that mix stores.
t_conf "cart_rate = 1" "checkout_rate = 1" "bounce_rate = 0" "second_browse_rate = 1" \
    "cross_store_rate = 1"
fresh
t_ctl start --agents 200 --cycles 12 --all-shop --time-scale 0 --wait >/dev/null
rule=$(q "WITH l AS (SELECT o.total_cents AS t, c.pct_off AS pct, c.store_id AS cs,
    sum(i.quantity * i.price_cents) AS sub, sum(CASE WHEN c.store_id IS NULL OR
    c.store_id = p.store_id THEN i.quantity * i.price_cents ELSE 0 END) AS base
    FROM orders o JOIN coupons c ON c.id = o.coupon_id JOIN order_items i ON i.order_id = o.id
    JOIN products p ON p.id = i.product_id GROUP BY o.id)
    SELECT count(*), sum(t != sub - base * pct / 100), sum(cs IS NOT NULL AND base < sub) FROM l")
echo "$rule" | { IFS='|' read -r n wrong mixed
	[ "$n" -gt 50 ] || t_fail "only $n coupon orders"
	t_expect_eq "$wrong" 0 "coupon orders whose discount is not pct_off of the covered lines"
	[ "$mixed" -gt 0 ] || t_fail "no store coupon on a basket with another store's lines"
}
t_expect_eq "$(t_ctl --json stats --realism | jq -r '.realism.figures[] |
    select(.name == "coupon_rule") | .status')" in "the report's coupon rule"

# ---- paced arrivals: spread over the cycle's wall time ----
# One cycle of 6 wall seconds (time_scale 600) in which all 200 agents visit: each visit
# starts at its simulated minute, never before, so at most a few start in the first tenth.
t_ctl start --agents 200 --cycles 1 --all-shop --time-scale 600 --max-concurrent 500 --wait \
    >/dev/null
arr=$(t_ctl --json stats | jq -c .arrivals)
t_expect_eq "$(printf '%s' "$arr" | jq .paced)" 200 "paced visits"
t_within "paced visits started in the first tenth of the cycle (%)" \
    "$(printf '%s' "$arr" | jq .first_tenth_pct)" 0 40
t_expect_match "$arr" '"lateness":\{"count":200,' "lateness of every paced visit"
t_expect_match "$(t_ctl stats)" 'arrivals: 200 paced, [0-9.]+ % in the first tenth' "stats line"
t_stop_simd || t_fail "simd exit after the paced run"

# ---- the shopper keys a run started with survive a resume under another configuration ----
t_setup_resume() {	# the configuration: $1 = bounce_rate, $2 = calendar
	printf 'data_dir = %s\nsocket = %s\nseed = 7\ncheckpoint_interval = 0\n' "$DATA" \
	    "$SIMD_SOCKET" >"$T/simd.conf"
	t_conf "bounce_rate = $1" "calendar = $2"
}
t_setup_resume 0.2 "promo 2026-01-05T18:00/2026-01-06T06:00 x3"
fresh
t_ctl start --agents 400 --cycles 36 --time-scale 0 --max-concurrent 1 --wait >/dev/null
d1=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "simd exit"
# the same run paced (0.1 s a cycle), stopped part of the way, resumed under other keys
fresh
t_ctl start --agents 400 --cycles 36 --time-scale 36000 --max-concurrent 64 >/dev/null
sleep 1
t_ctl stop --wait >/dev/null
stopped=$(t_status_field cycle)
[ "$stopped" -lt 36 ] || t_fail "the run ended before it was stopped"
t_stop_simd || t_fail "simd exit"
t_setup_resume 0.6 ""
t_start_simd
t_ctl start --resume --wait >/dev/null
t_expect_eq "$(t_digest "$DATA/shop.db")" "$d1" "digest of a run resumed at cycle $stopped"
t_stop_simd || t_fail "simd exit"
# and those keys do change the rows
fresh
t_ctl start --agents 400 --cycles 36 --time-scale 0 --wait >/dev/null
[ "$(t_digest "$DATA/shop.db")" != "$d1" ] || t_fail "bounce_rate and calendar changed nothing"
t_stop_simd || t_fail "simd exit"
