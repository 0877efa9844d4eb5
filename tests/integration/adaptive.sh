# adaptive.sh - the adaptive limit on the embedded store: it moves by itself, with its
# reason in status, stats and the log; set-concurrency while adaptive sets the base;
# --adaptive off freezes the limit at the set value; the CPU ceiling (simd's own CPU)
# applies.  (adaptive_pg.sh: a lock on PostgreSQL.)  Nothing here is timed: each step
# waits for what status shows, up to a generous deadline.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
# The default, on (common.sh turns it off for the other tests).  CPU and memory at 100 %
# first: the latency part is about latency alone; the CPU part sets them.
sed -i '/^adaptive = off$/d' "$T/simd.conf"
t_conf "cpu_high = 100" "cpu_low = 100" "mem_high = 100" "mem_low = 100"
t_start_simd

conc() {	# the status's concurrency object, compact
	t_ctl --json status | tr -d '\n' | sed 's/": /":/g; s/, /,/g' |
	    sed -n 's/.*"concurrency":{ *\([^}]*\)}.*/\1/p'
}
field() {	# field NAME OBJECT
	printf '%s' "$2" | sed -n "s/.*\"$1\":\([^,]*\).*/\1/p" | tr -d ' "'
}
# wait_for WHAT SHELL-CONDITION: polls status until the condition holds ($c is the
# concurrency object), for at most 120 s.
wait_for() {
	i=0
	while :; do
		c=$(conc)
		if eval "$2"; then
			return 0
		fi
		i=$((i + 1))
		[ "$i" -lt 600 ] || t_fail "$1: never happened; concurrency is {$c}"
		sleep 0.2
	done
}

c=$(conc)
t_expect_eq "$(field adaptive "$c")" true "adaptive by default"
t_expect_eq "$(field limit "$c")" 50 "idle: the limit is max_concurrent"

# Flat out, sessions on the one SQLite connection: latency grows with the sessions in
# flight, so after measuring the no-load latency the limit falls, by latency.
t_ctl start --agents 20000 --all-shop --cycles 0 --time-scale 0 >/dev/null
wait_for "the no-load latency measured" '[ "$(field no_load_latency_ms "$c")" != null ]'
wait_for "a cut by latency" 'case $(field reason "$c") in latency*) true ;; *) false ;; esac'
lim=$(field limit "$c")
[ "$lim" -lt 50 ] || t_fail "the limit did not fall: {$c}"
t_expect_eq "$(field base "$c")" 50 "the base stays"
grep -Eq 'concurrency limit [0-9]+ -> [0-9]+: latency [0-9.]+ ms vs [0-9.]+ ms' "$T/simd.log" ||
    t_fail "the cut is not logged with its reason"
st=$(t_ctl --json stats | tr -d '\n')
t_expect_match "$st" '"history": \[' "stats keep the changes"
t_expect_match "$st" '"cause": "probe"' "the probe is in the history"
t_expect_match "$st" '"cause": "latency"' "the cut is in the history"

# set-concurrency while adaptive: the base, and the limit moves there at once.
out=$(t_ctl set-concurrency 80)
t_expect_match "$out" '^limit: 80$' "set-concurrency moves the limit to the base"
t_expect_match "$out" '^adaptive: true$' "and adapting goes on"
c=$(conc)
t_expect_eq "$(field base "$c")" 80 "the base is set"
t_expect_match "$(t_ctl status)" 'adaptive from base 80' "simctl status says so"
# ... and adapts from there: the same queue makes it fall again.
wait_for "a cut from the new base" '[ "$(field limit "$c")" -lt 80 ]'

# --adaptive off freezes the limit at the value set, whatever the latency.
out=$(t_ctl set-concurrency 30 --adaptive off)
t_expect_match "$out" '^limit: 30$' "adaptive off: the limit is the value set"
t_expect_match "$out" '^adaptive: false$' "adaptive off answered"
c=$(conc)
n0=$(field changes "$c")
s0=$(t_status_field sessions)
# Enough sessions for several decisions of the controller, were it on.
i=0
while :; do
	c=$(conc)
	t_expect_eq "$(field limit "$c")" 30 "the frozen limit"
	t_expect_eq "$(field adaptive "$c")" false "still off"
	s=$(t_status_field sessions)
	[ "$s" -lt $((s0 + 20000)) ] || break
	i=$((i + 1))
	[ "$i" -lt 600 ] || t_fail "sessions do not advance ($s0 -> $s)"
	sleep 0.2
done
t_expect_eq "$(field changes "$c")" "$n0" "no change while adaptive is off"
[ "$(field latency_ms "$c")" != null ] || t_fail "latency is still measured while off: {$c}"

# On again, then the CPU ceiling, through SIGHUP.  It judges simd's own CPU (the machine's
# is other programs' too: tests/unit/platform.c shows a sample of the process spinning and
# asleep), and any run uses some: at cpu_high = 0 the limit is cut by CPU.
t_ctl set-concurrency 60 --adaptive on >/dev/null
sed -i '/^cpu_high = /d; /^cpu_low = /d' "$T/simd.conf"
t_conf "cpu_high = 0" "cpu_low = 0" "adaptive_min = 1"
kill -HUP "$SIMD_PID"
wait_for "a cut by CPU" 't_ctl --json stats | grep -q "\"cause\": \"cpu\""'
grep -Eq 'concurrency limit [0-9]+ -> [0-9]+: cpu [0-9]+ % > 0 %' "$T/simd.log" ||
    t_fail "the CPU cut is not logged with its reason"
grep -q 'reload: adaptive_min' "$T/simd.log" && t_fail "adaptive_min was not taken on SIGHUP"

out=$(t_ctl --json stop --wait)
t_expect_match "$out" '"state": "finished"' "stopped"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
