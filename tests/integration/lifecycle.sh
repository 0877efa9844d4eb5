# lifecycle.sh - flags, configuration errors, the data-dir lock, signals, detaching.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup

t_expect_match "$("$SIMD" -V)" '^simd [0-9]' "simd -V"
t_expect_match "$("$SIMD" -h)" '--foreground' "simd -h"
rc=0; "$SIMD" --bogus 2>/dev/null || rc=$?
t_expect_eq "$rc" 2 "unknown flag"
t_expect_match "$("$SIMD" -n -c "$T/simd.conf")" 'configuration OK' "simd -n"

# a bad config refused, naming file, line and key
printf 'data_dir = %s\n# comment\nmax_concurrent = lots\n' "$DATA" >"$T/bad.conf"
rc=0; "$SIMD" -f -c "$T/bad.conf" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "bad value exit status"
t_expect_match "$(cat "$T/err")" "bad.conf:3: max_concurrent: must be an integer" "bad value message"
printf 'data_dir = %s\nmax_concurency = 5\n' "$DATA" >"$T/bad.conf"
rc=0; "$SIMD" -n -c "$T/bad.conf" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "unknown key exit status"
t_expect_match "$(cat "$T/err")" "bad.conf:2: max_concurency: unknown key" "unknown key message"
printf 'just words\n' >"$T/bad.conf"
rc=0; "$SIMD" -n -c "$T/bad.conf" 2>"$T/err" || rc=$?
t_expect_match "$(cat "$T/err")" "bad.conf:1: expected key = value" "malformed line"
rc=0; "$SIMD" -n -c "$T/missing.conf" 2>"$T/err" || rc=$?
t_expect_match "$(cat "$T/err")" "missing.conf: No such file" "missing config file"
rc=0; SIMULATION_MAX_CONCURRENT=0 "$SIMD" -n -c "$T/simd.conf" 2>"$T/err" || rc=$?
t_expect_match "$(cat "$T/err")" "environment SIMULATION_MAX_CONCURRENT: max_concurrent" "bad env"
rc=0; "$SIMD" -n -c "$T/simd.conf" -l loud 2>"$T/err" || rc=$?
t_expect_match "$(cat "$T/err")" "command line: log_level" "bad flag value"

# simd -n runs every check start-up runs, short of binding and connecting
n_fails() {	# expected-message simd-args...
	msg=$1; shift
	rc=0; "$SIMD" -n "$@" >"$T/out" 2>"$T/err" || rc=$?
	t_expect_eq "$rc" 1 "simd -n $*: exit status"
	t_expect_match "$(cat "$T/err")" "$msg" "simd -n $*"
	grep -q 'configuration OK' "$T/out" && t_fail "simd -n $* said OK"
	return 0
}
long=$T/$(head -c 120 /dev/zero | tr '\0' 's')/simd.sock
n_fails 'socket path too long' -c "$T/simd.conf" -s "$long"
printf 'data_dir = %s\nsocket = %s\nsocket_group = nosuchgroup\n' "$DATA" "$SIMD_SOCKET" \
    >"$T/group.conf"
n_fails 'socket_group: no group named nosuchgroup' -c "$T/group.conf"
DATABASE_URL='mysql://root:hunter22@db/shop'; export DATABASE_URL
n_fails 'database_url: unsupported scheme "mysql://"' -c "$T/simd.conf"
grep -q hunter22 "$T/err" && t_fail "password shown: $(cat "$T/err")"
DATABASE_URL='host=127.0.0.1 password=se cret dbname=x'
n_fails 'database_url: .*"\*\*\*"' -c "$T/simd.conf"
grep -q cret "$T/err" && t_fail "a piece of the password shown: $(cat "$T/err")"
DATABASE_URL='postgresql://u:pw99zz@127.0.0.1/db?sslmod=require'
n_fails 'database_url: invalid URI query parameter: "sslmod"' -c "$T/simd.conf"
grep -q pw99zz "$T/err" && t_fail "password shown: $(cat "$T/err")"
DATABASE_URL='host=127.0.0.1 port'
n_fails 'missing "=" after "port" .*at character 16 of database_url' -c "$T/simd.conf"
unset DATABASE_URL
n_fails 'log_file .*: (No such file|Not a directory)' -c "$T/simd.conf" -L "$T/nodir/x/simd.log"
t_expect_match "$("$SIMD" -n -c "$T/simd.conf" -L "$T/ok.log")" 'configuration OK' "-n with -L"

# log_file: the log goes to the file (foreground too), reopened on SIGHUP after a move
t_start_simd -L "$T/file.log"
t_expect_match "$(cat "$T/file.log")" 'listening on' "the log is in log_file"
grep -q 'listening on' "$T/simd.log" && t_fail "log_file set, yet the log went to stderr"
mv "$T/file.log" "$T/file.log.1"
kill -HUP "$SIMD_PID"
i=0; while [ ! -s "$T/file.log" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
t_expect_match "$(cat "$T/file.log")" 'configuration reloaded' "SIGHUP reopens log_file"
t_expect_match "$(cat "$T/file.log.1")" 'SIGHUP: reloading' "the moved file kept its lines"
t_stop_simd || t_fail "exit"
# detached without syslog (containers) and without log_file: said before detaching
if [ ! -S /dev/log ]; then
	"$SIMD" -c "$T/simd.conf" 2>"$T/err" || t_fail "detached start failed"
	t_expect_match "$(cat "$T/err")" 'no syslog here \(/dev/log is missing\) and no log_file' \
	    "warned that a detached simd would log nowhere"
	kill -TERM "$(cat "$DATA/simd.pid")"
	i=0; while [ -e "$DATA/simd.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
else
	echo "this machine has /dev/log: the no-syslog warning is not exercised"
fi
"$SIMD" -c "$T/simd.conf" -L "$T/detached.log" 2>"$T/err" || t_fail "detached start with -L"
[ -s "$T/err" ] && t_fail "warning despite log_file: $(cat "$T/err")"
pid=$(cat "$DATA/simd.pid")
t_expect_match "$(cat "$T/detached.log")" 'listening on' "detached simd logs to log_file"
kill -TERM "$pid"
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

# precedence: file < environment < flags
t_conf "max_concurrent = 7"
t_start_simd
t_expect_match "$(t_ctl --json start --agents 5 --cycles 1 --time-scale 0 --wait)" '"limit": 7' \
    "file value used"
rc=0; t_stop_simd || rc=$?
t_expect_eq "$rc" 0 "stop"
SIMULATION_MAX_CONCURRENT=9; export SIMULATION_MAX_CONCURRENT
t_start_simd
t_expect_match "$(t_ctl --json start --agents 5 --cycles 1 --time-scale 0 --wait)" '"limit": 9' \
    "environment beats file"
unset SIMULATION_MAX_CONCURRENT

# a second daemon on the same data dir is refused
rc=0; "$SIMD" -f -c "$T/simd.conf" -s "$T/other.sock" 2>"$T/err" || rc=$?
t_expect_eq "$rc" 1 "second daemon exit status"
t_expect_match "$(cat "$T/err")" "is in use by another simd" "second daemon message"
# ... and so is a second daemon on the same socket
mkdir -p "$T/data2"
rc=0; "$SIMD" -f -s "$SIMD_SOCKET" -d "$T/data2" 2>"$T/err" || rc=$?
t_expect_match "$(cat "$T/err")" "in use by another running simd" "same socket refused"
t_expect_eq "$(t_ctl ping)" "pong" "first daemon unaffected"

# SIGHUP re-reads runtime keys; a bad file is refused and the old config kept
t_conf "log_level = debug"
kill -HUP "$SIMD_PID"
sleep 0.3
t_expect_match "$(cat "$T/simd.log")" "configuration reloaded" "SIGHUP reload"
cp "$T/simd.conf" "$T/good.conf"
echo "max_concurrent = -1" >>"$T/simd.conf"
kill -HUP "$SIMD_PID"
sleep 0.3
t_expect_match "$(cat "$T/simd.log")" "reload failed, keeping the running configuration" "bad reload"
cp "$T/good.conf" "$T/simd.conf"
t_expect_eq "$(t_ctl ping)" "pong" "alive after reloads"

# shutdown over the socket exits 0 and removes the socket
t_ctl shutdown >/dev/null
_t_wait_pid "$SIMD_PID" 10
SIMD_PID=
t_expect_eq "$_t_rc" 0 "exit status after shutdown"
[ ! -e "$SIMD_SOCKET" ] || t_fail "socket left after shutdown"

# detached: returns once listening, writes a pid file, logs to syslog
"$SIMD" -c "$T/simd.conf" || t_fail "detached start failed"
[ -s "$DATA/simd.pid" ] || t_fail "no pid file"
pid=$(cat "$DATA/simd.pid")
kill -0 "$pid" || t_fail "pid file names no live process"
t_expect_eq "$(t_ctl ping)" "pong" "detached daemon answers"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && t_fail "detached daemon did not stop on SIGTERM"
[ ! -e "$DATA/simd.pid" ] || t_fail "pid file left behind"
[ ! -e "$SIMD_SOCKET" ] || t_fail "socket left behind by the detached daemon"
# a detached start that fails reports it and exits non-zero
rc=0; "$SIMD" -c "$T/bad.conf" 2>/dev/null || rc=$?
t_expect_eq "$rc" 1 "detached start with a bad config"
exit 0
