# preflight_remote.sh - the preflight's checks of what lies beyond the machine, each way:
# a transaction-mode pooler (a real pgbouncer) detected, and pg_prepared = yes behind it
# failed; a session-mode pooler and a direct server told apart from it; the shop API (shopd)
# up with its rate limit bypassed for the simulator only, up without a limit to show it (a
# warning), behind a proxy whose limit holds the simulator back too (nginx, a failure), with
# a token it refuses, and down; the LLM stand-in (llmd) accepting the key, for
# one request per preflight, and refusing it.  simd --preflight and simctl preflight alike,
# text and --json (jq), the exit status 0 / 1 / 2; no secret in any output or log.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] ||
    { echo "no pgbouncer for this test (sh packaging/deps.sh installs it)"; exit 77; }
t_setup

# preflight [ARGS...]: simd --preflight's output in $out, its exit status in $rc;
# ctl_preflight [ARGS...]: the same of simctl preflight, asked of the running daemon
preflight() {
	rc=0
	out=$("$SIMD" -c "$T/simd.conf" --preflight "$@") || rc=$?
}
ctl_preflight() {
	rc=0
	out=$(t_ctl "$@" preflight) || rc=$?
}

# ---- a pooler in the way ----
url=$(t_pg_db simd_pfr)
t_conf "database_url = $url" "pool_size = 4" "pool_max = 4" "max_overflow = 0"
preflight
printf '%s\n' "$out"
t_expect_match "$out" '^ok +pooler +none: the backend key is the server.s' "direct: no pooler"

pg_bouncer_start transaction 4 || t_fail "cannot start pgbouncer"
t_conf "database_url = $(pg_bouncer_url simd_pfr)" "pg_prepared = yes"
preflight
printf '%s\n' "$out"
t_expect_eq "$rc" 2 "pg_prepared = yes behind a transaction pooler: exit status"
t_expect_match "$out" '^fail +pooler +transaction mode: .*pg_prepared = yes does not fit' \
    "the transaction pooler detected, pg_prepared = yes failed"
t_conf "pg_prepared = no"
preflight --json
t_expect_eq "$(printf '%s' "$out" | jq -r '.checks[] | select(.name == "pooler") | .level')" \
    ok "--json: pg_prepared = no fits the transaction pooler"
printf '%s' "$out" | jq -e '.checks[] | select(.name == "pooler") |
    .value | test("^transaction mode: .*pg_prepared = no fits")' >/dev/null ||
    t_fail "--json: the mode found: $out"
[ "$rc" -le 1 ] || t_fail "pg_prepared = no behind the pooler: exit $rc: $out"
# pool_max past the server's free connections: the pooler's clients, not the server's
t_conf "pool_max = 220"
preflight
t_expect_match "$out" '^ok +connections +[0-9]+ free of max_connections 200; behind a pooler' \
    "behind a pooler pool_max is not held against the server's connections"
t_expect_match "$out" '^ok +pool_full +220 opened' "the pool at full size through the pooler"
t_conf "pool_max = 4"

# the running daemon, through the pooler
t_start_simd
ctl_preflight
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "simctl preflight through the pooler: exit $rc"
t_expect_match "$out" '^ok +pooler +transaction mode: .*pg_prepared = no fits' \
    "simctl preflight: the transaction pooler detected"
t_stop_simd || t_fail "simd exit"
pg_bouncer_stop

pg_bouncer_start session 4 || t_fail "cannot start pgbouncer in session mode"
t_conf "database_url = $(pg_bouncer_url simd_pfr)" "pg_prepared = yes"
preflight
printf '%s\n' "$out"
t_expect_match "$out" '^ok +pooler +session mode: .*pg_prepared = yes fits' \
    "a session pooler: pg_prepared = yes fits"
pg_bouncer_stop
t_conf "database_url = $url"

# ---- the shop API ----
command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; exit 77; }
. "$TOP/tests/lib/shop.sh"
conf_run shop "api_jwt_secret_file = $T/secret"
"$SIMD" -c "$T/simd.conf" --init-db >/dev/null 2>&1 || t_fail "simd --init-db"
start_shopd limited "$DATA/shop.db" --rate-search 5/min
t_conf "shop_api_url = $SHOP_URL"
preflight
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "the shop API up: exit $rc"
t_expect_match "$out" "^ok +shop_api +http://127.0.0.1:$SHOP_PORT: 200 in [0-9]+ ms" \
    "the shop API reachable"
t_expect_match "$out" '^ok +rate_bypass +429 after [0-9]+ requests without the header, then 200 with it' \
    "the rate limit holds others back and lets the simulator through"
all=$out

# the running daemon (the limiter of that shopd is spent: a fresh one)
stop_bg "$SHOPD_PID"
start_shopd limited2 "$DATA/shop.db" --rate-search 5/min
sed -i "s|^shop_api_url = .*|shop_api_url = $SHOP_URL|" "$T/simd.conf"
t_start_simd
ctl_preflight --json
[ "$rc" -le 1 ] || t_fail "simctl preflight, the shop API up: exit $rc: $out"
t_expect_eq "$(printf '%s' "$out" | jq -r '[.checks[] | select(.name == "shop_api" or
    .name == "rate_bypass") | .level] | join(" ")')" "ok ok" "--json: shop_api and rate_bypass ok"
all="$all$out"
# down: refused, a failure, and no bypass to test
stop_bg "$SHOPD_PID"
ctl_preflight
printf '%s\n' "$out"
t_expect_eq "$rc" 2 "the shop API down: exit status"
t_expect_match "$out" "^fail +shop_api +http://127.0.0.1:$SHOP_PORT: .*(onnect|refused)" \
    "the shop API down fails"
if printf '%s\n' "$out" | grep -q rate_bypass; then t_fail "a bypass tested with the shop down"; fi
all="$all$out"
t_stop_simd || t_fail "simd exit"

# no limit to meet: the bypass cannot be shown (a warning); a token the shop refuses
start_shopd open "$DATA/shop.db"
sed -i "s|^shop_api_url = .*|shop_api_url = $SHOP_URL|" "$T/simd.conf"
preflight
t_expect_eq "$rc" 1 "no rate limit: exit status"
t_expect_match "$out" '^warn +rate_bypass +no limit met in [0-9]+ requests' "no limit: a warning"
printf 'another-secret-not-the-shops-0123456789\n' >"$T/wrong"
sed -i "s|^api_jwt_secret_file = .*|api_jwt_secret_file = $T/wrong|" "$T/simd.conf"
preflight
t_expect_eq "$rc" 2 "a refused token: exit status"
t_expect_match "$out" '^fail +shop_api +.*401, the simulator.s token refused' "a refused token fails"
all="$all$out"
sed -i "s|^api_jwt_secret_file = .*|api_jwt_secret_file = $T/secret|" "$T/simd.conf"

# a proxy in front that limits every request, the simulator's too: the bypass fails
nginx_conf() {	# PORT
	cat >"$NGX/nginx.conf" <<EOC
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log notice;
events { worker_connections 64; }
http {
	access_log off;
$(ngx_http_common)
	limit_req_zone \$server_port zone=pf:1m rate=1r/m;
	limit_req_status 429;
	server {
		listen 127.0.0.1:$1;
		location /api/ {
			limit_req zone=pf burst=3 nodelay;
			proxy_pass http://127.0.0.1:$SHOP_PORT;
		}
	}
}
EOC
}
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	. "$TOP/tests/lib/nginx.sh"
	ngx_setup
	ngx_start /
	sed -i "s|^shop_api_url = .*|shop_api_url = $NGX_URL|" "$T/simd.conf"
	preflight
	printf '%s\n' "$out"
	t_expect_eq "$rc" 2 "a limit that holds the simulator back too: exit status"
	t_expect_match "$out" '^fail +rate_bypass +429 after [0-9]+ requests without the header, then 429 with it: not bypassed' \
	    "a limit that holds the simulator back too fails"
	all="$all$out"
else
	echo "no nginx: the bypass's failure is not tested (sh packaging/deps.sh installs it)"
fi
stop_bg "$SHOPD_PID"
sed -i '/^shop_api_url = /d' "$T/simd.conf"

# ---- the LLM endpoint ----
KEY=sk-preflight-test-0123456789abcdef
printf '%s\n' "$KEY" >"$T/llm.key"
t_start_llmd --key "$KEY" --model good=persona --log "$T/llmd.log"
t_conf "persona_source = llm" "llm_url = $LLMD_URL/v1" "llm_model = good" \
    "llm_api_key_file = $T/llm.key" "llm_timeout = 30"
t_start_simd
n0=$(t_llmd_stat requests)
ctl_preflight
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "the LLM endpoint up: exit $rc"
t_expect_match "$out" "^ok +llm +http://127.0.0.1:$LLMD_PORT: good answered in [0-9]+ ms, the key \(llm_api_key_file\) accepted" \
    "the LLM endpoint answers, the key accepted"
t_expect_eq "$(t_llmd_stat requests)" "$((n0 + 1))" "one request per preflight"
all="$all$out"
printf 'sk-wrong-0123456789\n' >"$T/llm.key"
ctl_preflight --json
t_expect_eq "$rc" 2 "a refused key: exit status"
t_expect_eq "$(printf '%s' "$out" | jq -r '.checks[] | select(.name == "llm") | .level')" fail \
    "--json: a refused key fails"
printf '%s' "$out" | jq -e '.checks[] | select(.name == "llm") | .value | test("401, the key \\(llm_api_key_file\\) refused")' \
    >/dev/null || t_fail "--json: the key refused: $out"
all="$all$out"
t_stop_simd || t_fail "simd exit"
t_stop_llmd || t_fail "llmd exit"

# no secret anywhere: the JWT secret, a token, the API keys
for s in "$SECRET" another-secret-not-the-shops "$KEY" sk-wrong-0123456789 eyJ; do
	case "$all" in *"$s"*) t_fail "a secret ($s) in preflight's output" ;; esac
	for f in "$T"/*.log*; do
		[ "$f" = "$T/llmd.log" ] && continue
		if grep -aqF -- "$s" "$f"; then t_fail "a secret ($s) in $f"; fi
	done
done
