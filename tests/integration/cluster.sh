# cluster.sh - dynamic shards with failover (README "More than one machine", cluster = on):
# three daemons on their own sockets and data dirs share one run through one PostgreSQL.
# (a) a run started with --shards 3 on one member is claimed by the members and writes exactly
# the rows of the unsharded run; (b) kill -9 of a member holding a shard mid-run: another member
# takes the shard over from its newest checkpoint in simd_checkpoints within lease_ttl and a
# checkpoint interval, the run finishes, the rows are the same; (d) the members share
# cluster_pool_max: pg_stat_activity never shows more of their connections than it, and a
# budget too small for its members is logged.  The runs are paced (time_scale) so that they
# outlast the kill on any machine; every wait is on an event, with room to spare.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
. "$TOP/tests/lib/cluster.sh"
TTL=2
# 24 cycles of 60 simulated minutes at 7200x: 0.5 s each, 12 s a run
RUN='--agents 150 --cycles 24 --time-scale 7200 --max-concurrent 8'
printf 'seed = 31\ncheckpoint_interval = 1\n' >>"$T/simd.conf"

# cluster = on needs PostgreSQL: said plainly, also by simd -n
printf 'cluster = on\n' | cat "$T/simd.conf" - >"$T/bad.conf"
out=$("$SIMD" -n -c "$T/bad.conf" 2>&1) && t_fail "simd -n took cluster = on without a database"
t_expect_match "$out" "cluster = on: .*database_url" "cluster = on without database_url"

# --shards without cluster = on, and with --shard, are refused
t_start_simd
out=$(t_ctl start --shards 3 $RUN 2>&1) && t_fail "--shards without cluster = on was taken"
t_expect_match "$out" "--shards needs cluster = on" "--shards without cluster = on"
out=$(t_ctl start --shards 3 --shard 0/3 $RUN 2>&1) && t_fail "--shards with --shard was taken"
t_expect_match "$out" '"shards" .*"shard"' "--shards with --shard"
t_stop_simd || t_fail "exit"

# the reference: one daemon, the whole population, no cluster
t_pg_ref simd_cluster_ref $RUN

check_rows() {	# DB WHY
	t_expect_eq "$(t_pg_digest "$1")" "$ref" "rows of the cluster's run = rows of one daemon, $2"
	t_expect_eq "$(q "$1" "SELECT count(*) FROM shopping_sessions WHERE outcome IS NULL")" 0 \
	    "no session left without an outcome, $2"
	t_expect_eq "$(q "$1" "SELECT count(*) FROM simd_shards WHERE state <> 'done'")" 0 \
	    "every shard done, $2"
}

# ---- (a) three members, one run of three shards ----
start_members simd_cluster_a
sample simd_cluster_a &
sampler=$!
# --wait: simctl answers once the cluster's run has ended
"$SIMCTL" -s "$T/m1.sock" start --shards 3 $RUN --wait >"$T/a.out" 2>&1 &
waiter=$!
# the members claim the shards: each is held, and status shows the cluster
t_wait_for "[ \"\$(q simd_cluster_a \"SELECT count(*) FROM simd_shards WHERE state <> 'free'\")\" = 3 ]" 60
st=$("$SIMCTL" -s "$T/m2.sock" --json status)
t_expect_eq "$(printf '%s' "$st" | jq -r '.cluster.member')" m2 "status.cluster.member"
t_expect_eq "$(printf '%s' "$st" | jq -r '.cluster.shards_total')" 3 "status.cluster.shards_total"
t_expect_eq "$(printf '%s' "$st" | jq -r '.cluster.members | length')" 3 "status.cluster.members"
st=$("$SIMCTL" -s "$T/m0.sock" status)
t_expect_match "$st" "cluster: +member m0, connected, pool cap 3, holding shard [0-2]" "status"
t_expect_match "$st" "member m2: heartbeat [0-9.]+ s ago, pool cap 3" "status's members"
wait "$waiter" || t_fail "start --shards --wait: $(cat "$T/a.out")"
t_expect_match "$(cat "$T/a.out")" "the cluster's run .* of 3 shards: finished" "start --wait"
t_expect_eq "$(run_state simd_cluster_a)" finished "the run's state after start --wait"
touch "$T/stop"
wait "$sampler"
check_rows simd_cluster_a "three members"
peak=$(sort -n "$T/conns" | tail -n 1)
echo "(d) cluster_pool_max $BUDGET: at most $peak connections of the members in" \
    "pg_stat_activity over $(wc -l <"$T/conns") samples"
t_within "the members' connections" "$peak" 4 "$BUDGET"
holders=$(q simd_cluster_a "SELECT count(DISTINCT holder) FROM simd_shards")
echo "(a) 3 shards run by $holders members: same digest as one daemon"
t_wait_for "\"$SIMCTL\" -s $T/m0.sock status | grep -q 'run .*: finished'" 30
t_members_stop

# ---- (b) kill -9 of the member holding a shard, mid-run ----
start_members simd_cluster_b
# two shards for three members: one is idle, to take over
out=$("$SIMCTL" -s "$T/m0.sock" start --shards 2 $RUN) || t_fail "start --shards (b): $out"
t_expect_match "$out" "recorded run .* in 2 shards" "start --shards answers"
# shard 1's holder has run a few cycles and copied a checkpoint
t_wait_for "[ \"\$(q simd_cluster_b \"SELECT count(*) FROM simd_checkpoints WHERE shard = 1 AND cycle >= 4\")\" -ge 1 ]" 60
victim=$(q simd_cluster_b "SELECT holder FROM simd_shards WHERE shard = 1 AND state = 'held'")
vpid=$(member_pid simd_cluster_b 1)
[ -n "$vpid" ] || t_fail "shard 1 is not held by one of the members at cycle 4"
cyc=$(q simd_cluster_b "SELECT cycle FROM simd_shards WHERE shard = 1")
t0=$(date +%s.%N)
kill -KILL "$vpid"
wait "$vpid" 2>/dev/null || true
T_MEMBERS=$(echo "$T_MEMBERS" | tr ' ' '\n' | grep -vx "$vpid" | tr '\n' ' ')
t_wait_for "[ -n \"\$(q simd_cluster_b \"SELECT holder FROM simd_shards WHERE shard = 1 AND holder <> '$victim'\")\" ]" 60
t1=$(date +%s.%N)
taker=$(q simd_cluster_b "SELECT holder FROM simd_shards WHERE shard = 1")
server=$(q simd_cluster_b "SELECT round(extract(epoch FROM s.claimed_at - m.heartbeat)::numeric, 2)
    FROM simd_shards s, simd_members m WHERE s.shard = 1 AND m.member = '$victim'")
wait_finished simd_cluster_b
check_rows simd_cluster_b "after the kill"
echo "(b) kill -9 of $victim (shard 1 at cycle $cyc): $taker took it over" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s after the kill" \
    "($server s after its last heartbeat; lease_ttl $TTL s, checkpoint_interval 1 s);" \
    "the run finished with the same digest"
shard_claims simd_cluster_b 1 0
t_members_stop

# ---- a budget too small for its members: said in the log, not kept silently ----
_url=$(t_pg_db simd_cluster_e)
for i in 0 1 2; do
	rm -rf "$T/m$i"
	mkdir "$T/m$i"
	printf '%s\n' "data_dir = $T/m$i" "socket = $T/m$i.sock" "database_url = $_url" \
	    "cluster = on" "cluster_member = m$i" "lease_ttl = $TTL" "cluster_pool_max = 4" \
	    >"$T/m$i.conf"
	: >"$T/m$i.log"
	t_member_start m$i
done
# three live members need 6 connections: each says so once it sees the others
for i in 0 1 2; do
	t_wait_for "grep -q 'leave no share of cluster_pool_max 4 .* the cluster may open 6' $T/m$i.log" 30
done
echo "(d) cluster_pool_max 4 for 3 members: each warned that the cluster may open 6"
t_members_stop
