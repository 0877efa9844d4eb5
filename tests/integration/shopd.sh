# shopd.sh - the reference shop backend (contrib/shopd) against docs/shop-api.md: every
# endpoint, carts set and never added, exactly-once orders, the same rows as the direct
# driver, tokens, rate limits and their bypass, bad input, a missing schema; and the same
# on PostgreSQL when the runner has a server.  Bodies are read with sqlite3's JSON functions.
set -eu
. "$TOP/tests/lib/common.sh"
SHOPD=${SHOPD:-$TOP/contrib/shopd/shopd}
MINT=$TOP/tests/tools/jwtmint
[ -x "$SHOPD" ] || t_fail "no $SHOPD: build it with make"
[ -x "$MINT" ] || t_fail "no $MINT: build it with make tests/tools/jwtmint"
if ! command -v curl >/dev/null 2>&1; then
	echo "no curl (sh packaging/deps.sh installs it)"
	exit 77
fi
t_setup
SHOPD_PIDS=
trap '_s=$?; set +e; for _p in $SHOPD_PIDS; do kill -TERM "$_p" 2>/dev/null || :; done; (exit $_s); _t_cleanup' EXIT
SECRET="shopd-test-secret-$$-0123456789abcdef"
printf '%s\n' "$SECRET" >"$T/secret"
printf 'another-secret-entirely-0123456789abcdef\n' >"$T/secret2"

# ---- helpers ----

# start_shopd NAME ARGS...: a shopd on a free loopback port; sets URL and SHOPD_PID.
start_shopd() {
	_n=$1
	shift
	"$SHOPD" --listen 127.0.0.1:0 --jwt-secret-file "$T/secret" -l debug "$@" \
	    </dev/null >"$T/$_n.log" 2>&1 &
	SHOPD_PID=$!
	SHOPD_PIDS="$SHOPD_PIDS $SHOPD_PID"
	_i=0
	until grep -q 'listening on' "$T/$_n.log" 2>/dev/null; do
		kill -0 "$SHOPD_PID" 2>/dev/null || t_fail "shopd $_n exited: $(cat "$T/$_n.log")"
		_i=$((_i + 1))
		[ "$_i" -lt 200 ] || t_fail "shopd $_n did not start"
		sleep 0.05
	done
	URL=http://127.0.0.1:$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/$_n.log")
}

# stop_shopd PID: SIGTERM must end it with status 0.
stop_shopd() {
	kill -TERM "$1"
	_rc=0
	wait "$1" || _rc=$?
	t_expect_eq "$_rc" 0 "shopd exit status after SIGTERM"
}

tok() {	# tok SUB [jwtmint flags]: a token for user SUB
	_s=$1
	shift
	"$MINT" "$@" "$T/secret" "$_s"
}

# call METHOD PATH TOKEN [BODY] [curl args]: prints the status; body in $T/body, headers in $T/hdr.
call() {
	_m=$1 _p=$2 _t=$3
	shift 3
	_b=
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		_b=$1
		shift
	fi
	set -- -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$_m" "$@"
	[ -z "$_t" ] || set -- "$@" -H "Authorization: Bearer $_t"
	[ -z "$_b" ] || set -- "$@" -H 'Content-Type: application/json' --data-binary "$_b"
	curl "$@" "$URL$_p" || echo "curl-failed"
}

expect() {	# expect STATUS WHAT METHOD PATH TOKEN [BODY] [curl args]
	_want=$1 _what=$2
	shift 2
	_got=$(call "$@")
	[ "$_got" = "$_want" ] || t_fail "$_what: expected $_want, got $_got: $(cat "$T/body")"
}

j() {	# j JSONPATH [FILE]: a value of the last body (or FILE)
	sqlite3 :memory: "SELECT json_extract(readfile('${2:-$T/body}'), '$1')"
}

jn() {	# jn JSONPATH: length of an array of the last body
	sqlite3 :memory: "SELECT json_array_length(readfile('$T/body'), '$1')"
}

header() {	# header NAME: its value in the last answer
	tr -d '\r' <"$T/hdr" | grep -i "^$1:" | sed 's/^[^:]*: *//' | head -n 1
}

# ---- a shop database, provisioned by simd itself ----

t_conf "seed = 5"
t_start_simd
t_ctl start --agents 400 --all-shop --cycles 1 --time-scale 0 --wait >/dev/null
t_stop_simd || t_fail "simd exit"
A=$T/a.db
sqlite3 "$DATA/shop.db" ".backup '$A'"
norders=$(sqlite3 "$A" "SELECT count(*) FROM orders")
[ "$norders" -gt 0 ] || t_fail "the simd run placed no orders"
[ "$(sqlite3 "$A" "SELECT count(*) FROM orders WHERE coupon_id IS NOT NULL")" -gt 0 ] ||
    t_fail "no order of the run used a coupon (seed 5 has one)"

# ---- refusals at start-up ----

rc=0; "$SHOPD" --listen 127.0.0.1:0 --db "$T/none.db" --jwt-secret-file "$T/secret" \
    2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "no database file: exit 1"
t_expect_eq "$(wc -l <"$T/err")" 1 "no database file: one line"
t_expect_match "$(cat "$T/err")" 'shopd: .*none.db.*simd --init-db' "no database file: message"
[ ! -e "$T/none.db" ] || t_fail "shopd created a database file"
: >"$T/empty.db"
sqlite3 "$T/other.db" "CREATE TABLE t(x)"
for db in "$T/empty.db" "$T/other.db"; do
	rc=0; "$SHOPD" --listen 127.0.0.1:0 --db "$db" --jwt-secret-file "$T/secret" \
	    2>"$T/err" || rc=$?
	t_expect_eq "$rc" 1 "no schema in $db: exit 1"
	t_expect_eq "$(wc -l <"$T/err")" 1 "no schema in $db: one line"
	t_expect_match "$(cat "$T/err")" 'shop schema is not there.*simd --init-db' "no schema: message"
done
t_expect_eq "$(wc -c <"$T/empty.db")" 0 "shopd wrote nothing to a file without the schema"
: >"$T/nosecret"
rc=0; "$SHOPD" --listen 127.0.0.1:0 --db "$A" --jwt-secret-file "$T/nosecret" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "empty secret: exit 1"
rc=0; "$SHOPD" --listen 127.0.0.1:0 --db "$A" 2>/dev/null || rc=$?
t_expect_eq "$rc" 2 "missing flag: exit 2"
rc=0; "$SHOPD" --listen nonsense --db "$A" --jwt-secret-file "$T/secret" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "bad --listen: exit 1"
t_expect_match "$("$SHOPD" -V)" '^shopd [0-9]' "shopd -V"

# ---- the same rows as the direct driver ----
# Every order of the run is taken out of a copy of its database (orders, items, interactions,
# coupon redemptions) and placed again through shopd with the same lines, coupon, key and
# simulated time: the tables must come out byte for byte as the direct driver wrote them.

EP_SQLITE="CAST(strftime('%s', @) AS INTEGER)"
TS_SQLITE="@"
sql_a() { sqlite3 "$A" "$1"; }
sql_b() { sqlite3 "$B" "$1"; }

fmt() {	# fmt TEMPLATE COLUMN: the template with @ replaced by the column
	printf '%s\n' "$1" | sed "s/@/$2/g"
}

rows_digest() {	# rows_digest SQLFN TS: the rows an order writes, every table
	"$1" "SELECT o.idem_key, o.user_id, o.session_id, o.coupon_id, o.total_cents,
	    $(fmt "$2" o.created_at) FROM orders o ORDER BY o.idem_key;
	    SELECT o.idem_key, i.product_id, i.quantity, i.price_cents FROM order_items i
	    JOIN orders o ON o.id = i.order_id ORDER BY 1, 2;
	    SELECT interaction_key, user_id, product_id, kind, $(fmt "$2" created_at)
	    FROM interactions ORDER BY 1;
	    SELECT user_id, coupon_id, $(fmt "$2" redeemed_at), order_key FROM user_coupons
	    ORDER BY 1, 2;
	    SELECT user_id, store_id, product_id, quantity, price_cents, $(fmt "$2" updated_at)
	    FROM cart_items ORDER BY 1, 2, 3" | sha256sum | cut -d' ' -f1
}

# replay_orders SRCFN DSTFN EPOCH: what SRCFN's database ordered, placed again on DSTFN's via $URL
replay_orders() {
	"$2" "DELETE FROM interactions; DELETE FROM order_items; DELETE FROM orders;
	    UPDATE user_coupons SET redeemed_at = NULL, order_key = NULL WHERE order_key IS NOT NULL"
	"$1" "SELECT o.id, o.idem_key, o.user_id, coalesce(o.coupon_id, 0), o.total_cents,
	    $(fmt "$3" o.created_at), s.session_key FROM orders o
	    JOIN shopping_sessions s ON s.id = o.session_id ORDER BY o.idem_key" >"$T/replay"
	while IFS='|' read -r oid idem user coupon total at skey; do
		items=$("$1" "SELECT product_id, quantity FROM order_items WHERE order_id = $oid
		    ORDER BY product_id" | sed 's/^\([0-9]*\)|\([0-9]*\)$/{"product_id":\1,"quantity":\2}/' |
		    paste -sd, -)
		tk=$(tok "$user")
		expect 200 "replay $idem: cart" POST /api/cart/items "$tk" \
		    "{\"user_id\":$user,\"items\":[$items]}" -H "X-Sim-Time: $at"
		if [ "$coupon" != 0 ]; then
			expect 200 "replay $idem: coupon" POST /api/cart/coupons "$tk" \
			    "{\"user_id\":$user,\"coupon_id\":$coupon}" -H "X-Sim-Time: $at"
		fi
		expect 201 "replay $idem: order" POST /api/orders "$tk" \
		    "{\"user_id\":$user,\"session_key\":\"$skey\"}" -H "X-Sim-Time: $at" \
		    -H "Idempotency-Key: $idem"
		t_expect_eq "$(j '$.order.total_cents')" "$total" "replay $idem: the server's total"
		t_expect_eq "$(j '$.order.idem_key')" "$idem" "replay $idem: the key"
	done <"$T/replay"
}

B=$T/b.db
sqlite3 "$A" ".backup '$B'"
start_shopd rows --db "$B"
replay_orders sql_a sql_b "$EP_SQLITE"
t_expect_eq "$(sql_b "SELECT count(*) FROM orders")" "$norders" "every order placed again"
t_expect_eq "$(rows_digest sql_b "$TS_SQLITE")" "$(rows_digest sql_a "$TS_SQLITE")" \
    "shopd's order rows = the direct driver's"
t_expect_eq "$(t_digest "$B")" "$(t_digest "$A")" "determinism digest unchanged"
stop_shopd "$SHOPD_PID"

# ---- every endpoint, on a copy of its own ----

H=$T/h.db
sqlite3 "$A" ".backup '$H'"
start_shopd main --db "$H" --rate-search 0 --rate-products 0
U=1
TK=$(tok $U)
# a coupon of user 1's wallet, a time inside its validity, a product of its store
IFS='|' read -r CP CP_STORE CP_MIN NOW <<EOF
$(sqlite3 "$H" "SELECT c.id, coalesce(c.store_id, 0), c.min_spend_cents,
    CAST(strftime('%s', c.valid_from) AS INTEGER) + 3600 FROM user_coupons uc
    JOIN coupons c ON c.id = uc.coupon_id WHERE uc.user_id = $U AND uc.redeemed_at IS NULL
    ORDER BY c.id LIMIT 1")
EOF
[ -n "$CP" ] || t_fail "user $U has no unredeemed coupon"
IFS='|' read -r P1 P1_PRICE <<EOF
$(sqlite3 "$H" "SELECT id, price_cents FROM products WHERE $CP_STORE = 0 OR store_id = $CP_STORE
    ORDER BY id LIMIT 1")
EOF
P2=$(sqlite3 "$H" "SELECT id FROM products WHERE id <> $P1 ORDER BY id LIMIT 1")
Q1=$((CP_MIN / P1_PRICE + 1))
[ "$Q1" -le 1000 ] || t_fail "quantity $Q1 needed for coupon $CP"
ST="X-Sim-Time: $NOW"

expect 200 "begin" POST /api/shopping/session "$TK" "{\"user_id\":$U}"
t_expect_eq "$(j '$.user.id')" "$U" "begin: the user"
t_expect_eq "$(j '$.user.agent_id')" agent_001 "begin: agent_id"
t_expect_eq "$(jn '$.wallet')" "$(sqlite3 "$H" "SELECT count(*) FROM user_coupons WHERE user_id = $U")" \
    "begin: the wallet"
[ "$(j '$.cart.total_cents')" -ge 0 ] || t_fail "begin: no cart"

# search: the direct driver's first page, and a whole category read page by page
CAT=$(sqlite3 "$H" "SELECT category FROM products GROUP BY category ORDER BY count(*) DESC LIMIT 1")
expect 200 "search" GET "/api/products/search?category=$CAT" "$TK"
t_expect_eq "$(j '$.total')" "$(sqlite3 "$H" "SELECT count(*) FROM products WHERE category = '$CAT'")" \
    "search: total"
t_expect_eq "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '$.id'))
    FROM json_each(readfile('$T/body'), '$.products')")" \
    "$(sqlite3 "$H" "SELECT group_concat(id) FROM (SELECT id FROM products WHERE category = '$CAT'
    ORDER BY price_cents, id LIMIT 50)")" "search: the first page is the direct driver's BROWSE"
off=0; all=
while [ "$off" != null ]; do
	expect 200 "search page $off" GET "/api/products/search?category=$CAT&limit=100&offset=$off" "$TK"
	all="$all$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '$.id'))
	    FROM json_each(readfile('$T/body'), '$.products')"),"
	off=$(j '$.next_offset')
	[ -n "$off" ] || off=null
done
t_expect_eq "$all" "$(sqlite3 "$H" "SELECT group_concat(id) FROM (SELECT id FROM products
    WHERE category = '$CAT' ORDER BY price_cents, id)")," "search: paging reads the whole category"
expect 200 "unknown category" GET "/api/products/search?category=nothing-here" "$TK"
t_expect_eq "$(jn '$.products')" 0 "unknown category: empty"
expect 200 "product" GET "/api/products/$P1" "$TK"
t_expect_eq "$(j '$.product.price_cents')" "$P1_PRICE" "product: price"

# the cart: set twice gives the same rows; set again replaces, never adds
cart_rows() { sqlite3 "$H" "SELECT * FROM cart_items WHERE user_id = $U ORDER BY product_id"; }
BODY="{\"user_id\":$U,\"items\":[{\"product_id\":$P1,\"quantity\":$Q1},{\"product_id\":$P2,\"quantity\":2}]}"
expect 200 "cart" POST /api/cart/items "$TK" "$BODY" -H "$ST"
first=$(cart_rows)
cp "$T/body" "$T/cart1"
expect 200 "cart again" POST /api/cart/items "$TK" "$BODY" -H "$ST"
t_expect_eq "$(cart_rows)" "$first" "cart set twice: the same rows"
cmp -s "$T/body" "$T/cart1" || t_fail "cart set twice: different answers"
t_expect_eq "$(sqlite3 "$H" "SELECT quantity FROM cart_items WHERE user_id = $U AND product_id = $P1")" \
    "$Q1" "set, never add"
t_expect_eq "$(jn '$.items')" 2 "cart: two lines"
t_expect_eq "$(j '$.subtotal_cents')" \
    "$(sqlite3 "$H" "SELECT sum(quantity * price_cents) FROM cart_items WHERE user_id = $U")" "cart: subtotal"
expect 200 "cart: one line" POST /api/cart/items "$TK" \
    "{\"user_id\":$U,\"items\":[{\"product_id\":$P1,\"quantity\":$Q1}]}" -H "$ST"
t_expect_eq "$(sqlite3 "$H" "SELECT group_concat(product_id) FROM cart_items WHERE user_id = $U")" \
    "$P1" "cart set to fewer lines drops the others"
t_expect_eq "$(sqlite3 "$H" "SELECT updated_at FROM cart_items WHERE user_id = $U")" \
    "$(sqlite3 :memory: "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', $NOW, 'unixepoch')")" \
    "cart rows carry the simulated time"
expect 422 "unknown product" POST /api/cart/items "$TK" \
    "{\"user_id\":$U,\"items\":[{\"product_id\":99999999,\"quantity\":1}]}" -H "$ST"
t_expect_eq "$(j '$.error.code')" unknown_product "unknown product: code"
t_expect_eq "$(sqlite3 "$H" "SELECT group_concat(product_id) FROM cart_items WHERE user_id = $U")" \
    "$P1" "a refused cart leaves the cart as it was"

# coupons
expect 200 "wallet" GET "/api/coupons/wallet?user_id=$U" "$TK"
t_expect_eq "$(jn '$.coupons')" "$(sqlite3 "$H" "SELECT count(*) FROM user_coupons WHERE user_id = $U")" \
    "wallet: every coupon"
expect 200 "eligible" GET "/api/coupons/eligible?user_id=$U" "$TK" -H "$ST"
t_expect_match "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '$.coupon_id'))
    FROM json_each(readfile('$T/body'), '$.coupons')")" "(^|,)$CP(,|$)" "eligible: coupon $CP fits"
expect 409 "coupon before its validity" POST /api/cart/coupons "$TK" \
    "{\"user_id\":$U,\"coupon_id\":$CP}" -H "X-Sim-Time: $((NOW - 7200))"
t_expect_eq "$(j '$.error.code')" coupon_not_valid "coupon before its validity: code"
NOTMINE=$(sqlite3 "$H" "SELECT id FROM coupons WHERE id NOT IN
    (SELECT coupon_id FROM user_coupons WHERE user_id = $U) ORDER BY id LIMIT 1")
expect 422 "coupon not in the wallet" POST /api/cart/coupons "$TK" \
    "{\"user_id\":$U,\"coupon_id\":$NOTMINE}" -H "$ST"
expect 200 "apply" POST /api/cart/coupons "$TK" "{\"user_id\":$U,\"coupon_id\":$CP}" -H "$ST"
t_expect_eq "$(j '$.coupon.coupon_id')" "$CP" "apply: the cart shows the coupon"
expect 200 "a new session" POST /api/shopping/session "$TK" "{\"user_id\":$U}"
t_expect_eq "$(j '$.cart.coupon')" "" "a new session starts with no coupon applied"
expect 200 "apply again" POST /api/cart/coupons "$TK" "{\"user_id\":$U,\"coupon_id\":$CP}" -H "$ST"
expect 200 "the same cart" POST /api/cart/items "$TK" \
    "{\"user_id\":$U,\"items\":[{\"product_id\":$P1,\"quantity\":$Q1}]}" -H "$ST"
t_expect_eq "$(j '$.coupon')" "" "a cart change removes the coupon"
expect 200 "apply once more" POST /api/cart/coupons "$TK" "{\"user_id\":$U,\"coupon_id\":$CP}" -H "$ST"
SUB=$(j '$.subtotal_cents')
PCT=$(sqlite3 "$H" "SELECT pct_off FROM coupons WHERE id = $CP")
WANT=$((SUB - SUB * PCT / 100))
t_expect_eq "$(j '$.total_cents')" "$WANT" "apply: the discounted total"

# the order, exactly once
IDEM="s5:agent_001:7:order"
ORDER_BODY="{\"user_id\":$U,\"session_key\":\"s5:agent_001:0\"}"
expect 400 "order without Idempotency-Key" POST /api/orders "$TK" "$ORDER_BODY" -H "$ST"
expect 400 "order without X-Sim-Time" POST /api/orders "$TK" "$ORDER_BODY" -H "Idempotency-Key: $IDEM"
expect 201 "order" POST /api/orders "$TK" "$ORDER_BODY" -H "$ST" -H "Idempotency-Key: $IDEM"
cp "$T/body" "$T/order1"
t_expect_eq "$(j '$.order.total_cents')" "$WANT" "order: the server's total"
t_expect_eq "$(j '$.order.coupon_id')" "$CP" "order: the coupon"
t_expect_eq "$(j '$.order.session_id')" \
    "$(sqlite3 "$H" "SELECT id FROM shopping_sessions WHERE session_key = 's5:agent_001:0'")" \
    "order: linked to simd's session row"
before=$(sqlite3 "$H" "SELECT count(*) FROM orders; SELECT count(*) FROM order_items;
    SELECT count(*) FROM interactions")
expect 200 "order again" POST /api/orders "$TK" "$ORDER_BODY" -H "$ST" -H "Idempotency-Key: $IDEM"
cmp -s "$T/body" "$T/order1" || t_fail "a replayed order answered differently"
t_expect_eq "$(header Idempotent-Replayed)" true "replay says so"
# a refilled cart and another body do not make the key place a second order
expect 200 "cart after the order" POST /api/cart/items "$TK" \
    "{\"user_id\":$U,\"items\":[{\"product_id\":$P2,\"quantity\":1}]}" -H "$ST"
expect 200 "order again, new cart" POST /api/orders "$TK" "{\"user_id\":$U}" -H "$ST" \
    -H "Idempotency-Key: $IDEM"
cmp -s "$T/body" "$T/order1" || t_fail "a replayed order answered differently"
t_expect_eq "$(sqlite3 "$H" "SELECT count(*) FROM orders; SELECT count(*) FROM order_items;
    SELECT count(*) FROM interactions")" "$before" "a repeated key created nothing"
t_expect_eq "$(sqlite3 "$H" "SELECT count(*) FROM orders WHERE idem_key = '$IDEM'")" 1 "one order"
t_expect_eq "$(sqlite3 "$H" "SELECT count(*) FROM cart_items WHERE user_id = $U")" 1 \
    "the replay left the new cart alone"
t_expect_eq "$(sqlite3 "$H" "SELECT order_key FROM user_coupons WHERE user_id = $U AND coupon_id = $CP")" \
    "$IDEM" "the coupon is redeemed by the order"
t_expect_eq "$(sqlite3 "$H" "SELECT group_concat(interaction_key) FROM interactions
    WHERE user_id = $U AND interaction_key LIKE 's5:agent\_001:7:%' ESCAPE '\\'")" \
    "$IDEM:$P1" "interaction keyed <idem_key>:<product_id>"
expect 409 "a redeemed coupon" POST /api/cart/coupons "$TK" "{\"user_id\":$U,\"coupon_id\":$CP}" -H "$ST"
t_expect_eq "$(j '$.error.code')" coupon_redeemed "a redeemed coupon: code"
TK2=$(tok 2)
expect 409 "another user's key" POST /api/orders "$TK2" "{\"user_id\":2}" -H "$ST" \
    -H "Idempotency-Key: $IDEM"
t_expect_eq "$(j '$.error.code')" idempotency_key_reused "another user's key: code"
expect 200 "empty the cart" POST /api/cart/items "$TK" "{\"user_id\":$U,\"items\":[]}" -H "$ST"
expect 200 "eligible, empty cart" GET "/api/coupons/eligible?user_id=$U" "$TK" -H "$ST"
t_expect_eq "$(jn '$.coupons')" 0 "nothing fits an empty cart"
expect 409 "order of an empty cart" POST /api/orders "$TK" "{\"user_id\":$U}" -H "$ST" \
    -H "Idempotency-Key: s5:agent_001:8:order"
t_expect_eq "$(j '$.error.code')" cart_empty "empty cart: code"

# tokens
expect 401 "no token" GET "/api/coupons/wallet?user_id=$U" ""
t_expect_match "$(header WWW-Authenticate)" '^Bearer' "401 names the scheme"
expect 401 "wrong signature" GET "/api/coupons/wallet?user_id=$U" "$("$MINT" "$T/secret2" $U)"
expect 401 "expired" GET "/api/coupons/wallet?user_id=$U" "$(tok $U -i -7200 -e -3600)"
t_expect_match "$(j '$.error.message')" expired "expired: message"
expect 401 "alg none" GET "/api/coupons/wallet?user_id=$U" "$(tok $U -a none)"
expect 401 "sub as a number" GET "/api/coupons/wallet?user_id=$U" "$(tok $U -N)"
expect 401 "garbage token" GET "/api/coupons/wallet?user_id=$U" "not.a.token"
expect 401 "a search needs a token too" GET "/api/products/search?category=$CAT" ""
expect 403 "wrong sub" GET "/api/coupons/wallet?user_id=$U" "$TK2"
t_expect_eq "$(j '$.error.code')" forbidden "wrong sub: code"
expect 403 "wrong sub, POST" POST /api/cart/items "$TK2" "{\"user_id\":$U,\"items\":[]}" -H "$ST"
expect 404 "unknown user" POST /api/shopping/session "$(tok 99999)" '{"user_id":99999}'
t_expect_eq "$(j '$.error.code')" unknown_user "unknown user: code"

# bad input
expect 400 "garbage JSON" POST /api/shopping/session "$TK" '{"user_id":1'
t_expect_eq "$(j '$.error.code')" invalid_json "garbage JSON: code"
expect 400 "not an object" POST /api/shopping/session "$TK" '[1]'
expect 400 "unknown member" POST /api/shopping/session "$TK" "{\"user_id\":$U,\"x\":1}"
expect 400 "string id" POST /api/shopping/session "$TK" "{\"user_id\":\"$U\"}"
expect 400 "duplicate member" POST /api/shopping/session "$TK" "{\"user_id\":$U,\"user_id\":$U}"
expect 415 "no JSON content type" POST /api/shopping/session "$TK" -d "{\"user_id\":$U}"
expect 400 "quantity 0" POST /api/cart/items "$TK" \
    "{\"user_id\":$U,\"items\":[{\"product_id\":$P1,\"quantity\":0}]}" -H "$ST"
expect 400 "a product twice" POST /api/cart/items "$TK" \
    "{\"user_id\":$U,\"items\":[{\"product_id\":$P1,\"quantity\":1},{\"product_id\":$P1,\"quantity\":1}]}" -H "$ST"
many=$(i=0; while [ $i -le 100 ]; do printf '{"product_id":%d,"quantity":1},' $((i + 1)); i=$((i + 1)); done)
expect 400 "101 lines" POST /api/cart/items "$TK" "{\"user_id\":$U,\"items\":[${many%,}]}" -H "$ST"
expect 400 "no X-Sim-Time" POST /api/cart/items "$TK" "{\"user_id\":$U,\"items\":[]}"
expect 400 "bad X-Sim-Time" POST /api/cart/items "$TK" "{\"user_id\":$U,\"items\":[]}" -H "X-Sim-Time: -5"
expect 400 "bad limit" GET "/api/products/search?category=$CAT&limit=0" "$TK"
expect 400 "unknown parameter" GET "/api/products/search?category=$CAT&sort=name" "$TK"
expect 400 "no category" GET "/api/products/search" "$TK"
expect 404 "unknown product" GET /api/products/99999999 "$TK"
expect 404 "not a product id" GET /api/products/abc "$TK"
expect 404 "unknown endpoint" GET /api/nothing "$TK"
expect 405 "wrong method" GET /api/orders "$TK"
t_expect_eq "$(header Allow)" POST "405 says what is allowed"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big"
expect 413 "oversize body" POST /api/shopping/session "$TK" -H 'Content-Type: application/json' \
    --data-binary "@$T/big"
expect 200 "still serving after bad input" POST /api/shopping/session "$TK" "{\"user_id\":$U}"
grep -q "$SECRET" "$T/main.log" && t_fail "the secret reached the log"
grep -q "$TK" "$T/main.log" && t_fail "a token reached the log"
stop_shopd "$SHOPD_PID"

# ---- rate limits: search 1/min, products 2/min, per client address ----
# (a token comes back every 60 s and 30 s: far more than these few requests take)

start_shopd limits --db "$H" --rate-search 1 --rate-products 2/min
USER_TK=$(tok $U -S)
SIM_TK=$TK
S="/api/products/search?category=$CAT&limit=1"
expect 200 "product: 1 of 2 product reads" GET "/api/products/$P1" "$USER_TK"
expect 200 "search: 1 of 1 searches, 2 of 2 product reads" GET "$S" "$USER_TK"
expect 429 "search over its limit" GET "$S" "$USER_TK"
t_expect_eq "$(j '$.error.code')" rate_limited "429: code"
t_expect_match "$(header Retry-After)" '^[1-9][0-9]*$' "429 carries Retry-After"
expect 429 "products over their limit" GET "/api/products/$P1" "$USER_TK"
t_expect_match "$(header Retry-After)" '^[1-9][0-9]*$' "429 carries Retry-After"
expect 429 "the header alone bypasses nothing" GET "$S" "$USER_TK" -H 'X-Simulation-Mode: true'
expect 429 "a sim token alone bypasses nothing" GET "$S" "$SIM_TK"
expect 429 "the header with a bad sim token" GET "$S" "$(tok $U -i -7200 -e -3600)" \
    -H 'X-Simulation-Mode: true'
expect 429 "limited before the token is checked" GET "$S" "" -H 'X-Simulation-Mode: true'
i=0
while [ $i -lt 10 ]; do
	expect 200 "sim token + header, search $i" GET "$S" "$SIM_TK" -H 'X-Simulation-Mode: true'
	expect 200 "sim token + header, product $i" GET "/api/products/$P1" "$SIM_TK" \
	    -H 'X-Simulation-Mode: true'
	i=$((i + 1))
done
expect 200 "other endpoints are not limited" GET "/api/coupons/wallet?user_id=$U" "$USER_TK"
stop_shopd "$SHOPD_PID"

# ---- PostgreSQL, when the runner has a server ----

if [ -z "${PG_URL:-}" ] || [ -z "${PG_DIR:-}" ]; then
	echo "no PostgreSQL server: its half of the test is skipped (tests/run.sh starts one)"
	exit 0
fi
_t_pg_dir=$PG_DIR _t_pg_log=${PG_LOG:-} _t_pg_bin=${PG_BINDIR:-}
. "$TOP/tests/lib/pg.sh"
PG_DIR=$_t_pg_dir PG_LOG=$_t_pg_log PG_BINDIR=$_t_pg_bin
pgurl=$(t_pg_db shopd_a)
t_conf "database_url = $pgurl"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start --agents 400 --all-shop --cycles 1 --time-scale 0 --wait >/dev/null
t_stop_simd || t_fail "simd exit"
_pg_admin -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS shopd_b" -c "CREATE DATABASE shopd_b TEMPLATE shopd_a" \
    >/dev/null || t_fail "cannot copy the PostgreSQL shop database"
sql_pa() { _pg_admin -At -F '|' -d shopd_a -c "$1"; }
sql_pb() { _pg_admin -At -F '|' -d shopd_b -c "$1"; }
EP_PG="extract(epoch FROM @)::bigint"
TS_PG="to_char(@ AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
start_shopd pg --db "${pgurl%/shopd_a}/shopd_b"
t_expect_match "$(cat "$T/pg.log")" 'database: postgres\)' "shopd on PostgreSQL"
grep -q 'postgresql://' "$T/pg.log" && t_fail "the database URL reached the log"
[ "$(sql_pa "SELECT count(*) FROM orders")" -gt 0 ] || t_fail "no orders on PostgreSQL"
replay_orders sql_pa sql_pb "$EP_PG"
t_expect_eq "$(rows_digest sql_pb "$TS_PG")" "$(rows_digest sql_pa "$TS_PG")" \
    "PostgreSQL: shopd's order rows = the direct driver's"
# the happy path once more: begin, search, cart twice, eligible, apply, order twice
expect 200 "pg: begin" POST /api/shopping/session "$TK" "{\"user_id\":$U}"
expect 200 "pg: search" GET "/api/products/search?category=$CAT" "$TK"
t_expect_eq "$(j '$.total')" "$(sql_pb "SELECT count(*) FROM products WHERE category = '$CAT'")" \
    "pg: search total"
BODY="{\"user_id\":$U,\"items\":[{\"product_id\":$P1,\"quantity\":$Q1},{\"product_id\":$P2,\"quantity\":2}]}"
pg_cart() { sql_pb "SELECT * FROM cart_items WHERE user_id = $U ORDER BY product_id"; }
expect 200 "pg: cart" POST /api/cart/items "$TK" "$BODY" -H "$ST"
first=$(pg_cart)
expect 200 "pg: cart again" POST /api/cart/items "$TK" "$BODY" -H "$ST"
t_expect_eq "$(pg_cart)" "$first" "pg: cart set twice, the same rows"
expect 200 "pg: wallet" GET "/api/coupons/wallet?user_id=$U" "$TK"
expect 200 "pg: eligible" GET "/api/coupons/eligible?user_id=$U" "$TK" -H "$ST"
expect 200 "pg: apply" POST /api/cart/coupons "$TK" "{\"user_id\":$U,\"coupon_id\":$CP}" -H "$ST"
expect 201 "pg: order" POST /api/orders "$TK" "$ORDER_BODY" -H "$ST" -H "Idempotency-Key: $IDEM"
cp "$T/body" "$T/pgorder"
expect 200 "pg: order again" POST /api/orders "$TK" "$ORDER_BODY" -H "$ST" -H "Idempotency-Key: $IDEM"
cmp -s "$T/body" "$T/pgorder" || t_fail "pg: a replayed order answered differently"
t_expect_eq "$(sql_pb "SELECT count(*) FROM orders WHERE idem_key = '$IDEM'")" 1 "pg: one order"
t_expect_eq "$(j '$.order.total_cents')" "$(sql_pb "SELECT total_cents FROM orders WHERE idem_key = '$IDEM'")" \
    "pg: the total written"
expect 401 "pg: bad token" GET "/api/coupons/wallet?user_id=$U" "$("$MINT" "$T/secret2" $U)"
stop_shopd "$SHOPD_PID"
rc=0; "$SHOPD" --listen 127.0.0.1:0 --db "postgresql://postgres@127.0.0.1:1/x" \
    --jwt-secret-file "$T/secret" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "pg: unreachable server refused"
t_expect_eq "$(wc -l <"$T/err")" 1 "pg: one line"
