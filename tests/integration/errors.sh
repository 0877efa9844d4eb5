# errors.sh - a step the database keeps refusing is retried with backoff a bounded number of
# times, then its session counts as an error by type with the agent id kept; the run goes on.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "max_retries = 2" "retry_backoff_ms = 10"
t_start_simd
# a real fault, from the real database: agent_007 (users.id 7) cannot start a session
sqlite3 "$DATA/shop.db" "CREATE TRIGGER refuse_seven BEFORE INSERT ON shopping_sessions
    WHEN NEW.user_id = 7 BEGIN SELECT RAISE(ABORT, 'injected fault for agent_007'); END;"
out=$(t_ctl --json start --agents 10 --agents-list agent_007,agent_008 --all-shop --cycles 4 \
    --time-scale 0 --wait | tr -d ' \n')
t_expect_match "$out" '"state":"finished"' "the run goes on to the end"
t_expect_match "$out" '"sessions":4' "agent_008's four sessions"
t_expect_match "$out" '"errors":4' "agent_007's four failed sessions"
st=$(t_ctl --json stats | tr -d ' \n')
t_expect_match "$st" '"by_type":\{"query":4\}' "errors by type"
t_expect_match "$st" '"failed_agents":\["agent_007"' "failed agent id kept"
t_expect_match "$st" '"retries":8' "two retries per failed session"
t_expect_match "$(cat "$T/simd.log")" 'agent_007: cycle 0: begin step failed after 3 attempts' \
    "failure logged with the agent"
t_expect_match "$(cat "$T/simd.log")" 'injected fault for agent_007' "database message logged"
t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions WHERE user_id = 8")" \
    4 "agent_008's rows landed"
t_expect_match "$(t_ctl stats)" 'errors: 4 \(retries 8\), query 4' "human stats"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "clean exit"
