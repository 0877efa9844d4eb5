# protocol.sh - bad input on the control socket: the daemon answers, survives, serves others.
set -eu
. "$TOP/tests/lib/common.sh"
RAW=$TOP/tests/tools/rawsock
t_setup
t_conf "max_request = 4096"
t_start_simd

raw() {	# lines input -> answers
	printf '%b' "$2" | "$RAW" "$SIMD_SOCKET" "$1" || true
}

# each error answered, and the connection stays usable for the next line
out=$(raw 2 'this is not json\n{"jsonrpc":"2.0","id":7,"method":"ping"}\n')
t_expect_match "$out" '"code":-32700' "garbage: parse error"
t_expect_match "$out" '"id":7,"result":"pong"' "garbage: connection still usable"
out=$(raw 2 '[1,2,3]\n{"jsonrpc":"2.0","id":8,"method":"ping"}\n')
t_expect_match "$out" '"code":-32600' "non-object: invalid request"
t_expect_match "$out" '"id":8,"result":"pong"' "non-object: connection still usable"
out=$(raw 1 '{"jsonrpc":"2.0","id":1}\n')
t_expect_match "$out" '"code":-32600.*method' "missing method"
out=$(raw 1 '{"jsonrpc":"1.0","id":1,"method":"ping"}\n')
t_expect_match "$out" '"code":-32600.*jsonrpc' "wrong jsonrpc version"
out=$(raw 1 '{"jsonrpc":"2.0","id":2,"method":"warp-speed"}\n')
t_expect_match "$out" '"id":2.*"code":-32601.*warp-speed' "unknown method"
out=$(raw 1 '{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":1}}\n')
t_expect_match "$out" '"id":3.*"code":-32602' "bad params"
out=$(raw 1 '{"jsonrpc":"2.0","id":4,"method":"set-concurrency","params":{"limit":"many"}}\n')
t_expect_match "$out" '"code":-32602.*limit' "bad param type"
out=$(raw 1 '{"jsonrpc":"2.0","id":5,"method":"start","params":{"max_concurrent":0}}\n')
t_expect_match "$out" '"code":-32602.*max_concurrent' "zero concurrency"
out=$(raw 1 '{"jsonrpc":"2.0","id":6,"method":"ping","params":5}\n')
t_expect_match "$out" '"code":-32600.*params' "params not structured"
out=$(raw 2 '{"jsonrpc":"2.0","method":"ping"}\n{"jsonrpc":"2.0","id":9,"method":"ping"}\n')
t_expect_match "$out" '^\{"jsonrpc":"2.0","id":9,"result":"pong"\}$' "notification gets no answer"
out=$(raw 1 '\000\001\002\377\n')
t_expect_match "$out" '"code":-3270' "binary garbage"

# an oversized line: an error, then the connection is closed
big=$(head -c 6000 /dev/zero | tr '\0' 'x')
out=$(printf '{"jsonrpc":"2.0","id":1,"method":"%s"}\n' "$big" | "$RAW" "$SIMD_SOCKET" 2 || true)
t_expect_match "$out" 'too large' "oversized request answered"
t_expect_match "$out" 'closed' "oversized request closes the connection"

# a half-written request held open does not stall other clients
printf '{"jsonrpc":"2.0","id":1,"meth' | "$RAW" "$SIMD_SOCKET" 0 3 &
holder=$!
sleep 0.3
t_expect_eq "$(t_ctl ping)" "pong" "ping while another client holds half a request"
# many clients at once
i=0; pids=""
while [ $i -lt 40 ]; do
	t_ctl status >/dev/null &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p" || t_fail "a concurrent status call failed"; done
wait "$holder" || true
# a client that vanishes mid-request
printf '{"jsonrpc":"2.0","id":1,"method":"status"}\n' | "$RAW" "$SIMD_SOCKET" 0 || true
t_expect_eq "$(t_ctl ping)" "pong" "alive after everything"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
