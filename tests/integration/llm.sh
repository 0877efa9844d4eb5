# llm.sh - persona_source = llm against the LLM test double (tests/tools/llmd): personas come
# from its replies, a warm cache asks nothing and gives the same orders, a failing model hands
# over to the next, then to the local persona (counted), and the key appears nowhere.
set -eu
. "$TOP/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; exit 77; }
t_setup
KEY=sk-llm-test-0123456789abcdef
N=30

t_start_llmd --key "$KEY" --model good=persona --model junk=garbage --model other=notpersona \
    --model wild=outofrange --model half=partial --log "$T/llmd.log"
t_conf "seed = 7" "agents = $N" "time_scale = 0" "cycles = 12" "persona_source = llm" \
    "llm_url = $LLMD_URL/v1" "llm_rate = 0" "llm_max_concurrent = 4" "llm_retry_delay = 0.01" \
    "llm_max_retries = 2" "llm_timeout = 30" "metrics_listen = 0"
cp "$T/simd.conf" "$T/base.conf"
LLM_API_KEY=$KEY
export LLM_API_KEY

# A field of status's "llm" object (or any other path) through SQLite's JSON functions.
field() {
	t_ctl --json status >"$T/status.json"
	sqlite3 :memory: "SELECT json_extract(readfile('$T/status.json'), '\$.$1')"
}
llm_names() {	# how many users have a persona named by llmd ("LLM ...")
	sqlite3 "$1/shop.db" "SELECT count(*) FROM users WHERE json_extract(persona, '\$.name') LIKE 'LLM %'"
}
run() {	# data-dir model [fallbacks] -> a finished run of $N agents
	mkdir -p "$1"
	cp "$T/base.conf" "$T/simd.conf"
	sed -i "s|^data_dir = .*|data_dir = $1|" "$T/simd.conf"
	t_conf "llm_model = $2" "llm_fallback_models = ${3:-}"
	t_start_simd
	t_ctl start --wait --all-shop >/dev/null || t_fail "start --wait with model $2"
}

# the personas are the double's
run "$T/a" good
t_expect_eq "$(field state)" finished "run from the LLM finished"
t_expect_eq "$(llm_names "$T/a")" "$N" "every users.persona is the double's"
t_expect_eq "$(field llm.from_llm) $(field llm.cached) $(field llm.local_fallbacks)" "$N 0 0" \
    "status: from the LLM, none cached, no fallback"
t_expect_eq "$(field setup.personas_llm)" "$N" "setup.personas_llm"
t_expect_eq "$(field llm.requests)" "$N" "one request per agent"
t_expect_eq "$(t_llmd_stat requests)" "$N" "llmd saw one request per agent"
t_expect_eq "$(t_llmd_stat json_format)" "$N" "the requests ask for a JSON response"
t_expect_eq "$(sqlite3 "$T/a/personas.db" "SELECT count(DISTINCT agent_id) FROM personas WHERE model = 'good'")" \
    "$N" "personas.db holds them"
orders=$(sqlite3 "$T/a/shop.db" "SELECT count(*) FROM orders")
[ "$orders" -gt 0 ] || t_fail "no orders with LLM personas"
d1=$(t_digest "$T/a/shop.db")
metrics=$(curl -s -m 30 "http://$(field metrics_listen)/metrics")
t_expect_match "$metrics" "simd_llm_personas_by_source\{source=\"llm\"\} $N" "/metrics: from the LLM"
t_expect_match "$metrics" "simd_llm_requests_total $N" "/metrics: requests"
t_expect_match "$metrics" 'simd_llm_errors_total\{type="429"\} 0' "/metrics: errors by type"
t_ctl --json status >"$T/answer.json"
t_stop_simd || t_fail "simd exit"

# a warm cache: no request at all, and the same orders
mkdir -p "$T/b"
cp "$T/a/personas.db" "$T/b/"
before=$(t_llmd_stat requests)
run "$T/b" good
t_expect_eq "$(t_llmd_stat requests)" "$before" "a warm cache makes zero calls"
t_expect_eq "$(field llm.cached) $(field llm.requests)" "$N 0" "status: all cached"
t_expect_eq "$(t_digest "$T/b/shop.db")" "$d1" "warm cache: the same seed gives the same orders"
t_stop_simd || t_fail "simd exit"

# a primary that answers garbage hands over to the fallback
run "$T/c" junk good
t_expect_eq "$(llm_names "$T/c")" "$N" "fallback model: every persona from the double"
t_expect_eq "$(field llm.by_model.good) $(field llm.errors.not_json) $(field llm.model_fallbacks)" \
    "$N $N $N" "fallback model: answered by good, garbage counted"
t_expect_eq "$(t_llmd_model_stat junk tried) $(t_llmd_model_stat good tried)" "$N $((2 * N))" \
    "llmd: junk once per agent, good too"
t_stop_simd || t_fail "simd exit"

# no model gives a persona: the local ones, counted and logged
run "$T/d" other
t_expect_eq "$(field state)" finished "local fallback: the run goes on"
t_expect_eq "$(llm_names "$T/d")" 0 "local fallback: no persona from the double"
t_expect_eq "$(field llm.local_fallbacks) $(field llm.errors.not_persona)" "$N $N" \
    "local fallback: counted"
grep -q 'agent_001.*no persona from the LLM.*keeping the local one' "$T/simd.log" ||
    t_fail "local fallback: not logged"
t_stop_simd || t_fail "simd exit"
# ... and with llm_required the run fails instead
mkdir -p "$T/e"
cp "$T/base.conf" "$T/simd.conf"
sed -i "s|^data_dir = .*|data_dir = $T/e|" "$T/simd.conf"
t_conf "llm_model = other" "llm_required = yes"
t_start_simd
t_ctl start >/dev/null
t_wait_end 120
t_expect_eq "$(field state)" failed "llm_required: the run fails"
t_expect_match "$(field error)" 'no persona from the LLM.*llm_required' "llm_required: why"
t_stop_simd || t_fail "simd exit"

# out-of-range values clamped, missing fields filled
run "$T/f" wild
t_expect_eq "$(llm_names "$T/f")" "$N" "out of range: the personas kept"
t_expect_eq "$(sqlite3 "$T/f/shop.db" "SELECT DISTINCT json_extract(persona, '\$.price_sensitivity') FROM users")" \
    1.0 "out of range: price_sensitivity clamped to 1"
[ "$(field llm.clamped)" -ge "$((3 * N))" ] || t_fail "out of range: clamps not counted"
t_stop_simd || t_fail "simd exit"
run "$T/g" half
t_expect_eq "$(llm_names "$T/g")" "$N" "partial: the personas kept"
[ "$(field llm.filled)" -ge "$((4 * N))" ] || t_fail "partial: filled fields not counted"
t_stop_simd || t_fail "simd exit"

# the key: sent (llmd says key=yes), never in logs, answers or data files
grep -q 'key=yes' "$T/llmd.log" || t_fail "the key was not sent"
! grep -q 'key=no' "$T/llmd.log" || t_fail "a request went without the key"
for f in "$T"/simd.log* "$T/answer.json" "$T"/status.json; do
	! grep -aqF "$KEY" "$f" || t_fail "the key is in $f"
done
! grep -raqF "$KEY" "$T/a" "$T/b" "$T/c" "$T/d" || t_fail "the key is in a data file"

# a wrong key: 401, no retry, every agent local, the run goes on
LLM_API_KEY=sk-wrong-key
run "$T/h" good
t_expect_eq "$(field llm.errors.auth) $(field llm.local_fallbacks)" "$N $N" "wrong key: counted"
t_stop_simd || t_fail "simd exit"
! grep -aqF "sk-wrong-key" "$T/simd.log" || t_fail "the wrong key is in the log"
t_stop_llmd || t_fail "llmd exit"
