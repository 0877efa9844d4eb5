# adaptive_pg.sh - the adaptive limit on a real PostgreSQL, made remote by a delaying
# proxy (bench/delayproxy.c, 25 ms each way): a lock taken by another client on a table
# every session writes (LOCK TABLE ... IN ACCESS EXCLUSIVE MODE) makes the limit fall,
# and it rises again once the lock is released.  The lock is held until status shows
# the fall, however long that takes: nothing here is timed.  (Without the proxy the
# latency of a local server on a loaded machine is its CPU's, which keeps the limit near
# adaptive_min: that is right, more sessions only queue, but it leaves no room to fall.)
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_pg_db simd_adapt >/dev/null
# shellcheck disable=SC2046
cc -O2 -o "$T/delayproxy" "$TOP/bench/delayproxy.c" $(pkg-config --cflags --libs libevent) \
    >"$T/cc.log" 2>&1 || t_fail "cannot build the delaying proxy: $(cat "$T/cc.log")"
"$T/delayproxy" -d 25 0 "$PGPORT" >"$T/proxy.out" 2>&1 &
PROXY=$!
i=0
until grep -q '^port ' "$T/proxy.out"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || t_fail "the proxy did not start: $(cat "$T/proxy.out")"
	sleep 0.1
done
port=$(sed -n 's/^port //p' "$T/proxy.out")
sed -i '/^adaptive = off$/d' "$T/simd.conf"
# The machine is shared: its CPU is not this test's signal, latency is.
t_conf "database_url = postgresql://postgres@127.0.0.1:$port/simd_adapt" "cpu_high = 100" \
    "cpu_low = 100" "mem_high = 100" "mem_low = 100" "adaptive_min = 4" \
    "adaptive_max = 60" "max_concurrent = 40" "pool_size = 60" "pool_max = 60"
t_start_simd

LOCKER=
stop_locker() {
	if [ -n "$LOCKER" ]; then
		exec 3>&- || true
		wait "$LOCKER" 2>/dev/null || true
		LOCKER=
	fi
}
trap 'stop_locker; kill "$PROXY" 2>/dev/null || true; _t_cleanup' EXIT

conc() {	# the status's concurrency object, compact
	t_ctl --json status | tr -d '\n' | sed 's/": /":/g; s/, /,/g' |
	    sed -n 's/.*"concurrency":{ *\([^}]*\)}.*/\1/p'
}
field() {	# field NAME OBJECT
	printf '%s' "$2" | sed -n "s/.*\"$1\":\([^,]*\).*/\1/p" | tr -d ' "'
}
wait_for() {	# wait_for WHAT CONDITION ($c: the concurrency object), 180 s at most
	i=0
	while :; do
		c=$(conc)
		if eval "$2"; then
			return 0
		fi
		i=$((i + 1))
		[ "$i" -lt 900 ] || t_fail "$1: never happened; concurrency is {$c}"
		sleep 0.2
	done
}

t_ctl start --agents 2000 --all-shop --cycles 0 --time-scale 0 >/dev/null
wait_for "the no-load latency measured" '[ "$(field no_load_latency_ms "$c")" != null ]'
# The limit at a known place: set-concurrency moves it to the base at once.
t_ctl set-concurrency 40 >/dev/null
c=$(conc)
before=$(field limit "$c")

# Another client takes the lock and keeps it (psql reads its commands from a pipe).
mkfifo "$T/lock.in"
_pg_admin -At -d simd_adapt <"$T/lock.in" >"$T/lock.out" 2>&1 &
LOCKER=$!
exec 3>"$T/lock.in"
echo "BEGIN; LOCK TABLE shopping_sessions IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&3
i=0
until grep -q locked "$T/lock.out"; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || t_fail "the lock was never taken: $(cat "$T/lock.out")"
	sleep 0.1
done
# Nothing completes, so no sample says so: the controller sees the stall all the same.
wait_for "the limit falls under the lock" \
    'case $(field reason "$c") in stalled*) true ;; *) false ;; esac'
low=$(field limit "$c")
[ "$low" -lt "$before" ] || t_fail "a stall that did not lower the limit: {$c}"
echo "COMMIT;" >&3
stop_locker

# Released: the sessions that waited finish, latency is flat again, the limit grows.
wait_for "the limit rises after the lock" '[ "$(field limit "$c")" -gt "$low" ]'
t_expect_match "$(t_ctl --json stats | tr -d '\n')" '"reason": "stalled: ' \
    "stats keep the stall"

out=$(t_ctl --json stop --wait)
t_expect_match "$out" '"state": "finished"' "stopped"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
