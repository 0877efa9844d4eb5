# llmd.sh - the LLM test double (tests/tools/llmd) does what each behaviour promises:
# the answers, the "models" fallback order, the key, the per-minute limit, /_control, /_stats.
set -eu
. "$TOP/tests/lib/common.sh"
command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; exit 77; }
t_setup
LLMD=$TOP/tests/tools/llmd
KEY=sk-llmd-test-0123456789

PROMPT='{"role":"system","content":"You write shopper personas as JSON."},
 {"role":"user","content":"Write the persona of agent_007 for seed 42."}'
chat() {	# "JSON fields" [curl args...] -> body; code in $T/llmd.code
	_f=$1
	shift
	t_llmd POST /v1/chat/completions "{$_f,\"messages\":[$PROMPT]}" "$@"
}
code() { cat "$T/llmd.code"; }
check() { "$LLMD" --check <"$T/llmd.body" || true; }
header() { tr -d '\r' <"$T/llmd.head" | awk -v h="$1" 'tolower($1) == tolower(h ":") { print $2 }'; }

t_start_llmd --model good=persona --model fenced=persona-fenced --model junk=garbage \
    --model other=notpersona --model wild=outofrange --model half=partial --model cut=truncated \
    --model busy=429 --model busy-ra=429,retry-after=7 --model full=503 --model gone=404 \
    --model broken=500 --model stuck=hang --model lazy=slow=300 --log "$T/llmd.log"

# the answers that carry content
out=$(chat '"model":"good","response_format":{"type":"json_object"},"temperature":0.7,"max_tokens":900')
t_expect_eq "$(code)" 200 "persona: status"
t_expect_match "$out" '"object":"chat.completion".*"model":"good".*"role":"assistant".*"finish_reason":"stop".*"usage":\{"prompt_tokens":[0-9]+' "persona: reply shape"
first=$(check)
t_expect_match "$first" '^ok LLM ' "persona: simd's gate takes it, named LLM ..."
chat '"model":"good"' >/dev/null
t_expect_eq "$(check)" "$first" "persona: the same prompt gives the same persona"
for path in /chat/completions /api/v1/chat/completions; do
	t_llmd POST $path "{\"model\":\"good\",\"messages\":[$PROMPT]}" >/dev/null
	t_expect_eq "$(code)" 200 "persona at $path"
done
out=$(chat '"model":"fenced"')
t_expect_match "$out" 'json\\n\{' "fenced: a json fence"
t_expect_eq "$(check)" "$first" "fenced: the same persona inside"
chat '"model":"junk"' >/dev/null
t_expect_match "$(code) $(check)" '^200 invalid: the content is not JSON' "garbage"
chat '"model":"other"' >/dev/null
t_expect_match "$(code) $(check)" '^200 invalid: persona: unknown key' "notpersona"
out=$(chat '"model":"wild"')
t_expect_match "$(check)" 'price_sensitivity' "outofrange: rejected on price_sensitivity"
t_expect_match "$out" '\\"price_sensitivity\\": 7,.*\\"sessions_per_week\\": 500' "outofrange: the values"
chat '"model":"half"' >/dev/null
t_expect_match "$(check)" 'is missing' "partial"
out=$(chat '"model":"cut"')
t_expect_match "$out" '"finish_reason":"length"' "truncated: finish_reason"
t_expect_match "$(check)" 'not JSON' "truncated: not JSON"

# the errors
out=$(chat '"model":"busy"')
t_expect_eq "$(code)" 429 "429: status"
t_expect_eq "$out" '{"error":{"code":429,"message":"Rate limit exceeded","metadata":{}}}' "429: OpenRouter's body"
t_expect_eq "$(header Retry-After)" "" "429 without Retry-After"
chat '"model":"busy-ra"' >/dev/null
t_expect_eq "$(code) $(header Retry-After)" "429 7" "429 with Retry-After"
out=$(chat '"model":"full"')
t_expect_match "$(code) $out" '^503 \{"error":"server busy' "503: Ollama's queue full"
out=$(chat '"model":"gone"')
t_expect_match "$(code) $out" '^404 .*"message":"The model `gone` does not exist.*"type":"invalid_request_error","param":null,"code":"model_not_found"' "404"
out=$(chat '"model":"nobody/knows:free"')
t_expect_match "$(code) $out" '^404 .*nobody/knows:free' "an unknown model: --default 404"
out=$(chat '"model":"broken"')
t_expect_match "$(code) $out" '^500 .*"type":"server_error"' "500"

# slow answers late, hang never; a client giving up is noticed
chat '"model":"lazy"' >/dev/null
t_expect_match "$(code) $(check)" '^200 ok LLM ' "slow: answers a persona"
curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
    -d "{\"model\":\"lazy\",\"messages\":[$PROMPT]}" "$LLMD_URL/v1/chat/completions" >"$T/secs"
awk '{ exit !($1 >= 0.3) }' "$T/secs" || t_fail "slow=300 answered in $(cat "$T/secs") s"
rc=0
curl -s -m 1 -H 'Content-Type: application/json' -d "{\"model\":\"stuck\",\"messages\":[$PROMPT]}" \
    "$LLMD_URL/v1/chat/completions" >/dev/null || rc=$?
t_expect_eq "$rc" 28 "hang: the client times out"
wait_stat() {	# NAME VALUE: polls /_stats (the server notices a hang-up on its own time)
	_i=0
	while [ "$(t_llmd_stat "$1")" != "$2" ]; do
		_i=$((_i + 1))
		[ $_i -lt 200 ] || t_fail "/_stats $1 stayed $(t_llmd_stat "$1"), not $2"
		sleep 0.05
	done
}
wait_stat abandoned 1
wait_stat in_flight 0

# concurrency, seen through two hanging requests
t_llmd POST /_control '{"reset_stats":true}' >/dev/null
pids=""
for i in 1 2; do
	curl -s -m 60 -H 'Content-Type: application/json' \
	    -d "{\"model\":\"stuck\",\"messages\":[$PROMPT]}" "$LLMD_URL/v1/chat/completions" \
	    >/dev/null 2>&1 &
	pids="$pids $!"
done
wait_stat in_flight 2
t_expect_eq "$(t_llmd_stat max_concurrent)" 2 "two at once: max_concurrent"
for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
wait_stat in_flight 0
t_llmd POST /_control '{"reset_stats":true}' >/dev/null
for i in 1 2 3; do chat '"model":"good"' >/dev/null; done
t_expect_eq "$(t_llmd_stat max_concurrent) $(t_llmd_stat requests)" "1 3" "one at a time"

# "models": tried in order, the first that does not fail answers
t_llmd POST /_control '{"reset_stats":true}' >/dev/null
out=$(chat '"model":"busy","models":["full","busy","gone","good","junk"]')
t_expect_match "$(code) $out" '^200 .*"model":"good"' "fallback: good answers"
for m in busy full gone good; do
	t_expect_eq "$(t_llmd_model_stat $m tried)" 1 "fallback: $m tried once"
done
t_expect_eq "$(t_llmd_model_stat junk tried)" 0 "fallback: nothing after the answer"
t_expect_eq "$(t_llmd_model_stat busy asked) $(t_llmd_model_stat good answered)" "1 1" "fallback: asked and answered"
out=$(chat '"models":["good","busy"]')
t_expect_match "$(code) $out" '^200 .*"model":"good"' "fallback: models without model"
t_expect_eq "$(t_llmd_model_stat busy tried)" 1 "fallback: a good first model stops there"
out=$(chat '"model":"busy","models":["gone","full"]')
t_expect_match "$(code) $out" '^503 ' "fallback: all fail, the last error"
grep -q 'asked=busy answered=good agent=agent_007 key=no' "$T/llmd.log" ||
    t_fail "the log names the asked and the answering model: $(tail -n 3 "$T/llmd.log")"

# /_control: switch a model, count down, add and remove, refuse bad input whole
t_llmd POST /_control '{"models":{"good":"429"}}' >/dev/null
t_expect_eq "$(code)" 200 "control: accepted"
chat '"model":"good"' >/dev/null
t_expect_eq "$(code)" 429 "control: good now fails"
t_llmd POST /_control '{"models":{"good":"persona"}}' >/dev/null
chat '"model":"good"' >/dev/null
t_expect_eq "$(code)" 200 "control: good answers again"
out=$(t_llmd POST /_control '{"models":{"good":"429","flaky":"teapot"}}')
t_expect_match "$(code) $out" '^400 .*teapot' "control: a bad behaviour"
chat '"model":"good"' >/dev/null
t_expect_eq "$(code)" 200 "control: a refused change changes nothing"
out=$(t_llmd POST /_control '{"rpm":"many"}')
t_expect_match "$(code) $out" '^400 .*rpm' "control: a bad value"
t_llmd POST /_control 'nonsense' >/dev/null
t_expect_eq "$(code)" 400 "control: not JSON"
t_llmd POST /_control '{"models":{"flaky/one:free":"503,times=2"}}' >/dev/null
codes=""
for i in 1 2 3; do chat '"model":"flaky/one:free"' >/dev/null; codes="$codes$(code) "; done
t_expect_eq "$codes" "503 503 200 " "times=2: fails twice, then answers"
out=$(t_llmd GET /_control)
t_expect_match "$out" '"flaky/one:free":"persona".*"default":"404"' "control: GET shows the settings"
t_llmd POST /_control '{"models":{"flaky/one:free":null},"default":"garbage"}' >/dev/null
chat '"model":"flaky/one:free"' >/dev/null
t_expect_match "$(code) $(check)" '^200 invalid' "control: removed, the default applies"
t_llmd POST /_control '{"default":"404"}' >/dev/null

# /_stats, /v1/models, /health, bad requests
t_llmd POST /_control '{"reset_stats":true}' >/dev/null
chat '"model":"good"' >/dev/null
chat '"model":"busy"' >/dev/null
t_llmd POST /v1/chat/completions '{"model":"good","messages":[{"role":"user","content":"agent_008, seed 42"}]}' >/dev/null
chat '"model":"good"' >/dev/null
out=$(t_llmd GET /_stats)
t_expect_match "$out" '"requests":4,"answered":3,"agents":2,"agents_again":1,"rate_limited":1' "stats: counts"
t_expect_match "$out" '"by_status":\{"200":3,"429":1\}' "stats: by status"
out=$(t_llmd GET /v1/models)
t_expect_match "$out" '"object":"list".*"id":"good"' "models: listed"
printf '%s' "$out" | grep -q '"id":"gone"' && t_fail "models: a 404 model is not listed"
t_expect_eq "$(t_llmd GET /health)" '{"status":"ok"}' "health"
out=$(t_llmd POST /v1/chat/completions '{"model":')
t_expect_match "$(code) $out" '^400 .*invalid_request_error' "bad: not JSON"
out=$(t_llmd POST /v1/chat/completions "{\"messages\":[$PROMPT]}")
t_expect_match "$(code) $out" '^400 .*"param":"model"' "bad: no model"
out=$(t_llmd POST /v1/chat/completions '{"model":"good","messages":[]}')
t_expect_match "$(code) $out" '^400 .*"param":"messages"' "bad: no messages"
out=$(chat '"model":"good","stream":true')
t_expect_match "$(code) $out" '^400 .*stream' "bad: streaming"
out=$(chat '"model":"good","temperature":9')
t_expect_match "$(code) $out" '^400 .*temperature' "bad: temperature"
t_llmd GET /v1/chat/completions >/dev/null
t_expect_eq "$(code)" 405 "bad: GET chat"
t_llmd GET /v2/nothing >/dev/null
t_expect_eq "$(code)" 404 "bad: unknown path"
head -c 1100000 /dev/zero | tr '\0' 'x' >"$T/big"
curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/big" "$LLMD_URL/v1/chat/completions" \
    >"$T/llmd.code" || true
t_expect_eq "$(code)" 413 "bad: a body over --max-body"

# SIGTERM: exit 0 even with a request hanging
curl -s -m 30 -H 'Content-Type: application/json' -d "{\"model\":\"stuck\",\"messages\":[$PROMPT]}" \
    "$LLMD_URL/v1/chat/completions" >/dev/null 2>&1 &
hung=$!
wait_stat in_flight 1
rc=0; t_stop_llmd || rc=$?
t_expect_eq "$rc" 0 "SIGTERM with a hanging request: exit 0"
wait "$hung" 2>/dev/null || true

# the key: 401s in OpenAI's shape, and never in the log
t_start_llmd --key "$KEY" --model good=persona --log "$T/key.log"
out=$(chat '"model":"good"')
t_expect_match "$(code) $out" "^401 .*You didn't provide an API key.*invalid_request_error" "key: none"
out=$(chat '"model":"good"' -H 'Authorization: Bearer sk-wrong')
t_expect_match "$(code) $out" '^401 .*"code":"invalid_api_key"' "key: wrong"
chat '"model":"good"' -H "Authorization: Bearer $KEY" >/dev/null
t_expect_eq "$(code)" 200 "key: right"
t_llmd GET /v1/models >/dev/null
t_expect_eq "$(code)" 401 "key: /v1/models wants it too"
t_expect_eq "$(grep -c 'key=yes' "$T/key.log") $(grep -c 'key=no' "$T/key.log")" "2 1" "key: logged as yes/no"
grep -qF "$KEY" "$T/key.log" "$T/llmd.err" "$T/llmd.out" && t_fail "the key reached llmd's output"
rc=0; t_stop_llmd || rc=$?
t_expect_eq "$rc" 0 "key: clean exit"

# --rpm: a limit across models, 429 in OpenRouter's shape; Retry-After and headers on request
t_start_llmd --rpm 3 --model good=persona --model lazy=slow=10
chat '"model":"good"' >/dev/null; c1=$(code)
chat '"model":"lazy"' >/dev/null; c2=$(code)
chat '"model":"good"' >/dev/null; c3=$(code)
out=$(chat '"model":"lazy"')
t_expect_eq "$c1 $c2 $c3 $(code)" "200 200 200 429" "rpm 3: the fourth is refused"
t_expect_eq "$out" '{"error":{"code":429,"message":"Rate limit exceeded","metadata":{}}}' "rpm: OpenRouter's body"
t_expect_eq "$(header Retry-After)" "" "rpm: no Retry-After unless asked"
t_expect_eq "$(t_llmd_stat rpm_limited) $(t_llmd_stat rate_limited)" "1 1" "rpm: counted"
t_expect_eq "$(t_llmd_model_stat lazy tried)" 1 "rpm: a refused request reaches no model"
t_llmd POST /_control '{"rpm_retry_after":true,"ratelimit_headers":true}' >/dev/null
chat '"model":"good"' >/dev/null
t_expect_eq "$(code)" 429 "rpm: still over"
t_expect_match "$(header Retry-After)" '^[1-9][0-9]?$' "rpm: Retry-After when asked"
t_expect_eq "$(header x-ratelimit-limit-requests) $(header x-ratelimit-remaining-requests)" "3 0" "rpm: x-ratelimit headers"
t_expect_match "$(header x-ratelimit-reset-requests)" '^[0-9.]+s$' "rpm: reset header"
t_llmd POST /_control '{"rpm":1,"rpm_window":1}' >/dev/null
chat '"model":"good"' >/dev/null
t_expect_eq "$(code) $(header x-ratelimit-remaining-requests)" "200 0" "rpm: a new limit starts empty"
sleep 1.1
chat '"model":"good"' >/dev/null
t_expect_eq "$(code)" 200 "rpm: the window moves on"
rc=0; t_stop_llmd || rc=$?
t_expect_eq "$rc" 0 "rpm: clean exit"

# bad command lines say why
for args in "--model good" "--model good=teapot" "--rpm -1" "--listen nowhere" "--bogus"; do
	rc=0
	# shellcheck disable=SC2086
	"$LLMD" $args >"$T/bad.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || t_fail "command line '$args' accepted"
	t_expect_match "$(cat "$T/bad.out")" 'llmd|usage' "command line '$args' explained"
done
