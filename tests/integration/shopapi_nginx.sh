# shopapi_nginx.sh - the shop API driver behind a real nginx (Debian's package, run as an
# unprivileged user on loopback with a configuration of its own) in front of shopd:
#  - limit_req answering 429: the run ends with no failed session, the request rate
#    settles within the limit and the 429s stay few (the figures are printed);
#  - nginx's own 503s (return 503) and a black-holed upstream (a SIGSTOPped shopd):
#    retried, counted as api_5xx and api_timeout, no failed session;
#  - a garbage body, a wrong content type, a 2 GB body and a slow drip: each fails its
#    step with a clear api_data / api_timeout message naming the endpoint, and the loop
#    keeps answering (status during the drip).
set -eu
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/nginx.sh"
ngx_need
t_setup
. "$TOP/tests/lib/shop.sh"
ngx_setup

RATE=40 # requests/s nginx's limit_req lets through

# a 2 GB body that takes no disk (sparse) and a small one to drip
truncate -s 2G "$NGX/huge.json"
{ printf '{"category":"toys","total":0,"offset":0,"limit":50,"next_offset":null,'
  printf '%2000s' ''
  printf '"products":[]}'; } >"$NGX/drip.json"
chmod 0644 "$NGX/huge.json" "$NGX/drip.json"

# ---- the backends: one shopd for the run, a stopped one as the black hole ----

AGENTS=150
api_conf shop 32
SHOP_DB=$DATA/shop.db
HOLE_DB=$T/hole.db
sqlite3 "$DATA/shop.db" ".backup '$HOLE_DB'"
SHOP_MAIN=$SHOP_PORT
MAIN_PID=$SHOPD_PID
start_shopd hole "$HOLE_DB"
HOLE_PORT=$SHOP_PORT
kill -STOP "$SHOPD_PID" # it accepts nothing more: connections wait in its backlog

nginx_conf() {	# nginx_conf PORT
	cat >"$NGX/nginx.conf" <<EOC
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log notice;
events { worker_connections 4096; }
http {
	access_log $NGX/access.log;
$(ngx_http_common)
	limit_req_zone \$server_port zone=api:1m rate=${RATE}r/s;
	limit_req_status 429;
	split_clients "\${request_id}" \$fault { 8% "503"; 4% "hole"; * ""; }
	upstream shopd { server 127.0.0.1:$SHOP_MAIN; keepalive 64; }
	upstream hole { server 127.0.0.1:$HOLE_PORT; }
	proxy_http_version 1.1;
	proxy_set_header Connection "";
	proxy_next_upstream off;
	server {
		listen 127.0.0.1:$1;
		location /limited/api/ {
			limit_req zone=api burst=5 nodelay;
			proxy_pass http://shopd/api/;
		}
		location /faulty/api/ {
			if (\$fault = "503") {
				add_header Retry-After 1 always;
				return 503 '{"error":{"code":"busy","message":"nginx says 503"}}';
			}
			if (\$fault = "hole") {
				proxy_pass http://hole;
			}
			proxy_read_timeout 60s;
			proxy_pass http://shopd/api/;
		}
		location = /bad/garbage { default_type application/json; return 200 'this is {not json'; }
		location = /bad/type {
			default_type text/html;
			return 200 '{"category":"toys","total":0,"offset":0,"limit":50,"products":[]}';
		}
		location = /bad/huge { default_type application/json; alias $NGX/huge.json; }
		location = /bad/drip {
			default_type application/json;
			limit_rate_after 400; # the headers and a little of the body, then a byte a second
			limit_rate 1;
			alias $NGX/drip.json;
		}
		location / { proxy_pass http://shopd; }
	}
}
EOC
}

ngx_start /bad/garbage

# ---- limit_req: 429s slow the limiter down; nothing is lost ----

t_conf "shop_api_url = $NGX_URL/limited" "metrics_csv = $T/limited.csv"
t_start_simd
t0=$(date +%s.%N)
run_wait
t1=$(date +%s.%N)
t_expect_eq "$(field counts.errors)" 0 "limit_req: failed sessions"
REQ=$(field api.requests) OK=$(field api.ok) N429=$(field api.status_429)
LIMIT=$(field api.rate_limit)
[ "$N429" -gt 0 ] || t_fail "limit_req: no 429 in $REQ requests (the limit was never reached)"
# the metrics CSV's last row has the same 429s, counted among the failures too
t_expect_eq "$(tail -n 1 "$T/limited.csv" | cut -d, -f23,24)" "$REQ,$N429" "limit_req: the CSV's api columns"
[ "$(tail -n 1 "$T/limited.csv" | cut -d, -f26)" -ge "$N429" ] || t_fail "limit_req: the CSV's api_failures"
t_expect_eq "$((OK + N429))" "$REQ" "limit_req: every request answered 2xx or 429"
# the second half of the run, from nginx's log: requests that reached it per second
awk '{ sub(/^\[/, "", $4); split($4, a, ":"); s = a[2] * 3600 + a[3] * 60 + a[4];
    n[s]++; st[s, $9]++ } END { for (s in n) print s, n[s], st[s, 200] + st[s, 201], st[s, 429] }' \
    "$NGX/access.log" | sort -n >"$T/per_second"
SECS=$(wc -l <"$T/per_second")
tail -n "$((SECS / 2))" "$T/per_second" | head -n "$((SECS / 2 - 1 > 0 ? SECS / 2 - 1 : 1))" \
    >"$T/second_half"
HALF=$(awk '{ r += $2; ok += $3; t += $4; n++ } END { printf "%.1f %.1f %.1f", r / n, ok / n, t / n }' \
    "$T/second_half")
set -- $HALF
echo "limit_req ${RATE}/s: $REQ requests, $OK answered, $N429 429s ($(awk "BEGIN { printf \"%.1f\", 100 * $N429 / $REQ }") %)" \
    "in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s; second half: $1 requests/s sent," \
    "$2 answered/s, $3 429s/s; the limiter's rate at the end $LIMIT/s"
awk "BEGIN { exit !($1 <= 1.5 * $RATE) }" ||
    t_fail "limit_req: $1 requests/s sent in the second half, the limit is $RATE"
awk "BEGIN { exit !($2 >= 0.3 * $RATE) }" ||
    t_fail "limit_req: only $2 requests/s answered in the second half of $RATE allowed"
[ "$((N429 * 5))" -le "$REQ" ] || t_fail "limit_req: $N429 429s in $REQ requests (over 20 %)"
t_stop_simd || t_fail "simd exit (limit_req)"

# ---- nginx's 503s and a black hole: retried, counted ----

reset_shop "$SHOP_DB"
conf_run shop "max_concurrent = 16" "api_jwt_secret_file = $T/secret" \
    "shop_api_url = $NGX_URL/faulty" "api_timeout = 1" "api_rate_min = 50"
t_start_simd
CYCLES=1 run_wait
t_expect_eq "$(field counts.errors)" 0 "faults: failed sessions"
N5=$(field api.failures.api_5xx) NT=$(field api.failures.api_timeout)
[ "$N5" -gt 0 ] || t_fail "faults: no api_5xx counted"
[ "$NT" -gt 0 ] || t_fail "faults: no api_timeout counted"
[ "$(sfield errors.retries)" -ge "$((N5 + NT))" ] ||
    t_fail "faults: $(sfield errors.retries) retries for $N5 5xx and $NT timeouts"
echo "nginx faults: $(field api.requests) requests, $N5 api_5xx, $NT api_timeout, all retried; 0 failed sessions"
t_stop_simd || t_fail "simd exit (faults)"

# ---- answers that are not the contract's: a clear error, the loop unstalled ----

# bad_run NAME TYPE MESSAGE: the search endpoint mapped to /bad/NAME fails every session
bad_run() {
	reset_shop "$SHOP_DB"
	conf_run shop "api_jwt_secret_file = $T/secret" "shop_api_url = $NGX_URL" \
	    "api_path_search = /bad/$1" "max_retries = 1" "retry_window = 0" "api_timeout = 3"
	t_start_simd
	t_ctl start --agents "$AGENTS" --agents-list agent_001,agent_002 --all-shop --cycles 1 \
	    --time-scale 0 --max-error-rate 1 >/dev/null || t_fail "$1: start"
	if [ "$1" = drip ]; then
		# while the body drips in, the loop answers
		_i=0
		until [ "$(field api.in_flight)" -ge 1 ]; do
			_i=$((_i + 1))
			[ "$_i" -lt 200 ] || t_fail "drip: no request in flight"
			sleep 0.05
		done
		t_expect_match "$(t_ctl status)" 'state: *running' "drip: status answers mid-body"
	fi
	_i=0
	until t_ctl status | grep -Eq 'state: *(finished|failed)'; do
		_i=$((_i + 1))
		[ "$_i" -lt 600 ] || t_fail "$1: the run did not end"
		sleep 0.05
	done
	t_expect_eq "$(field counts.errors)" 2 "$1: failed sessions"
	[ "$(field "api.failures.$2")" -ge 2 ] || t_fail "$1: $(field api.failures) has no $2"
	_m=$(sfield errors.recent[0].message)
	t_expect_match "$_m" "$3" "$1: the message"
	echo "$1: $_m"
	t_stop_simd || t_fail "simd exit ($1)"
}
bad_run garbage api_data 'GET /bad/garbage: 200: the body is not JSON'
bad_run type api_data "GET /bad/type: 200: Content-Type is 'text/html"
bad_run huge api_data 'GET /bad/huge: 200: too_large: response body larger than max_body'
bad_run drip api_timeout 'GET /bad/drip: 200: timeout: .* [1-9][0-9]* .*bytes received'

stop_bg "$MAIN_PID"
for f in "$T"/*.log "$T"/*/*.log "$NGX"/*.log; do
	[ -e "$f" ] || continue
	if grep -q "$SECRET" "$f"; then
		t_fail "the JWT secret appears in $f"
	fi
done
echo "ok"
