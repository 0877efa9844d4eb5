# concurrency.sh - pause/resume and set-concurrency while running; in_flight never over the limit.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_start_simd

# cycles 0: the run lasts until it is stopped, however fast the machine
t_ctl start --agents 3000 --all-shop --cycles 0 --time-scale 0 --max-concurrent 5 >/dev/null
over() {	# limit samples
	n=0
	while [ "$n" -lt "$2" ]; do
		f=$(t_ctl --json status | tr -d ' \n')
		in=$(printf '%s' "$f" | sed -n 's/.*"in_flight":\([0-9]*\).*/\1/p')
		lim=$(printf '%s' "$f" | sed -n 's/.*"limit":\([0-9]*\).*/\1/p')
		[ "$lim" -eq "$1" ] || t_fail "limit is $lim, expected $1"
		[ "$in" -le "$1" ] || t_fail "in_flight $in above the limit $1"
		n=$((n + 1))
	done
}
over 5 15
t_expect_match "$(t_ctl set-concurrency 2)" "^limit: 2$" "set-concurrency answer"
sleep 0.2
over 2 15
t_ctl set-concurrency 40 >/dev/null
sleep 0.2
over 40 10
s1=$(t_status_field sessions)
sleep 0.3
s2=$(t_status_field sessions)
[ "$s2" -gt "$s1" ] || t_fail "sessions do not advance while running ($s1 -> $s2)"

# pause: in-flight sessions finish, nothing new starts
t_expect_match "$(t_ctl pause)" 'state: paused' "pause answer"
sleep 0.3
t_expect_match "$(t_ctl status)" 'state: +paused' "paused state"
t_expect_eq "$(t_status_field in_flight)" 0 "in flight drained while paused"
p1=$(t_status_field sessions)
sleep 0.5
p2=$(t_status_field sessions)
t_expect_eq "$p2" "$p1" "no new sessions while paused"
rc=0; t_ctl pause 2>/dev/null || rc=$?
t_expect_eq "$rc" 1 "pausing twice is an error"
t_ctl set-concurrency 3 >/dev/null
t_expect_match "$(t_ctl resume)" 'state: running' "resume answer"
sleep 0.3
p3=$(t_status_field sessions)
[ "$p3" -gt "$p2" ] || t_fail "no progress after resume"
over 3 10
out=$(t_ctl --json stop --wait)
t_expect_match "$out" '"state": "finished"' "stopped"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
