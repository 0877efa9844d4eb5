# shopapi_catalog.sh - shop_catalog = api: simd drives a shop whose products it did not
# create.  shopd serves a catalogue the test wrote (sparse ids, two stores, a category over
# three pages, most categories empty); the set-up reads every page, writes no catalogue row,
# and the orders hold only the shop's products; the same seed gives the same orders twice;
# a bad page fails the set-up with the endpoint and status; the key's refusals.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
. "$TOP/tests/lib/shop.sh"

# seed_shop DB [EXTRA SQL]: the shop's own catalogue, 295 products, 230 of them toys
seed_shop() {
	sqlite3 "$1" "INSERT INTO stores VALUES (3, 'Corner Shop'), (7, 'Book Barn');
	    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 230)
	    INSERT INTO products SELECT 5000 + i, CASE WHEN i % 3 = 0 THEN 7 ELSE 3 END, 'toys',
	        'Toy ' || i, 199 + (i * 37) % 2000 FROM n;
	    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
	    INSERT INTO products SELECT 6000 + i, 7, 'books', 'Book ' || i, 500 + i * 25 FROM n;
	    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
	    INSERT INTO products SELECT 8000 + i, 3, 'groceries', 'Food ' || i, 99 + i * 13 FROM n;
	    ${2:-}" || t_fail "cannot seed the shop"
}

# catalog_run NAME [EXTRA SQL]: a run on a fresh shop seeded so, through shopd
catalog_run() {
	api_conf "$1" 16
	seed_shop "$DATA/shop.db" "${2:-}"
	t_conf "shop_api_url = $SHOP_URL" "shop_catalog = api"
	t_start_simd
}

# ---- the shop's catalogue, read in full; orders of its products only ----

digests=
for n in 1 2; do
	catalog_run "cat$n"
	run_wait
	t_expect_eq "$(field counts.errors)" 0 "run $n: failed sessions"
	[ "$(field counts.orders)" -gt 5 ] || t_fail "run $n: only $(field counts.orders) orders"
	t_expect_eq "$(field api.requests)" "$(field api.ok)" "run $n: every answer taken"
	# 12 categories, toys over 3 pages of 100: 14 pages, all 295 products
	grep -q 'shop_catalog = api: 295 products in 7 stores read from /api/products/search (14 pages)' \
	    "$T/simd.log" || t_fail "run $n: the catalogue read: $(grep shop_catalog "$T/simd.log")"
	t_stop_simd || t_fail "simd exit (run $n)"
	stop_bg "$SHOPD_PID"
	db=$DATA/shop.db
	t_expect_eq "$(sqlite3 "$db" "SELECT count(*) FROM products")" 295 "run $n: no product written"
	t_expect_eq "$(sqlite3 "$db" "SELECT count(*) FROM stores")" 2 "run $n: no store written"
	t_expect_eq "$(sqlite3 "$db" "SELECT count(*) FROM order_items
	    WHERE product_id NOT IN (SELECT id FROM products) OR product_id < 5001")" 0 \
	    "run $n: orders of the shop's products only"
	[ "$(sqlite3 "$db" "SELECT count(DISTINCT product_id) FROM order_items
	    WHERE product_id BETWEEN 5001 AND 5230")" -gt 0 ] || t_fail "run $n: no toy ordered"
	[ "$(grep -c 'GET /api/products/search: 200' "$T/cat$n.shopd.log")" -ge 14 ] ||
	    t_fail "run $n: shopd answered fewer than the 14 pages"
	digests="$digests $(t_digest "$db")"
	echo "run $n: $(sqlite3 "$db" "SELECT count(*) FROM orders") orders of the shop's products"
done
set -- $digests
t_expect_eq "$1" "$2" "the same seed, the same catalogue: the same orders digest"

# ---- a bad page: the set-up fails with the endpoint and the status ----

catalog_run bad "INSERT INTO stores VALUES (70000, 'Too Far');
    INSERT INTO products VALUES (9001, 70000, 'books', 'Odd Book', 700);"
rc=0
t_ctl start --agents "$AGENTS" --all-shop --cycles 1 --time-scale 0 --wait >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "a run on a bad catalogue page finished"
t_expect_match "$(t_ctl status)" 'state: +failed' "bad page: the run failed"
t_expect_match "$(t_ctl status)" 'GET /api/products/search: 200: product [0-9]*: .*out of range' \
    "bad page: the message names the endpoint and the status"
t_expect_eq "$(field api.failures.api_data)" 1 "bad page: an api_data failure"
t_stop_simd || t_fail "simd exit (bad)"
stop_bg "$SHOPD_PID"

# ---- refusals ----

conf_run refuse "shop_catalog = api"
rc=0; "$SIMD" -n -c "$T/simd.conf" >"$T/err" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "shop_catalog = api without shop_api_url was accepted"
t_expect_match "$(cat "$T/err")" 'shop_catalog = api needs shop_api_url' "no URL: the message"
conf_run refuse "shop_catalog = shelf"
rc=0; "$SIMD" -n -c "$T/simd.conf" >"$T/err" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "shop_catalog = shelf was accepted"
t_expect_match "$(cat "$T/err")" 'shop_catalog' "a bad value: the message"
echo "ok"
