# shopapi.sh - the shop API driver (shop_api_url) through the reference backend
# (contrib/shopd) on loopback: the same orders and events as the direct SQLite driver for
# the same seed at concurrency 1 and 64; an order whose answer is lost after shopd
# committed it is retried and placed once; status and the metrics CSV show the API's
# figures; a bad configuration is refused; the JWT secret appears in no log and no answer.
set -eu
. "$TOP/tests/lib/common.sh"
DROPPROXY=$TOP/tests/tools/dropproxy
[ -x "$DROPPROXY" ] || t_fail "no $DROPPROXY: build it with make $DROPPROXY"
t_setup
. "$TOP/tests/lib/shop.sh"

# The order rows of every table an order writes, keyed the same way in both drivers.
orders_digest() {
	sqlite3 "$1" "SELECT o.idem_key, u.agent_id, o.total_cents, coalesce(o.coupon_id, 0),
	    o.created_at, s.session_key FROM orders o JOIN users u ON u.id = o.user_id
	    LEFT JOIN shopping_sessions s ON s.id = o.session_id ORDER BY o.idem_key;
	    SELECT o.idem_key, i.product_id, i.quantity, i.price_cents FROM order_items i
	    JOIN orders o ON o.id = i.order_id ORDER BY 1, 2;
	    SELECT interaction_key, user_id, product_id, kind, created_at FROM interactions
	    ORDER BY 1;
	    SELECT user_id, coupon_id, redeemed_at, order_key FROM user_coupons ORDER BY 1, 2;
	    SELECT session_key, outcome, started_at, ended_at FROM shopping_sessions
	    ORDER BY 1" | sha256sum | cut -d' ' -f1
}

# ---- the direct driver: the reference ----

conf_run direct "max_concurrent = 64"
t_start_simd
run_wait
t_stop_simd || t_fail "simd exit (direct)"
REF=$(t_digest "$DATA/shop.db")
REF_ROWS=$(orders_digest "$DATA/shop.db")
NORDERS=$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")
NCOUPON=$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders WHERE coupon_id IS NOT NULL")
[ "$NORDERS" -gt 10 ] || t_fail "the direct run placed only $NORDERS orders"
echo "direct driver: $NORDERS orders ($NCOUPON with a coupon)"

# ---- the API driver through shopd, at concurrency 1 and 64 ----

# api_run NAME CONCURRENCY: a run whose shop actions go through shopd.
api_run() {
	api_conf "$1" "$2"
	t_conf "shop_api_url = $SHOP_URL" "metrics_csv = $T/$1.csv"
	t_start_simd
	run_wait
}

for conc in 1 64; do
	api_run "api$conc" "$conc"
	t_expect_eq "$(field counts.errors)" 0 "api at $conc: failed sessions"
	t_expect_eq "$(field counts.orders)" "$NORDERS" "api at $conc: orders counted"
	[ "$(field api.requests)" -gt "$((AGENTS * CYCLES))" ] ||
	    t_fail "api at $conc: only $(field api.requests) requests"
	t_expect_eq "$(field api.requests)" "$(field api.ok)" "api at $conc: every answer taken"
	t_expect_eq "$(field api.tokens_signed)" "$AGENTS" "api at $conc: one token per user, cached"
	[ "$(field api.connections_open)" -le "$conc" ] ||
	    t_fail "api at $conc: $(field api.connections_open) connections for $conc sessions"
	# the metrics CSV's api_ columns: the run's requests in every row, a rate in one
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	    { if ($col["api_requests"] + 0 <= 0 || $col["api_429"] == "" ||
	          $col["api_in_flight"] == "" || $col["api_failures"] == "") {
	          print "row " NR ": " $0; exit 1 }
	      if ($col["api_rate"] + 0 > 0) rated = 1; rows++ }
	    END { if (!rated || rows != '"$CYCLES"') { print rows " rows, none rated"; exit 1 } }' \
	    "$T/api$conc.csv" || t_fail "api at $conc: the CSV's api columns"
	t_expect_eq "$(tail -n 1 "$T/api$conc.csv" | cut -d, -f23)" "$(field api.requests)" \
	    "api at $conc: the CSV's last api_requests"
	t_ctl --json status >"$T/status.$conc"
	t_ctl --json stats >"$T/stats.$conc"
	t_stop_simd || t_fail "simd exit (api at $conc)"
	stop_bg "$SHOPD_PID"
	t_expect_eq "$(t_digest "$DATA/shop.db")" "$REF" "api at $conc: the determinism digest"
	t_expect_eq "$(orders_digest "$DATA/shop.db")" "$REF_ROWS" "api at $conc: order rows"
	echo "api driver at concurrency $conc: digest equal ($NORDERS orders)"
	# shopd wrote the orders: its log has every POST /api/orders
	[ "$(grep -c 'POST /api/orders' "$T/api$conc.shopd.log")" -ge "$NORDERS" ] ||
	    t_fail "api at $conc: shopd did not log the orders"
done
grep -q '"api":' "$T/status.64" || t_fail "status has no api object"
grep -q '"api":' "$T/stats.64" || t_fail "stats has no api object"

# ---- an order's answer lost after shopd committed it: retried, placed once ----

conf_run drop
"$SIMD" -c "$T/simd.conf" --init-db >/dev/null 2>&1 || t_fail "simd --init-db (drop)"
start_shopd drop "$DATA/shop.db"
"$DROPPROXY" "$T/drop.port" "$SHOP_PORT" /api/orders >"$T/drop.out" 2>&1 &
DROP_PID=$!
BG_PIDS="$BG_PIDS $DROP_PID"
_i=0
until [ -s "$T/drop.port" ]; do
	_i=$((_i + 1))
	[ "$_i" -lt 200 ] || t_fail "dropproxy did not start"
	sleep 0.05
done
t_conf "max_concurrent = 16" "api_jwt_secret_file = $T/secret" \
    "shop_api_url = http://127.0.0.1:$(cat "$T/drop.port")"
t_start_simd
run_wait
t_expect_eq "$(field counts.errors)" 0 "drop: failed sessions"
t_expect_eq "$(field counts.orders)" "$NORDERS" "drop: orders counted"
DROPPED=$(grep -c '^dropped ' "$T/drop.out" || :)
t_expect_eq "$DROPPED" "$NORDERS" "drop: every order's first answer was lost"
# The broken connection was a reused one, which libcurl tries again on a fresh one
# itself: shopd saw each order twice, created it once and answered the second from it.
t_expect_eq "$(grep -c 'POST /api/orders: 201' "$T/drop.shopd.log")" "$NORDERS" "drop: orders created"
t_expect_eq "$(grep -c 'POST /api/orders: 200' "$T/drop.shopd.log")" "$NORDERS" "drop: orders replayed"
t_stop_simd || t_fail "simd exit (drop)"
stop_bg "$DROP_PID"
stop_bg "$SHOPD_PID"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")" "$NORDERS" \
    "drop: one order per key"
t_expect_eq "$(t_digest "$DATA/shop.db")" "$REF" "drop: the determinism digest"
t_expect_eq "$(orders_digest "$DATA/shop.db")" "$REF_ROWS" "drop: order rows"
echo "lost answers: $DROPPED orders retried, no duplicate"

# ---- refusals at start-up, with the reason ----

conf_run bad "shop_api_url = http://127.0.0.1:1"
rc=0; "$SIMD" -n -c "$T/simd.conf" >"$T/err" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "shop_api_url without api_jwt_secret_file was accepted"
t_expect_match "$(cat "$T/err")" 'api_jwt_secret_file' "no secret: the message"
conf_run bad "shop_api_url = ftp://127.0.0.1:1/" "api_jwt_secret_file = $T/secret"
rc=0; "$SIMD" -n -c "$T/simd.conf" >"$T/err" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "an ftp shop_api_url was accepted"
t_expect_match "$(cat "$T/err")" 'shop_api_url' "ftp: the message"
: >"$T/empty"
conf_run bad "shop_api_url = http://127.0.0.1:1" "api_jwt_secret_file = $T/empty"
rc=0; "$SIMD" -n -c "$T/simd.conf" >"$T/err" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "an empty secret file was accepted"
t_expect_match "$(cat "$T/err")" 'api_jwt_secret_file .*empty' "empty secret: the message"

# ---- the secret is never shown ----

for f in "$T"/*.log "$T"/*/*.log "$T"/status.* "$T"/stats.*; do
	[ -e "$f" ] || continue
	if grep -q "$SECRET" "$f"; then
		t_fail "the JWT secret appears in $f"
	fi
done
echo "ok"
