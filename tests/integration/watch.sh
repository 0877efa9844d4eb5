# watch.sh - watching a run: the subscribe stream (interval, a slow subscriber bounded,
# unsubscribe, many subscribers, one vanishing), status --watch, top --once, the set-up
# progress, start --wait without a terminal, and metrics_csv (rows = cycles, the
# documented columns, a resume that appends without duplicates, SIGHUP reopening).
#
# Nothing here times the daemon: frames carry the daemon's own clock (t_ms) and tick
# count (seq), and a late timer only makes gaps longer, never shorter.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
SUB=$TOP/tests/tools/substream
[ -x "$SUB" ] || t_fail "tests/tools/substream is not built"
t_conf "metrics_csv = $T/cycles.csv" "checkpoint_interval = 0"
t_start_simd

# a paced run: 0.25 wall s a cycle (time_scale 14400, tick 60 min)
t_ctl start --agents 300 --cycles 400 --time-scale 14400 >/dev/null

# ---- the interval is respected: 8 frames at 200 ms ----
"$SUB" "$SIMD_SOCKET" 200 8 >"$T/f" || t_fail "substream: $(cat "$T/f")"
t_expect_eq "$(wc -l <"$T/f" | tr -d ' ')" 8 "frames read"
first=$(sed -n '1s/.*seq \([0-9]*\).* t_ms \([0-9]*\).*/\1 \2/p' "$T/f")
last=$(sed -n '$s/.*seq \([0-9]*\).* t_ms \([0-9]*\).*/\1 \2/p' "$T/f")
awk -v a="$first" -v b="$last" 'BEGIN { split(a, x, " "); split(b, y, " ");
    ticks = y[1] - x[1]; span = y[2] - x[2];
    if (ticks != 7) { print "ticks " ticks; exit 1 }
    if (span < 0.95 * ticks * 200) { print "span " span " ms for " ticks " ticks"; exit 1 } }' ||
    t_fail "frames came faster than every 200 ms: $first .. $last"
grep -q 'skipped 0 ' "$T/f" || t_fail "a reader that keeps up skips nothing"

# ---- a slow subscriber: sits 3 s unread at 100 ms; what piled up is bounded ----
"$SUB" "$SIMD_SOCKET" 100 40 3 >"$T/slow" &
slow=$!
sleep 1
t_expect_eq "$(t_ctl ping)" pong "the daemon answers while a subscriber does not read"
wait "$slow" || t_fail "slow substream: $(tail -n 2 "$T/slow")"
# the frames queued before the first one that says frames were skipped: the backlog
awk '{ if ($4 > 0) { found = 1; exit } n++; bytes += $8 }
    END { if (!found) { print "no frame was skipped"; exit 1 }
          if (bytes > 65536) { print bytes " bytes queued in " n " frames"; exit 1 } }' \
    "$T/slow" || t_fail "slow subscriber: $(awk '{ if ($4 > 0) { found = 1; exit } n++; b += $8 } END { print n " frames, " b " bytes before a skip" }' "$T/slow")"

# ---- unsubscribe: its answer, then nothing more ----
"$SUB" "$SIMD_SOCKET" 100 2 0 unsub >"$T/u" || t_fail "unsubscribe: $(cat "$T/u")"
t_expect_eq "$(sed -n 's/^unsubscribed //p' "$T/u")" 1 "unsubscribe ended one subscription"
t_expect_eq "$(sed -n 's/^after //p' "$T/u")" 0 "no frame after unsubscribe's answer"
# the bounds of interval_ms
out=$(printf '{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"interval_ms":99}}\n' |
    "$TOP/tests/tools/rawsock" "$SIMD_SOCKET" 1)
t_expect_match "$out" 'interval_ms\\" must be from 100' "interval_ms below 100 refused"
out=$(printf '{"jsonrpc":"2.0","method":"subscribe"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n' |
    "$TOP/tests/tools/rawsock" "$SIMD_SOCKET" 1)
t_expect_match "$out" '"id":2' "a subscribe without an id is not a stream"

# ---- many subscribers at once, and one that vanishes ----
i=0
pids=
while [ $i -lt 20 ]; do
	"$SUB" "$SIMD_SOCKET" 100 5 >"$T/m$i" &
	pids="$pids $!"
	i=$((i + 1))
done
"$SUB" "$SIMD_SOCKET" 100 100000 >"$T/gone" &
gone=$!
for p in $pids; do
	wait "$p" || t_fail "one of 20 subscribers did not get its frames"
done
i=0
while ! [ "$(wc -l <"$T/gone" | tr -d ' ')" -ge 2 ]; do
	i=$((i + 1)); [ $i -lt 200 ] || t_fail "the last subscriber got no frames"; sleep 0.05
done
kill -KILL "$gone"; wait "$gone" 2>/dev/null || true
i=0
while [ "$(t_status_field subscribers)" != 0 ]; do
	i=$((i + 1)); [ $i -lt 200 ] || t_fail "subscriptions outlive their clients"; sleep 0.05
done
t_expect_match "$(t_ctl status)" 'state: +running' "the run goes on after a subscriber vanished"
kill -0 "$SIMD_PID" || t_fail "simd died"

# ---- status --watch: a line per interval ----
# the file exists before the background shell opens it: the loop below must not read a
# missing file as "done" on a machine slow to start that shell
: >"$T/w"
(t_ctl status --watch 0.2 >"$T/w" 2>&1 &
    echo $! >"$T/w.pid"; wait) &
i=0
while [ "$(wc -l <"$T/w" | tr -d ' ')" -lt 3 ]; do
	i=$((i + 1)); [ $i -lt 200 ] || t_fail "status --watch printed no lines"; sleep 0.05
done
kill "$(cat "$T/w.pid")" 2>/dev/null || true
t_expect_match "$(head -n 1 "$T/w")" '^[0-9:]{8} running +cycle [0-9]+/400 agents [0-9,]+/300 sessions' \
    "status --watch line"

# ---- top --once: one plain frame with every panel ----
t_ctl top --once >"$T/top" || t_fail "top --once"
for p in '^simd top  run [0-9T]+-' '^agents [0-9,]+ / 300 this cycle +cycle [0-9]+ of 400' \
    '^-- performance' '^cycle time +last ' '^session ms +avg ' '^steps ms ' '^sessions/s ' \
    '^writes/s ' '^api calls/s +-' '^cpu [0-9.-]+ %   rss [0-9.]+ MB   db sqlite ' '^-- progress' \
    '^cycle +\[[#.]+\]' '^run +\[[#.]+\]' '^set-up done +users 300/300  catalogue written' \
    '^-- concurrency' '^limit 50 +in flight [0-9]+ +adaptive off' '^-- errors' '^total 0 ' \
    '^-- last errors' '^q quit'; do
	grep -Eq -- "$p" "$T/top" || t_fail "top --once lacks /$p/: $(cat "$T/top")"
done
grep -q "$(printf '\033')" "$T/top" && t_fail "top --once wrote escape sequences"
rc=0; t_ctl top --thresholds 'cycle_s=bad:1' --once >/dev/null 2>"$T/err" || rc=$?
t_expect_eq "$rc" 2 "a bad --thresholds is a usage error"
t_expect_match "$(cat "$T/err")" 'WARN and CRIT must be numbers' "its message"

t_ctl stop --wait >/dev/null

# ---- metrics_csv: a header, then a row per cycle with the documented columns ----
ncyc=$(t_status_field cycle)
header=$(head -n 1 "$T/cycles.csv")
t_expect_eq "$header" "timestamp,run_id,cycle,sim_time,agents_processed,agents_shopped,sessions,orders,errors,cycle_errors,avg_latency_ms,p95_latency_ms,p99_latency_ms,cycle_time_s,writes_per_sec,cpu_percent,memory_mb,db_connections,db_connections_max,concurrency_limit,lag_s,api_rate,api_requests,api_429,api_in_flight,api_failures" \
    "CSV header"
t_expect_eq "$(($(wc -l <"$T/cycles.csv") - 1))" "$ncyc" "a CSV row per cycle"
awk -F, 'NR > 1 { if (NF != 26) { print "row " NR ": " NF " columns"; exit 1 }
    if ($3 != NR - 1) { print "row " NR ": cycle " $3; exit 1 }
    if ($5 != 300 * $3) { print "row " NR ": agents_processed " $5; exit 1 } }' "$T/cycles.csv" ||
    t_fail "CSV rows"
# the documentation says the same columns
for doc in "$TOP/man/simd.conf.5" "$TOP/README.md"; do
	for col in $(echo "$header" | tr ',' ' '); do
		grep -q "$col" "$doc" || t_fail "$(basename "$doc") does not document CSV column $col"
	done
done

# ---- a resumed run appends without duplicating cycles ----
t_stop_simd || t_fail "simd exit status"
rm -f "$T/cycles.csv"
t_start_simd
t_ctl start --agents 300 --cycles 12 --time-scale 14400 >/dev/null
i=0
while [ "$(cat "$T/cycles.csv" 2>/dev/null | wc -l | tr -d ' ')" -lt 4 ]; do
	i=$((i + 1)); [ $i -lt 400 ] || t_fail "no CSV rows while running"; sleep 0.05
done
kill -KILL "$SIMD_PID"; wait "$SIMD_PID" 2>/dev/null || true
SIMD_PID=
t_start_simd --resume
t_wait_end
t_expect_match "$(t_ctl status)" 'state: +finished' "the resumed run finished"
t_expect_eq "$(($(wc -l <"$T/cycles.csv") - 1))" 12 "a row per cycle after the resume"
t_expect_eq "$(cut -d, -f3 "$T/cycles.csv" | sed 1d | sort -n | uniq | wc -l | tr -d ' ')" 12 \
    "no cycle twice"
t_expect_eq "$(grep -c '^timestamp,' "$T/cycles.csv")" 1 "one header"

# ---- SIGHUP reopens the file (logrotate moved it) ----
mv "$T/cycles.csv" "$T/cycles.csv.1"
kill -HUP "$SIMD_PID"
i=0
while [ ! -s "$T/cycles.csv" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || t_fail "SIGHUP did not reopen metrics_csv"; sleep 0.05
done
t_ctl start --agents 50 --cycles 3 --time-scale 0 --wait >/dev/null
t_expect_eq "$(($(wc -l <"$T/cycles.csv") - 1))" 3 "rows go to the reopened file"
t_expect_eq "$(($(wc -l <"$T/cycles.csv.1") - 1))" 12 "the rotated file is left alone"

# ---- set-up progress in status; start --wait draws no bar off a terminal ----
js=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$js" '"setup":\{"phase":"done","personas_generated":50,"personas_total":50,"personas_llm":0,"catalogue_written":true,"users_written":50,"users_total":50\}' \
    "set-up progress in status"
t_ctl start --agents 20 --cycles 2 --time-scale 0 --wait >"$T/out" 2>"$T/err"
[ -s "$T/err" ] && t_fail "start --wait wrote to a stderr that is not a terminal: $(cat "$T/err")"

# a bad metrics_csv or watch_thresholds is refused by simd -n, naming the key
{ cat "$T/simd.conf"; printf 'metrics_csv = /nonexistent/dir/x.csv\n' ; } >"$T/bad.conf"
rc=0; "$SIMD" -n -c "$T/bad.conf" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "simd -n with an unwritable metrics_csv"
t_expect_match "$(cat "$T/err")" 'metrics_csv /nonexistent/dir/x.csv: No such file' "its message"
{ cat "$T/simd.conf"; printf 'watch_thresholds = cpu_pct=90\n' ; } >"$T/bad.conf"
rc=0; "$SIMD" -n -c "$T/bad.conf" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "simd -n with a bad watch_thresholds"
t_expect_match "$(cat "$T/err")" 'watch_thresholds: bad threshold "cpu_pct=90"' "its message"

t_stop_simd || t_fail "simd exit status"
