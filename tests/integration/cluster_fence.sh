# cluster_fence.sh - fencing (cluster = on, README "More than one machine"): the member holding
# a shard is stopped with SIGSTOP past its lease, another member takes the shard over from its
# checkpoint, then the stopped one continues (SIGCONT).  Every write it tries after the takeover
# is refused by simd_fence() in the write's own transaction: its run fails "fenced: ...", and
# the rows are still exactly those of one daemon's run.  Paced so that the pause lands mid-run.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
TTL=2
. "$TOP/tests/lib/cluster.sh"
# 16 cycles of 0.5 s (60 simulated minutes at 7200x), every agent shopping in each: a shard
# has sessions in flight at any moment, so the stopped member has writes to try when it goes on
RUN='--agents 240 --all-shop --cycles 16 --time-scale 7200 --max-concurrent 8'
printf 'seed = 31\ncheckpoint_interval = 1\n' >>"$T/simd.conf"
t_pg_ref simd_fence_ref $RUN

DB=simd_fence
start_members $DB
# two shards for three members: one is idle, to take over
"$SIMCTL" -s "$T/m0.sock" start --shards 2 $RUN >/dev/null || t_fail "start --shards"
t_wait_for "[ \"\$(q $DB \"SELECT count(*) FROM simd_checkpoints WHERE shard = 1 AND cycle >= 4\")\" -ge 1 ]" 60
victim=$(q $DB "SELECT holder FROM simd_shards WHERE shard = 1 AND state = 'held'")
vpid=$(member_pid $DB 1)
[ -n "$vpid" ] || t_fail "shard 1 is not held by one of the members"
kill -STOP "$vpid"
t0=$(date +%s.%N)
# past its lease: another member holds shard 1 at the next generation
t_wait_for "[ -n \"\$(q $DB \"SELECT holder FROM simd_shards WHERE shard = 1 AND holder <> '$victim'\")\" ]" 60
t1=$(date +%s.%N)
taker=$(q $DB "SELECT holder FROM simd_shards WHERE shard = 1")
kill -CONT "$vpid"
# the stopped member finds itself fenced: its run fails, it wrote nothing for the shard
t_wait_for "\"$SIMCTL\" -s $T/$victim.sock status | grep -Eq 'state: +(failed|finished)'" 60
st=$("$SIMCTL" -s "$T/$victim.sock" status)
t_expect_match "$st" "state: +failed: fenced: " "$victim's run after SIGCONT"
wait_finished $DB
t_expect_eq "$(t_pg_digest $DB)" "$ref" "rows of the cluster's run = rows of one daemon, after the fence"
t_expect_eq "$(q $DB "SELECT count(*) FROM shopping_sessions WHERE outcome IS NULL")" 0 \
    "no session left without an outcome"
shard_claims $DB 1 1 # the stopped member's own stop
t_expect_eq "$(q $DB "SELECT holder <> '$victim' FROM simd_shards WHERE shard = 1")" t \
    "shard 1 done by another member than the stopped one"
echo "(c) $victim stopped (SIGSTOP) with shard 1: $taker took it over" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s later (lease_ttl $TTL s);" \
    "after SIGCONT $victim's run failed: $(printf '%s\n' "$st" | sed -n 's/^state: *failed: //p')"
grep -q 'fenced' "$T/$victim.log" || t_fail "$victim's log says nothing of the fence"
t_members_stop
