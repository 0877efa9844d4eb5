# cluster.sh - helpers of the cluster tests (tests/integration/cluster*.sh): three members of a
# cluster (cluster = on) on one PostgreSQL database.  Source it after common.sh and t_setup.
#
#	start_members DB	# m0 m1 m2 on fresh database DB, lease_ttl $TTL, cluster_pool_max
#				# $BUDGET; returns once all have joined and shared the budget
#	q DB SQL		# psql -At on DB
#	run_state DB		# simd_runs.state of DB's one run
#	wait_finished DB	# until that run is finished (fails the test if it failed)
#	sample DB		# in the background: simd's connections to DB, a line each 50 ms,
#				# into $T/conns until $T/stop exists (or the test has ended)
#	member_pid DB SHARD	# the pid of the member holding SHARD (one of $T_MEMBERS)
TTL=${TTL:-2}
BUDGET=${BUDGET:-12} # 3 members: 3 coordination connections, a pool of 3 each
start_members() {
	_url=$(t_pg_db "$1")
	for i in 0 1 2; do
		rm -rf "$T/m$i"
		mkdir "$T/m$i"
		printf '%s\n' "data_dir = $T/m$i" "socket = $T/m$i.sock" "adaptive = off" \
		    "seed = 31" "database_url = $_url" "cluster = on" "cluster_member = m$i" \
		    "lease_ttl = $TTL" "checkpoint_interval = 1" "cluster_pool_max = $BUDGET" \
		    >"$T/m$i.conf"
		t_member_start m$i
	done
	for i in 0 1 2; do
		t_wait_for "$SIMCTL -s $T/m$i.sock ping >/dev/null 2>&1" 30
	done
	# each has joined, the others see its heartbeat, and they have shared the budget
	t_wait_for "[ \"\$(q $1 'SELECT count(*) FROM simd_members
	    WHERE pool_cap = $(((BUDGET - 3) / 3))')\" = 3 ]" 30
}
sample() {
	rm -f "$T/stop" "$T/conns"
	while [ ! -e "$T/stop" ] && kill -0 $$ 2>/dev/null; do # not past the test
		q "$1" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
		    AND application_name LIKE 'simd%'" >>"$T/conns" || true
		sleep 0.05
	done
}
q() {	# DB SQL
	_pg_admin -At -d "$1" -c "$2"
}
run_state() {
	q "$1" "SELECT state FROM simd_runs"
}
# shard_claims DB SHARD STOPS: the shard was taken over (claimed twice at least).  A claim
# beyond the second is the design too when a holder's heartbeat aged past lease_ttl (a loaded
# machine: the lease is 2 s here), and the holder that lost it then says it stopped; STOPS is
# how many such lines the test makes happen anyway.  Prints the claims when there were more.
shard_claims() {
	_g=$(q "$1" "SELECT generation FROM simd_shards WHERE shard = $2")
	[ "$_g" -ge 2 ] || t_fail "shard $2 was claimed $_g time(s): not taken over"
	[ "$_g" -gt 2 ] || return 0
	_s=$(cat "$T"/m[0-2].log |
	    grep -c "cluster: shard $2 of run .* stopped: it is another member's now" || true)
	grep -h -e "cluster: claimed shard $2/" -e "cluster: shard $2 of run" "$T"/m[0-2].log >&2 || true
	[ "$_s" -ge $((_g - 2 + $3)) ] ||
	    t_fail "shard $2 was claimed $_g times, and its holders said $_s time(s) they stopped"
	echo "note: shard $2 was claimed $_g times: a holder lost its lease on the way"
}
member_logs() {
	for i in 0 1 2; do echo "--- m$i"; tail -n 25 "$T/m$i.log"; done
}
wait_finished() {	# DB
	_w=0
	until [ "$(run_state "$1")" = finished ]; do
		case $(run_state "$1") in failed) member_logs >&2; t_fail "the cluster's run failed" ;; esac
		_w=$((_w + 1))
		[ "$_w" -lt 900 ] || { member_logs >&2; t_fail "the cluster's run did not finish in 180 s"; }
		sleep 0.2
	done
}
member_pid() {
	_mp=$(q "$1" "SELECT m.pid FROM simd_shards s JOIN simd_members m ON m.member = s.holder
	    WHERE s.shard = $2 AND s.state = 'held'")
	case " $T_MEMBERS " in
	*" $_mp "*) echo "$_mp" ;;
	*) t_fail "shard $2 is held by pid '$_mp', not one of ours" ;;
	esac
}
