# cluster_ctl.sh - one run, one clock (cluster = on, README "More than one machine"): three
# members run the three shards of a paced run.  With one member stopped (SIGSTOP, well within
# its lease) the others go at most cluster_max_skew cycles past its shard and wait there; pause,
# resume, set-concurrency and stop sent to one member reach every member's shard.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
TTL=10 # the SIGSTOP below lasts 3 s: nobody takes the stopped member's shard
. "$TOP/tests/lib/cluster.sh"
# cycles of 0.5 s (60 simulated minutes at 7200x), more than the test needs: it is stopped
RUN='--agents 90 --cycles 400 --time-scale 7200 --max-concurrent 4'
DB=simd_cluster_ctl
start_members $DB
"$SIMCTL" -s "$T/m0.sock" start --shards 3 $RUN >/dev/null || t_fail "start --shards"
t_wait_for "[ \"\$(q $DB \"SELECT count(*) FROM simd_shards WHERE state = 'held' AND cycle >= 2\")\" = 3 ]" 60
# the cycles of the shards as simd_shards has them: "min max" of the others than shard 0
cycles() {
	q $DB "SELECT (SELECT cycle FROM simd_shards WHERE shard = 0) || ' ' ||
	    (SELECT max(cycle) FROM simd_shards WHERE shard <> 0)"
}

# ---- cluster_max_skew 1: shard 0's member stopped, the others wait for it ----
p0=$(member_pid $DB 0)
[ -n "$p0" ] || t_fail "shard 0 has no holder among the members"
kill -STOP "$p0"
worst=0
i=0
while [ $i -lt 15 ]; do # 3 s: six cycles the others would run without the gate
	set -- $(cycles)
	d=$(($2 - $1))
	[ $d -le $worst ] || worst=$d
	sleep 0.2
	i=$((i + 1))
done
kill -CONT "$p0"
set -- $(cycles)
echo "skew: shard 0 stopped at cycle $1 for 3 s; the others reached cycle $2 (at most $worst ahead)"
t_within "cycles the others ran ahead of the stopped shard" "$worst" 1 2
t_wait_for "[ \"\$(q $DB 'SELECT min(cycle) FROM simd_shards')\" -ge $(($2 + 2)) ]" 60

# ---- pause from m1 reaches all; resume from m2 ----
out=$("$SIMCTL" -s "$T/m1.sock" pause) || t_fail "pause: $out"
for i in 0 1 2; do
	t_wait_for "\"$SIMCTL\" -s $T/m$i.sock status | grep -Eq 'state: +paused'" 30
done
t_expect_eq "$(run_state $DB)" paused "simd_runs.state after pause"
c1=$(q $DB "SELECT sum(cycle) FROM simd_shards")
sleep 1.5 # three cycles' time: nothing moves
t_expect_eq "$(q $DB "SELECT sum(cycle) FROM simd_shards")" "$c1" "cycles while paused"
"$SIMCTL" -s "$T/m2.sock" resume >/dev/null || t_fail "resume"
for i in 0 1 2; do
	t_wait_for "\"$SIMCTL\" -s $T/m$i.sock status | grep -Eq 'state: +running'" 30
done
t_wait_for "[ \"\$(q $DB 'SELECT sum(cycle) FROM simd_shards')\" -gt $c1 ]" 30
echo "pause from m1 and resume from m2 reached the three members"

# ---- set-concurrency from m0 ----
"$SIMCTL" -s "$T/m0.sock" set-concurrency 3 >/dev/null || t_fail "set-concurrency"
for i in 0 1 2; do
	t_wait_for "[ \"\$(\"$SIMCTL\" -s $T/m$i.sock --json status | jq .concurrency.limit)\" = 3 ]" 30
done
t_expect_eq "$(q $DB 'SELECT concurrency FROM simd_runs')" 3 "simd_runs.concurrency"

# ---- stop from m2 reaches all ----
"$SIMCTL" -s "$T/m2.sock" stop >/dev/null || t_fail "stop"
for i in 0 1 2; do
	t_wait_for "\"$SIMCTL\" -s $T/m$i.sock status | grep -Eq 'state: +finished'" 30
done
t_expect_eq "$(run_state $DB)" stopped "simd_runs.state after stop"
t_wait_for "[ \"\$(q $DB \"SELECT count(*) FROM simd_shards WHERE state = 'free'\")\" = 3 ]" 30
sleep 1 # a heartbeat or two: nobody claims a shard of a stopped run
t_expect_eq "$(q $DB "SELECT count(*) FROM simd_shards WHERE state = 'free'")" 3 \
    "the stopped run's shards stay free"
echo "stop from m2 stopped the three members' shards"
t_members_stop
