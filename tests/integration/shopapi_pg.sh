# shopapi_pg.sh - the shop API driver over the PostgreSQL store: the simulation's own records
# (users, catalogue, sessions, events) go to PostgreSQL while the shop actions go through
# contrib/shopd, itself on the same database; the orders and events are those of the direct
# PostgreSQL driver for the same seed.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
. "$TOP/tests/lib/shop.sh"

# the reference: the direct driver on PostgreSQL
url=$(t_pg_db simd_api_ref)
conf_run ref "database_url = $url" "max_concurrent = 16"
t_start_simd
run_wait
t_expect_eq "$(field counts.errors)" 0 "direct on PostgreSQL: failed sessions"
NORDERS=$(field counts.orders)
[ "$NORDERS" -gt 10 ] || t_fail "the direct run placed only $NORDERS orders"
t_stop_simd || t_fail "simd exit (direct)"
REF=$(t_pg_digest simd_api_ref)

# the API driver: simd's store on PostgreSQL, shop actions through shopd on the same database
url=$(t_pg_db simd_api)
conf_run api "database_url = $url" "max_concurrent = 16" "api_jwt_secret_file = $T/secret"
"$SIMD" -c "$T/simd.conf" --init-db >"$T/init.out" 2>&1 || t_fail "simd --init-db: $(cat "$T/init.out")"
start_shopd api "$url"
t_conf "shop_api_url = $SHOP_URL"
t_start_simd
t_expect_match "$(t_ctl status)" 'store: +postgres' "the PostgreSQL store under the API driver"
run_wait
t_expect_eq "$(field counts.errors)" 0 "api on PostgreSQL: failed sessions"
t_expect_eq "$(field counts.orders)" "$NORDERS" "api on PostgreSQL: orders counted"
t_expect_eq "$(field api.requests)" "$(field api.ok)" "api on PostgreSQL: every answer taken"
[ "$(field api.requests)" -gt "$((AGENTS * CYCLES))" ] ||
    t_fail "api on PostgreSQL: only $(field api.requests) requests"
t_stop_simd || t_fail "simd exit (api)"
stop_bg "$SHOPD_PID"
[ "$(grep -c 'POST /api/orders: 201' "$T/api.shopd.log")" -eq "$NORDERS" ] ||
    t_fail "api on PostgreSQL: shopd did not create the orders"
t_expect_eq "$(_pg_admin -At -d simd_api -c "SELECT count(*) FROM orders")" "$NORDERS" \
    "api on PostgreSQL: orders in the database"
t_expect_eq "$(t_pg_digest simd_api)" "$REF" "api on PostgreSQL: the determinism digest"
echo "api driver over PostgreSQL: digest equal to the direct driver's ($NORDERS orders)"
for f in "$T"/*.log "$T"/*/*.log; do
	[ -e "$f" ] || continue
	if grep -q "$SECRET" "$f"; then
		t_fail "the JWT secret appears in $f"
	fi
done
echo "ok"
