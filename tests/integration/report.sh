# report.sh - simctl report after a run with injected failures: the error types with their
# counts and agents, the sessions left without an outcome and their agents, the rows per table
# of the run's prefix, the checkpoints kept; markdown and --json; an earlier run from its
# checkpoint after a restart; on PostgreSQL, simd's sessions idle in a transaction.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "max_retries = 1" "retry_backoff_ms = 10" "checkpoint_interval = 86400"
t_start_simd
if t_ctl report >/dev/null 2>&1; then t_fail "a report before any run"; fi
t_ctl start --agents 10 --all-shop --cycles 2 --time-scale 0 --seed 5 --wait >/dev/null
first=$(t_ctl --json status | tr -d ' \n' | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')

# real faults from the database: agent_007 cannot write a session row at all; agent_009's
# sessions can begin but never end (nor be marked failed): they stay without an outcome
sqlite3 "$DATA/shop.db" "CREATE TRIGGER refuse_seven BEFORE INSERT ON shopping_sessions
    WHEN NEW.user_id = 7 BEGIN SELECT RAISE(ABORT, 'injected fault for agent_007'); END;
    CREATE TRIGGER refuse_nine BEFORE UPDATE OF outcome ON shopping_sessions
    WHEN NEW.user_id = 9 BEGIN SELECT RAISE(ABORT, 'injected fault for agent_009'); END;"
t_ctl start --agents 10 --all-shop --cycles 3 --time-scale 0 --seed 6 --max-error-rate 1 --wait >/dev/null
md=$(t_ctl report)
printf '%s\n' "$md"
t_expect_match "$md" '^## simd run .*-s6$' "markdown title"
t_expect_match "$md" '6 errors' "the failed sessions counted"
t_expect_match "$md" '^- query: 6$' "errors by type"
t_expect_match "$md" '^- agents: agent_007 agent_009$' "the failed agents"
t_expect_match "$md" 'sessions without an outcome: 3 \(agents: agent_009\)' \
    "agent_009's sessions never ended"
t_expect_match "$md" 'idle in a transaction: n/a' "no such thing on the embedded store"
ev=$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_session_events
    WHERE event_key LIKE 's6:%'")
t_expect_match "$md" "^\| shopping_session_events \| $ev \|$" "events of the run's prefix"
t_expect_match "$md" '^\| shopping_sessions \| 27 \|$' "sessions: 9 agents (agent_009's open) x 3 cycles"
t_expect_match "$md" 'Checkpoints kept: 2' "its checkpoints"
js=$(t_ctl --json report | tr -d ' \n')
t_expect_match "$js" '"open_agents":\["agent_009"\]' "--json: open agents"
t_expect_match "$js" '"by_type":\{"query":6\}' "--json: errors by type"
t_expect_match "$js" '"source":"daemon"' "--json: from the daemon"

# the first run, after a restart: from its checkpoint
t_stop_simd || t_fail "exit"
t_start_simd
out=$(t_ctl report "$first")
t_expect_match "$out" 'state: finished \(from the checkpoint\), seed 5, 10 agents' \
    "an earlier run from its checkpoint"
t_expect_match "$out" '20 sessions' "its counts"
t_expect_match "$out" 'sessions without an outcome: 0' "nothing left open by it"
if out=$(t_ctl report 20260101T000000-0000-s1 2>&1); then t_fail "report of an unknown run"; fi
t_expect_match "$out" 'neither the daemon.s last run nor in a checkpoint' "unknown run said"

# the failed agents are listed by id, whatever order they failed in: a paced run starts its
# visits in the order of their arrival times, not of their ids (0.1 s a cycle)
sqlite3 "$DATA/shop.db" "DROP TRIGGER refuse_nine; CREATE TRIGGER refuse_even BEFORE INSERT
    ON shopping_sessions WHEN NEW.user_id % 2 = 0 BEGIN SELECT RAISE(ABORT, 'even'); END;"
t_ctl start --agents 60 --all-shop --cycles 2 --time-scale 36000 --seed 8 --max-error-rate 1 \
    --wait >/dev/null
ids=$(t_ctl --json stats | jq -r '.errors.failed_agents | join(" ")')
sorted=$(printf '%s\n' $ids | sort | tr '\n' ' ' | sed 's/ $//')
[ "$(printf '%s\n' $ids | wc -l)" -ge 20 ] || t_fail "too few failed agents: $ids"
t_expect_eq "$ids" "$sorted" "failed agents in order of id"
t_expect_match "$(t_ctl report)" "^- agents: $sorted\$" "the report's list likewise"
t_stop_simd || t_fail "exit"

# PostgreSQL: a session of simd's application_name left idle in a transaction is seen
if [ -z "${PG_URL:-}" ] || [ -z "${PG_DIR:-}" ]; then
	echo "no PostgreSQL server: the PostgreSQL half skipped"
	exit 0
fi
t_pg_need
t_conf "database_url = $(t_pg_db simd_report)"
t_start_simd
t_ctl start --agents 10 --all-shop --cycles 2 --time-scale 0 --seed 5 --wait >/dev/null
mkfifo "$T/hold"
(PGAPPNAME=simd/left-open _pg_admin -d simd_report <"$T/hold" >/dev/null 2>&1 &)
exec 9>"$T/hold"
printf 'BEGIN;\nSELECT 1;\n' >&9
i=0
until [ "$(_pg_admin -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE
    application_name = 'simd/left-open' AND state = 'idle in transaction'")" = 1 ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || t_fail "the held transaction never showed"
	sleep 0.1
done
out=$(t_ctl report)
t_expect_match "$out" 'idle in a transaction: 1 ' "the open transaction found"
t_expect_match "$out" '^\| shopping_sessions \| 20 \|$' "rows on PostgreSQL"
exec 9>&-
t_stop_simd || t_fail "exit"
