# pgbouncer.sh - the PostgreSQL store through a real pgbouncer (Debian's package, started
# here as an unprivileged user on loopback): in transaction mode with pg_prepared = no, and in
# session mode, the rows are those of a direct run for the same seed, no session is lost or
# left half-written; pg_prepared = yes behind a transaction pooler fails naming the key.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] ||
    { echo "no pgbouncer for this test (sh packaging/deps.sh installs it)"; exit 77; }
t_setup
t_conf "seed = 11" "checkpoint_interval = 86400"
run="--agents 300 --all-shop --cycles 2 --time-scale 0 --max-concurrent 64"

# sessions in the database, and those not ended (half-written)
sessions() {
	_pg_admin -At -d "$1" -c "SELECT count(*) FROM shopping_sessions"
}
open_sessions() {
	_pg_admin -At -d "$1" -c "SELECT count(*) FROM shopping_sessions
	    WHERE outcome IS NULL OR ended_at IS NULL"
}
run_and_check() {	# database label
	out=$(t_ctl --json start $run --wait | tr -d ' \n') || t_fail "$2: start --wait: $out"
	t_expect_match "$out" '"state":"finished"' "$2: finished"
	t_expect_match "$out" '"errors":0' "$2: no errors"
	n=$(printf '%s' "$out" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
	t_expect_eq "$(sessions "$1")" "$n" "$2: every session landed"
	t_expect_eq "$(open_sessions "$1")" 0 "$2: no session half-written"
}

# the reference: straight to the server
url=$(t_pg_db simd_direct)
t_conf "database_url = $url"
t_start_simd
run_and_check simd_direct direct
ref=$(t_pg_digest simd_direct)
t_stop_simd || t_fail "exit"

# transaction pooling: 16 client connections share 4 server connections
pg_bouncer_start transaction 4 || t_fail "cannot start pgbouncer"
_pg_admin -d postgres -c "CREATE DATABASE simd_tx" >/dev/null
t_conf "database_url = $(pg_bouncer_url simd_tx)" "pg_prepared = no" "pool_size = 16" \
    "pool_max = 16" "max_overflow = 0"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
run_and_check simd_tx "transaction pooler"
t_expect_eq "$(t_pg_digest simd_tx)" "$ref" "transaction pooler: the direct run's digest"
t_stop_simd || t_fail "exit"
# a second start migrates again through the pooler: no advisory lock was left behind
t_start_simd
t_expect_match "$(t_ctl status)" 'store: +postgres' "restart through the pooler"
t_stop_simd || t_fail "exit"

# pg_prepared = yes behind it: the server's error says what to set
_pg_admin -d postgres -c "CREATE DATABASE simd_txbad" >/dev/null
t_conf "database_url = $(pg_bouncer_url simd_txbad)" "pg_prepared = yes" "retry_window = 1"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
t_ctl start --agents 50 --all-shop --cycles 1 --time-scale 0 >/dev/null
t_wait_end 120
grep -q 'pg_prepared = no' "$T/simd.log" ||
    t_fail "no hint at pg_prepared in the log: $(grep -i prepared "$T/simd.log" | head -n 3)"
t_stop_simd || t_fail "exit"
pg_bouncer_stop

# session pooling keeps prepared statements: the same rows
pg_bouncer_start session 12 || t_fail "cannot start pgbouncer (session mode)"
_pg_admin -d postgres -c "CREATE DATABASE simd_sess" >/dev/null
t_conf "database_url = $(pg_bouncer_url simd_sess)" "pg_prepared = yes" "retry_window = 60" \
    "pool_size = 10" "pool_max = 10"
rm -rf "$DATA"; mkdir "$DATA"
t_start_simd
run_and_check simd_sess "session pooler"
t_expect_eq "$(t_pg_digest simd_sess)" "$ref" "session pooler: the direct run's digest"
t_stop_simd || t_fail "exit"
