# preflight_remote.sh - the preflight's checks of what lies beyond the machine, each way:
# a transaction-mode pooler (a real pgbouncer) detected, and pg_prepared = yes behind it
# failed; a session-mode pooler and a direct server told apart from it; simd --preflight
# and simctl preflight alike, text and --json (jq), the exit status 0 / 1 / 2.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] ||
    { echo "no pgbouncer for this test (sh packaging/deps.sh installs it)"; exit 77; }
t_setup

# preflight [ARGS...]: simd --preflight's output in $out, its exit status in $rc
preflight() {
	rc=0
	out=$("$SIMD" -c "$T/simd.conf" --preflight "$@") || rc=$?
}

# ---- a pooler in the way ----
url=$(t_pg_db simd_pfr)
t_conf "database_url = $url" "pool_size = 4" "pool_max = 4" "max_overflow = 0"
preflight
printf '%s\n' "$out"
t_expect_match "$out" '^ok +pooler +none: the backend key is the server.s' "direct: no pooler"

pg_bouncer_start transaction 4 || t_fail "cannot start pgbouncer"
t_conf "database_url = $(pg_bouncer_url simd_pfr)" "pg_prepared = yes"
preflight
printf '%s\n' "$out"
t_expect_eq "$rc" 2 "pg_prepared = yes behind a transaction pooler: exit status"
t_expect_match "$out" '^fail +pooler +transaction mode: .*pg_prepared = yes does not fit' \
    "the transaction pooler detected, pg_prepared = yes failed"
t_conf "pg_prepared = no"
preflight --json
t_expect_eq "$(printf '%s' "$out" | jq -r '.checks[] | select(.name == "pooler") | .level')" \
    ok "--json: pg_prepared = no fits the transaction pooler"
printf '%s' "$out" | jq -e '.checks[] | select(.name == "pooler") |
    .value | test("^transaction mode: .*pg_prepared = no fits")' >/dev/null ||
    t_fail "--json: the mode found: $out"
[ "$rc" -le 1 ] || t_fail "pg_prepared = no behind the pooler: exit $rc: $out"

# the running daemon, through the pooler
t_start_simd
rc=0
out=$(t_ctl preflight) || rc=$?
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "simctl preflight through the pooler: exit $rc"
t_expect_match "$out" '^ok +pooler +transaction mode: .*pg_prepared = no fits' \
    "simctl preflight: the transaction pooler detected"
t_stop_simd || t_fail "simd exit"
pg_bouncer_stop

pg_bouncer_start session 4 || t_fail "cannot start pgbouncer in session mode"
t_conf "database_url = $(pg_bouncer_url simd_pfr)" "pg_prepared = yes"
preflight
printf '%s\n' "$out"
t_expect_match "$out" '^ok +pooler +session mode: .*pg_prepared = yes fits' \
    "a session pooler: pg_prepared = yes fits"
pg_bouncer_stop
t_conf "database_url = $url"
