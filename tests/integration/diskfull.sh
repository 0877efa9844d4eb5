# diskfull.sh - the data directory's disk fills up mid-run (a 24 MB tmpfs, so root only): the
# checkpoint being written fails with the reason and the older ones stay listed and loadable;
# the steps that cannot be written wait and are retried (the "disk" type of error, within
# retry_window); simd killed while the disk is full starts again on it and resumes; once there
# is room the run finishes with exactly the rows of a run that never saw a full disk.
#
# Paced (half a wall second a cycle) so that the disk fills mid-run whatever the machine's
# speed; the reference runs flat out.
set -eu
. "$TOP/tests/lib/common.sh"
if [ "$(id -u)" != 0 ]; then
	echo "needs root to mount a small tmpfs for the data directory"
	exit 77
fi
t_setup
t_conf "seed = 17" "checkpoint_interval = 86400" "retry_window = 600" "retry_backoff_ms = 10"
ARGS="--agents 300 --cycles 24 --all-shop --max-concurrent 16"

t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"

t_mount_tmpfs 24m
t_use_data_dir "$T_MNT/data"
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
until [ "$(t_cycle)" -ge 2 ]; do sleep 0.1; done
t_ctl checkpoint >/dev/null || t_fail "a checkpoint before the disk is full"

# fill it: every block, then the last bytes
dd if=/dev/zero of="$T_MNT/fill" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$T_MNT/fill2" bs=1 2>/dev/null || true
rc=0; t_ctl checkpoint 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "a checkpoint on a full disk fails"
t_expect_match "$(cat "$T/err")" 'checkpoint failed: .*(database or disk is full)' \
    "the failed checkpoint says why"
t_expect_match "$(cat "$T/simd.log")" 'warn\] checkpoint \(manual\) failed: .*disk is full' \
    "the failed checkpoint, logged"
t_expect_match "$(t_ctl checkpoints)" 'manual' "the older checkpoints still listed"
t_expect_match "$(t_ctl status)" 'checkpoint: +the newest FAILED at 20[0-9-]+T[0-9:]+Z: .*disk is full' \
    "status tells that the newest checkpoint failed"
t_expect_match "$(t_ctl --json status | tr -d '\n')" '"checkpoint_error": *\{ *"at": *"20[^"]*", *"message": *"[^"]*disk is full"' \
    "status --json: checkpoint_error"
# the writes that cannot land wait: retried, not given up
i=0
until t_ctl --json stats | tr -d ' \n' | grep -q '"retries":[1-9]'; do
	i=$((i + 1))
	[ $i -lt 600 ] || t_fail "no step retried on a full disk"
	sleep 0.1
done
t_expect_match "$(t_ctl status)" 'state: +running' "the run goes on, waiting for room"

# killed while the disk is full: it starts again on it and resumes the older checkpoint
kill -KILL "$SIMD_PID"
wait "$SIMD_PID" 2>/dev/null || true
SIMD_PID=
t_start_simd
t_ctl start --resume >/dev/null || t_fail "resume on a full disk"
t_expect_match "$(t_ctl status)" 'state: +running' "the resumed run runs"
# full for longer than max_retries would wait: every step in flight retried past it
i=0
until [ "$(t_ctl --json stats | tr -d ' \n' | sed -n 's/.*"retries":\([0-9]*\).*/\1/p')" -ge 100 ]; do
	i=$((i + 1))
	[ $i -lt 1200 ] || t_fail "the resumed run did not retry on the full disk"
	sleep 0.1
done
t_expect_match "$(t_ctl --json status | tr -d ' \n')" '"errors":0' "no step given up on a full disk"
rm -f "$T_MNT/fill" "$T_MNT/fill2"
t_wait_end
# steps already answered when their group commit failed are lost: the run ends failed, saying
# so, and no checkpoint claims them; a resume from the last one replays them
if t_ctl status | grep -q 'state: *failed'; then
	t_expect_match "$(t_ctl status)" 'state: +failed: .*disk is full.*their rows are lost: resume from the last checkpoint' \
	    "a run that lost answered steps ends failed, saying what to do"
	t_ctl start --resume >/dev/null || t_fail "resume once there is room"
	t_wait_end
fi
t_expect_same_rows "$ref" "once there was room"
t_ctl checkpoint >/dev/null || t_fail "checkpoints are written again once there is room"
t_ctl --json status | grep -q checkpoint_error && t_fail "checkpoint_error still shown after a success"
t_stop_simd || t_fail "exit"
