# peer.sh - only root, the daemon's uid or the allowed group may use the socket.
set -eu
. "$TOP/tests/lib/common.sh"
if [ "$(id -u)" != 0 ]; then
	echo "needs root to run a client under another uid"
	exit 77
fi
as_nobody() {
	if command -v setpriv >/dev/null 2>&1; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else
		runuser -u nobody -- "$@"
	fi
}
t_setup
chmod 0755 "$T"
cp "$SIMCTL" "$T/simctl"; chmod 0755 "$T/simctl"
# the file mode keeps others out by default (0660)
t_start_simd
rc=0; as_nobody "$T/simctl" -s "$SIMD_SOCKET" ping 2>"$T/err" || rc=$?
t_expect_eq "$rc" 3 "nobody cannot connect to a 0660 socket"
t_expect_match "$(stat -c %a "$SIMD_SOCKET")" '^660$' "socket mode"
t_stop_simd || true
# with the file open to all, the peer check refuses the uid itself
t_conf "socket_mode = 0666"
t_start_simd
rc=0; as_nobody "$T/simctl" -s "$SIMD_SOCKET" ping 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "nobody refused by the peer check"
t_expect_match "$(cat "$T/err")" 'permission denied: uid [0-9]+' "refusal message"
t_expect_match "$(cat "$T/simd.log")" 'refused a client' "refusal logged"
t_expect_eq "$(t_ctl ping)" "pong" "root still served"
t_stop_simd || true
# members of socket_group are let in
t_conf "socket_group = nogroup"
t_start_simd
t_expect_eq "$(as_nobody "$T/simctl" -s "$SIMD_SOCKET" ping)" "pong" "allowed group member served"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
# socket_readonly_group: its members may look (status, stats...), not act
sed -i '/^socket_group/d' "$T/simd.conf"
t_conf "socket_readonly_group = nogroup"
t_start_simd
t_expect_match "$(as_nobody "$T/simctl" -s "$SIMD_SOCKET" status)" 'state: +idle' \
    "a read-only member reads the status"
as_nobody "$T/simctl" -s "$SIMD_SOCKET" stats >/dev/null || t_fail "a read-only member reads stats"
rc=0; as_nobody "$T/simctl" -s "$SIMD_SOCKET" start --cycles 1 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "a read-only member may not start a run"
t_expect_match "$(cat "$T/err")" 'start: permission denied: .*read-only methods only' "its message"
rc=0; as_nobody "$T/simctl" -s "$SIMD_SOCKET" shutdown 2>/dev/null || rc=$?
t_expect_eq "$rc" 1 "nor shut the daemon down"
t_expect_match "$(t_ctl status)" 'state: +idle' "nothing happened"
t_stop_simd || true
# Connection caps: one user's connections cannot lock out the others or root.
# hold N: as nobody, holds N connections, then opens one more and prints its answer,
# and keeps them until $T/release exists.
cat >"$T/hold.py" <<'PY'
import os, socket, sys, time
path, n, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    held.append(s)
extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
extra.connect(path)
extra.settimeout(30)
print(extra.makefile().readline().strip(), flush=True)
for s in held:   # the held ones are still served
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
    s.settimeout(30)
    print(s.makefile().readline().strip(), flush=True)
t0 = time.time()
while not os.path.exists(release) and time.time() - t0 < 60:
    time.sleep(0.05)
PY
chmod 0644 "$T/hold.py"
hold() {	# N OUT: in the background; waits until the N + 1 answers are in OUT
	rm -f "$T/release"
	: >"$2"
	as_nobody /usr/bin/python3 "$T/hold.py" "$SIMD_SOCKET" "$1" "$T/release" >"$2" 2>&1 &
	HOLD_PID=$!
	n=0
	while [ "$(wc -l <"$2")" -le "$1" ] && [ "$n" -lt 600 ]; do
		sleep 0.05
		n=$((n + 1))
	done
}
sed -i '/^socket_readonly_group/d' "$T/simd.conf"
t_conf "socket_group = nogroup" "control_max_per_uid = 3"
t_start_simd
hold 3 "$T/hold.out"
t_expect_match "$(head -n 1 "$T/hold.out")" 'too many connections from uid [0-9]+ \(control_max_per_uid 3\)' \
    "a fourth connection of one user is refused, with the key to raise"
t_expect_eq "$(sed -n '2,4p' "$T/hold.out" | grep -c '"result":"pong"')" 3 "its three others are served"
t_expect_eq "$(t_ctl ping)" pong "root is served meanwhile"
touch "$T/release"
wait "$HOLD_PID" || t_fail "the holding client failed: $(cat "$T/hold.out")"
t_expect_match "$(cat "$T/simd.log")" 'too many connections from uid' "the refusal is logged"
t_stop_simd || true
# control_max_clients: the last 16 are kept for root and simd's own user
sed -i '/^control_max_per_uid/d' "$T/simd.conf"
t_conf "control_max_clients = 32"
t_start_simd
hold 16 "$T/hold.out"
t_expect_match "$(head -n 1 "$T/hold.out")" '"too many clients"' \
    "an ordinary user gets control_max_clients - 16 connections"
t_expect_eq "$(t_ctl ping)" pong "root is served with the ordinary slots taken"
touch "$T/release"
wait "$HOLD_PID" || t_fail "the holding client failed: $(cat "$T/hold.out")"
t_stop_simd || true
