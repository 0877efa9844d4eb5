# secrets.sh - the database password, the shop API's JWT secret and the LLM key never reach a
# log, an answer, a checkpoint, a CSV row, a metrics page or any file in the data directory,
# in every mode that can carry them: the password in the configuration's URL, in
# DATABASE_URL, as a conninfo keyword, a run that fails on a stopped server, a reload, a wrong
# password; then all three at once (PostgreSQL store, shop_api_url through shopd, personas
# from the LLM test double, whose first model answers garbage).  Every answer a client can
# get (status, stats, version, top, subscribe frames, /metrics, errors) is collected and
# searched with the logs and every file simd wrote.
set -eu
. "$TOP/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || { echo "no curl here"; exit 77; }
t_pg_need
t_setup
. "$TOP/tests/lib/shop.sh"
t_pg_own

PW=Zq8pw4secret71
pg_set_password "$PW" >/dev/null
t_pg_db simd_secrets >/dev/null
base="postgresql://postgres:$PW@127.0.0.1:$PGPORT"
ANS=$T/answers
: >"$ANS"

# every answer a client can ask for, appended to $ANS
collect() {
	for m in status stats version; do
		t_ctl --json "$m" >>"$ANS" 2>&1 || true
		t_ctl "$m" >>"$ANS" 2>&1 || true
	done
	t_ctl top --once >>"$ANS" 2>&1 || true
	# three raw subscribe frames, as a client reads them
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])
s.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"interval_ms\":100}}\n")
f = s.makefile("rb")
for _ in range(3): sys.stdout.write(f.readline().decode())' "$SIMD_SOCKET" >>"$ANS" 2>&1 || true
	addr=$(t_ctl --json status | tr -d ' \n' |
	    sed -n 's/.*"metrics_listen":"\([^"]*\)".*/\1/p')
	[ -z "$addr" ] || curl -s -m 30 "http://$addr/metrics" >>"$ANS" || true
}

# a paced run, observed while it goes and after it ends
run() {
	t_ctl start --agents 200 --all-shop --cycles 6 --time-scale 28800 >>"$ANS" 2>&1
	t_wait_for '[ "$(t_status_field sessions)" -ge 10 ]' 120
	collect
	t_ctl checkpoint >>"$ANS" 2>&1 || true
	t_wait_end
	collect
}

t_conf "metrics_csv = $T/metrics.csv" "metrics_listen = 0" "checkpoint_interval = 1" "retry_window = 3"

# 1. the password in the configuration's URL
cp "$T/simd.conf" "$T/simd.conf.base"
t_conf "database_url = $base/simd_secrets"
t_start_simd
run
kill -HUP "$SIMD_PID"
t_wait_for 'grep -q "configuration reloaded" "$T/simd.log"' 60
collect
t_stop_simd || t_fail "exit"

# 2. in DATABASE_URL, as a conninfo keyword string (a finished run does not resume)
cp "$T/simd.conf.base" "$T/simd.conf"
DATABASE_URL="host=127.0.0.1 port=$PGPORT user=postgres dbname=simd_secrets password=$PW"
export DATABASE_URL
t_start_simd
unset DATABASE_URL
t_ctl start --resume >>"$ANS" 2>&1 || true
t_ctl start --agents 100 --all-shop --cycles 2 --time-scale 0 --wait >>"$ANS" 2>&1
collect
# 3. the server goes away in the middle of a run: errors name the server, not the password
t_ctl start --agents 200 --all-shop --cycles 1000 --time-scale 3600 >>"$ANS" 2>&1
t_wait_for '[ "$(t_status_field sessions)" -ge 10 ]' 120
pg_stop >/dev/null
t_wait_for 'grep -q "the database is unreachable" "$T/simd.log"' 120
collect
t_ctl stop --wait >>"$ANS" 2>&1 || true
collect
t_stop_simd >/dev/null 2>&1 || true
pg_start >/dev/null || t_fail "cannot start the server again"
pg_set_password "$PW" >/dev/null

# 4. a wrong password and a bad URL: refused without being shown
for url in "postgresql://postgres:${PW}x@127.0.0.1:$PGPORT/simd_secrets" \
    "postgresql://postgres:$PW@127.0.0.1:$PGPORT/simd_secrets?sslmode=bogus"; do
	DATABASE_URL=$url "$SIMD" -f -d "$DATA" -s "$T/x.sock" >>"$T/refused.log" 2>&1 || true
	DATABASE_URL=$url "$SIMD" -n -d "$DATA" -s "$T/x.sock" >>"$T/refused.log" 2>&1 || true
done
grep -q . "$T/refused.log" || t_fail "the refusals said nothing"

# 5. all three secrets at once: the store on PostgreSQL, the shop API through shopd (its
# JWT secret from a file), personas from the LLM double (its key from LLM_API_KEY); its
# first model answers garbage (the fallback model takes over); a wrong key is tried first
JWT=$SECRET	# shop.sh's, in $T/secret
KEY=sk-secret-Lm4v8s2w0q
rm -rf "$DATA"; mkdir "$DATA"
cp "$T/simd.conf.base" "$T/simd.conf"
t_conf "database_url = $base/simd_all" "shop_api_url = http://127.0.0.1:1" \
    "api_jwt_secret_file = $T/secret" "persona_source = llm" "llm_url = http://127.0.0.1:1/v1" \
    "llm_model = junk" "llm_fallback_models = good" "llm_retry_delay = 0.01" \
    "llm_max_retries = 1"
t_pg_db simd_all >/dev/null
"$SIMD" -c "$T/simd.conf" --init-db >"$T/initdb.log" 2>&1 || t_fail "--init-db: $(cat "$T/initdb.log")"
start_shopd all "$base/simd_all"
t_start_llmd --key "$KEY" --model good=persona --model junk=garbage --log "$T/llmd.log"
sed -i "s|^llm_url = .*|llm_url = $LLMD_URL/v1|" "$T/simd.conf"
sed -i "s|^shop_api_url = .*|shop_api_url = $SHOP_URL|" "$T/simd.conf"
LLM_API_KEY=${KEY}wrong
export LLM_API_KEY
t_start_simd
t_ctl start --agents 40 --all-shop --cycles 2 --time-scale 0 --wait >>"$ANS" 2>&1 || true
collect
t_stop_simd >/dev/null 2>&1 || true
LLM_API_KEY=$KEY
t_start_simd
run
t_stop_simd || t_fail "exit"
unset LLM_API_KEY
grep -q 'personas' "$ANS" || t_fail "no LLM figures collected"
[ -s "$T/llmd.log" ] || t_fail "the LLM double was never asked"
[ "$(_pg_admin -At -d simd_all -c "SELECT count(*) FROM orders")" -gt 0 ] ||
    t_fail "no order went through the shop API"
[ -s "$DATA/personas.db" ] || t_fail "no personas cached"

# nothing anywhere: answers, logs, CSV, metrics, checkpoints, every file of the data dir
for s in "$PW" "$JWT" "$KEY"; do
	hits=$(grep -rla -- "$s" "$ANS" "$T"/simd.log* "$T/refused.log" "$T/metrics.csv" "$DATA" \
	    2>/dev/null || true)
	[ -z "$hits" ] || t_fail "a secret (${s%"${s#????}"}...) is in: $hits"
done
# the searches searched something: answers, a CSV row per cycle, a checkpoint
grep -q '"sessions"' "$ANS" || t_fail "no status answer collected"
grep -q 'simd_sessions_total' "$ANS" || t_fail "no metrics page collected"
[ "$(wc -l <"$T/metrics.csv")" -ge 4 ] || t_fail "no CSV rows written"
[ -s "$DATA/checkpoints.db" ] || t_fail "no checkpoint written"
grep -q "127.0.0.1" "$T/refused.log" "$T"/simd.log* || t_fail "errors do not name the server"
echo "3 secrets searched in $(wc -c <"$ANS") bytes of answers, $(cat "$T"/simd.log* | wc -l)" \
    "log lines, $(find "$DATA" -type f | wc -l) data files"
