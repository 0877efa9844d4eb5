#!/bin/sh
# run.sh - runs the unit test binaries given as arguments, then every
# tests/integration/*.sh, and ends with "N passed, M failed" (exit 1 on any
# failure).  A test that exits 77 is counted as skipped.
#   SIMD_TESTS="name ..."   run only the integration tests whose file names match
#   SIMD_UNIT_ONLY=1        skip the integration tests
#   SIMD_VALGRIND=1         run simd under valgrind in the integration tests
#   SIMD_JOBS=N             integration tests run N at a time (2; 1: one after another)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
pass=0 fail=0 skip=0 failed=""
logdir=$(mktemp -d "${TMPDIR:-/tmp}/simd-check.XXXXXX")

# run_bg name command...: runs one test (10 minutes at most: exit 124 then), its output kept
# in $logdir/out.NAME, its outcome in $logdir/res.NAME ("rc secs name"), its line printed at
# once; the outcomes are counted, and a failure's output printed, after all of them.
run_bg() {
	_n=$1
	shift
	_f=$(echo "$_n" | tr / _)
	_s=$(date +%s)
	# in the background and waited for, so that a worker told to stop stops its test too
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 10 "${SIMD_TEST_TIMEOUT:-600}" "$@" >"$logdir/out.$_f" 2>&1 &
	else
		"$@" >"$logdir/out.$_f" 2>&1 &
	fi
	_c=$!
	wait "$_c"
	_rc=$?
	_c=
	_secs=$(($(date +%s) - _s))
	echo "$_rc $_secs $_n" >"$logdir/res.$_f"
	case $_rc in
	0) echo "ok    $_n (${_secs}s)" ;;
	77) echo "skip  $_n: $(tail -n 1 "$logdir/out.$_f")" ;;
	*) echo "FAIL  $_n (exit $_rc, ${_secs}s)" ;;
	esac
}

# pop: the next test of $logdir/queue on stdout, under a lock the workers share (mkdir is
# atomic); 1 when the queue is empty.
pop() {
	until mkdir "$logdir/lock" 2>/dev/null; do sleep 0.05; done
	_t=$(head -n 1 "$logdir/queue")
	tail -n +2 "$logdir/queue" >"$logdir/queue.new" && mv "$logdir/queue.new" "$logdir/queue"
	rmdir "$logdir/lock"
	[ -n "$_t" ] && echo "$_t"
}

worker() {
	_c=
	trap '[ -n "$_c" ] && kill -TERM "$_c" 2>/dev/null; exit 143' TERM
	while t=$(pop); do
		run_bg "integration/$(basename "$t" .sh)" sh "$t"
	done
}

WORKERS=
cleanup() {
	for _w in $WORKERS; do
		kill -TERM "$_w" 2>/dev/null
	done
	[ -n "${PG_OWN:-}" ] && pg_stop >/dev/null 2>&1
	rm -rf "$logdir"
}

# One PostgreSQL server for every test that wants one (tests that restart a
# server start their own).
. "$TOP/tests/lib/pg.sh"
PG_OWN=
if [ -z "${PG_URL:-}" ] && [ -z "${SIMD_NO_PG:-}" ]; then
	if pg_start >"$logdir/pg" 2>&1; then
		PG_OWN=1
	else
		echo "note: no PostgreSQL server for the tests:"; cat "$logdir/pg"
	fi
fi
trap cleanup EXIT
export PG_URL
# a suite interrupted (^C, kill) still stops its server and removes its directory: the
# EXIT trap runs only on the way out of the shell, which these signals otherwise skip
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# The tests must leave the machine as they found it: no daemon's default data directory
# may appear because a test ran simd without its own (checked at the end).
if [ "$(id -u)" = 0 ] || [ -z "${HOME:-}" ]; then
	default_data=/var/lib/simd
else
	default_data=$HOME/.local/state/simd
fi
# Another checkout's package test (package.sh) holds /var/lib/simd while it runs, under a lock.
default_data_exists() {
	if [ "$default_data" = /var/lib/simd ] && [ -d /run/lock ] && command -v flock >/dev/null 2>&1; then
		flock /run/lock/simd-package-test.lock test -e "$default_data"
	else
		test -e "$default_data"
	fi
}
had_default_data=0
! default_data_exists || had_default_data=1

for t in "$@"; do
	run_bg "unit/$(basename "$t")" "$t"
done
# The slowest first (as measured on a 2-core machine), so that the jobs end together.
SLOW="secrets shopapi_nginx package pgrestart cluster llm_limits cluster_ctl fuzz readonly
postgres datadir watch pgbulk fdlimit crash realism"
wanted() {	# NAME: not left out by SIMD_TESTS
	[ -z "${SIMD_TESTS:-}" ] || case " $SIMD_TESTS " in *" $1 "*) ;; *) return 1 ;; esac
}
if [ -z "${SIMD_UNIT_ONLY:-}" ]; then
	{
		for n in $SLOW; do
			[ -f "$TOP/tests/integration/$n.sh" ] && wanted "$n" &&
			    echo "$TOP/tests/integration/$n.sh"
		done
		for t in "$TOP"/tests/integration/*.sh; do
			n=$(basename "$t" .sh)
			[ -f "$t" ] && wanted "$n" || continue
			case " $(echo $SLOW) " in *" $n "*) continue ;; esac
			echo "$t"
		done
	} >"$logdir/queue"
	jobs=${SIMD_JOBS:-2}
	case $jobs in '' | *[!0-9]* | 0) echo "SIMD_JOBS must be a positive integer" >&2; exit 2 ;; esac
	j=0
	while [ "$j" -lt "$jobs" ]; do
		worker &
		WORKERS="$WORKERS $!"
		j=$((j + 1))
	done
	for w in $WORKERS; do
		wait "$w"
	done
	WORKERS=
fi
for r in "$logdir"/res.*; do
	[ -f "$r" ] || continue
	read -r rc secs name <"$r"
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   echo "----- $name (exit $rc, ${secs}s)"
	   sed 's/^/    | /' "$logdir/out.$(echo "$name" | tr / _)" | tail -n 60 ;;
	esac
done
if [ "$had_default_data" = 0 ] && default_data_exists; then
	fail=$((fail + 1)); failed="$failed left-behind"
	echo "FAIL  a test left $default_data behind (a simd run without its own data_dir)"
fi
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
