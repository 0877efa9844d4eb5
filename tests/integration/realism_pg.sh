# realism_pg.sh - the shopper model on the PostgreSQL store: a paced run (open-model arrivals)
# with non-default shopper keys, stopped part of the way and resumed under another
# configuration, writes the same rows as the same run flat out on SQLite (DESIGN.md 3.3).
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
conf() {	# the configuration: $1 = bounce_rate, $2 = calendar, $3 = database_url
	printf 'data_dir = %s\nsocket = %s\nseed = 11\ncheckpoint_interval = 0\n' "$DATA" \
	    "$SIMD_SOCKET" >"$T/simd.conf"
	t_conf "bounce_rate = $1" "calendar = $2" "cross_store_rate = 0.5" "database_url = $3"
}

# the reference: SQLite, flat out, one session at a time
conf 0.25 "promo 2026-01-05T12:00/2026-01-06T00:00 x2.5" ""
t_start_simd
t_ctl start --agents 300 --cycles 30 --time-scale 0 --max-concurrent 1 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
[ "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")" -gt 0 ] || t_fail "no orders"
t_stop_simd || t_fail "exit"

# PostgreSQL, paced at 0.1 s a cycle, stopped after about a second
url=$(t_pg_db simd_realism)
conf 0.25 "promo 2026-01-05T12:00/2026-01-06T00:00 x2.5" "$url"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start --agents 300 --cycles 30 --time-scale 36000 --max-concurrent 64 >/dev/null
sleep 1
t_ctl stop --wait >/dev/null
stopped=$(t_status_field cycle)
[ "$stopped" -lt 30 ] || t_fail "the run ended before it was stopped"
paced=$(t_ctl --json stats | jq .arrivals.paced)
[ "$paced" -gt 0 ] || t_fail "no visit was paced"
t_stop_simd || t_fail "exit"
# resumed under other keys: the run keeps its own
conf 0.7 "" "$url"
t_start_simd
t_ctl start --resume --wait >/dev/null
t_expect_eq "$(t_pg_digest simd_realism)" "$ref" \
    "PostgreSQL, paced, resumed at cycle $stopped = SQLite flat out"
t_stop_simd || t_fail "exit"
