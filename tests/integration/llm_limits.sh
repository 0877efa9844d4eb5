# llm_limits.sh - LLM personas under pressure: 429 with Retry-After honoured, a per-minute
# limit the adaptive limiter converges under, 503s retried, a 404 and a hanging model handed
# over to the fallback, pause and stop during generation, kill -9 and a resume that asks only
# for the personas still missing; llm_rate_max caps the rate successes grow.
set -eu
. "$TOP/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; exit 77; }
t_setup

t_start_llmd --model good=persona --model ra=429,retry-after=1,times=1 --model busy=503,times=2 \
    --model gone=404 --model stuck=hang --model slow=slow=150 --log "$T/llmd.log"
t_conf "seed = 3" "time_scale = 0" "cycles = 2" "persona_source = llm" \
    "llm_url = $LLMD_URL/v1" "llm_retry_delay = 0.01" "llm_max_retries = 3" "llm_rate = 0"
cp "$T/simd.conf" "$T/base.conf"

field() {
	t_ctl --json status >"$T/status.json"
	sqlite3 :memory: "SELECT json_extract(readfile('$T/status.json'), '\$.$1')"
}
llm_names() {
	sqlite3 "$DATA/shop.db" "SELECT count(*) FROM users WHERE json_extract(persona, '\$.name') LIKE 'LLM %'"
}
fresh() {	# config lines...: a new data dir and config, simd started
	rm -rf "$DATA"
	mkdir "$DATA"
	cp "$T/base.conf" "$T/simd.conf"
	t_conf "$@"
	t_start_simd
}
wait_field() {	# path min: until status's field reaches min
	_i=0
	while [ "$(field "$1")" -lt "$2" ]; do
		_i=$((_i + 1))
		[ "$_i" -lt 1500 ] || t_fail "$1 did not reach $2"
		sleep 0.1
	done
}
secs() {	# the seconds of the day of llmd's log line $1 (one-based)
	sed -n "${1}p" "$T/llmd.log" | sed 's/^[^T]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z.*/\1 \2 \3/' |
	    awk '{ printf "%.3f\n", $1 * 3600 + $2 * 60 + $3 }'
}

# a 429 with Retry-After: 1: nothing is sent for a second, then the personas come
: >"$T/llmd.log"
fresh "agents = 5" "llm_model = ra"
t_ctl start --wait >/dev/null
t_expect_eq "$(llm_names) $(field llm.status_429) $(field llm.local_fallbacks)" "5 1 0" \
    "429: one, then every persona"
t_expect_match "$(sed -n 1p "$T/llmd.log")" 'status=429' "429: the first answer"
gap=$(awk -v a="$(secs 1)" -v b="$(secs 2)" 'BEGIN { print (b - a >= 1.0) ? "ok" : b - a }')
t_expect_eq "$gap" ok "429: the next request waited for Retry-After"
t_stop_simd || t_fail "simd exit"

# 503 (Ollama's queue full) twice: retried on the same model
fresh "agents = 5" "llm_model = busy"
t_ctl start --wait >/dev/null
t_expect_eq "$(llm_names) $(field llm.errors.503) $(field llm.retries)" "5 2 2" "503 retried"
t_stop_simd || t_fail "simd exit"

# 404 and a model that never answers: the fallback answers
fresh "agents = 4" "llm_model = gone" "llm_fallback_models = stuck, good" \
    "llm_max_concurrent = 4" "llm_timeout = 0.5" "llm_max_retries = 1"
t_ctl start --wait >/dev/null
t_expect_eq "$(llm_names) $(field llm.by_model.good)" "4 4" "404 and hang: the last model answers"
t_expect_eq "$(field llm.errors.404) $(field llm.errors.timeout) $(field llm.model_fallbacks)" \
    "4 8 8" "404 once, two timeouts each, two fallbacks each"
t_expect_eq "$(t_llmd_model_stat gone tried)" 4 "404: not retried"
t_stop_simd || t_fail "simd exit"

# under a limit of 10 requests a second the limiter converges: bounded 429s, every persona
t_llmd POST /_control '{"rpm":10,"rpm_window":1,"reset_stats":true}' >/dev/null
t_expect_eq "$(cat "$T/llmd.code")" 200 "llmd: rpm set"
fresh "agents = 60" "llm_model = good" "llm_rate = 50" "llm_rate_min = 0.5" \
    "llm_max_concurrent = 4" "llm_max_retries = 20"
t_ctl start --wait >/dev/null
n429=$(field llm.status_429)
echo "rpm 10/s: 60 personas, $n429 429s, rate now $(field llm.rate)"
t_expect_eq "$(llm_names) $(field llm.local_fallbacks)" "60 0" "rpm: every persona generated"
[ "$n429" -ge 1 ] || t_fail "rpm: the limit was never hit"
[ "$n429" -le 30 ] || t_fail "rpm: $n429 429s for 60 personas: the limiter did not converge"
t_expect_eq "$(t_llmd_stat rpm_limited)" "$n429" "rpm: simd counted llmd's 429s"
t_stop_simd || t_fail "simd exit"
t_llmd POST /_control '{"rpm":0,"reset_stats":true}' >/dev/null

# llm_rate_max: a run of successes grows the rate (x1.1 a round) up to it, never past it
fresh "agents = 60" "llm_model = good" "llm_rate = 20" "llm_max_concurrent = 4"
t_ctl start --wait >/dev/null
r=$(field llm.rate)
awk -v r="$r" 'BEGIN { exit !(r > 21) }' || t_fail "successes did not grow the rate past 21: $r"
t_stop_simd || t_fail "simd exit"
fresh "agents = 60" "llm_model = good" "llm_rate = 20" "llm_rate_max = 21" "llm_max_concurrent = 4"
t_ctl start --wait >/dev/null
r=$(field llm.rate)
awk -v r="$r" 'BEGIN { exit !(r == 21) }' || t_fail "the rate grown from 20 is $r, not llm_rate_max 21"
t_stop_simd || t_fail "simd exit"

# pause and stop during generation
fresh "agents = 40" "llm_model = slow"
t_ctl start >/dev/null
wait_field llm.done 3
t_ctl pause >/dev/null
t_expect_eq "$(field setup.phase) $(field llm.paused)" "personas 1" "paused in the personas phase"
sleep 0.5 # what was in flight at the pause has answered
n=$(t_llmd_stat requests)
sleep 1
t_expect_eq "$(t_llmd_stat requests)" "$n" "paused: no request sent"
t_ctl resume >/dev/null
wait_field llm.done 6
t_ctl stop >/dev/null
t_wait_end 60
t_expect_eq "$(field state)" finished "stopped during generation"
n=$(t_llmd_stat requests)
sleep 0.5
t_expect_eq "$(t_llmd_stat requests)" "$n" "stopped: no request after"
t_stop_simd || t_fail "simd exit"

# kill -9 during generation; the resume asks only for what is missing
t_llmd POST /_control '{"reset_stats":true}' >/dev/null
fresh "agents = 30" "llm_model = slow"
t_ctl start >/dev/null
wait_field llm.done 8
kill -KILL "$SIMD_PID"
wait "$SIMD_PID" 2>/dev/null || true
SIMD_PID=
t_start_simd --resume
t_wait_end 120
t_expect_eq "$(field state) $(llm_names)" "finished 30" "resumed: every persona from the LLM"
cached=$(field llm.cached)
[ "$cached" -ge 8 ] || t_fail "resumed: only $cached personas from the cache"
t_expect_eq "$(field llm.from_llm)" "$((30 - cached))" "resumed: asked only for the rest"
again=$(t_llmd_stat agents_again)
[ "$again" -le 1 ] || t_fail "resumed: $again personas asked twice (one was in flight)"
t_stop_simd || t_fail "simd exit"
t_stop_llmd || t_fail "llmd exit"
