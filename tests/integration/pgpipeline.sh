# pgpipeline.sh - a session's steps go to PostgreSQL in one pipeline (pg_pipeline, issue 11
# point 6): counted, not timed -- with it each session waits for the server once
# (store.step_round_trips = sessions), without it once a step (at least twice a session);
# the rows are the same either way.  With steps failing on the server now and then (a
# trigger raises a serialisation failure), the failed step is retried and the session's
# later steps, refused in the aborted transaction, are sent again: same rows, none lost.
# Pipelined, a session's events go in with its last step (store.events_batched = 0);
# one step at a time, the batcher writes them all.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
t_conf "seed = 13" "checkpoint_interval = 86400" "retry_window = 120"
run="--agents 200 --all-shop --cycles 2 --time-scale 0 --max-concurrent 40"

open_sessions() {
	_pg_admin -At -d "$1" -c "SELECT count(*) FROM shopping_sessions
	    WHERE outcome IS NULL OR ended_at IS NULL"
}
field() {	# field NAME JSON
	printf '%s' "$2" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
# run_once DB LABEL [CONF...]: a fresh daemon on database DB; sets OUT (the final status)
run_once() {
	_db=$1 _label=$2
	shift 2
	t_conf "database_url = $(t_pg_db "$_db")" "$@"
	rm -rf "$DATA"
	mkdir "$DATA"
	t_start_simd
	[ "$(t_status_field step_round_trips)" = 0 ] || t_fail "$_label: step round trips at start"
	out=$(t_ctl --json start $run --wait | tr -d ' \n') || t_fail "$_label: start --wait: $out"
	t_expect_match "$out" '"state":"finished"' "$_label: finished"
	t_expect_match "$out" '"errors":0' "$_label: no errors"
	OUT=$(t_ctl --json status | tr -d ' \n')
	t_expect_eq "$(open_sessions "$_db")" 0 "$_label: no session half-written"
	t_stop_simd || t_fail "$_label: exit"
}

run_once simd_pipe pipelined "pg_pipeline = yes"
sessions=$(field sessions "$OUT")
trips=$(field step_round_trips "$OUT")
[ "$sessions" -gt 300 ] || t_fail "only $sessions sessions"
t_expect_eq "$trips" "$sessions" "pipelined: one round trip a session"
events=$(field events "$OUT")
[ "$events" -gt "$sessions" ] || t_fail "pipelined: only $events events"
t_expect_eq "$(field events_batched "$OUT")" 0 "pipelined: the events went in with the steps"
t_expect_eq "$(_pg_admin -At -d simd_pipe -c "SELECT count(*) FROM shopping_session_events")" \
    "$events" "pipelined: every event written"
ref=$(t_pg_digest simd_pipe)

run_once simd_steps "one step at a time" "pg_pipeline = no"
t_expect_eq "$(field sessions "$OUT")" "$sessions" "one step at a time: the same sessions"
trips=$(field step_round_trips "$OUT")
[ "$trips" -ge $((2 * sessions)) ] ||
    t_fail "one step at a time: $trips round trips for $sessions sessions"
t_expect_eq "$(field events_batched "$OUT")" "$events" "one step at a time: the events batched"
t_expect_eq "$(t_pg_digest simd_steps)" "$ref" "one step at a time: the pipelined rows"

# every 5th cart statement fails on the server with a transient error (40001); the sequence
# is not rolled back with the transaction, so a retry draws another number
url=$(t_pg_db simd_flaky)
t_conf "database_url = $url" "pg_pipeline = yes"
rm -rf "$DATA"
mkdir "$DATA"
t_start_simd # migrates: the tables exist
t_stop_simd || t_fail "exit"
_pg_admin -d simd_flaky -c "CREATE SEQUENCE flaky" -c "CREATE FUNCTION flaky() RETURNS trigger
    LANGUAGE plpgsql AS \$\$BEGIN
	IF nextval('flaky') % 5 = 0 THEN
		RAISE EXCEPTION 'flaky cart' USING ERRCODE = '40001';
	END IF;
	RETURN NEW;
    END\$\$" -c "CREATE TRIGGER flaky BEFORE INSERT ON cart_items
    FOR EACH STATEMENT EXECUTE FUNCTION flaky()" >/dev/null
t_start_simd
out=$(t_ctl --json start $run --wait | tr -d ' \n') || t_fail "flaky: start --wait: $out"
t_expect_match "$out" '"state":"finished"' "flaky: finished"
t_expect_match "$out" '"errors":0' "flaky: no session lost"
st=$(t_ctl --json stats | tr -d ' \n')
retries=$(field retries "$st")
[ "${retries:-0}" -gt 0 ] || t_fail "flaky: no step was retried: $st"
OUT=$(t_ctl --json status | tr -d ' \n')
t_expect_eq "$(field sessions "$OUT")" "$sessions" "flaky: the same sessions"
batched=$(field events_batched "$OUT")
[ "$batched" -gt 0 ] && [ "$batched" -lt "$events" ] ||
    t_fail "flaky: $batched of $events events batched (the retried sessions' only)"
trips=$(field step_round_trips "$OUT")
[ "$trips" -gt "$sessions" ] || t_fail "flaky: $trips round trips, no retry among them"
t_stop_simd || t_fail "exit"
t_expect_eq "$(open_sessions simd_flaky)" 0 "flaky: no session half-written"
t_expect_eq "$(t_pg_digest simd_flaky)" "$ref" "flaky: the pipelined rows"
echo "$sessions sessions; $retries retries when every 5th cart statement failed ($batched of $events events batched)"
