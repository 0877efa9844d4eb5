# determinism.sh - the same seed gives the same orders and events whatever the concurrency,
# and whether or not the run was paused and resumed midway (DESIGN.md 3.3).
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 42" "agents = 372"

run() {	# name start-args...
	name=$1; shift
	rm -rf "$DATA"; mkdir "$DATA"
	t_start_simd
	t_ctl start --cycles 24 "$@" >/dev/null
}

run one --time-scale 0 --max-concurrent 1 --wait
d1=$(t_digest "$DATA/shop.db")
n1=$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM orders")
t_stop_simd || t_fail "exit"
[ "$n1" -gt 0 ] || t_fail "no orders"

run many --time-scale 0 --max-concurrent 64 --wait
d2=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"
t_expect_eq "$d2" "$d1" "digest at concurrency 64 vs 1"

# paced so that the run lasts ~2.4 s, paused for a while in the middle
run paused --time-scale 36000 --max-concurrent 8
sleep 1
t_ctl pause >/dev/null
sleep 0.5
t_ctl resume >/dev/null
t_ctl set-concurrency 3 >/dev/null
t_wait_end
d3=$(t_digest "$DATA/shop.db")
t_expect_match "$(t_ctl --json status)" '"cycle": 24' "paused run completed"
t_stop_simd || t_fail "exit"
t_expect_eq "$d3" "$d1" "digest after pause/resume vs uninterrupted"

# and the digest does notice a different seed
run other --time-scale 0 --seed 43 --wait
d4=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"
[ "$d4" != "$d1" ] || t_fail "a different seed gave the same digest"
