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
