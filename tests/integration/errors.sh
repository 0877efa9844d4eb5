# errors.sh - a step the database keeps refusing is retried with backoff a bounded number of
# times, then its session counts as an error by type with the agent id kept, and the session's
# row ends 'failed' (it never looks in progress); the run goes on.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "max_retries = 2" "retry_backoff_ms = 10"
t_start_simd
# real faults, from the real database:
# agent_007 (users.id 7) cannot have a session row at all: even its failure cannot be recorded
sqlite3 "$DATA/shop.db" "CREATE TRIGGER refuse_seven BEFORE INSERT ON shopping_sessions
    WHEN NEW.user_id = 7 BEGIN SELECT RAISE(ABORT, 'injected fault for agent_007'); END;"
# agent_009's begin fails (the users update in its transaction): the failure is recorded
sqlite3 "$DATA/shop.db" "CREATE TRIGGER refuse_nine BEFORE UPDATE OF last_shopped_at ON users
    WHEN NEW.id = 9 BEGIN SELECT RAISE(ABORT, 'injected fault for agent_009'); END;"
# agent_010 begins, then its browse fails (its view events are refused)
sqlite3 "$DATA/shop.db" "CREATE TRIGGER refuse_ten BEFORE INSERT ON shopping_session_events
    WHEN NEW.user_id = 10 AND NEW.event_type = 'view'
    BEGIN SELECT RAISE(ABORT, 'injected fault for agent_010'); END;"
# (--max-error-rate 1: the losses are the point here; lostwork.sh fails a run for them)
out=$(t_ctl --json start --agents 10 --agents-list agent_007,agent_008,agent_009,agent_010 \
    --all-shop --cycles 4 --time-scale 0 --max-error-rate 1 --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "the run goes on to the end"
t_expect_match "$out" '"sessions":4' "agent_008's four sessions"
t_expect_match "$out" '"errors":12' "the three others' four failed sessions each"
st=$(t_ctl --json stats | tr -d ' \n')
t_expect_match "$st" '"by_type":\{"query":12\}' "errors by type"
ids=$(printf '%s' "$st" | sed -n 's/.*"failed_agents":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | sort |
    tr '\n' ' ')
t_expect_eq "$ids" '"agent_007" "agent_009" "agent_010" ' "each failed agent listed once"
# 2 retries of the step per failed session, and 2 of agent_007's failure record
t_expect_match "$st" '"retries":32' "retries"
log=$(cat "$T/simd.log")
t_expect_match "$log" 'agent_007: cycle 0: begin step failed after 3 attempts' \
    "failure logged with the agent"
t_expect_match "$log" 'injected fault for agent_007' "database message logged"
t_expect_match "$log" 'agent_007: cycle 0: the failed session could not be recorded either' \
    "an unrecordable failure is said"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions WHERE user_id = 8")" \
    4 "agent_008's rows landed"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions WHERE user_id = 9
    AND outcome = 'failed' AND error = 'query at begin' AND ended_at IS NOT NULL")" 4 \
    "agent_009's failed sessions recorded"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions WHERE user_id = 10
    AND outcome = 'failed' AND error = 'query at browse'")" 4 \
    "agent_010's half-written sessions end 'failed'"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions
    WHERE outcome IS NULL OR ended_at IS NULL")" 0 "no session looks in progress"
t_expect_match "$(t_ctl stats)" 'errors: 12 \(retries 32\), query 12' "human stats"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
