# shards.sh - static shards (README "More than one machine"): three daemons on their own
# sockets and data dirs, started at once with shards 0/3, 1/3 and 2/3 of one run against one
# PostgreSQL database, write together exactly the rows of the unsharded run (DESIGN.md 3.3);
# their concurrent set-up (migrations, users, catalogue) is safe.  Bad shards are refused
# naming the flag, key or variable; the SQLite store refuses shards.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
RUN='--agents 240 --cycles 30 --time-scale 0 --max-concurrent 16'
printf 'seed = 29\ncheckpoint_interval = 0\n' >>"$T/simd.conf"

# bad values, from each source, name it
out=$(printf 'shard = garbage\n' | cat "$T/simd.conf" - >"$T/bad.conf"
    "$SIMD" -f -c "$T/bad.conf" </dev/null 2>&1 || true)
t_expect_match "$out" "shard: must be I/N" "shard = garbage"
out=$(SIMD_SHARD=0/0 "$SIMD" -f -c "$T/simd.conf" </dev/null 2>&1 || true)
t_expect_match "$out" "SIMD_SHARD: shard: must be I/N with 0 <= I < N" "SIMD_SHARD=0/0"

# the SQLite store: each daemon's own file, no shared run
t_start_simd
for bad in 3/2 0/0 x 1/; do
	out=$(t_ctl start --shard "$bad" $RUN 2>&1) && t_fail "--shard $bad was taken"
	t_expect_match "$out" '"shard"' "--shard $bad"
done
out=$(t_ctl start --shard 1/3 $RUN 2>&1) && t_fail "a shard on SQLite was taken"
t_expect_match "$out" "shard 1/3: .*PostgreSQL" "a shard on SQLite"
t_stop_simd || t_fail "exit"

# the reference: one daemon, the whole population
t_pg_ref simd_shards_ref $RUN

# three members at once, each with its shard from another source; small pools: three
# default ones (50 connections each, warmed at start) and a test beside this one fill the
# test server's 200 connections
url=$(t_pg_db simd_shards)
for i in 0 1 2; do
	mkdir "$T/m$i"
	printf 'data_dir = %s\nsocket = %s\nadaptive = off\nseed = 29\ndatabase_url = %s\n' \
	    "$T/m$i" "$T/m$i.sock" "$url" >"$T/m$i.conf"
	printf 'pool_size = 8\npool_max = 16\n' >>"$T/m$i.conf"
	case $i in
	1) printf 'shard = 1/3\n' >>"$T/m$i.conf"; t_member_start m$i ;;
	2) t_member_start m$i SIMD_SHARD=2/3 ;;
	*) t_member_start m$i ;;
	esac
done
for i in 0 1 2; do
	t_wait_for "$SIMCTL -s $T/m$i.sock ping >/dev/null 2>&1" 30
done
# started together: their set-ups (migrations, users, catalogue) overlap
"$SIMCTL" -s "$T/m0.sock" start --shard 0/3 $RUN --wait >"$T/m0.out" 2>&1 &
w0=$!
"$SIMCTL" -s "$T/m1.sock" start $RUN --wait >"$T/m1.out" 2>&1 &
w1=$!
"$SIMCTL" -s "$T/m2.sock" start $RUN --wait >"$T/m2.out" 2>&1 &
w2=$!
wait $w0 || t_fail "shard 0/3: $(cat "$T/m0.out")"
wait $w1 || t_fail "shard 1/3: $(cat "$T/m1.out")"
wait $w2 || t_fail "shard 2/3: $(cat "$T/m2.out")"
for i in 0 1 2; do
	st=$("$SIMCTL" -s "$T/m$i.sock" status)
	t_expect_match "$st" "state: +finished" "member $i"
	t_expect_match "$st" "80 agents, shard $i/3\\)" "member $i's status"
	t_expect_eq "$("$SIMCTL" -s "$T/m$i.sock" --json status | jq -r .params.shard)" "$i/3" \
	    "member $i's status.params.shard"
done
t_expect_eq "$(t_pg_digest simd_shards)" "$ref" "the union of shards 0/3, 1/3, 2/3 = one run"
t_members_stop
