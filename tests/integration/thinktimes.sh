# thinktimes.sh - the keys of the pauses inside a session, seen in the rows' simulated
# timestamps (never wall time): checkout_median_s sets the seconds from the event before a
# checkout to the checkout, think_max_s caps every pause.  Every visit fills a cart and buys
# it, so that each run has a checkout per session; bounds are wide, the figures lognormal.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 5" "cart_rate = 1" "checkout_rate = 1" "bounce_rate = 0" "session_max_s = 86400"
cp "$T/simd.conf" "$T/base.conf"

q() {	# SQL on the run's database
	sqlite3 "$DATA/shop.db" "$1"
}
run() {	# config lines...: a run on a fresh data dir under them; its gaps in $T/gaps, $T/checkout
	rm -rf "$DATA"
	mkdir "$DATA"
	cp "$T/base.conf" "$T/simd.conf"
	t_conf "$@"
	t_start_simd
	t_ctl start --agents 200 --cycles 6 --all-shop --time-scale 0 --wait >/dev/null
	t_stop_simd || t_fail "simd exit"
	q "SELECT ty, g FROM (SELECT event_type AS ty, strftime('%s', created_at) -
	    strftime('%s', lag(created_at) OVER (PARTITION BY session_id ORDER BY created_at, id))
	    AS g FROM shopping_session_events) WHERE g IS NOT NULL ORDER BY g" >"$T/gaps"
	sed -n 's/^checkout|//p' "$T/gaps" >"$T/checkout"
	[ "$(wc -l <"$T/checkout")" -ge 1000 ] || t_fail "only $(wc -l <"$T/checkout") checkouts"
}
median() {	# of the sorted numbers in file $1
	awk '{ a[NR] = $1 } END { print a[int(NR / 2) + 1] }' "$1"
}
max_gap() {
	cut -d'|' -f2 "$T/gaps" | sort -n | tail -n 1
}

# the defaults: checkout_median_s = 75, think_max_s = 1800
run
t_within "median seconds to check out (default 75)" "$(median "$T/checkout")" 40 150
t_within "longest pause between two events (think_max_s 1800)" "$(max_gap)" 120 3600

# checkout_median_s: the checkout's own pause follows it, both ways
run "checkout_median_s = 15"
t_within "median seconds to check out (checkout_median_s = 15)" "$(median "$T/checkout")" 8 30
run "checkout_median_s = 900" "think_max_s = 86400"
t_within "median seconds to check out (checkout_median_s = 900)" "$(median "$T/checkout")" 450 1800

# think_max_s: no pause longer, the checkout's too (between two events lie a pause or two,
# as before a checkout the cart page's and the form's: 10 s; 15 leaves room for a third)
run "think_max_s = 5"
t_within "longest pause between two events (think_max_s = 5)" "$(max_gap)" 1 15
t_within "median seconds to check out (think_max_s = 5)" "$(median "$T/checkout")" 1 5
