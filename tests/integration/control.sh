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

# daemon errors (exit 1, message on stderr)
rc=0; t_ctl pause 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "pause while idle exit status"
t_expect_match "$(cat "$T/err")" 'nothing to pause' "pause while idle message"

# cannot reach (exit 3, names the socket)
rc=0; "$SIMCTL" -s "$T/nope.sock" ping 2>"$T/err" || rc=$?
t_expect_eq "$rc" 3 "unreachable exit status"
t_expect_match "$(cat "$T/err")" "$T/nope.sock" "unreachable message names the socket"
# the default socket comes from SIMD_SOCKET, as simd finds it
t_expect_eq "$("$SIMCTL" ping)" "pong" "SIMD_SOCKET used by default"

rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "exit status after SIGTERM"
[ ! -e "$SIMD_SOCKET" ] || t_fail "socket still there after SIGTERM"
