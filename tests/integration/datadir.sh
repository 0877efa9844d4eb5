# datadir.sh - the data directory removed under a running simd.  With the embedded store the
# rows went with it: the next checkpoint and the run's end say so, instead of writing on into
# unlinked files and reporting success.  With PostgreSQL only the checkpoints went: the next
# checkpoint makes the directory and checkpoints.db again, so that a kill -9 afterwards still
# resumes, to the rows of a run nobody disturbed.
#
# Paced (half a wall second a cycle) so that the directory goes mid-run whatever the
# machine's speed; the reference runs flat out.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 19" "checkpoint_interval = 86400"
ARGS="--agents 300 --cycles 20 --all-shop --max-concurrent 16"

# the embedded store: its file is gone, and the run says so
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
until [ "$(t_cycle)" -ge 2 ]; do sleep 0.1; done
rm -rf "$DATA"
rc=0; t_ctl checkpoint 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "a checkpoint after the data directory went"
t_expect_match "$(cat "$T/err")" "shop.db was removed or replaced while simd ran: the rows written to it are gone" \
    "the checkpoint says the rows are gone"
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +failed: .*shop.db was removed or replaced' \
    "the run ends failed, saying why"
t_stop_simd || t_fail "exit after the data directory went"

if [ -z "${PG_URL:-}" ] || [ -z "${PG_DIR:-}" ]; then
	echo "note: no PostgreSQL server: the part with the PostgreSQL store is skipped" >&2
	exit 0
fi
t_pg_need
mkdir -p "$DATA"
ref_url=$(t_pg_db simd_dd_ref)
t_conf "database_url = $ref_url"
t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
t_stop_simd || t_fail "exit"
ref=$(t_pg_digest simd_dd_ref)

rm -rf "$DATA"; mkdir "$DATA"
url=$(t_pg_db simd_dd)
t_conf "database_url = $url"
t_start_simd
t_ctl start $ARGS --time-scale 7200 >/dev/null
until [ "$(t_cycle)" -ge 2 ]; do sleep 0.1; done
rm -rf "$DATA"
t_ctl checkpoint >/dev/null || t_fail "a checkpoint after the data directory went"
t_expect_match "$(cat "$T/simd.log")" 'warn\] checkpoints.db: .* was removed or replaced while simd ran, and the checkpoints in it with it; writing to a new one' \
    "the lost checkpoints said"
[ -s "$DATA/checkpoints.db" ] || t_fail "checkpoints.db not made again"
t_expect_eq "$(sqlite3 "$DATA/checkpoints.db" "SELECT count(*) FROM checkpoints")" 1 \
    "the new checkpoint, in the new file"
kill -KILL "$SIMD_PID"
wait "$SIMD_PID" 2>/dev/null || true
SIMD_PID=
t_start_simd
t_ctl start --resume >/dev/null || t_fail "resume from the checkpoint made after the loss"
t_wait_end
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "the resumed run finished"
t_expect_match "$st" '"errors":0' "no session lost"
t_expect_eq "$(t_pg_digest simd_dd)" "$ref" "rows = rows of an undisturbed run"
t_stop_simd || t_fail "exit"
