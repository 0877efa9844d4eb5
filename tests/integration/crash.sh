# crash.sh - kill -9 at random moments, resume each time: the rows converge exactly to those of
# a run that was never interrupted (DESIGN.md 3.3, 3.4, 7).
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 11" "checkpoint_interval = 0.25"
ARGS="--agents 1000 --cycles 20 --all-shop --time-scale 0 --max-concurrent 32"

# the reference: one uninterrupted run
t_start_simd
t_ctl start $ARGS --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
ref_orders=$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")
t_stop_simd || t_fail "exit"
[ "$ref_orders" -gt 0 ] || t_fail "reference run made no orders"

# the same run, killed with SIGKILL at least five times
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start $ARGS >/dev/null
kills=0
while [ $kills -lt 5 ]; do
	# 0.4 .. 1.2 s into each life
	sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.4 + (r % 80) / 100 }')"
	state=$(t_ctl status | sed -n 's/^state: *//p')
	[ "$state" = running ] || break
	kill -KILL "$SIMD_PID"
	wait "$SIMD_PID" 2>/dev/null || true
	SIMD_PID=
	kills=$((kills + 1))
	t_start_simd
	t_ctl start --resume >/dev/null || t_fail "resume after kill $kills"
done
[ $kills -ge 5 ] || t_fail "the run ended after only $kills kills: make it longer"
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +finished' "resumed run finished"
t_expect_match "$(t_ctl --json status)" '"cycle": 20' "all cycles ran"
got=$(t_digest "$DATA/shop.db")
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")" "$ref_orders" "order count"
t_expect_eq "$got" "$ref" "digest after $kills kills and resumes"
t_stop_simd || t_fail "exit"
