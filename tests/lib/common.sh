# common.sh - helpers for the integration tests (tests/integration/*.sh).  POSIX sh.
#
# Source it, then:
#	t_setup				# $T, $DATA, $T/simd.conf, cleanup on exit
#	t_conf "agents = 10"		# more config lines (optional)
#	t_start_simd [ARGS...]		# "$SIMD" -f -c $T/simd.conf ARGS, waits for the socket
#	out=$(t_ctl status) || t_fail "status failed"
#	t_expect_match "$out" 'state: *idle' "status before start"
#	t_stop_simd			# SIGTERM; returns simd's exit status
#	t_start_llmd --model m=persona	# the LLM test double: $LLMD_URL, $LLMD_PORT, $LLMD_PID
#	t_llmd POST /_control '{"models":{"m":"429"}}'	# prints the body; $T/llmd.code, .head
#	t_llmd_stat requests		# a counter of GET /_stats (t_llmd_model_stat m tried)
#	t_stop_llmd			# SIGTERM; returns llmd's exit status
#	t_mount_tmpfs 24m		# (root) a small tmpfs at $T_MNT, unmounted at the end
#	until [ "$(t_cycle)" -ge 2 ]; do sleep 0.1; done	# the run's current cycle
#	t_expect_same_rows "$ref" "after the fault"	# finished, no errors, digest, outcomes
#
# $SIMD and $SIMCTL default to the binaries at the top of the tree.  SIMD_VALGRIND=1
# runs simd under valgrind (errors and definite leaks make it exit 99).  SIMD_KEEP=1
# keeps $T after the test.  Every helper is safe under "set -eu"; t_fail only ends the
# test when it is not called inside $(...) or a subshell.

# The repository root: the runner may set TOP; otherwise look upwards from the test.
if [ -z "${TOP:-}" ]; then
	_t_d=$(cd "$(dirname "$0")" && pwd)
	while [ "$_t_d" != / ] && [ ! -f "$_t_d/tests/lib/common.sh" ]; do
		_t_d=$(dirname "$_t_d")
	done
	if [ ! -f "$_t_d/tests/lib/common.sh" ]; then
		echo "common.sh: cannot find the repository root above $0; set TOP" >&2
		exit 1
	fi
	TOP=$_t_d
fi
SIMD=${SIMD:-$TOP/simd}
SIMCTL=${SIMCTL:-$TOP/simctl}
export TOP SIMD SIMCTL

# A test sees only the configuration it writes: drop what the caller's environment
# would otherwise feed simd (see the env column of lib/config.c).
unset DATABASE_URL SIMD_DATA_DIR SIMD_LOG_LEVEL
for _t_v in $(env | sed -n 's/^\(SIMULATION_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$_t_v"
done

T=
DATA=
SIMD_PID=
LLMD_PID=
T_MNT=

t_fail() {
	echo "FAIL: $*" >&2
	if [ -n "$T" ] && [ -s "$T/simd.log" ]; then
		echo "--- last lines of $T/simd.log ---" >&2
		tail -n 40 "$T/simd.log" >&2
		echo "---" >&2
	fi
	exit 1
}

t_expect_eq() {
	[ "$1" = "$2" ] || t_fail "$3: expected '$2', got '$1'"
}

t_expect_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || t_fail "$3: '$1' does not match /$2/"
}

t_ctl() {
	"$SIMCTL" -s "$SIMD_SOCKET" "$@"
}

# Append configuration lines to $T/simd.conf.
t_conf() {
	printf '%s\n' "$@" >>"$T/simd.conf"
}

t_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/simd-test.XXXXXX") || t_fail "mktemp -d failed"
	DATA=$T/data
	SIMD_SOCKET=$T/simd.sock
	export T DATA SIMD_SOCKET
	mkdir "$DATA"
	# adaptive = off: a test counts on the limit it sets (the default, on, would adapt
	# it from there); the tests of the adaptive limit turn it on.
	printf 'data_dir = %s\nsocket = %s\nadaptive = off\n' "$DATA" "$SIMD_SOCKET" \
	    >"$T/simd.conf"
	trap _t_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Grace periods: valgrind makes start-up and the exit-time leak check slow.
_t_valgrind() {
	[ "${SIMD_VALGRIND:-0}" = 1 ]
}

# Wait for background child $1 for at most $2 seconds, then SIGKILL it.
# Sets _t_rc to its exit status and _t_killed to 1 when it had to be killed.
_t_wait_pid() {
	_t_pid=$1
	_t_n=$(($2 * 20))
	# The watchdog sleeps in short steps so that nothing outlives it for long, and
	# keeps no descriptor of the test's (a runner reading our output would wait).
	(
		_i=0
		while [ "$_i" -lt "$_t_n" ]; do
			kill -0 "$_t_pid" 2>/dev/null || exit 0
			sleep 0.05
			_i=$((_i + 1))
		done
		kill -KILL "$_t_pid" 2>/dev/null && echo killed >"$T/.killed"
	) </dev/null >/dev/null 2>&1 &
	_t_wd=$!
	_t_rc=0
	wait "$_t_pid" || _t_rc=$?
	kill "$_t_wd" 2>/dev/null || true
	wait "$_t_wd" 2>/dev/null || true
	_t_killed=0
	if [ -e "$T/.killed" ]; then
		_t_killed=1
		rm -f "$T/.killed"
	fi
}

t_start_simd() {
	[ -n "$T" ] || t_fail "t_start_simd before t_setup"
	[ -z "$SIMD_PID" ] || t_fail "t_start_simd: simd already running (pid $SIMD_PID)"
	[ -x "$SIMD" ] || t_fail "simd binary not found: $SIMD (build it with make)"
	# Keep the logs of earlier starts in this test: simd.log.1, simd.log.2, ...
	if [ -s "$T/simd.log" ]; then
		_t_n=1
		while [ -e "$T/simd.log.$_t_n" ]; do
			_t_n=$((_t_n + 1))
		done
		mv "$T/simd.log" "$T/simd.log.$_t_n"
	fi
	_t_limit=10
	if _t_valgrind; then
		command -v valgrind >/dev/null 2>&1 || t_fail "SIMD_VALGRIND=1 but no valgrind"
		_t_limit=60
		valgrind --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite --track-fds=no -q \
		    "$SIMD" -f -c "$T/simd.conf" "$@" </dev/null >"$T/simd.log" 2>&1 &
	else
		"$SIMD" -f -c "$T/simd.conf" "$@" </dev/null >"$T/simd.log" 2>&1 &
	fi
	SIMD_PID=$!
	_t_wait_ready "$_t_limit"
}

# Ready means the socket exists and a client gets an answer; simctl exits 3 while it
# cannot reach the daemon (the socket is not there yet, is stale from a killed
# daemon, or is bound but not yet listening).  Any other status means simd answered.
# One ping, bounded in time where timeout(1) exists, in case simd accepts but never answers.
_t_ping() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 10 "$SIMCTL" -s "$SIMD_SOCKET" ping >/dev/null 2>&1
	else
		"$SIMCTL" -s "$SIMD_SOCKET" ping >/dev/null 2>&1
	fi
}

_t_wait_ready() {
	_t_i=0
	_t_n=$(($1 * 20))
	while [ "$_t_i" -lt "$_t_n" ]; do
		if ! kill -0 "$SIMD_PID" 2>/dev/null; then
			_t_rc=0
			wait "$SIMD_PID" || _t_rc=$?
			SIMD_PID=
			t_fail "simd exited with status $_t_rc before its socket was ready"
		fi
		if [ -S "$SIMD_SOCKET" ]; then
			_t_rc=0
			_t_ping || _t_rc=$?
			[ "$_t_rc" -eq 3 ] || [ "$_t_rc" -eq 124 ] || return 0
		fi
		sleep 0.05
		_t_i=$((_t_i + 1))
	done
	t_fail "simd did not answer on $SIMD_SOCKET within $1 s"
}

# SIGTERM simd and wait for it (15 s, 60 s under valgrind, then SIGKILL).
# Returns simd's exit status (99: valgrind found errors; 137: it had to be killed).
t_stop_simd() {
	[ -n "$SIMD_PID" ] || t_fail "t_stop_simd: simd is not running"
	_t_limit=15
	_t_valgrind && _t_limit=60
	kill -TERM "$SIMD_PID" 2>/dev/null || true
	_t_wait_pid "$SIMD_PID" "$_t_limit"
	SIMD_PID=
	if [ "$_t_killed" = 1 ]; then
		echo "t_stop_simd: simd did not exit within $_t_limit s of SIGTERM; killed" >&2
	fi
	return "$_t_rc"
}

_t_cleanup() {
	_t_status=$?
	trap - EXIT HUP INT TERM
	if [ -n "$LLMD_PID" ]; then
		kill -TERM "$LLMD_PID" 2>/dev/null || true
		_t_wait_pid "$LLMD_PID" 30
		LLMD_PID=
	fi
	t_members_stop
	if [ -n "$SIMD_PID" ]; then
		kill -TERM "$SIMD_PID" 2>/dev/null || true
		if _t_valgrind; then
			_t_wait_pid "$SIMD_PID" 30
		else
			_t_wait_pid "$SIMD_PID" 5
		fi
		SIMD_PID=
	fi
	# A pooler a test started in front of PostgreSQL (pg_bouncer_start) goes first.
	if [ -n "${PGB_DIR:-}" ] && command -v pg_bouncer_stop >/dev/null 2>&1; then
		pg_bouncer_stop || true
	fi
	# A test that started its own PostgreSQL server (t_pg_own) gets it stopped here;
	# the runner's shared one is left alone.
	if [ "${_T_PG_OWNED:-0}" = 1 ] && [ -n "${PG_DIR:-}" ] && command -v pg_stop >/dev/null 2>&1; then
		pg_stop || true
	fi
	if [ -n "$T_MNT" ]; then
		umount "$T_MNT" 2>/dev/null || umount -l "$T_MNT" 2>/dev/null || true
		T_MNT=
	fi
	if [ -n "$T" ]; then
		if [ "${SIMD_KEEP:-0}" = 1 ]; then
			echo "common.sh: kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit "$_t_status"
}

# t_use_data_dir DIR: the data directory from now on (made; simd reads it at its next start).
t_use_data_dir() {
	DATA=$1
	mkdir -p "$DATA"
	sed -i "s|^data_dir = .*|data_dir = $DATA|" "$T/simd.conf"
}

# A tmpfs of size $1 (root only) at $T/mnt, for a filesystem a test may fill; $T_MNT.
t_mount_tmpfs() {
	mkdir -p "$T/mnt"
	mount -t tmpfs -o "size=$1,mode=0755" tmpfs "$T/mnt" || t_fail "cannot mount a tmpfs"
	T_MNT=$T/mnt
	export T_MNT
}

# The determinism digest (docs/schema.md): orders and events of the sqlite shop db $1.
t_digest() {
	sqlite3 "$1" "SELECT o.idem_key, u.agent_id, o.total_cents FROM orders o
	    JOIN users u ON u.id = o.user_id ORDER BY o.idem_key;
	    SELECT event_key, event_type FROM shopping_session_events ORDER BY event_key;" |
	    sha256sum | cut -d' ' -f1
}

# t_expect_same_rows REF WHY: the run has finished with no session failed, its rows digest to
# REF (t_digest of $DATA/shop.db), and every session has an outcome; WHY ends each message.
t_expect_same_rows() {
	_t_st=$(t_ctl --json status | tr -d ' \n')
	t_expect_match "$_t_st" '"state":"finished"' "the run finished $2"
	t_expect_match "$_t_st" '"errors":0' "no session lost $2"
	t_expect_eq "$(t_digest "$DATA/shop.db")" "$1" "rows = rows of a run without the fault, $2"
	t_expect_eq "$(sqlite3 "$DATA/shop.db" "SELECT count(*) FROM shopping_sessions
	    WHERE outcome IS NULL OR ended_at IS NULL")" 0 "no session left without an outcome $2"
}

# t_within NAME VALUE LO HI: LO <= VALUE <= HI (decimals allowed)
t_within() {
	awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 <= hi) }' ||
	    t_fail "$1 is $2, outside $3-$4"
}

# The run's current cycle, as status shows it ("cycle: N of M").
t_cycle() {
	t_ctl status | sed -n 's/^cycle: *\([0-9]*\) .*/\1/p'
}

# Value of a numeric field ("counts.orders") in `simctl --json status`.
t_status_field() {
	t_ctl --json status | tr -d ' \n' | sed -n "s/.*\"$1\":\([-0-9.]*\).*/\1/p"
}

# PostgreSQL helpers (need tests/lib/pg.sh and a server: PG_URL, PGPORT, PG_DIR).
# t_pg_db NAME: a fresh database; prints its URL.
t_pg_db() {
	_pg_admin -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null ||
	    t_fail "cannot create database $1"
	echo "postgresql://postgres@127.0.0.1:$PGPORT/$1"
}

# t_pg_digest NAME: the determinism digest of database NAME, as t_digest computes it.
t_pg_digest() {
	_pg_admin -At -F '|' -d "$1" -c "SELECT o.idem_key, u.agent_id, o.total_cents
	    FROM orders o JOIN users u ON u.id = o.user_id ORDER BY o.idem_key" \
	    -c "SELECT event_key, event_type FROM shopping_session_events ORDER BY event_key" |
	    sha256sum | cut -d' ' -f1
}

# t_pg_ref DB ARGS...: the reference of a sharded run -- one daemon, the whole population,
# simctl start ARGS --wait on a fresh database DB (its database_url added to $T/simd.conf);
# sets ref to its digest.
t_pg_ref() {
	_t_db=$1
	shift
	t_conf "database_url = $(t_pg_db "$_t_db")"
	t_start_simd
	t_ctl start "$@" --wait >/dev/null || t_fail "the reference run on $_t_db"
	t_stop_simd || t_fail "exit after the reference run"
	ref=$(t_pg_digest "$_t_db")
	[ "$(_pg_admin -At -d "$_t_db" -c 'SELECT count(*) FROM orders')" -gt 0 ] ||
	    t_fail "the reference run wrote no orders"
}

t_pg_need() {
	if [ -z "${PG_URL:-}" ] || [ -z "${PG_DIR:-}" ]; then
		echo "no PostgreSQL server for this test (tests/run.sh starts one)"
		exit 77
	fi
	# pg.sh starts from a clean slate: keep the runner's server
	_t_pg_dir=$PG_DIR _t_pg_log=${PG_LOG:-} _t_pg_bin=${PG_BINDIR:-}
	. "$TOP/tests/lib/pg.sh"
	PG_DIR=$_t_pg_dir PG_LOG=$_t_pg_log PG_BINDIR=$_t_pg_bin
}

# A private server for a test that restarts it; stopped when the test ends.
t_pg_own() {
	PG_DIR= PG_LOG=
	pg_start >/dev/null || t_fail "cannot start a private PostgreSQL server"
	_T_PG_OWNED=1
}

# t_wait_for COND SECS: waits (0.2 s steps) until the shell condition COND holds; fails the
# test after SECS seconds.
t_wait_for() {
	_t_w=0
	until eval "$1"; do
		_t_w=$((_t_w + 1))
		[ "$_t_w" -lt $(($2 * 5)) ] || t_fail "timed out waiting for: $1"
		sleep 0.2
	done
}

# t_kill_resume N [HOOK]: N times, at a moment 0.4 .. 1.2 s on (the run paced to outlast
# them), check the run is running, kill -9 simd, start it again and resume the run; HOOK K
# runs after the K-th resume.  Sets kills.
t_kill_resume() {
	kills=0
	while [ $kills -lt "$1" ]; do
		sleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", 0.4 + (r % 80) / 100 }')"
		t_expect_match "$(t_ctl status)" 'state: +running' "running before kill $((kills + 1))"
		kill -KILL "$SIMD_PID"
		wait "$SIMD_PID" 2>/dev/null || true
		SIMD_PID=
		kills=$((kills + 1))
		t_start_simd
		t_ctl start --resume >/dev/null || t_fail "resume after kill $kills"
		[ -z "${2:-}" ] || "$2" "$kills"
	done
}

# Daemons besides $SIMD_PID, each with its own socket and data dir (shards.sh, cluster.sh):
# t_member_start NAME [VAR=VALUE...] starts "$SIMD" -f -c $T/NAME.conf with those variables, its
# log appended to $T/NAME.log, and adds its pid to T_MEMBERS; t_members_stop sends them SIGTERM
# and waits (the cleanup does too).
T_MEMBERS=
t_member_start() {
	_t_m=$1
	shift
	# t_setup's SIMD_SOCKET (for t_ctl) would override the member's own socket
	env -u SIMD_SOCKET "$@" "$SIMD" -f -c "$T/$_t_m.conf" </dev/null >>"$T/$_t_m.log" 2>&1 &
	T_MEMBERS="$T_MEMBERS $!"
}
t_members_stop() {
	for _t_p in $T_MEMBERS; do kill -TERM "$_t_p" 2>/dev/null || true; done
	for _t_p in $T_MEMBERS; do wait "$_t_p" 2>/dev/null || true; done
	T_MEMBERS=
}

# Waits until the run has ended (finished or failed); fails the test if simd dies or the run
# takes longer than $1 seconds (default 300).
t_wait_end() {
	_t_lim=$(( ${1:-300} * 5 ))
	_t_i=0
	while :; do
		if _t_out=$(t_ctl status 2>&1); then
			printf '%s\n' "$_t_out" | grep -Eq 'state: +(finished|failed)' && return 0
		elif [ -n "$SIMD_PID" ] && ! kill -0 "$SIMD_PID" 2>/dev/null; then
			t_fail "simd died while waiting for the run to end"
		fi
		_t_i=$((_t_i + 1))
		[ "$_t_i" -lt "$_t_lim" ] || t_fail "the run did not end within ${1:-300} s"
		sleep 0.2
	done
}

# The LLM test double (tests/tools/llmd; see the top of tests/tools/llmd.c).  Starts it on
# an ephemeral loopback port with ARGS and waits for its "port N" line.  LLMD_URL is the
# base URL without /v1.  SIMD_VALGRIND=1 runs it under valgrind too.
t_start_llmd() {
	[ -n "$T" ] || t_fail "t_start_llmd before t_setup"
	[ -z "$LLMD_PID" ] || t_fail "t_start_llmd: llmd already running (pid $LLMD_PID)"
	LLMD=${LLMD:-$TOP/tests/tools/llmd}
	[ -x "$LLMD" ] || t_fail "llmd not found: $LLMD (build it with make tests/tools/llmd)"
	: >"$T/llmd.out"
	if _t_valgrind; then
		valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		    -q "$LLMD" --listen 127.0.0.1:0 "$@" </dev/null >"$T/llmd.out" 2>"$T/llmd.err" &
	else
		"$LLMD" --listen 127.0.0.1:0 "$@" </dev/null >"$T/llmd.out" 2>"$T/llmd.err" &
	fi
	LLMD_PID=$!
	_t_i=0
	while ! grep -q '^port [0-9]' "$T/llmd.out"; do
		if ! kill -0 "$LLMD_PID" 2>/dev/null; then
			LLMD_PID=
			t_fail "llmd exited before listening: $(cat "$T/llmd.err")"
		fi
		_t_i=$((_t_i + 1))
		[ "$_t_i" -lt 1200 ] || t_fail "llmd did not listen within 60 s"
		sleep 0.05
	done
	LLMD_PORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$T/llmd.out")
	LLMD_URL=http://127.0.0.1:$LLMD_PORT
	export LLMD_PORT LLMD_URL
}

# SIGTERM llmd and wait for it; returns its exit status (99: valgrind found errors).
t_stop_llmd() {
	[ -n "$LLMD_PID" ] || t_fail "t_stop_llmd: llmd is not running"
	kill -TERM "$LLMD_PID" 2>/dev/null || true
	_t_wait_pid "$LLMD_PID" 30
	LLMD_PID=
	return "$_t_rc"
}

# t_llmd METHOD PATH [BODY [CURL-ARGS...]]: prints the answer's body; the status code goes
# to $T/llmd.code and the headers to $T/llmd.head.
t_llmd() {
	_t_m=$1 _t_p=$2
	shift 2
	if [ $# -gt 0 ]; then
		_t_b=$1
		shift
		set -- -H 'Content-Type: application/json' --data-binary "$_t_b" "$@"
	fi
	curl -s -m 30 -X "$_t_m" -D "$T/llmd.head" -o "$T/llmd.body" -w '%{http_code}' "$@" \
	    "$LLMD_URL$_t_p" >"$T/llmd.code" || true
	cat "$T/llmd.body" 2>/dev/null || true
}

# A top-level counter of GET /_stats ("requests", "max_concurrent", ...).
t_llmd_stat() {
	curl -s -m 30 "$LLMD_URL/_stats" | sed 's/"by_status".*//' |
	    sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# t_llmd_model_stat MODEL asked|tried|answered (0 for a model never seen).
t_llmd_model_stat() {
	_t_v=$(curl -s -m 30 "$LLMD_URL/_stats" | sed 's/.*"by_model"://' | tr '}' '\n' |
	    grep -F "\"$1\":{" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p")
	echo "${_t_v:-0}"
}

# How many answers of status CODE llmd has sent.
t_llmd_status_count() {
	_t_v=$(curl -s -m 30 "$LLMD_URL/_stats" | sed -n "s/.*\"by_status\":{[^}]*\"$1\":\([0-9]*\).*/\1/p")
	echo "${_t_v:-0}"
}
