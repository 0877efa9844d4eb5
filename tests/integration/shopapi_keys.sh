# shopapi_keys.sh - every api_* tuning key takes effect, not only parses: simd through a
# real nginx (tests/lib/nginx.sh) in front of contrib/shopd, whose access log records what
# simd sent (connection, token, path, body size) and how many connections nginx had open.
#  - api_jwt_ttl: every token nginx saw has exp - iat equal to it;
#  - api_max_connections: nginx never saw more connections open at once;
#  - api_max_keepalive: more connections than it during the run, no more once it is over;
#  - api_path_*: each endpoint remapped is hit at its new path and the default at none;
#    one wrong path fails the sessions with an api_4xx error naming it;
#  - api_max_body: an answer one byte over it is api_data (too_large), one of it is taken;
#  - api_insecure: TLS to a self-signed certificate refused without it (api_connect),
#    accepted with it and logged as a warning; api_ca_file naming the certificate verifies;
#  - api_rate, api_rate_increase, api_rate_max: status shows the rate configured, which
#    grows by the factor per round up to the maximum, and the requests sent stay under
#    maximum x time + burst; api_rate_burst: a limiter that refills nothing lets exactly
#    burst requests go; api_rate_decrease: after nginx's 429s the rate is exactly
#    api_rate x decrease^(the decreases status counts).
# No bound depends on the machine's speed: rates are read from what the daemon reports.
set -eu
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/nginx.sh"
ngx_need
command -v openssl >/dev/null 2>&1 || { echo "no openssl (sh packaging/deps.sh installs it)"; exit 77; }
t_setup
. "$TOP/tests/lib/shop.sh"
ngx_setup

AGENTS=60
CYCLES=1
RATE=60 # requests/s nginx's limit_req lets through on /limited

api_conf shop 16
SHOP_DB=$DATA/shop.db
# a self-signed certificate for 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$NGX/key.pem" -out "$NGX/cert.pem" >"$T/openssl.log" 2>&1 ||
    t_fail "openssl: $(cat "$T/openssl.log")"
chmod 0644 "$NGX/key.pem" "$NGX/cert.pem"

# /plain/ is shopd as it is; /mapped/ has every endpoint elsewhere and 404 at the defaults
MAPPED="session:begin search:find cart:basket eligible:fits wallet:purse coupon:voucher orders:checkout"
nginx_conf() {	# nginx_conf PORT (TLS on PORT + 1)
	{
		cat <<EOC
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log notice;
events { worker_connections 1024; }
http {
	log_format keys '\$connection \$connections_active \$status \$body_bytes_sent '
	    '\$request_method \$uri "\$http_authorization" "\$http_x_simulation_mode"';
	access_log $NGX/access.log keys;
$(ngx_http_common)
	keepalive_requests 1000000;
	keepalive_timeout 600s;
	limit_req_zone \$server_port zone=api:1m rate=${RATE}r/s;
	limit_req_status 429;
	upstream shopd { server 127.0.0.1:$SHOP_PORT; keepalive 64; }
	proxy_http_version 1.1;
	proxy_set_header Connection "";
	server {
		listen 127.0.0.1:$1;
		listen 127.0.0.1:$(($1 + 1)) ssl;
		ssl_certificate $NGX/cert.pem;
		ssl_certificate_key $NGX/key.pem;
		location = /ping { return 204; }
		location = /stub { access_log off; stub_status; }
		location /plain/ { proxy_pass http://shopd/; }
		location /limited/ { limit_req zone=api burst=5 nodelay; proxy_pass http://shopd/; }
		location /mapped/ {
			default_type application/json;
			return 404 '{"error":{"code":"not_found","message":"not mapped here"}}';
		}
EOC
		for m in $MAPPED; do
			printf '\t\tlocation = /mapped/m/%s { proxy_pass http://shopd%s; }\n' \
			    "${m#*:}" "$(default_path "${m%%:*}")"
		done
		printf '\t}\n}\n'
	} >"$NGX/nginx.conf"
}
default_path() {
	case $1 in
	session) echo /api/shopping/session ;;
	search) echo /api/products/search ;;
	cart) echo /api/cart/items ;;
	eligible) echo /api/coupons/eligible ;;
	wallet) echo /api/coupons/wallet ;;
	coupon) echo /api/cart/coupons ;;
	orders) echo /api/orders ;;
	esac
}
ngx_start /ping
TLS_URL=https://127.0.0.1:$((NGX_PORT + 1))

# log_mark / log_since: the access log's lines after the mark (one phase of the test)
log_mark() { LOG_MARK=$(wc -l <"$NGX/access.log"); }
log_since() { tail -n "+$((LOG_MARK + 1))" "$NGX/access.log"; }
# nginx's client connections open now, less the one asking
ngx_open() { echo $(($(curl -s "$NGX_URL/stub" | sed -n 's/^Active connections: *//p') - 1)); }

# run NAME URL [LINES...]: a run of AGENTS agents through URL; it must fail no session
run() {
	_n=$1 _u=$2
	shift 2
	reset_shop "$SHOP_DB"
	conf_run shop "max_concurrent = 16" "api_jwt_secret_file = $T/secret" \
	    "shop_api_url = $_u" "$@"
	log_mark
	t_start_simd
	run_wait
	t_expect_eq "$(field counts.errors)" 0 "$_n: failed sessions"
}

# run_fail NAME URL TYPE MESSAGE [LINES...]: a run in which sessions fail, the last with
# MESSAGE, counted as TYPE (retried once at most); simd is left running
run_fail() {
	_n=$1 _u=$2 _type=$3 _msg=$4
	shift 4
	reset_shop "$SHOP_DB"
	conf_run shop "max_concurrent = 16" "api_jwt_secret_file = $T/secret" \
	    "shop_api_url = $_u" "max_retries = 1" "retry_window = 0" "$@"
	t_start_simd
	t_ctl start --agents "$AGENTS" --all-shop --cycles 1 --time-scale 0 --max-error-rate 1 \
	    --wait >/dev/null 2>&1 || :
	[ "$(field counts.errors)" -ge 1 ] || t_fail "$_n: no session failed"
	[ "$(field "api.failures.$_type")" -ge 1 ] || t_fail "$_n: $(field api.failures) has no $_type"
	_m=$(sfield errors.recent[0].message)
	t_expect_match "$_m" "$_msg" "$_n: the message"
	echo "$_n: $(field counts.errors) failed sessions, $(field "api.failures.$_type") $_type: $_m"
}

# ---- api_jwt_ttl and api_max_connections ----

run tokens "$NGX_URL/plain" "api_jwt_ttl = 600" "api_max_connections = 3" "api_max_keepalive = 3"
log_since >"$T/tokens.log"
# every token's claims, decoded from base64url, as one JSON array
awk -F'"' '{ print $2 }' "$T/tokens.log" | sed -n 's/^Bearer [^.]*\.\([^.]*\)\..*/\1/p' |
    sort -u >"$T/tokens"
[ "$(wc -l <"$T/tokens")" -ge "$AGENTS" ] || t_fail "tokens: $(wc -l <"$T/tokens") tokens for $AGENTS users"
while read -r p; do
	p=$(printf '%s' "$p" | tr '_-' '/+')
	case $((${#p} % 4)) in
	2) p="$p==" ;;
	3) p="$p=" ;;
	esac
	printf '%s' "$p" | base64 -d
	echo ,
done <"$T/tokens" | { echo '['; sed '$ s/,$//'; echo ']'; } >"$T/claims.json"
t_expect_eq "$(sqlite3 :memory: "SELECT min(e), max(e), count(*) FROM (SELECT
    json_extract(value, '$.exp') - json_extract(value, '$.iat') AS e
    FROM json_each(readfile('$T/claims.json')))")" "600|600|$(wc -l <"$T/tokens")" \
    "api_jwt_ttl: exp - iat of every token"
t_expect_eq "$(awk -F'"' '$4 != "true" { n++ } END { print n + 0 }' "$T/tokens.log")" 0 \
    "every request carried X-Simulation-Mode: true"
MAXOPEN=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$T/tokens.log")
NCONN=$(awk '{ print $1 }' "$T/tokens.log" | sort -u | wc -l)
echo "api_max_connections = 3: $(wc -l <"$T/tokens.log") requests, at most $MAXOPEN connections open, $NCONN made"
[ "$MAXOPEN" -ge 1 ] && [ "$MAXOPEN" -le 3 ] || t_fail "api_max_connections = 3: $MAXOPEN open at once"
# the largest answer of a search, for api_max_body
BIGGEST=$(awk '$6 == "/plain/api/products/search" && $3 == 200 && $4 > m { m = $4 }
    END { print m + 0 }' "$T/tokens.log")
t_stop_simd || t_fail "simd exit (tokens)"

# ---- api_max_keepalive: connections beyond it are closed once idle ----

run keepalive "$NGX_URL/plain" "api_max_connections = 12" "api_max_keepalive = 2"
MAXOPEN=$(log_since | awk '$2 > m { m = $2 } END { print m + 0 }')
NCONN=$(log_since | awk '{ print $1 }' | sort -u | wc -l)
IDLE=$(ngx_open)
echo "api_max_keepalive = 2: at most $MAXOPEN connections open in the run, $NCONN made," \
    "$IDLE left open after it (simd says $(field api.connections_open))"
[ "$MAXOPEN" -gt 2 ] && [ "$MAXOPEN" -le 12 ] ||
    t_fail "api_max_connections = 12: $MAXOPEN open at once (more than 2 are needed here)"
[ "$IDLE" -le 2 ] || t_fail "api_max_keepalive = 2: nginx has $IDLE connections open after the run"
[ "$(field api.connections_open)" -le 2 ] ||
    t_fail "api_max_keepalive = 2: simd has $(field api.connections_open) connections open"
t_stop_simd || t_fail "simd exit (keepalive)"

# ---- api_path_*: every endpoint remapped; a wrong one is a clear error ----

set --
for m in $MAPPED; do
	set -- "$@" "api_path_${m%%:*} = /m/${m#*:}"
done
run paths "$NGX_URL/mapped" "$@"
log_since >"$T/paths.log"
for m in $MAPPED; do
	n=$(awk -v p="/mapped/m/${m#*:}" '$6 == p && $3 < 300 { n++ } END { print n + 0 }' "$T/paths.log")
	[ "$n" -gt 0 ] || t_fail "api_path_${m%%:*} = /m/${m#*:}: no request reached it"
	printf '%s ' "api_path_${m%%:*}: $n;"
done
echo
t_expect_eq "$(awk '$6 ~ /^\/mapped\/api\// { n++ } END { print n + 0 }' "$T/paths.log")" 0 \
    "requests to the default paths"
t_stop_simd || t_fail "simd exit (paths)"
run_fail wrongpath "$NGX_URL/mapped" api_4xx 'POST /m/nowhere: 404 not_found: not mapped here' \
    "api_path_session = /m/nowhere"
t_expect_eq "$(field counts.errors)" "$AGENTS" "api_path_session wrong: failed sessions"
t_stop_simd || t_fail "simd exit (wrongpath)"

# ---- api_max_body: the largest search answer is taken, one byte less is too little ----

[ "$BIGGEST" -gt 1024 ] || t_fail "the largest search answer has only $BIGGEST bytes"
run_fail maxbody "$NGX_URL/plain" api_data \
    'GET /api/products/search: 200: too_large: response body larger than max_body' \
    "api_max_body = $((BIGGEST - 1))"
t_stop_simd || t_fail "simd exit (maxbody)"
run exactbody "$NGX_URL/plain" "api_max_body = $BIGGEST"
echo "api_max_body = $BIGGEST (the largest search answer): $(field api.ok) answers taken"
t_stop_simd || t_fail "simd exit (exactbody)"

# ---- api_insecure and api_ca_file: TLS to a self-signed certificate ----

run_fail tls "$TLS_URL/plain" api_connect 'POST /api/shopping/session: tls: .*certificate'
t_expect_eq "$(field counts.errors)" "$AGENTS" "tls unverified: failed sessions"
t_stop_simd || t_fail "simd exit (tls)"
grep -q 'api_insecure' "$T/simd.log" && t_fail "tls: api_insecure named with the key off"
run insecure "$TLS_URL/plain" "api_insecure = yes"
grep -q "api_insecure is on: the TLS certificate of $TLS_URL/plain is NOT verified" "$T/simd.log" ||
    t_fail "api_insecure: no warning in the log"
echo "api_insecure: $(field api.ok) answers over TLS, not verified, logged"
t_stop_simd || t_fail "simd exit (insecure)"
run cafile "$TLS_URL/plain" "api_ca_file = $NGX/cert.pem"
grep -q 'api_insecure' "$T/simd.log" && t_fail "api_ca_file: api_insecure named with the key off"
echo "api_ca_file: $(field api.ok) answers over TLS, verified"
t_stop_simd || t_fail "simd exit (cafile)"

# ---- api_rate, api_rate_increase, api_rate_max: 10/s, x3 per round, at most 50/s ----

reset_shop "$SHOP_DB"
conf_run shop "max_concurrent = 16" "api_jwt_secret_file = $T/secret" \
    "shop_api_url = $NGX_URL/plain" "api_rate = 10" "api_rate_increase = 3" \
    "api_rate_max = 50" "api_rate_burst = 3"
t_start_simd
t_expect_eq "$(field api.rate_limit | awk '{ print $1 + 0 }')" 10 "api_rate: the limiter's rate before the run"
t0=$(date +%s.%N)
run_wait
t1=$(date +%s.%N)
t_expect_eq "$(field counts.errors)" 0 "rates: failed sessions"
REQ=$(field api.requests) INC=$(field api.rate_increases)
LIMIT=$(field api.rate_limit | awk '{ print $1 + 0 }')
echo "api_rate 10, x3, max 50: $REQ requests in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s," \
    "$INC increases, the rate at the end $LIMIT/s"
t_expect_eq "$INC $LIMIT" "2 50" "api_rate_increase, api_rate_max: 10 -> 30 -> 50 (clamped)"
t_expect_eq "$(field api.rate_decreases)" 0 "rates: decreases"
# the bound is wall time, which a slow machine only lengthens
awk "BEGIN { exit !($REQ <= 50 * ($t1 - $t0) + 3) }" ||
    t_fail "api_rate_max: $REQ requests in $(awk "BEGIN { print $t1 - $t0 }") s at 50/s"
t_stop_simd || t_fail "simd exit (rates)"

# ---- api_rate_burst: no token comes back (1 per 1000 s); exactly the burst goes out ----

reset_shop "$SHOP_DB"
conf_run shop "max_concurrent = 16" "api_jwt_secret_file = $T/secret" \
    "shop_api_url = $NGX_URL/plain" "api_rate = 0.001" "api_rate_min = 0.001" \
    "api_rate_max = 0.001" "api_rate_burst = 7" "shutdown_timeout = 0.5"
t_start_simd
t_ctl start --agents "$AGENTS" --all-shop --cycles 1 --time-scale 0 >/dev/null ||
    t_fail "burst: start"
# every session waits for a token, none is on the wire
_i=0
until [ "$(field api.waiting)" -ge 16 ] && [ "$(field api.in_flight)" -eq 0 ]; do
	_i=$((_i + 1))
	[ "$_i" -lt 600 ] || t_fail "burst: the sessions did not all wait: $(t_ctl --json status)"
	sleep 0.05
done
t_expect_eq "$(field api.requests)" 7 "api_rate_burst = 7: requests sent"
echo "api_rate_burst = 7: $(field api.requests) requests, then $(field api.waiting) waiting"
# sessions that wait for a token are abandoned at the shutdown deadline (a crash once)
t_stop_simd || t_fail "simd exit (burst)"
grep -q 'shutdown: 16 sessions still in flight after 0.5 s; abandoning them' "$T/simd.log" ||
    t_fail "burst: the waiting sessions were not abandoned at the deadline"

# ---- api_rate_decrease: nginx's 429s cut 200/s by x0.7 each time ----

run decrease "$NGX_URL/limited" "api_rate = 200" "api_rate_increase = 1" \
    "api_rate_decrease = 0.7" "api_rate_min = 0.01"
DEC=$(field api.rate_decreases) LIMIT=$(field api.rate_limit) N429=$(field api.status_429)
echo "api_rate_decrease = 0.7 behind limit_req ${RATE}/s: $(field api.requests) requests," \
    "$N429 429s, $DEC decreases, the rate at the end $LIMIT/s"
[ "$DEC" -ge 1 ] || t_fail "api_rate_decrease: no decrease ($N429 429s): the limit was never reached"
[ "$N429" -ge "$DEC" ] || t_fail "api_rate_decrease: $DEC decreases for $N429 429s"
t_expect_eq "$(field api.rate_increases)" 0 "api_rate_increase = 1: increases"
awk "BEGIN { want = 200 * 0.7 ^ $DEC; if (want < 0.01) want = 0.01
    d = $LIMIT - want; exit !(d < 0.002 && d > -0.002) }" ||
    t_fail "api_rate_decrease: the rate $LIMIT after $DEC decreases is not 200 x 0.7^$DEC"
t_stop_simd || t_fail "simd exit (decrease)"

stop_bg "$SHOPD_PID"
for f in "$T"/*.log "$T"/*/*.log "$NGX"/error.log; do
	[ -e "$f" ] || continue
	if grep -q "$SECRET" "$f"; then
		t_fail "the JWT secret appears in $f"
	fi
done
echo "ok"
