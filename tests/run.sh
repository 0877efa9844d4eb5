#!/bin/sh
# run.sh - runs the unit test binaries given as arguments, then every
# tests/integration/*.sh, and ends with "N passed, M failed" (exit 1 on any
# failure).  A test that exits 77 is counted as skipped.
#   SIMD_TESTS="name ..."   run only the integration tests whose file names match
#   SIMD_UNIT_ONLY=1        skip the integration tests
#   SIMD_VALGRIND=1         run simd under valgrind in the integration tests
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
pass=0 fail=0 skip=0 failed=""
logdir=$(mktemp -d "${TMPDIR:-/tmp}/simd-check.XXXXXX")

run_one() {	# name command...
	name=$1
	shift
	start=$(date +%s)
	# no test may hang the suite: 10 minutes each at most (exit 124 then)
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 10 "${SIMD_TEST_TIMEOUT:-600}" "$@" >"$logdir/out" 2>&1
	else
		"$@" >"$logdir/out" 2>&1
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)); echo "ok    $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "skip  $name: $(tail -n 1 "$logdir/out")" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   echo "FAIL  $name (exit $rc, ${secs}s)"; sed 's/^/    | /' "$logdir/out" | tail -n 60 ;;
	esac
}

# One PostgreSQL server for every test that wants one (tests that restart a
# server start their own).
. "$TOP/tests/lib/pg.sh"
if [ -z "${PG_URL:-}" ] && [ -z "${SIMD_NO_PG:-}" ]; then
	if pg_start >"$logdir/pg" 2>&1; then
		trap 'pg_stop >/dev/null 2>&1; rm -rf "$logdir"' EXIT
	else
		echo "note: no PostgreSQL server for the tests:"; cat "$logdir/pg"
		trap 'rm -rf "$logdir"' EXIT
	fi
else
	trap 'rm -rf "$logdir"' EXIT
fi
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
	run_one "unit/$(basename "$t")" "$t"
done
if [ -z "${SIMD_UNIT_ONLY:-}" ]; then
	for t in "$TOP"/tests/integration/*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		if [ -n "${SIMD_TESTS:-}" ]; then
			case " $SIMD_TESTS " in *" $n "*) ;; *) continue ;; esac
		fi
		run_one "integration/$n" sh "$t"
	done
fi
if [ "$had_default_data" = 0 ] && default_data_exists; then
	fail=$((fail + 1)); failed="$failed left-behind"
	echo "FAIL  a test left $default_data behind (a simd run without its own data_dir)"
fi
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
