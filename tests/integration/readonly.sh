# readonly.sh - the data directory's filesystem turns read-only mid-run, as ext4 does after an
# error with errors=remount-ro (a loop-mounted ext4 image, so root only, and the kernel's
# trigger_fs_error, which makes it refuse every write, descriptors already open included):
# the daemon answers throughout, the checkpoint asked for fails naming the file and the
# system's reason, the failure is logged and shown in status, the older checkpoints stay
# listed, the steps wait and are retried; once the directory is mounted again writable (the
# image checked and mounted anew: a filesystem that failed so stays read-only until it is
# unmounted), the next checkpoint succeeds on the same daemon, which writes to the new files,
# and the run finishes with exactly the rows of a run that never saw the fault.  Then simd,
# stopped with SIGTERM while the directory is read-only and sessions cannot finish, exits
# cleanly; started again on it, it refuses to start saying why; on a writable one it resumes.
#
# Paced (half a wall second a cycle) so that the fault comes mid-run whatever the machine's
# speed, and paused around the moment of the fault, so that nothing committed is left
# unwritten to the image (what a real fault may lose: WAL mode with synchronous=NORMAL); the
# reference runs flat out.
set -eu
. "$TOP/tests/lib/common.sh"
if [ "$(id -u)" != 0 ]; then
	echo "needs root to mount a loop filesystem for the data directory"
	exit 77
fi
for _c in losetup mkfs.ext4 e2fsck sqlite3; do
	if ! command -v "$_c" >/dev/null 2>&1; then
		echo "needs $_c to make a loop filesystem for the data directory"
		exit 77
	fi
done
t_setup
t_conf "seed = 17" "checkpoint_interval = 86400" "retry_window = 600" "retry_backoff_ms = 10" \
    "shutdown_timeout = 2"
ARGS="--agents 300 --cycles 24 --all-shop --max-concurrent 16"

t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"

# ro_mount N: a fresh ext4 image N (or image N-1 checked and copied) mounted at $T/mnt.
ro_mount() {
	if [ "$1" -gt 1 ]; then
		umount -l "$T/mnt" || t_fail "cannot detach the failed filesystem"
		T_MNT=
		cp --sparse=always "$T/fs$(($1 - 1)).img" "$T/fs$1.img"
		rc=0; e2fsck -fy "$T/fs$1.img" >"$T/fsck.out" 2>&1 || rc=$?
		[ "$rc" -le 1 ] || t_fail "e2fsck of the image: $(cat "$T/fsck.out")"
	else
		truncate -s 64M "$T/fs1.img"
		mkfs.ext4 -q -F -O ^has_journal "$T/fs1.img" || t_fail "mkfs.ext4"
		mkdir -p "$T/mnt"
	fi
	if ! mount -o loop,errors=remount-ro "$T/fs$1.img" "$T/mnt" 2>"$T/mount.err"; then
		[ "$1" -eq 1 ] || t_fail "mounting the image again: $(cat "$T/mount.err")"
		echo "cannot mount a loop filesystem here: $(cat "$T/mount.err")"
		exit 77
	fi
	T_MNT=$T/mnt
	DEV=$(basename "$(findmnt -no SOURCE "$T_MNT")")
}

# ro_fault: the filesystem turns read-only (what ext4 does on an error, errors=remount-ro).
ro_fault() {
	sync -f "$T_MNT/."
	if [ ! -w "/sys/fs/ext4/$DEV/trigger_fs_error" ]; then
		echo "this kernel cannot fail an ext4 filesystem on demand (no trigger_fs_error)"
		exit 77
	fi
	echo "simd readonly test" >"/sys/fs/ext4/$DEV/trigger_fs_error"
	if touch "$T_MNT/probe" 2>/dev/null; then
		t_fail "the filesystem did not turn read-only"
	fi
}

# fault_paused: the run paused with nothing in flight, a checkpoint (its id in $CK), the fault,
# the run resumed: it meets the read-only directory with everything before on the image.
fault_paused() {
	t_ctl pause >/dev/null
	t_wait_for '[ "$(t_status_field in_flight)" = 0 ]' 60
	_out=$(t_ctl checkpoint) || t_fail "a checkpoint before the fault"
	CK=$(printf '%s\n' "$_out" | sed -n 's/^id: *\([0-9]*\)$/\1/p')
	[ -n "$CK" ] || t_fail "no checkpoint id in: $_out"
	ro_fault
	R0=$(t_retries)
	t_ctl resume >/dev/null || t_fail "resume the paused run on the read-only directory"
}

t_retries() {
	t_ctl --json stats | tr -d ' \n' | sed -n 's/.*"retries":\([0-9]*\).*/\1/p'
}

ro_mount 1
t_use_data_dir "$T_MNT/data"
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
until [ "$(t_cycle)" -ge 2 ]; do sleep 0.1; done
fault_paused
A=$CK
i=0
until [ "$(t_retries)" -gt "$R0" ]; do
	t_ctl ping >/dev/null || t_fail "no answer on the control socket while read-only"
	i=$((i + 1))
	[ $i -lt 600 ] || t_fail "no step retried on the read-only directory"
	sleep 0.1
done
rc=0; t_ctl checkpoint 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "a checkpoint on the read-only directory fails"
t_expect_match "$(cat "$T/err")" "checkpoint failed: .*$DATA/(shop|checkpoints)\.db: .*\(Read-only file system\)" \
    "the failed checkpoint names the file and the system's reason"
t_expect_match "$(cat "$T/simd.log")" 'warn\] checkpoint \(manual\) failed: .*\(Read-only file system\)' \
    "the failed checkpoint, logged"
t_expect_match "$(cat "$T/simd.log")" "warn\] sqlite store: $DATA/shop\.db: .*\(Read-only file system\); the steps wait and are retried" \
    "the store's first failed write, logged with the file and the reason"
t_expect_match "$(t_ctl status)" 'checkpoint: +the newest FAILED at 20[0-9-]+T[0-9:]+Z: .*Read-only file system' \
    "status tells that the newest checkpoint failed, and why"
t_expect_match "$(t_ctl status)" 'state: +running' "the run goes on, waiting for the directory"
t_expect_match "$(t_ctl checkpoints)" "^ +$A +20" "the checkpoint written before, still listed"
r1=$(t_retries)
i=0
until [ "$(t_retries)" -gt "$r1" ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || t_fail "the steps stopped being retried"
	sleep 0.1
done
t_ctl ping >/dev/null || t_fail "no answer on the control socket while read-only"

# writable again: the image checked and mounted anew at the same place
ro_mount 2
i=0
until out=$(t_ctl checkpoint 2>&1); do
	i=$((i + 1))
	[ $i -lt 100 ] || t_fail "no checkpoint once the directory is writable again: $out"
	sleep 0.2
done
B=$(printf '%s\n' "$out" | sed -n 's/^id: *\([0-9]*\)$/\1/p')
[ -n "$B" ] && [ "$B" -gt "$A" ] || t_fail "the new checkpoint's id ($B) after $A"
t_expect_match "$(cat "$T/simd.log")" "checkpoints\.db: $DATA/checkpoints\.db is another file now" \
    "the checkpoints go to the file mounted again, said"
t_expect_match "$(cat "$T/simd.log")" "sqlite store: $DATA/shop\.db is another file now" \
    "the store writes to the file mounted again, said"
t_ctl --json status | grep -q checkpoint_error && t_fail "checkpoint_error still shown after a success"
t_expect_match "$(t_ctl checkpoints)" "^ +$A +20" "the checkpoint before the fault, listed after it"
t_wait_end
t_expect_same_rows "$ref" "on the directory mounted again"

# SIGTERM while read-only, sessions stuck in their retries: a clean exit at the deadline
t_ctl start $ARGS --seed 18 --time-scale 7200 >/dev/null
until [ "$(t_cycle)" -ge 1 ]; do sleep 0.1; done
fault_paused
t_wait_for '[ "$(t_retries)" -gt "$R0" ]' 60
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "simd's exit status after SIGTERM on the read-only directory"
t_expect_match "$(cat "$T/simd.log")" 'sessions still in flight after 2 s; abandoning them' \
    "the sessions that could not finish, said"

# started again on it: refused, saying why
rc=0; "$SIMD" -f -c "$T/simd.conf" </dev/null >"$T/ro-start.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || t_fail "simd started on a read-only data directory"
t_expect_match "$(cat "$T/ro-start.log")" "$DATA.*Read-only file system" \
    "simd refuses to start on a read-only data directory, saying why"

# on the directory mounted again: resumes the newest checkpoint and finishes
ro_mount 3
t_start_simd
t_ctl start --resume >/dev/null || t_fail "resume once the directory is writable"
t_expect_match "$(t_ctl status)" "checkpoint: +$CK " "resumed from the checkpoint written before the fault"
t_wait_end
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "the resumed run finished"
t_expect_match "$st" '"errors":0' "no session of the resumed run failed"
t_ctl checkpoint >/dev/null || t_fail "a checkpoint after the resumed run"
t_stop_simd || t_fail "exit"
