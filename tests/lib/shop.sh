# shop.sh - helpers of the shop API tests (tests/integration/shopapi*.sh): runs of simd
# through contrib/shopd.  Source it after common.sh and t_setup.  POSIX sh.
#
#	conf_run NAME [LINES...]	# a fresh data dir $DATA and $T/simd.conf for one run
#	api_conf NAME CONCURRENCY	# conf_run, the schema, a shopd on it ($SHOP_URL)
#	start_shopd NAME DB [FLAGS]	# shopd on a free port: $SHOP_URL, $SHOP_PORT, $SHOPD_PID
#	run_wait [START FLAGS]		# the run to its end (AGENTS, CYCLES)
#	field PATH / sfield PATH	# a value of simctl --json status / stats ("api.ok")
#	stop_bg PID			# SIGTERM; it must exit 0
#	reset_shop DB			# the shop as the set-up left it, for another run of the seed
#
# Every background process is in $BG_PIDS, which the EXIT trap set here ends.
SHOPD=${SHOPD:-$TOP/contrib/shopd/shopd}
[ -x "$SHOPD" ] || t_fail "no $SHOPD: build it with make"
BG_PIDS=
trap '_s=$?; set +e; for _p in $BG_PIDS; do kill -CONT "$_p" 2>/dev/null; kill -TERM "$_p" 2>/dev/null; wait "$_p"; done; (exit $_s); _t_cleanup' EXIT
SECRET="shopapi-test-secret-$$-0123456789abcdef"
printf '%s\n' "$SECRET" >"$T/secret"
AGENTS=${AGENTS:-400}
CYCLES=${CYCLES:-2}

conf_run() {
	DATA=$T/$1
	SIMD_SOCKET=$T/$1.sock
	mkdir -p "$DATA"
	printf 'data_dir = %s\nsocket = %s\nseed = 11\nadaptive = off\n' "$DATA" "$SIMD_SOCKET" \
	    >"$T/simd.conf"
	shift
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$T/simd.conf"
}

start_shopd() {
	_n=$1 _db=$2
	shift 2
	"$SHOPD" --listen 127.0.0.1:0 --db "$_db" --jwt-secret-file "$T/secret" \
	    --rate-search 0 --rate-products 0 -l debug "$@" </dev/null >"$T/$_n.shopd.log" 2>&1 &
	SHOPD_PID=$!
	BG_PIDS="$BG_PIDS $SHOPD_PID"
	_i=0
	until grep -q 'listening on' "$T/$_n.shopd.log" 2>/dev/null; do
		kill -0 "$SHOPD_PID" 2>/dev/null || t_fail "shopd $_n exited: $(cat "$T/$_n.shopd.log")"
		_i=$((_i + 1))
		[ "$_i" -lt 400 ] || t_fail "shopd $_n did not start"
		sleep 0.05
	done
	SHOP_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/$_n.shopd.log")
	SHOP_URL=http://127.0.0.1:$SHOP_PORT
}

api_conf() {
	conf_run "$1" "max_concurrent = $2" "api_jwt_secret_file = $T/secret"
	"$SIMD" -c "$T/simd.conf" --init-db >/dev/null 2>&1 || t_fail "simd --init-db ($1)"
	start_shopd "$1" "$DATA/shop.db"
}

stop_bg() {
	kill -TERM "$1"
	_rc=0
	wait "$1" || _rc=$?
	t_expect_eq "$_rc" 0 "exit status of $1 after SIGTERM"
}

run_wait() {
	t_ctl start --agents "$AGENTS" --all-shop --cycles "$CYCLES" --time-scale 0 --wait "$@" \
	    >/dev/null || t_fail "the run failed: $(t_ctl status)"
}

_json_at() {	# _json_at METHOD PATH
	t_ctl --json "$1" >"$T/field.json" || t_fail "$1 failed"
	sqlite3 :memory: "SELECT json_extract(readfile('$T/field.json'), '\$.$2')"
}
field() { _json_at status "$1"; }
sfield() { _json_at stats "$1"; }

reset_shop() {
	sqlite3 "$1" "DELETE FROM order_items; DELETE FROM interactions; DELETE FROM orders;
	    UPDATE user_coupons SET redeemed_at = NULL, order_key = NULL; DELETE FROM cart_items;
	    DELETE FROM shopping_session_events; DELETE FROM shopping_sessions"
}
