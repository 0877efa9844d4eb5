# fdlimit.sh - simd at its limit of open files (ulimit -n low): it says so once at start and once
# when the limit is reached, refuses new clients with a clear answer instead of spinning on
# accept(), accepts again when descriptors are free, and the run goes on to the same rows.
#
# The run is paced (half a wall second a cycle) so that it is running all through the shortage
# whatever the machine's speed; the reference runs flat out (pacing changes when rows are
# written, never which).
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
t_conf "seed = 13" "checkpoint_interval = 0.5"
ARGS="--agents 400 --cycles 30 --all-shop --max-concurrent 16"
RAWSOCK=$TOP/tests/tools/rawsock
[ -x "$RAWSOCK" ] || t_fail "rawsock not built (make tests/tools/rawsock)"

t_start_simd
t_ctl start $ARGS --time-scale 0 --wait >/dev/null
ref=$(t_digest "$DATA/shop.db")
t_stop_simd || t_fail "exit"
rm -rf "$DATA"; mkdir "$DATA"

# 40 descriptors: about 20 left once simd has its files, its socket and its loop
ulimit -n 40
t_start_simd
t_expect_match "$(cat "$T/simd.log")" 'open files are limited to 40 .*refused' \
    "the low limit said at start"
t_ctl start $ARGS --time-scale 7200 >/dev/null
holders=
i=0
while [ $i -lt 40 ]; do
	"$RAWSOCK" "$SIMD_SOCKET" 0 120 </dev/null >/dev/null 2>&1 &
	holders="$holders $!"
	i=$((i + 1))
done
# wait until the limit is reached: a new client is then refused with a reason
i=0
while :; do
	rc=0; t_ctl ping >"$T/out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || break
	i=$((i + 1))
	[ $i -lt 600 ] || t_fail "40 idle clients never exhausted 40 descriptors"
	sleep 0.1
done
t_expect_eq "$rc" 1 "a client refused at the limit: simctl's status"
t_expect_match "$(cat "$T/out")" 'simd is out of file descriptors; try again later' \
    "the refusal says why"
t_ctl status >"$T/out" 2>&1 && t_fail "status answered while out of descriptors"
t_expect_match "$(cat "$T/out")" 'out of file descriptors' "a second refusal"
kill -0 "$SIMD_PID" || t_fail "simd died at its descriptor limit"
# free them: clients are accepted again, the shortage is summed up, the run has gone on
for p in $holders; do
	kill "$p" 2>/dev/null || true
done
for p in $holders; do
	wait "$p" 2>/dev/null || true
done
# (the recovery is said on an accept a second after the last refusal)
i=0
until t_ctl ping >/dev/null 2>&1 && grep -q 'accepting clients again' "$T/simd.log"; do
	i=$((i + 1))
	[ $i -lt 300 ] || t_fail "clients not accepted again once descriptors were free"
	sleep 0.1
done
log=$(cat "$T/simd.log")
t_expect_eq "$(grep -c 'out of file descriptors' "$T/simd.log")" 1 "the shortage logged once, no spin"
t_expect_match "$log" 'warn\] control: out of file descriptors \(Too many open files\); refusing new clients' \
    "the shortage, at warn"
t_expect_match "$log" 'info\] control: accepting clients again \([1-9][0-9]* refused' \
    "the recovery, with the count"
t_expect_match "$(t_ctl status)" 'state: +running' "the run went on through the shortage"
t_wait_end
st=$(t_ctl --json status | tr -d ' \n')
t_expect_match "$st" '"state":"finished"' "run finished"
t_expect_match "$st" '"errors":0' "no session lost to the shortage"
t_expect_eq "$(t_digest "$DATA/shop.db")" "$ref" "rows = rows of a run with descriptors to spare"
t_stop_simd || t_fail "exit"
