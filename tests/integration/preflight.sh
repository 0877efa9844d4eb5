# preflight.sh - simd --preflight: one line per check, exit 0 / 1 / 2; a data directory that
# cannot be written fails; against a real PostgreSQL (a private one, so that nothing else
# takes its connections meanwhile): reachable with its version and TLS, the pool opened at
# full size, and too few free connections for pool_max warned about, then failed; with
# cluster = on, the same for the whole cluster's cluster_pool_max.
# simctl preflight: the same checks by the running daemon (text, --json through jq, the
# same exit status), run off its loop: while a check waits for a stopped server the daemon
# answers, a second preflight is refused, a shutdown answers the waiting client; the
# database password appears in no output.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup

# ctl_preflight [ARGS...]: simctl preflight of the running daemon in $out, its exit status in $rc
ctl_preflight() {
	rc=0
	out=$(t_ctl "$@" preflight) || rc=$?
}

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

# the running daemon: the same checks, the same lines, the same exit status
t_start_simd
rc=0
got=$(t_ctl preflight) || rc=$?
[ "$rc" -le 1 ] || t_fail "simctl preflight of the embedded store failed: $got"
t_expect_match "$got" '^ok +data_dir ' "simctl preflight: data dir"
t_expect_match "$got" '^ok +database +embedded ' "simctl preflight: the embedded store"
t_expect_eq "$(printf '%s\n' "$got" | awk '{print $2}')" \
    "$(printf '%s\n' "$out" | awk '{print $2}')" "simctl preflight: simd --preflight's checks"
js=$(t_ctl preflight --json) || true
t_expect_eq "$(printf '%s' "$js" | jq -r '[.checks[].name] | join(" ")')" \
    "data_dir checkpoint_file disk_free memory_free database" "simctl preflight --json: checks"
worst=$(printf '%s' "$js" | jq -r .worst)
rc=0
t_ctl --json preflight >/dev/null || rc=$?
case $worst in
ok) t_expect_eq "$rc" 0 "exit status when all is ok" ;;
warn) t_expect_eq "$rc" 1 "exit status with warnings" ;;
*) t_fail "worst $worst of the embedded store" ;;
esac
t_stop_simd || t_fail "simd exit"

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
printf '%s\n' "$out" | grep -q cluster_budget &&
    t_fail "cluster_budget checked with cluster = off"

# cluster = on: the cluster's whole budget against the free connections
t_conf "pool_max = 4" "cluster = on" "cluster_pool_max = 12"
rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
t_expect_match "$out" '^ok +cluster_budget +[0-9]+ free of max_connections .* held by simd.s daemons \(cluster_pool_max 12' \
    "room for cluster_pool_max"
t_conf "cluster_pool_max = $warn_max"
rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
t_expect_match "$out" "^warn +cluster_budget .*cluster_pool_max $warn_max" \
    "cluster_pool_max within 10 % of the free connections warns"
t_conf "cluster_pool_max = $((free + 20))"
rc=0
out=$("$SIMD" -c "$T/simd.conf" --preflight) || rc=$?
t_expect_eq "$rc" 2 "exit status with too few connections for the cluster"
t_expect_match "$out" "^fail +cluster_budget .*cluster_pool_max $((free + 20))" \
    "cluster_pool_max above the free connections fails"
t_conf "cluster = off"

# ---- simctl preflight against PostgreSQL, with a password that must show nowhere ----
secret="pre-$$-secret-pw"
pg_set_password "$secret" || t_fail "cannot set a password"
t_conf "database_url = postgresql://postgres:$secret@127.0.0.1:$PGPORT/simd_pre" \
    "pool_max = 4" "pool_size = 4" "connect_timeout = 120"
t_start_simd
ctl_preflight
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "simctl preflight against PostgreSQL failed: $out"
t_expect_match "$out" '^ok +database +127.0.0.1:[0-9]+/simd_pre: PostgreSQL [0-9.]+, TLS off' \
    "simctl preflight: reachable, version, TLS"
t_expect_match "$out" '^ok +connections +[0-9]+ free of max_connections' \
    "simctl preflight: room for the pool"
t_expect_match "$out" '^ok +pool_full +[0-9]+ opened in .* and released' \
    "simctl preflight: the pool at full size"
js=$(t_ctl preflight --json) || true
printf '%s' "$js" | jq -e '.checks[] | select(.name == "database") | .level == "ok"' \
    >/dev/null || t_fail "--json: database ok: $js"

# during a run the connections simd's pool holds are room for pool_max, not a shortage
t_ctl start --agents 20 --all-shop --cycles 0 --time-scale 0 --seed 3 >/dev/null
held() {
	t_ctl --json status | jq '.store.connections_active + .store.connections_idle'
}
t_wait_for '[ "$(held)" -ge 1 ]' 60
ctl_preflight
printf '%s\n' "$out"
[ "$rc" -le 1 ] || t_fail "simctl preflight during a run: exit $rc"
t_expect_match "$out" "^ok +connections +[0-9]+ free of max_connections 200, counting the [0-9]+ held by simd's pool" \
    "during a run: the pool's own connections counted as room"
t_expect_match "$out" "^ok +pool_full +[0-9]+ opened in .* besides the [0-9]+ held by simd's pool" \
    "during a run: only the rest of the pool opened"
t_ctl stop --wait >/dev/null

# the checks are off the loop: with the server stopped, a check waits, the daemon answers
pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
runs=$(grep -c 'preflight: checks under way' "$T/simd.log")
kill -STOP "$pm"
rc1=0
t_ctl preflight >"$T/pf1.out" 2>&1 &
pf1=$!
t_wait_for '[ "$(grep -c "preflight: checks under way" "$T/simd.log")" -gt "$runs" ]' 30
t_expect_eq "$(t_ctl ping)" pong "the loop answers while a preflight waits"
kill -0 "$pf1" 2>/dev/null || { kill -CONT "$pm"; t_fail "the preflight ended with the server stopped"; }
rc=0
err=$(t_ctl preflight 2>&1) || rc=$?
t_expect_eq "$rc" 1 "exit status of a second preflight meanwhile"
t_expect_match "$err" 'a preflight is under way already' "one preflight at a time"
kill -CONT "$pm"
wait "$pf1" || rc1=$?
[ "$rc1" -le 1 ] || t_fail "the waiting preflight: $(cat "$T/pf1.out")"
t_expect_match "$(cat "$T/pf1.out")" '^ok +database ' "the waiting preflight finished"

# a shutdown while one waits: its client is answered, simd exits at once
kill -STOP "$pm"
runs=$(grep -c 'preflight: checks under way' "$T/simd.log")
rc2=0
t_ctl preflight >"$T/pf2.out" 2>&1 &
pf2=$!
t_wait_for '[ "$(grep -c "preflight: checks under way" "$T/simd.log")" -gt "$runs" ]' 30
rc=0
t_stop_simd || rc=$?
wait "$pf2" || rc2=$?
kill -CONT "$pm"
t_expect_eq "$rc" 0 "simd's exit with a preflight under way"
t_expect_eq "$rc2" 1 "the interrupted preflight's exit status"
t_expect_match "$(cat "$T/pf2.out")" 'interrupted by the shutdown' "the client is told"

# too few free connections, in the running daemon too
free=$(_pg_admin -At -d postgres -c "SELECT current_setting('max_connections')::int
    - current_setting('superuser_reserved_connections')::int
    - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')")
t_conf "pool_max = $((free + 20))"
t_start_simd
ctl_preflight
t_expect_eq "$rc" 2 "simctl preflight: exit status with too few connections"
t_expect_match "$out" "^fail +connections .*pool_max $((free + 20))" \
    "simctl preflight: pool_max above the free connections fails"
rc=0
js=$(t_ctl preflight --json) || rc=$?
t_expect_eq "$rc" 2 "--json: the same exit status"
t_expect_eq "$(printf '%s' "$js" | jq -r .worst)" fail "--json: worst"
t_stop_simd || t_fail "simd exit"

for f in "$T"/simd.log* "$T/pf1.out" "$T/pf2.out"; do
	if grep -qF "$secret" "$f"; then
		t_fail "the database password is in $f"
	fi
done
case "$out$js$err" in
*"$secret"*) t_fail "the database password is in simctl preflight's output" ;;
esac
