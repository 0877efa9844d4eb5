# control.sh - simctl against a real simd: ping, version, status, help, exit codes.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_start_simd

t_expect_eq "$(t_ctl ping)" "pong" "ping"
out=$(t_ctl version)
t_expect_match "$out" '^version: [0-9]+\.[0-9]+' "version"
t_expect_match "$out" '^protocol: 1$' "protocol version"
out=$(t_ctl --json version)
t_expect_match "$out" '"protocol": 1' "version --json"
t_expect_match "$out" '"features": \[' "version --json: the optional parts"
if git -C "$TOP" rev-parse HEAD >/dev/null 2>&1; then
	t_expect_match "$out" "\"commit\": \"$(git -C "$TOP" rev-parse --short=12 HEAD)" \
	    "version --json: the commit built"
fi

# status: every field of DESIGN.md 5, state idle before any run
js=$(t_ctl --json status)
for f in '"state": "idle"' '"run_id"' '"seed"' '"agents"' '"cycle"' '"cycles_total"' \
    '"sim_time"' '"elapsed_s"' '"eta_s"' '"limit"' '"in_flight"' '"adaptive"' \
    '"agents_processed"' '"agents_shopped"' '"sessions"' '"orders"' '"events"' '"errors"' \
    '"driver": "sqlite"' '"connections_active"' '"connections_idle"' '"waiting"' '"max"' \
    '"last_checkpoint"'; do
	t_expect_match "$js" "$f" "status field $f"
done
t_expect_match "$(t_ctl status)" '^state: +idle' "human status"

# help and usage errors (exit 2)
t_expect_match "$(t_ctl help)" 'set-concurrency' "help lists commands"
t_expect_match "$("$SIMCTL" start -h)" '--max-concurrent N' "start -h lists flags"
rc=0; t_ctl frobnicate 2>"$T/err" || rc=$?
t_expect_eq "$rc" 2 "unknown command exit status"
t_expect_match "$(cat "$T/err")" 'unknown command: frobnicate' "unknown command message"
rc=0; t_ctl start --agents lots 2>"$T/err" || rc=$?
t_expect_eq "$rc" 2 "bad flag value exit status"
t_expect_match "$(cat "$T/err")" 'agents: bad value' "bad flag value message"
rc=0; t_ctl start --bogus 2>/dev/null || rc=$?
t_expect_eq "$rc" 2 "unknown flag exit status"
rc=0; t_ctl set-concurrency 2>/dev/null || rc=$?
t_expect_eq "$rc" 2 "missing argument exit status"
rc=0; "$SIMCTL" 2>/dev/null || rc=$?
t_expect_eq "$rc" 2 "no command exit status"

# daemon errors (exit 1, message on stderr; with --json the error object on stdout too)
rc=0; t_ctl pause 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "pause while idle exit status"
t_expect_match "$(cat "$T/err")" 'nothing to pause' "pause while idle message"
rc=0; out=$(t_ctl --json pause 2>"$T/err") || rc=$?
t_expect_eq "$rc" 1 "--json pause while idle exit status"
t_expect_match "$(printf '%s' "$out" | tr -d ' \n')" '^\{"code":1,"message":"nothingtopause' \
    "--json prints the error object on stdout"
t_expect_match "$(cat "$T/err")" 'nothing to pause' "and the message on stderr"
# the log names the method once, not twice
printf '{"jsonrpc":"2.0","id":1,"method":"set-concurrency","params":{"limit":"x"}}\n' |
    "$TOP/tests/tools/rawsock" "$SIMD_SOCKET" 1 >/dev/null
grep -q 'set-concurrency: set-concurrency' "$T/simd.log" && t_fail "log repeats the method"
t_expect_match "$(cat "$T/simd.log")" 'control: set-concurrency: "limit" must be' "log line"

# timeouts: any positive number, however large, waits for the answer
for t in 2147484 1e9 1e300 inf 0.5; do
	t_expect_eq "$(t_ctl -t "$t" ping)" pong "simctl -t $t ping"
done
for t in 0 -1 abc nan; do
	rc=0; t_ctl -t "$t" ping 2>"$T/err" || rc=$?
	t_expect_eq "$rc" 2 "simctl -t $t exit status"
	t_expect_match "$(head -n 1 "$T/err")" "-t wants a positive number of seconds \(got \"$t\"\)" \
	    "simctl -t $t message"
done
# a global option without its value says which
rc=0; "$SIMCTL" -s 2>"$T/err" || rc=$?
t_expect_eq "$rc" 2 "simctl -s without a value"
t_expect_match "$(head -n 1 "$T/err")" '^simctl: -s needs a value \(SOCKET\)' "its message"
rc=0; "$SIMCTL" -s "$SIMD_SOCKET" -t 2>"$T/err" || rc=$?
t_expect_match "$(head -n 1 "$T/err")" '^simctl: -t needs a value \(SECONDS\)' "-t without a value"
t_expect_eq "$("$SIMCTL" --socket="$SIMD_SOCKET" ping)" pong "--socket=PATH"
t_expect_match "$("$SIMCTL" -V)" '^simctl [0-9]+\.[0-9]+\.[0-9]+ \(.*\), control protocol 1$' "simctl -V"
t_expect_match "$("$SIMCTL" --version)" '^simctl ' "simctl --version"

# process figures: the peak is never below the current size
for i in 1 2 3 4 5; do
	js=$(t_ctl --json status | tr -d ' \n')
	rss=$(printf '%s' "$js" | sed -n 's/.*"rss_bytes":\([0-9]*\).*/\1/p')
	peak=$(printf '%s' "$js" | sed -n 's/.*"peak_rss_bytes":\([0-9]*\).*/\1/p')
	[ "$peak" -ge "$rss" ] || t_fail "peak_rss_bytes $peak < rss_bytes $rss"
done

# cannot reach (exit 3, names the socket)
rc=0; "$SIMCTL" -s "$T/nope.sock" ping 2>"$T/err" || rc=$?
t_expect_eq "$rc" 3 "unreachable exit status"
t_expect_match "$(cat "$T/err")" "$T/nope.sock" "unreachable message names the socket"
# the default socket comes from SIMD_SOCKET, as simd finds it
t_expect_eq "$("$SIMCTL" ping)" "pong" "SIMD_SOCKET used by default"

rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "exit status after SIGTERM"
[ ! -e "$SIMD_SOCKET" ] || t_fail "socket still there after SIGTERM"

# a run's parameters are checked against the running configuration, not the built-in one
t_conf "agents = 1000"
t_start_simd
t_expect_match "$(t_ctl status)" '1000 agents' "status shows the configured population"
out=$(t_ctl --json start --agents-list agent_500,agent_1000 --all-shop --cycles 1 --time-scale 0 \
    --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "--agents-list within the configured 1000 agents"
t_expect_match "$out" '"sessions":2' "both listed agents shopped"
rc=0; t_ctl start --agents-list agent_1001 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "an agent outside the configured population"
t_expect_match "$(cat "$T/err")" 'outside the population of 1000 agents' "its message"
t_stop_simd || t_fail "exit"
