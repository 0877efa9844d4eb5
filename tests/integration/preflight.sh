# preflight.sh - simd --preflight: one line per check, exit 0 / 1 / 2; a data directory that
# cannot be written fails; against a real PostgreSQL (a private one, so that nothing else
# takes its connections meanwhile): reachable with its version and TLS, the pool opened at
# full size, and too few free connections for pool_max warned about, then failed.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup

rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "preflight of the embedded store failed: $out"
t_expect_match "$out" '^ok +data_dir ' "data dir writable"
t_expect_match "$out" '^ok +checkpoint_file ' "checkpoint file writable"
t_expect_match "$out" '^(ok|warn) +disk_free +[0-9]+ MiB free' "free disk measured"
t_expect_match "$out" '^(ok|warn|fail) +memory_free .*need [0-9]+ MiB for 372 agents' \
    "free memory against the need"
t_expect_match "$out" '^ok +database +embedded ' "the embedded store"
js=$("$SIMD" -c "$T/simd.conf" --preflight --json | tr -d ' \n') || true
t_expect_match "$js" '"name":"data_dir","level":"ok"' "--json"

# a data directory that cannot be written
: >"$T/file"
rc=0
out=$("$SIMD" -c "$T/simd.conf" -d "$T/file/data" --preflight) || rc=$?
t_expect_eq "$rc" 2 "exit status of a failed preflight"
t_expect_match "$out" '^fail +data_dir .*Not a directory' "unwritable data dir fails"

t_pg_need
t_pg_own
url=$(t_pg_db simd_pre)
t_conf "database_url = $url" "pool_size = 4" "max_overflow = 0" "pool_max = 4"
rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "preflight against PostgreSQL failed: $out"
t_expect_match "$out" '^ok +database +127.0.0.1:[0-9]+/simd_pre: PostgreSQL [0-9.]+, TLS off' \
    "reachable, version, TLS"
t_expect_match "$out" '^ok +connections +[0-9]+ free of max_connections' "room for the pool"
t_expect_match "$out" '^ok +pool_full +4 opened in .* and released' "the pool at full size"
t_expect_match "$out" '^ok +clock_skew ' "clock skew"
t_expect_match "$out" '^ok +database_size ' "database size"

# free connections: what the server says, less the one preflight itself holds
free=$(_pg_admin -At -d postgres -c "SELECT current_setting('max_connections')::int
    - current_setting('superuser_reserved_connections')::int
    - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') + 1")
# The count moves while other clients of the server come and go (backends of earlier tests
# closing): a margin each way, and no exact count matched.
[ "$free" -gt 60 ] || t_fail "the test server has only $free free connections"
warn_max=$((free - 5))
t_conf "pool_max = $warn_max" "pool_size = $warn_max"
rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
t_expect_match "$out" "^warn +connections +[0-9]+ free .*pool_max $warn_max" \
    "pool_max within 10 % of the free connections warns"
[ "$rc" -ge 1 ] || t_fail "a warning exits 1 at least"
t_conf "pool_max = $((free + 20))" "pool_size = 4"
rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
t_expect_eq "$rc" 2 "exit status with too few connections"
t_expect_match "$out" "^fail +connections +[0-9]+ free .*pool_max $((free + 20))" \
    "pool_max above the free connections fails"
if printf '%s\n' "$out" | grep -q pool_full; then
	t_fail "the pool is not opened when it cannot fit"
fi
