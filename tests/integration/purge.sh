# purge.sh - simctl purge deletes one seed's rows, in batches, on both stores: the other seed's
# digest is unchanged, its coupon redemptions are undone, its checkpoints go with
# --checkpoints; refused while that seed's run is active; a start waits for it; a purge cut
# short by a shutdown finishes when run again.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "checkpoint_interval = 86400"

# rows of prefix $1 in every keyed table: "orders events sessions items interactions coupons"
rows_sq() {
	sqlite3 "$DATA/shop.db" "SELECT (SELECT count(*) FROM orders WHERE idem_key LIKE '$1%')
	    || ' ' || (SELECT count(*) FROM shopping_session_events WHERE event_key LIKE '$1%')
	    || ' ' || (SELECT count(*) FROM shopping_sessions WHERE session_key LIKE '$1%')
	    || ' ' || (SELECT count(*) FROM order_items WHERE order_id IN
		(SELECT id FROM orders WHERE idem_key LIKE '$1%'))
	    || ' ' || (SELECT count(*) FROM interactions WHERE interaction_key LIKE '$1%')
	    || ' ' || (SELECT count(*) FROM user_coupons WHERE order_key LIKE '$1%')"
}
rows_pg() {
	_pg_admin -At -d simd_purge -c "SELECT (SELECT count(*) FROM orders
	    WHERE idem_key LIKE '$1%') || ' ' || (SELECT count(*) FROM shopping_session_events
	    WHERE event_key LIKE '$1%') || ' ' || (SELECT count(*) FROM shopping_sessions
	    WHERE session_key LIKE '$1%') || ' ' || (SELECT count(*) FROM order_items WHERE
	    order_id IN (SELECT id FROM orders WHERE idem_key LIKE '$1%')) || ' ' ||
	    (SELECT count(*) FROM interactions WHERE interaction_key LIKE '$1%') || ' ' ||
	    (SELECT count(*) FROM user_coupons WHERE order_key LIKE '$1%')"
}
field() { # field N of a rows line
	printf '%s\n' "$1" | cut -d' ' -f"$2"
}
run() { # seed
	t_ctl start --agents 40 --all-shop --cycles 6 --time-scale 0 --seed "$1" --wait \
	    >/dev/null || t_fail "run of seed $1"
}

exercise() { # driver: sq or pg; digest command
	drv=$1 digest=$2
	run 8
	ref=$($digest)
	run 7
	before=$(rows_$drv s7:)
	[ "$(field "$before" 1)" -gt 0 ] && [ "$(field "$before" 2)" -gt 100 ] ||
	    t_fail "$drv: seed 7 wrote too little to purge: $before"
	[ "$(field "$before" 6)" -gt 0 ] || t_fail "$drv: seed 7 redeemed no coupon: $before"

	# refused while seed 7's run is active; another seed's purge (dry run) is allowed
	t_ctl start --agents 40 --cycles 0 --time-scale 1 --seed 7 >/dev/null
	if out=$(t_ctl purge --seed 7 2>&1); then t_fail "$drv: purge during its run"; fi
	t_expect_match "$out" 'is active: stop it first' "$drv: refused during its run"
	t_ctl purge --run "20260101T000000-0000-s8" --dry-run >/dev/null ||
	    t_fail "$drv: a dry run of another seed during the run"
	t_ctl stop --wait >/dev/null
	before=$(rows_$drv s7:)

	# the dry run counts, deletes nothing
	out=$(t_ctl --json purge --seed 7 --dry-run | tr -d ' \n')
	t_expect_match "$out" "\"orders\":$(field "$before" 1)," "$drv: dry run counts orders"
	t_expect_match "$out" "\"shopping_session_events\":$(field "$before" 2)," \
	    "$drv: dry run counts events"
	t_expect_match "$out" "\"user_coupons\":$(field "$before" 6)," \
	    "$drv: dry run counts redemptions"
	t_expect_eq "$(rows_$drv s7:)" "$before" "$drv: a dry run deletes nothing"

	# interrupted: one row a batch, a pause between batches; SIGTERM once some are gone
	t_ctl purge --seed 7 --batch 1 --pause 0.05 >"$T/purge.out" 2>&1 &
	bg=$!
	i=0
	while [ "$(field "$(rows_$drv s7:)" 1)" -eq "$(field "$before" 1)" ]; do
		i=$((i + 1))
		[ $i -lt 1200 ] || t_fail "$drv: the purge deleted nothing in 120 s"
		sleep 0.1
	done
	if out=$(t_ctl start --agents 5 --cycles 1 --time-scale 0 2>&1); then
		t_fail "$drv: a start during a purge"
	fi
	t_expect_match "$out" 'a purge is under way' "$drv: start refused during a purge"
	t_stop_simd || t_fail "$drv: exit after an interrupted purge"
	rc=0
	wait "$bg" || rc=$?
	t_expect_eq "$rc" 1 "$drv: the interrupted purge's simctl"
	t_expect_match "$(cat "$T/purge.out")" 'interrupted .*run it again' \
	    "$drv: the interruption said"
	mid=$(rows_$drv s7:)
	[ "$(field "$mid" 2)" -gt 0 ] || t_fail "$drv: the purge was not interrupted: $mid"
	t_start_simd

	# run again: it finishes; seed 8's digest is what it was before seed 7 ran
	out=$(t_ctl purge --seed 7 --checkpoints) || t_fail "$drv: purge: $out"
	t_expect_match "$out" 'shopping_sessions +[0-9]+ -> 0' "$drv: sessions purged"
	t_expect_match "$out" 'checkpoints +[1-9][0-9]* removed' "$drv: checkpoints removed"
	t_expect_eq "$(rows_$drv s7:)" "0 0 0 0 0 0" "$drv: no row of seed 7 left"
	t_expect_eq "$($digest)" "$ref" "$drv: seed 8's digest unchanged"
	[ "$(field "$(rows_$drv s8:)" 2)" -gt 100 ] || t_fail "$drv: seed 8's rows went too"
	t_ctl checkpoints | grep -q -- '-s7$' && t_fail "$drv: a checkpoint of seed 7 is left"
	t_ctl checkpoints | grep -q -- '-s8$' || t_fail "$drv: seed 8's checkpoints went too"
	out=$(t_ctl purge --seed 7)
	t_expect_match "$out" 'shopping_session_events +0 -> 0' "$drv: a second purge finds nothing"
	echo "$drv: seed 7 before $before, cut short at $mid, then none"
}

t_start_simd
exercise sq "t_digest $DATA/shop.db"
t_stop_simd || t_fail "exit"

if [ -n "${PG_URL:-}" ] && [ -n "${PG_DIR:-}" ]; then
	t_pg_need
	t_conf "database_url = $(t_pg_db simd_purge)"
	rm -rf "$DATA"
	mkdir "$DATA"
	t_start_simd
	exercise pg "t_pg_digest simd_purge"
	t_stop_simd || t_fail "exit"
else
	echo "no PostgreSQL server: the PostgreSQL half skipped"
fi

# bad requests
t_start_simd
if t_ctl purge --seed 1 --run x-s1 >/dev/null 2>&1; then t_fail "seed and run together"; fi
if t_ctl purge >/dev/null 2>&1; then t_fail "purge of nothing"; fi
if out=$(t_ctl purge --run nonsense 2>&1); then t_fail "a run id without a seed"; fi
t_expect_match "$out" 'must be a run id' "bad run id said"
t_stop_simd || t_fail "exit"
