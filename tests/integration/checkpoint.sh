# checkpoint.sh - when checkpoints are written, listing, retention, resuming, bad files.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "checkpoint_interval = 0.3" "checkpoint_keep = 4" "seed = 5"
t_start_simd

newest_reason() {
	t_ctl --json checkpoints | tr -d ' \n' | sed -n 's/^\[{[^}]*"reason":"\([a-z]*\)".*/\1/p'
}
count() {
	t_ctl --json checkpoints | grep -c '"id"' || true
}
t_expect_match "$(t_ctl checkpoints)" 'no checkpoints' "empty list"
rc=0; t_ctl checkpoint 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "checkpoint with no run"
t_expect_match "$(cat "$T/err")" 'no run to checkpoint' "checkpoint with no run message"

# periodic, while a paced run goes on (a cycle every 0.2 s)
t_ctl start --agents 300 --cycles 1000 --time-scale 18000 >/dev/null
# until the start checkpoint and at least four interval ones were written, whatever the
# machine's speed (the deadline only catches a run that never writes them)
t_wait_for '[ "$(t_ctl --json checkpoints | grep -c "\"reason\": \"interval\"" || true)" -ge 4 ]' 120
t_expect_eq "$(newest_reason)" interval "periodic checkpoint"
# retention: never more than checkpoint_keep
t_expect_eq "$(count)" 4 "retention keeps 4"
# on demand
out=$(t_ctl --json checkpoint)
t_expect_match "$out" '"id": [0-9]+' "checkpoint answers its id"
id=$(printf '%s' "$out" | tr -d ' \n' | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
# (an interval checkpoint may already have followed it)
t_expect_match "$(t_ctl --json checkpoints | tr -d ' \n')" "\"id\":$id,[^}]*\"reason\":\"manual\"" \
    "manual checkpoint listed"
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" "\"last_checkpoint\":\\{[^}]*\"id\":[0-9]+" "status last_checkpoint id"
t_expect_match "$st" '"last_checkpoint":\{[^}]*"at":"20[0-9-]+T' "status last_checkpoint at"
t_expect_match "$(t_ctl checkpoints)" "reason" "human listing"
# on stop; the waited-for answer shows the checkpoint the stop wrote
out=$(t_ctl --json stop --wait | tr -d ' \n')
t_expect_eq "$(newest_reason)" stop "checkpoint on stop"
newest=$(sqlite3 "$DATA/checkpoints.db" "SELECT max(id) FROM checkpoints")
t_expect_match "$out" "\"last_checkpoint\":\\{\"id\":$newest," "stop --wait answers with the stop checkpoint"
stop_cycle=$(t_status_field cycle)
run1=$(t_ctl --json status | tr -d ' \n' | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')

# resume the newest: same run, same cycle, counters carried on
out=$(t_ctl --json start --resume | tr -d ' \n')
t_expect_match "$out" "\"run_id\":\"$run1\"" "resume keeps the run id"
t_expect_match "$out" '"seed":5' "resume keeps the seed"
t_expect_match "$out" "\"cycle\":$stop_cycle" "resume continues at the stop cycle"
sleep 0.5
[ "$(t_status_field cycle)" -gt "$stop_cycle" ] || t_fail "resumed run does not advance"
t_ctl stop --wait >/dev/null
# resume a chosen one (the manual checkpoint taken earlier may have been pruned: take one listed)
pick=$(t_ctl --json checkpoints | tr -d ' \n' | sed -n 's/.*{"id":\([0-9]*\),[^}]*}]$/\1/p')
pcycle=$(t_ctl --json checkpoints | tr -d ' \n' | sed -n 's/.*{"id":[0-9]*,[^}]*"cycle":\([0-9]*\)[^}]*}]$/\1/p')
out=$(t_ctl --json start --resume --checkpoint "$pick" | tr -d ' \n')
t_expect_match "$out" "\"cycle\":$pcycle" "resume of checkpoint $pick at its cycle"
t_ctl stop --wait >/dev/null
rc=0; t_ctl start --resume --checkpoint 99999 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "missing checkpoint exit status"
t_expect_match "$(cat "$T/err")" 'no checkpoint 99999' "missing checkpoint message"

# a finished run leaves an end checkpoint, and start --wait answers once it is recorded
out=$(t_ctl --json start --agents 20 --cycles 3 --time-scale 0 --wait | tr -d ' \n')
t_expect_eq "$(newest_reason)" end "checkpoint at the end of a run"
newest=$(sqlite3 "$DATA/checkpoints.db" "SELECT max(id) FROM checkpoints")
t_expect_match "$out" "\"last_checkpoint\":\\{\"id\":$newest," "start --wait answers with the end checkpoint"
t_expect_match "$(t_ctl status)" "checkpoint: +$newest at" "text status names it"
run=$(printf '%s' "$out" | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')
t_expect_eq "$(sqlite3 "$DATA/checkpoints.db" "SELECT reason FROM checkpoints WHERE run_id = '$run'
    ORDER BY id LIMIT 1")" start "a run's first checkpoint is written when it starts"
# a finished run is not resumed: the answer says it had finished
rc=0; t_ctl start --resume 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "resuming a finished run"
t_expect_match "$(cat "$T/err")" 'had already finished \(checkpoint [0-9]+, cycle 3\): nothing to resume' \
    "finished run message"
# --checkpoint belongs to --resume
rc=0; t_ctl start --checkpoint 1 2>"$T/err" || rc=$?
t_expect_eq "$rc" 2 "start --checkpoint without --resume"
t_expect_match "$(head -n 1 "$T/err")" -- '--checkpoint .*needs --resume' "its message"
out=$(printf '{"jsonrpc":"2.0","id":1,"method":"start","params":{"checkpoint":1}}\n' |
    "$TOP/tests/tools/rawsock" "$SIMD_SOCKET" 1)
t_expect_match "$out" '"code":-32602.*needs.*resume' "the daemon refuses it too"
t_expect_match "$(t_ctl status)" 'state: +finished' "and starts nothing"

# checkpoint_interval = 0: one at every cycle boundary
sed -i 's/^checkpoint_interval = .*/checkpoint_interval = 0/' "$T/simd.conf"
kill -HUP "$SIMD_PID"
sleep 0.3
run=$(t_ctl --json start --agents 30 --cycles 4 --time-scale 0 --wait | tr -d ' \n' |
    sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')
sleep 0.3
t_expect_eq "$(grep -c "(cycle): run $run cycle [1-4]," "$T/simd.log")" 4 \
    "a checkpoint at every cycle boundary"
t_expect_eq "$(sqlite3 "$DATA/checkpoints.db" "SELECT group_concat(reason || cycle, ' ')
    FROM (SELECT reason, cycle FROM checkpoints ORDER BY id)")" \
    "cycle2 cycle3 cycle4 end4" "the newest four kept"
sed -i 's/^checkpoint_interval = .*/checkpoint_interval = 0.3/' "$T/simd.conf"
kill -HUP "$SIMD_PID"

# a run that fails leaves an emergency checkpoint ("failed"), and start --wait says so
sqlite3 "$DATA/shop.db" "CREATE TRIGGER refuse_users BEFORE INSERT ON users
    BEGIN SELECT RAISE(ABORT, 'no more users'); END;"
rc=0; t_ctl start --agents 40 --seed 77 --cycles 2 --time-scale 0 --wait 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "a failed run: start --wait exit status"
t_expect_match "$(cat "$T/err")" 'the run failed: .*no more users' "failed run message"
t_expect_match "$(t_ctl status)" 'state: +failed' "failed state"
sleep 0.3
t_expect_eq "$(newest_reason)" failed "emergency checkpoint of a failed run"
sqlite3 "$DATA/shop.db" "DROP TRIGGER refuse_users"

# on SIGTERM during a run: stop, checkpoint, exit 0
t_ctl start --agents 300 --cycles 1000 --time-scale 18000 >/dev/null
sleep 0.5
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "SIGTERM exit status during a run"
t_expect_eq "$(sqlite3 "$DATA/checkpoints.db" "SELECT reason FROM checkpoints ORDER BY id DESC LIMIT 1")" \
    signal "checkpoint on SIGTERM"

# simd --resume with a finished run, or with nothing at all, is an error, said on stderr
t_start_simd
t_ctl start --agents 20 --cycles 2 --time-scale 0 --wait >/dev/null
t_stop_simd || t_fail "exit"
rc=0; "$SIMD" -f -c "$T/simd.conf" --resume 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "simd --resume of a finished run"
t_expect_match "$(cat "$T/err")" 'resume: run .* had already finished' "its message"
mkdir "$T/empty"
rc=0; "$SIMD" -f -d "$T/empty" -s "$T/e.sock" --resume 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "simd --resume with nothing to resume"
t_expect_match "$(cat "$T/err")" 'simd.*--resume: no checkpoint in' "its message"
rc=0; "$SIMD" -d "$T/empty" -s "$T/e.sock" -L "$T/e.log" --resume 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "detached simd --resume with nothing to resume"
t_expect_match "$(cat "$T/err")" 'resume: no checkpoint in' "said on stderr when detaching"
t_expect_match "$(cat "$T/e.log")" 'resume: no checkpoint in' "and in the log"
[ ! -e "$T/e.sock" ] || t_fail "a failed --resume left its socket"
# ... and continues the newest run on boot (the stopped one: resume it by hand first)
t_start_simd
t_ctl start --agents 300 --cycles 1000 --time-scale 18000 >/dev/null
sleep 0.5
t_stop_simd || t_fail "exit"
t_start_simd --resume
sleep 0.3
t_expect_match "$(t_ctl status)" 'state: +running' "simd --resume runs"
t_ctl stop --wait >/dev/null
t_stop_simd || t_fail "exit"

# a damaged checkpoint row: a clear error naming it, no crash
last=$(sqlite3 "$DATA/checkpoints.db" "SELECT max(id) FROM checkpoints")
sqlite3 "$DATA/checkpoints.db" "UPDATE checkpoints SET state = substr(state, 1, 20) WHERE id = $last"
t_start_simd
rc=0; t_ctl start --resume 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "damaged checkpoint exit status"
t_expect_match "$(cat "$T/err")" "checkpoint $last in .*checkpoints.db is damaged" "damaged message"
t_expect_eq "$(t_ctl ping)" pong "alive after a damaged checkpoint"
t_stop_simd || t_fail "exit"
# a corrupt file: start refused with a message naming it
head -c 8192 /dev/urandom >"$DATA/checkpoints.db"
rm -f "$DATA/checkpoints.db-wal" "$DATA/checkpoints.db-shm"
rc=0; "$SIMD" -f -c "$T/simd.conf" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "corrupt checkpoint file exit status"
t_expect_match "$(cat "$T/err")" "checkpoints.db.*not a simd checkpoint file" "corrupt file message"

# a checkpoints.db written before the restructuring of the codec (tests/fixtures) still loads
rm -rf "$DATA"; mkdir "$DATA"
sqlite3 "$DATA/checkpoints.db" <"$TOP/tests/fixtures/checkpoints-v1.sql"
t_start_simd
out=$(t_ctl --json start --resume | tr -d ' \n')
t_expect_match "$out" '"run_id":"20261202T001815-0a89-s5"' "an old checkpoint resumes its run"
t_expect_match "$out" '"cycle":4' "at its cycle"
t_wait_end
out=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$out" '"state":"finished".*"cycle":6' "and finishes it"
t_expect_match "$out" '"sessions":18' "its counters carried on (12 + 2 cycles x 3 agents)"
t_stop_simd || t_fail "exit"
