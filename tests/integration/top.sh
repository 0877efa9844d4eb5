# top.sh - simctl top in a real terminal (tmux): the panels with live values, colour and
# NO_COLOR, a resize, + raising the concurrency limit, p pausing and resuming, q quitting.
set -eu
. "$TOP/tests/lib/common.sh"
command -v tmux >/dev/null 2>&1 || { echo "no tmux here (packaging/deps.sh installs it)"; exit 77; }
t_setup
t_start_simd
TM="tmux -S $T/tmux.sock -f /dev/null"
_top_cleanup() {
	_top_rc=$?
	$TM kill-server 2>/dev/null || true
	return $_top_rc # _t_cleanup exits with it
}
trap '_top_cleanup; _t_cleanup' EXIT

# a paced run: 0.25 wall s a cycle, long enough to outlast the test
t_ctl start --agents 200 --cycles 100000 --time-scale 14400 >/dev/null

# tmux_new NAME W H CMD: a detached session.  The server is started once, with a
# session that outlives the test's, so no new-session meets a server on its way out
# when the last session is killed; a server that dies at start-up (seen once in CI,
# "server exited unexpectedly", never reproduced) is retried twice, with its log kept.
tmux_new() {
	_n=0
	until $TM new-session -d -s "$1" -x "$2" -y "$3" "$4" 2>"$T/tmux.err"; do
		_n=$((_n + 1))
		grep -q 'server exited unexpectedly' "$T/tmux.err" && [ $_n -lt 3 ] ||
		    t_fail "tmux new-session: $(cat "$T/tmux.err")"
		echo "tmux: $(cat "$T/tmux.err"), trying again" >&2
		sleep 0.2
	done
}
tmux_new keep 80 24 "sleep 3600"

screen() {
	$TM capture-pane -p -t top "$@"
}

# waits until the pane shows /$1/ (10 s, then fails with what it shows)
wait_screen() {
	_i=0
	while ! screen | grep -Eq -- "$1"; do
		_i=$((_i + 1))
		[ $_i -lt 200 ] || t_fail "$2: the pane shows: $(screen)"
		sleep 0.05
	done
}

tmux_new top 110 40 \
    "TERM=xterm-256color $SIMCTL -s $SIMD_SOCKET top --interval 0.2; echo top-exited \$?; sleep 30"
wait_screen '^-- last errors' "top draws its panels"
# (a paced cycle lasts until its last visit falls due: the first may still be under way)
wait_screen '^cycle time +last [0-9.]+ ms' "a cycle has ended"
for p in '^simd top  run [0-9T]+-[0-9a-f]+-s1  running' '^agents [0-9,]+ / 200 this cycle +cycle [0-9,]+' \
    '^-- performance' '^cycle time +last [0-9.]+ ms' '^session ms +avg [0-9.]+' '^sessions/s +[0-9.]+' \
    '^writes/s +[0-9.]+' '^cpu [0-9.-]+ %   rss [0-9.]+ MB' '^-- progress' '^cycle +\[' '^run +\[' \
    '^set-up done +users 200/200' '^-- concurrency' '^limit 50 ' '^-- errors' '^total 0' \
    '^q quit  p pause/resume  \+/- concurrency'; do
	screen | grep -Eq -- "$p" || t_fail "top lacks /$p/: $(screen)"
done
# live: the cycle moves on while top runs
c1=$(screen | sed -n 's/.*cycle \([0-9,]*\) of.*/\1/p; s/^agents .* cycle \([0-9,]*\)$/\1/p' | head -n 1)
[ -n "$c1" ] || c1=$(screen | sed -n 's/^agents .*this cycle *cycle \([0-9,]*\).*/\1/p')
[ -n "$c1" ] || t_fail "no cycle number on the screen: $(screen)"
_i=0
while c2=$(screen | sed -n 's/^agents .*this cycle *cycle \([0-9,]*\).*/\1/p') && [ "$c2" = "$c1" ]; do
	_i=$((_i + 1)); [ $_i -lt 400 ] || t_fail "the screen stays at cycle $c1"; sleep 0.05
done
# colour on a terminal: the state is green
screen -e | grep -q "$(printf '\033')\[32mrunning" || t_fail "no colour on a terminal: $(screen -e | head -n 2)"
# a resize redraws at the new width
$TM resize-window -t top -x 70 -y 30
_i=0
while [ "$(screen | grep -- '^-- performance' | awk '{ print length($0) }')" != 70 ]; do
	_i=$((_i + 1)); [ $_i -lt 200 ] || t_fail "no redraw at 70 columns: $(screen | head -n 4)"; sleep 0.05
done

# + raises the limit (50 -> 55), - lowers it again
$TM send-keys -t top +
_i=0
while [ "$(t_status_field limit)" != 55 ]; do
	_i=$((_i + 1)); [ $_i -lt 200 ] || t_fail "+ did not raise the limit: $(t_status_field limit)"; sleep 0.05
done
wait_screen '^limit 55 ' "top shows the new limit"
$TM send-keys -t top -
_i=0
while [ "$(t_status_field limit)" != 50 ]; do
	_i=$((_i + 1)); [ $_i -lt 200 ] || t_fail "- did not lower the limit"; sleep 0.05
done
# p pauses, p again resumes
$TM send-keys -t top p
_i=0
while ! t_ctl status | grep -Eq 'state: +paused'; do
	_i=$((_i + 1)); [ $_i -lt 200 ] || t_fail "p did not pause"; sleep 0.05
done
wait_screen 'paused' "top shows the pause"
$TM send-keys -t top p
_i=0
while ! t_ctl status | grep -Eq 'state: +running'; do
	_i=$((_i + 1)); [ $_i -lt 200 ] || t_fail "p did not resume"; sleep 0.05
done
# q quits, exit status 0, the terminal left as it was (the alternate screen gone)
$TM send-keys -t top q
wait_screen '^top-exited 0' "q quits top with status 0"
$TM kill-session -t top

# NO_COLOR: the same screen without a colour
tmux_new top 110 40 \
    "NO_COLOR=1 TERM=xterm-256color $SIMCTL -s $SIMD_SOCKET top; sleep 30"
wait_screen '^-- last errors' "top draws with NO_COLOR"
screen -e | grep -q "$(printf '\033')\[3[0-9]m" && t_fail "NO_COLOR still colours"
$TM kill-session -t top

# start --wait on a terminal draws a progress bar on stderr, and clears it
t_ctl stop --wait >/dev/null
tmux_new top 110 10 \
    "$SIMCTL -s $SIMD_SOCKET start --agents 100 --cycles 12 --time-scale 14400 --wait >$T/wait.out; echo wait-exited \$?; sleep 30"
wait_screen '^\[[#.]+\] +[0-9]+ %  cycle [0-9]+/12  eta' "start --wait draws a bar"
wait_screen '^wait-exited 0' "start --wait ends"
t_expect_match "$(cat "$T/wait.out")" 'state: +finished' "start --wait still prints the final status"
t_stop_simd || t_fail "simd exit status"
