#!/bin/sh
# run.sh - the benchmarks of make bench (bench/README.md explains every figure).
#
#	sh bench/run.sh [cycle throughput scale control remote embedded llm api adaptive cluster]
#
# Uses the simd and simctl at the top of the tree (make bench builds them with -O3 first),
# starts its own PostgreSQL server (tests/lib/pg.sh), its own simd per measurement and,
# for the remote row, its own delaying proxy (bench/delayproxy.c).  Without arguments it
# runs all ten benchmarks; with names, only those.  Prints a table on stdout, progress on
# stderr, and writes the figures as JSON to bench/results.json.  It always runs to the end:
# a benchmark that cannot run prints "n/a (reason)".
#
# Environment: BENCH_RUNS (runs per figure, 3), BENCH_SECS (measuring window of the
# throughput runs, 10), BENCH_SWEEP_SECS (window of the concurrency sweep, 4),
# BENCH_OUT (the JSON file), BENCH_SHARED (the directory of pg-reference-*.sql),
# SIMD, SIMCTL (the binaries), BENCH_KEEP=1 (keep the work directory),
# BENCH_CONTROL_STORE=sqlite (the control row on SQLite even with PostgreSQL at hand).
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
SIMD=${SIMD:-$TOP/simd}
SIMCTL=${SIMCTL:-$TOP/simctl}
SHARED=${BENCH_SHARED:-$TOP/../shared/bench}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECS:-10}
SWEEP_SECS=${BENCH_SWEEP_SECS:-4}
OUT=${BENCH_OUT:-$TOP/bench/results.json}
ALL_ROWS="cycle throughput scale control remote embedded llm api adaptive cluster"
ROWS=${*:-$ALL_ROWS}
SWEEP="8 16 32 64"               # pgbench clients and simd sessions in flight tried
ADAPT_SWEEP="8 16 32 64 100"      # fixed limits the adaptive one is set against
CYCLE_AGENTS=372
RATE_AGENTS=5000                  # agents of the throughput runs: cycles of ~5 s
                                  # (< 8192: bench/pgb-simd-*.sql keep a user in 13 bits)
PROBE_SECS=8                      # control latency: window of status round trips

# Only what this script writes reaches simd (as in tests/lib/common.sh).
unset DATABASE_URL SIMD_DATA_DIR SIMD_LOG_LEVEL SIMD_SOCKET SIMD_CONFIG
for _v in $(env | sed -n 's/^\(SIMULATION_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$_v"
done

for r in $ROWS; do
	case " $ALL_ROWS " in
	*" $r "*) ;;
	*) echo "usage: sh bench/run.sh [$ALL_ROWS]" >&2; exit 2 ;;
	esac
done
case $RUNS in
'' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 2 ;;
esac
for b in "$SIMD" "$SIMCTL"; do
	[ -x "$b" ] || { echo "bench: $b not found; build first (make bench does)" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/simd-bench.XXXXXX") || exit 1
SIM_PID=
PROXY_PID=
K_PIDS=                           # the cluster row's members
KL_NA='' KL_SPS_1='' KL_SPS_2='' KL_SPS_3='' KL_RPS_1='' KL_RPS_2='' KL_RPS_3=''
KL_CONN_1='' KL_CONN_2='' KL_CONN_3='' KL_US_1='' KL_US_2='' KL_US_3=''
PG_UP=0
PG_NA=                            # why the PostgreSQL rows cannot run, once known
DBN=0
DB=''

cleanup() {
	trap - EXIT HUP INT TERM
	[ -n "$SIM_PID" ] && kill -KILL "$SIM_PID" 2>/dev/null
	for _kp in $K_PIDS; do kill -KILL "$_kp" 2>/dev/null; done
	[ -n "$PROXY_PID" ] && kill -TERM "$PROXY_PID" 2>/dev/null
	[ -n "${LLMD_PID:-}" ] && kill -TERM "$LLMD_PID" 2>/dev/null
	[ -n "${SHOPD_PID:-}" ] && kill -TERM "$SHOPD_PID" 2>/dev/null
	[ -n "${PGB_DIR:-}" ] && pg_bouncer_stop >/dev/null 2>&1
	[ "$PG_UP" = 1 ] && pg_stop >/dev/null 2>&1
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

say() {
	printf 'bench: [%s s] %s\n' "$(fmt '%.0f' "$(calc 'b - a' "$T_START" "$(now_s)")")" "$*" >&2
}

want() {
	case " $ROWS " in *" $1 "*) return 0 ;; esac
	return 1
}

now_s() {
	_t=$(date +%s.%N 2>/dev/null)
	case $_t in *N* | '') date +%s ;; *) echo "$_t" ;; esac
}

# ---- numbers (awk does the arithmetic; "" stands for "no figure") ----

isnum() {
	case ${1:-x} in '' | *[!0-9.eE+-]*) return 1 ;; esac
	return 0
}

calc() {	# calc 'EXPR in a and b' A [B]; "" when an operand is missing
	isnum "${2:-}" || { echo ""; return; }
	[ $# -lt 3 ] || isnum "$3" || { echo ""; return; }
	awk -v a="$2" -v b="${3:-0}" "BEGIN { x = $1; printf \"%.12g\n\", x }"
}

median() {	# median of the numbers in the list $1; "" when there are none
	# shellcheck disable=SC2086 # split on purpose
	for _x in $1; do isnum "$_x" && echo "$_x"; done | awk '
	{ v[n++] = $1 + 0 }
	END {
		if (n == 0) { print ""; exit }
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
		printf "%.12g\n", n % 2 ? v[(n-1)/2] : (v[n/2-1] + v[n/2]) / 2
	}'
}

fmt() {		# fmt PRINTF-FORMAT NUMBER ("n/a" when missing)
	isnum "${2:-}" || { echo "n/a"; return; }
	awk -v x="$2" "BEGIN { printf \"$1\", x }"
}

# Numeric value of "KEY": in a JSON file (its only or last occurrence).
jget() {
	tr -d ' \n\t' <"$1" | sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p"
}

# The cycle histogram of a `simctl --json stats` answer: FIELD of "cycle":{...}.
jcycle() {
	tr -d ' \n\t' <"$1" | sed -n "s/.*\"cycle\":{[^}]*\"$2\":\([0-9.eE+-]*\).*/\1/p"
}

jstr() {	# a JSON string literal of $1
	printf '"%s"' "$(printf '%s' "$1" | tr -d '\n\r\t' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

jnum() {	# a JSON number (10 significant digits), or null
	isnum "${1:-}" || { printf 'null'; return; }
	awk -v x="$1" 'BEGIN { if (x == int(x) && x < 1e15 && x > -1e15) printf "%.0f", x
		else printf "%.10g", x }'
}

jlist() {	# a JSON array of the numbers in the list $1
	_s=''
	# shellcheck disable=SC2086 # split on purpose
	for _x in $1; do _s="$_s${_s:+, }$(jnum "$_x")"; done
	printf '[%s]' "$_s"
}

# ---- processes ----

# Wait for pid $1 at most $2 seconds, then SIGKILL it; returns its status.
wait_pid() {
	_wp_i=0
	while kill -0 "$1" 2>/dev/null && [ "$_wp_i" -lt $(($2 * 10)) ]; do
		sleep 0.1
		_wp_i=$((_wp_i + 1))
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

cpu_ticks() {	# user + system clock ticks of simd (or of the pids given) so far (Linux), else ""
	_ct=0
	for _cp in ${*:-$SIM_PID}; do
		[ -r "/proc/$_cp/stat" ] || { echo ""; return; }
		_ct=$((_ct + $(sed 's/.*) //' "/proc/$_cp/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$_ct"
}

vm_kb() {	# vm_kb FIELD: VmRSS / VmHWM of simd in kB (Linux), else ""
	[ -r "/proc/$SIM_PID/status" ] || { echo ""; return; }
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SIM_PID/status"
}

# sim_up NAME [CONF LINES...]: a fresh simd on a fresh data directory (or on $SIM_DATA,
# kept as it is).  On failure returns 1 with the reason in SIM_ERR.
sim_up() {
	D=$W/$1
	shift
	rm -rf "$D"
	mkdir -p "$D/data"
	SOCK=$D/sock
	{
		echo "log_level = warn"
		echo "checkpoint_interval = 86400"
		echo "shutdown_timeout = 5"
		for _su_l in "$@"; do echo "$_su_l"; done
	} >"$D/conf"
	"$SIMD" -f -d "${SIM_DATA:-$D/data}" -s "$SOCK" -c "$D/conf" </dev/null >"$D/log" 2>&1 &
	SIM_PID=$!
	_su_i=0
	while [ "$_su_i" -lt 1200 ]; do
		if ! kill -0 "$SIM_PID" 2>/dev/null; then
			wait "$SIM_PID" 2>/dev/null
			SIM_PID=''
			SIM_ERR=$(grep -v '^[[:space:]]*$' "$D/log" | tail -n 1 | cut -c1-160)
			SIM_ERR=${SIM_ERR:-simd exited at start}
			return 1
		fi
		"$SIMCTL" -s "$SOCK" -t 10 ping >/dev/null 2>&1 && return 0
		sleep 0.05
		_su_i=$((_su_i + 1))
	done
	SIM_ERR="simd did not answer within 60 s"
	sim_down
	return 1
}

sim_down() {
	[ -n "$SIM_PID" ] || return 0
	kill -TERM "$SIM_PID" 2>/dev/null
	wait_pid "$SIM_PID" 60
	SIM_PID=''
}

# After a measurement of a run that is still going: its end is not measured, and a
# graceful stop only costs time (in-flight sessions, the final flush).
sim_abort() {
	[ -n "$SIM_PID" ] || return 0
	kill -KILL "$SIM_PID" 2>/dev/null
	wait "$SIM_PID" 2>/dev/null
	SIM_PID=''
}

ctl() {
	"$SIMCTL" -s "$SOCK" "$@"
}

# Wait until the run has begun its first cycle (its users are written: elapsed_s > 0).
wait_running() {
	_wr_i=0
	while [ "$_wr_i" -lt 1800 ]; do
		ctl --json status >"$D/st" 2>/dev/null || return 1
		grep -q '"state": *"\(failed\|finished\|idle\)"' "$D/st" && return 1
		_wr_e=$(jget "$D/st" elapsed_s)
		isnum "$_wr_e" && [ "$(calc 'a > 0' "$_wr_e")" = 1 ] && return 0
		sleep 0.1
		_wr_i=$((_wr_i + 1))
	done
	return 1
}

# ---- PostgreSQL ----

pg_up() {
	if [ ! -f "$TOP/tests/lib/pg.sh" ]; then
		PG_NA="tests/lib/pg.sh missing"
		return
	fi
	# shellcheck source=/dev/null
	. "$TOP/tests/lib/pg.sh"
	say "starting a private PostgreSQL server"
	if pg_start >"$W/pg_start.log" 2>&1; then
		PG_UP=1
	else
		PG_NA="no PostgreSQL server: $(tail -n 1 "$W/pg_start.log" | cut -c1-120)"
	fi
}

pg_q() {	# one statement on database $1 ("postgres" for admin work), -At output
	_db=$1
	shift
	psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$_db" \
	    -c "$*" 2>>"$W/psql.log"
}

# A fresh database $DB; URL reaches it (through port $1 if given).
newdb() {
	DBN=$((DBN + 1))
	DB=bench_$DBN
	URL="postgresql://postgres@127.0.0.1:${1:-$PGPORT}/$DB"
	pg_q postgres "CREATE DATABASE $DB" >/dev/null
}

dropdb_last() {
	[ "$PG_UP" = 1 ] && pg_q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
}

# Is PostgreSQL usable by simd?  Decided once: the first refusal is the reason for all.
pg_ready() {
	[ -z "$PG_NA" ]
}

# sim_pg NAME [PORT] [CONF...]: sim_up on a fresh database.  On failure PG_NA says why
# when the store itself was refused, SIM_ERR otherwise.
sim_pg() {
	_sp_name=$1
	_sp_port=$2
	shift 2
	if ! newdb "$_sp_port"; then
		SIM_ERR="CREATE DATABASE failed: $(tail -n 1 "$W/psql.log")"
		return 1
	fi
	if ! sim_up "$_sp_name" "database_url = $URL" "$@"; then
		case $SIM_ERR in
		*postgres* | *database_url* | *store*) PG_NA="simd: ${SIM_ERR#simd: }" ;;
		esac
		dropdb_last
		return 1
	fi
}

# ---- the machine ----

machine() {
	CORES=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
	CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null |
	    head -n 1)
	[ -n "$CPU" ] || CPU=$(uname -m)
	MEM_KB=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo 2>/dev/null)
	KERNEL="$(uname -sr) $(uname -m)"
	LOAD=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
	SQLITE_V=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1)
	[ -n "$SQLITE_V" ] || SQLITE_V=$(pkg-config --modversion sqlite3 2>/dev/null)
	SIMD_V=$("$SIMD" -V 2>/dev/null | head -n 1)
	SIMD_V=${SIMD_V#simd }
	MACHINE="$CORES cores, $CPU, $(fmt '%.1f' "$(calc 'a / 1048576' "$MEM_KB")") GiB RAM,"
	MACHINE="$MACHINE $KERNEL"
}

pg_version() {
	PG_V=''
	[ "$PG_UP" = 1 ] && PG_V=$(pg_q postgres 'SHOW server_version' | cut -d' ' -f1)
}

# ---- 1. cycle time ----

# One 372-agent --all-shop cycle on a fresh simd (more start options in "$@"); sets C_WALL
# (run, all rows written), C_CYCLE (the cycle: sessions done) and C_ERR.
one_cycle() {
	C_WALL='' C_CYCLE='' C_ERR=''
	ctl --json start --agents "$CYCLE_AGENTS" --cycles 1 --all-shop --time-scale 0 "$@" \
	    --wait >"$D/start" 2>&1 || { C_ERR="run failed: $(tail -n 1 "$D/start")"; return 1; }
	ctl --json stats >"$D/stats" 2>/dev/null || { C_ERR="stats failed"; return 1; }
	C_WALL=$(jget "$D/stats" wall_s)
	C_CYCLE=$(calc 'a / 1000' "$(jcycle "$D/stats" max_ms)")
	_oc_e=$(jget "$D/stats" errors)
	[ "${_oc_e:-0}" = 0 ] || C_ERR="$_oc_e sessions failed"
}

# The pooler variant: pgbouncer (transaction mode, 20 server connections) in front of the
# same server, simd with pg_prepared = no; sets CY_BX_NA when it cannot run.
cycle_pooled() {
	if [ -z "${PGB_DIR:-}" ] && [ -z "$CY_BX_NA" ] &&
	    ! pg_bouncer_start transaction 20 >"$W/pgbouncer.log" 2>&1; then
		CY_BX_NA="pgbouncer: $(tail -n 1 "$W/pgbouncer.log" | cut -c1-100)"
	fi
	[ -z "$CY_BX_NA" ] || return 0
	say "1 cycle time: run $_cy_i/$RUNS, postgres through pgbouncer (transaction mode)"
	if sim_pg cyc_bx "$PGB_PORT" "pg_prepared = no" && one_cycle; then
		CY_BX_W="$CY_BX_W $C_WALL"
		CY_BX_C="$CY_BX_C $C_CYCLE"
	fi
	[ -n "${C_ERR:-}" ] && CY_BX_NA=$C_ERR
	sim_down
	dropdb_last
}

bench_cycle() {
	CY_PG_W='' CY_PG_C='' CY_SQ_W='' CY_SQ_C='' CY_PG_NA='' CY_SQ_NA=''
	CY_BX_W='' CY_BX_C='' CY_BX_NA=''
	_cy_i=1
	while [ "$_cy_i" -le "$RUNS" ]; do
		say "1 cycle time: run $_cy_i/$RUNS, sqlite"
		if sim_up cyc_sq "agents = $CYCLE_AGENTS" && one_cycle; then
			CY_SQ_W="$CY_SQ_W $C_WALL"
			CY_SQ_C="$CY_SQ_C $C_CYCLE"
		fi
		[ -n "${C_ERR:-}" ] && CY_SQ_NA=$C_ERR
		sim_down
		if pg_ready; then
			say "1 cycle time: run $_cy_i/$RUNS, postgres"
			if sim_pg cyc_pg "" && one_cycle; then
				CY_PG_W="$CY_PG_W $C_WALL"
				CY_PG_C="$CY_PG_C $C_CYCLE"
			fi
			[ -n "${C_ERR:-}" ] && CY_PG_NA=$C_ERR
			sim_down
			dropdb_last
			cycle_pooled
		fi
		_cy_i=$((_cy_i + 1))
	done
	[ -n "$CY_BX_W" ] || CY_BX_NA=${CY_BX_NA:-${PG_NA:-no run succeeded}}
	[ -n "$CY_PG_W" ] || CY_PG_NA=${PG_NA:-${CY_PG_NA:-${SIM_ERR:-no run succeeded}}}
	[ -n "$CY_SQ_W" ] || CY_SQ_NA=${CY_SQ_NA:-${SIM_ERR:-no run succeeded}}
}

# ---- 2. sustained throughput: simd against pgbench on the same server ----

# simd's steady rate at $1 sessions in flight over $2 seconds (after 1 s of warm-up):
# sets R_SPS, R_RPS (rows/s), R_P99 (the run's p99 session latency, ms), R_LIMIT (the
# limit at the end), R_ERR.  $3: "pg" or "sqlite"; $4: the port PostgreSQL is reached
# through (default: its own); $5: "on" for the adaptive limit from a cold start, from
# its default base when $1 is empty, "latency" for the same without the CPU and memory
# ceiling (thresholds at 100 %), "off" (the default) for the limit $1, fixed; $6: the
# write_mode (realistic, the default, or bulk).
sim_rate() {
	R_SPS='' R_RPS='' R_P99='' R_LIMIT='' R_ERR='' R_CPU='' R_SPC=''
	_sr_c1="adaptive = ${5:-off}" _sr_c2="cpu_high = 80" _sr_c3="cpu_low = 50"
	if [ "${5:-}" = latency ]; then
		_sr_c1="adaptive = on" _sr_c2="cpu_high = 100" _sr_c3="cpu_low = 100"
	fi
	if [ "$3" = pg ]; then
		sim_pg "rate" "${4:-}" "$_sr_c1" "$_sr_c2" "$_sr_c3" \
		    "write_mode = ${6:-realistic}" ||
		    { R_ERR=${PG_NA:-$SIM_ERR}; return 1; }
	else
		sim_up "rate" "$_sr_c1" "$_sr_c2" "$_sr_c3" || { R_ERR=$SIM_ERR; return 1; }
	fi
	if ! ctl --json start --agents "$RATE_AGENTS" --all-shop --time-scale 0 --cycles 0 \
	    ${1:+--max-concurrent "$1"} >"$D/start" 2>&1; then
		R_ERR="start failed: $(tail -n 1 "$D/start")"
	elif ! wait_running; then
		R_ERR="the run did not start: $(tr -d '\n' <"$D/st" | cut -c1-120)"
	else
		sleep 1
		ctl --json stats >"$D/a" 2>/dev/null
		_sr_c1=$(cpu_ticks)
		sleep "$2"
		_sr_c2=$(cpu_ticks)
		ctl --json stats >"$D/b" 2>/dev/null
		_sr_dt=$(calc 'b - a' "$(jget "$D/a" elapsed_s)" "$(jget "$D/b" elapsed_s)")
		if [ "$(calc 'a > 0' "$_sr_dt")" = 1 ]; then
			R_SPS=$(calc "(b - a) / $_sr_dt" "$(jget "$D/a" sessions)" \
			    "$(jget "$D/b" sessions)")
			R_RPS=$(calc "(b - a) / $_sr_dt" "$(jget "$D/a" rows_written)" \
			    "$(jget "$D/b" rows_written)")
			# simd's CPU (all its threads) over the same window: the rate it would
			# reach with a core to itself, whatever else the machine is doing
			R_CPU=$(calc "(b - a) / $CLK_TCK / $2" "$_sr_c1" "$_sr_c2")
			R_SPC=$(calc 'b > 0 ? a / b : 0' "$R_SPS" "$R_CPU")
		else
			R_ERR="stats gave no elapsed time"
		fi
		_sr_e=$(jget "$D/b" errors)
		[ "${_sr_e:-0}" = 0 ] || R_ERR="$_sr_e sessions failed"
		R_P99=$(tr -d ' \n\t' <"$D/b" |
		    sed -n 's/.*"session":{[^}]*"p99_ms":\([0-9.eE+-]*\).*/\1/p')
		R_LIMIT=$(tr -d ' \n\t' <"$D/b" |
		    sed -n 's/.*"concurrency":{"limit":\([0-9]*\).*/\1/p')
	fi
	sim_abort
	[ "$3" = pg ] && dropdb_last
	[ -n "$R_SPS" ]
}

# pgbench at $1 clients for $2 seconds on database $3, the rest of the arguments its scripts
# (-f, -D): sets B_TPS (sessions/s), B_RPS (rows/s, as the server counts them), B_RPT (rows
# per session), B_ERR.
pgb_rate() {
	B_TPS='' B_RPS='' B_RPT='' B_ERR=''
	_pr_c=$1 _pr_s=$2 _pr_db=$3
	shift 3
	_pr_j=$CORES
	case $_pr_j in '' | *[!0-9]*) _pr_j=1 ;; esac
	[ "$_pr_j" -le "$_pr_c" ] || _pr_j=$_pr_c
	_pr_q="SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database
	    WHERE datname = '$_pr_db'"
	_pr_r0=$(pg_q "$_pr_db" "$_pr_q")
	if ! pgbench -n -M prepared "$@" -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$_pr_c" \
	    -j "$_pr_j" -T "$_pr_s" "$_pr_db" >"$W/pgbench.out" 2>&1; then
		B_ERR="pgbench failed: $(tail -n 1 "$W/pgbench.out" | cut -c1-120)"
		return 1
	fi
	B_TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' \
	    "$W/pgbench.out" | head -n 1)
	_pr_n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
	    "$W/pgbench.out" | head -n 1)
	# The backends have exited, so the server's counters hold all of their rows.
	sleep 0.5
	_pr_r1=$(pg_q "$_pr_db" "$_pr_q")
	B_RPT=$(calc 'a > 0 ? (b) / a : 0' "$_pr_n" "$(calc 'b - a' "$_pr_r0" "$_pr_r1")")
	B_RPS=$(calc 'a * b' "$B_TPS" "$B_RPT")
	[ -n "$B_TPS" ] || B_ERR="no tps in pgbench's output"
	[ -n "$B_TPS" ]
}

# pgbench on the reference session (pg-reference-session.sql) at $1 clients for $2 seconds.
ref_rate() {
	pgb_rate "$1" "$2" bench_ref -f "$SHARED/pg-reference-session.sql"
}

# The arguments of pgbench on simd's own sessions, one a line, into $W/mix.args: -f
# FILE@WEIGHT for each bench/pgb-simd-*.sql (its "-- weight:" line), then -D NAME=VALUE for
# its "-- -D" lines (the array literals simd would send).  On failure MIX_ERR says why.
mix_args() {
	MIX_ERR=''
	for _ma_f in "$TOP"/bench/pgb-simd-*.sql; do
		[ -r "$_ma_f" ] || { MIX_ERR="bench/pgb-simd-*.sql not found"; return 1; }
		_ma_w=$(sed -n 's/^-- weight: *\([0-9][0-9]*\)$/\1/p' "$_ma_f")
		[ -n "$_ma_w" ] || { MIX_ERR="${_ma_f##*/} has no weight line"; return 1; }
		printf -- '-f\n%s@%s\n' "$_ma_f" "$_ma_w"
	done >"$W/mix.args"
	sed -n 's/^-- -D //p' "$TOP"/bench/pgb-simd-*.sql | sort -u >"$W/mix.vars"
	_ma_d=$(sed 's/=.*//' "$W/mix.vars" | uniq -d | head -n 1)
	[ -z "$_ma_d" ] || { MIX_ERR="bench/pgb-simd-*.sql give $_ma_d two values"; return 1; }
	awk '{ print "-D"; print }' "$W/mix.vars" >>"$W/mix.args"
}

# A database simd has set up for pgbench on its statements: its schema, catalogue and
# RATE_AGENTS users, and the rows of one --all-shop cycle (as a rate run has after its
# first seconds).  Sets MIX_DB, or MIX_ERR.
mix_setup() {
	MIX_DB=''
	mix_args || return 1
	if ! sim_pg "mix" ""; then
		MIX_ERR=${PG_NA:-$SIM_ERR}
		return 1
	fi
	if ! ctl --json start --agents "$RATE_AGENTS" --all-shop --time-scale 0 --cycles 1 \
	    --wait >"$D/start" 2>&1 || ! grep -q '"state": *"finished"' "$D/start"; then
		MIX_ERR="simd's set-up run failed: $(tr -d '\n' <"$D/start" | cut -c1-120)"
		sim_abort
		dropdb_last
		return 1
	fi
	sim_down
	MIX_DB=$DB
}

# pgbench on simd's statements (bench/pgb-simd-*.sql) at $1 clients for $2 seconds, on a
# fresh copy of MIX_DB, as each simd run has a fresh database: sets what pgb_rate sets.
mix_rate() {
	_mr_c=$1 _mr_s=$2
	# the template must have no session: simd's backends may take a moment to go
	_mr_i=0
	until pg_q postgres "CREATE DATABASE bench_mix_run TEMPLATE $MIX_DB" >/dev/null; do
		_mr_i=$((_mr_i + 1))
		if [ "$_mr_i" -ge 50 ]; then
			B_ERR="CREATE DATABASE failed: $(tail -n 1 "$W/psql.log")"
			return 1
		fi
		sleep 0.1
	done
	set --
	while IFS= read -r _mr_a; do set -- "$@" "$_mr_a"; done <"$W/mix.args"
	pgb_rate "$_mr_c" "$_mr_s" bench_mix_run -D "users=$RATE_AGENTS" -D "clients=$_mr_c" \
	    -D carts=0 "$@"
	_mr_rc=$?
	pg_q postgres "DROP DATABASE IF EXISTS bench_mix_run WITH (FORCE)" >/dev/null
	return $_mr_rc
}

# The simd-mix line of row 2 (TP_MIX_*): pgbench on simd's statements, swept and measured
# beside the others.  mix_begin decides whether it can run and sets its database up.
mix_begin() {
	TP_MIX_NA='' TP_MIX_BEST='' TP_MIX_C='' TP_MIX_RUNS='' TP_MIX_RPS='' TP_MIX_RPT=''
	TP_MIX_SWEEP='' TP_MIX_RATIOS='' TP_MIX_RRATIO='' TP_MIX_RATIO='' TP_MIX_ERR=''
	MIX_DB='' _tp_best_m=0
	if ! command -v pgbench >/dev/null 2>&1; then
		TP_MIX_NA="pgbench not found"
	elif [ -n "$TP_SIM_NA" ]; then
		TP_MIX_NA=$TP_SIM_NA # no simd to set its database up
	else
		say "2 throughput: simd sets up the database of pgbench on its statements"
		mix_setup || TP_MIX_NA=$MIX_ERR
	fi
}

mix_sweep() {	# mix_sweep C
	[ -z "$TP_MIX_NA" ] || return 0
	say "2 throughput: sweep, pgbench on simd's statements -c $1 (${SWEEP_SECS} s)"
	mix_rate "$1" "$SWEEP_SECS" || { TP_MIX_ERR=$B_ERR; return 0; }
	TP_MIX_SWEEP="$TP_MIX_SWEEP${TP_MIX_SWEEP:+, }\"$1\": $B_TPS"
	if [ "$(calc 'a > b' "$B_TPS" "$_tp_best_m")" = 1 ]; then
		_tp_best_m=$B_TPS
		TP_MIX_C=$1
	fi
}

mix_round() {	# mix_round I: one measuring run; _tp_m its sessions/s, or ""
	_tp_m=''
	[ -z "$TP_MIX_NA" ] || return 0
	say "2 throughput: run $1/$RUNS, pgbench on simd's statements -c $TP_MIX_C (${SECS} s)"
	mix_rate "$TP_MIX_C" "$SECS" || { TP_MIX_ERR=$B_ERR; return 0; }
	_tp_m=$B_TPS
	TP_MIX_RUNS="$TP_MIX_RUNS $B_TPS"
	TP_MIX_RPS="$TP_MIX_RPS $B_RPS"
	TP_MIX_RPT="$TP_MIX_RPT $B_RPT"
}

mix_end() {
	TP_MIX_BEST=$(median "$TP_MIX_RUNS")
	TP_MIX_RPS=$(median "$TP_MIX_RPS")
	TP_MIX_RPT=$(median "$TP_MIX_RPT")
	TP_MIX_RATIO=$(median "$TP_MIX_RATIOS")
	TP_MIX_RRATIO=$(calc 'a > 0 ? b / a : 0' "$TP_MIX_RPS" "$TP_SIM_RPS")
	[ -n "$TP_MIX_NA" ] || [ -n "$TP_MIX_BEST" ] || TP_MIX_NA=${TP_MIX_ERR:-no run succeeded}
	[ -z "$MIX_DB" ] || pg_q postgres "DROP DATABASE IF EXISTS $MIX_DB WITH (FORCE)" >/dev/null
	MIX_DB=''
}

bench_throughput() {
	TP_NA='' TP_PGB_NA='' TP_SIM_NA=''
	TP_PGB_BEST='' TP_SIM_BEST='' TP_PGB_C='' TP_SIM_C=''
	TP_PGB_RUNS='' TP_SIM_RUNS='' TP_PGB_RPS='' TP_SIM_RPS='' TP_PGB_RPT=''
	TP_PGB_SWEEP='' TP_SIM_SWEEP='' TP_RATIOS=''
	TP_BLK_NA='' TP_BLK_BEST='' TP_BLK_C='' TP_BLK_RUNS='' TP_BLK_RPS='' TP_BLK_SWEEP=''
	TP_BLK_RATIOS=''
	if [ "$PG_UP" != 1 ]; then
		TP_NA=$PG_NA
		return
	fi
	if ! command -v pgbench >/dev/null 2>&1; then
		TP_PGB_NA="pgbench not found"
	elif [ ! -r "$SHARED/pg-reference-schema.sql" ] ||
	    [ ! -r "$SHARED/pg-reference-session.sql" ]; then
		TP_PGB_NA="$SHARED/pg-reference-*.sql not found (set BENCH_SHARED)"
	elif ! pg_q postgres "CREATE DATABASE bench_ref" >/dev/null ||
	    ! psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d bench_ref \
	    -f "$SHARED/pg-reference-schema.sql" >"$W/ref.log" 2>&1; then
		TP_PGB_NA="loading pg-reference-schema.sql failed: $(tail -n 1 "$W/ref.log")"
	fi
	pg_ready || TP_SIM_NA=$PG_NA
	TP_BLK_NA=$TP_SIM_NA
	mix_begin
	# Sweep all four side by side, keep each one's best, then measure the best RUNS times.
	_tp_best_p=0 _tp_best_s=0 _tp_best_b=0
	for c in $SWEEP; do
		if [ -z "$TP_PGB_NA" ]; then
			say "2 throughput: sweep, pgbench -c $c (${SWEEP_SECS} s)"
			if ref_rate "$c" "$SWEEP_SECS"; then
				TP_PGB_SWEEP="$TP_PGB_SWEEP${TP_PGB_SWEEP:+, }\"$c\": $B_TPS"
				if [ "$(calc 'a > b' "$B_TPS" "$_tp_best_p")" = 1 ]; then
					_tp_best_p=$B_TPS
					TP_PGB_C=$c
				fi
			fi
		fi
		mix_sweep "$c"
		if [ -z "$TP_SIM_NA" ]; then
			say "2 throughput: sweep, simd --max-concurrent $c (${SWEEP_SECS} s)"
			if sim_rate "$c" "$SWEEP_SECS" pg; then
				TP_SIM_SWEEP="$TP_SIM_SWEEP${TP_SIM_SWEEP:+, }\"$c\": $R_SPS"
				if [ "$(calc 'a > b' "$R_SPS" "$_tp_best_s")" = 1 ]; then
					_tp_best_s=$R_SPS
					TP_SIM_C=$c
				fi
			elif ! pg_ready; then
				TP_SIM_NA=$PG_NA
			fi
		fi
		if [ -z "$TP_BLK_NA" ]; then
			say "2 throughput: sweep, simd bulk --max-concurrent $c (${SWEEP_SECS} s)"
			if sim_rate "$c" "$SWEEP_SECS" pg "" off bulk; then
				TP_BLK_SWEEP="$TP_BLK_SWEEP${TP_BLK_SWEEP:+, }\"$c\": $R_SPS"
				if [ "$(calc 'a > b' "$R_SPS" "$_tp_best_b")" = 1 ]; then
					_tp_best_b=$R_SPS
					TP_BLK_C=$c
				fi
			elif ! pg_ready; then
				TP_BLK_NA=$PG_NA
			fi
		fi
	done
	[ -n "$TP_PGB_NA" ] || [ -n "$TP_PGB_C" ] || TP_PGB_NA=${B_ERR:-pgbench gave no figure}
	[ -n "$TP_SIM_NA" ] || [ -n "$TP_SIM_C" ] || TP_SIM_NA=${R_ERR:-simd gave no figure}
	[ -n "$TP_BLK_NA" ] || [ -n "$TP_BLK_C" ] || TP_BLK_NA=${R_ERR:-simd bulk gave no figure}
	[ -n "$TP_MIX_NA" ] || [ -n "$TP_MIX_C" ] || TP_MIX_NA=${TP_MIX_ERR:-pgbench gave no figure}
	_tp_i=1
	while [ "$_tp_i" -le "$RUNS" ]; do
		_tp_p='' _tp_s=''
		if [ -z "$TP_PGB_NA" ]; then
			say "2 throughput: run $_tp_i/$RUNS, pgbench -c $TP_PGB_C (${SECS} s)"
			if ref_rate "$TP_PGB_C" "$SECS"; then
				_tp_p=$B_TPS
				TP_PGB_RUNS="$TP_PGB_RUNS $B_TPS"
				TP_PGB_RPS="$TP_PGB_RPS $B_RPS"
				TP_PGB_RPT="$TP_PGB_RPT $B_RPT"
			fi
		fi
		mix_round "$_tp_i"
		if [ -z "$TP_SIM_NA" ]; then
			say "2 throughput: run $_tp_i/$RUNS, simd --max-concurrent $TP_SIM_C (${SECS} s)"
			if sim_rate "$TP_SIM_C" "$SECS" pg; then
				_tp_s=$R_SPS
				TP_SIM_RUNS="$TP_SIM_RUNS $R_SPS"
				TP_SIM_RPS="$TP_SIM_RPS $R_RPS"
			fi
		fi
		[ -n "$_tp_p" ] && [ -n "$_tp_s" ] && TP_RATIOS="$TP_RATIOS $(calc 'b / a' "$_tp_p" "$_tp_s")"
		[ -n "$_tp_m" ] && [ -n "$_tp_s" ] &&
		    TP_MIX_RATIOS="$TP_MIX_RATIOS $(calc 'b / a' "$_tp_m" "$_tp_s")"
		if [ -z "$TP_BLK_NA" ]; then
			say "2 throughput: run $_tp_i/$RUNS, simd bulk --max-concurrent $TP_BLK_C (${SECS} s)"
			if sim_rate "$TP_BLK_C" "$SECS" pg "" off bulk; then
				TP_BLK_RUNS="$TP_BLK_RUNS $R_SPS"
				TP_BLK_RPS="$TP_BLK_RPS $R_RPS"
				[ -n "$_tp_p" ] &&
				    TP_BLK_RATIOS="$TP_BLK_RATIOS $(calc 'b / a' "$_tp_p" "$R_SPS")"
			fi
		fi
		_tp_i=$((_tp_i + 1))
	done
	{
		TP_PGB_BEST=$(median "$TP_PGB_RUNS")
		TP_SIM_BEST=$(median "$TP_SIM_RUNS")
		TP_PGB_RPS=$(median "$TP_PGB_RPS")
		TP_SIM_RPS=$(median "$TP_SIM_RPS")
		TP_PGB_RPT=$(median "$TP_PGB_RPT")
		TP_RATIO=$(median "$TP_RATIOS")
		TP_BLK_BEST=$(median "$TP_BLK_RUNS")
		TP_BLK_RPS=$(median "$TP_BLK_RPS")
		TP_BLK_RATIO=$(median "$TP_BLK_RATIOS")
		# rows as well: simd's sessions do not carry pgbench's 18 rows each
		TP_BLK_RRATIO=$(calc 'a > 0 ? b / a : 0' "$TP_PGB_RPS" "$TP_BLK_RPS")
		TP_RRATIO=$(calc 'a > 0 ? b / a : 0' "$TP_PGB_RPS" "$TP_SIM_RPS")
	}
	[ -n "$TP_PGB_NA" ] || [ -n "$TP_PGB_BEST" ] || TP_PGB_NA=${B_ERR:-no run succeeded}
	[ -n "$TP_SIM_NA" ] || [ -n "$TP_SIM_BEST" ] || TP_SIM_NA=${R_ERR:-no run succeeded}
	[ -n "$TP_BLK_NA" ] || [ -n "$TP_BLK_BEST" ] || TP_BLK_NA=${R_ERR:-no run succeeded}
	mix_end
}

# ---- 3. scale and memory; 4. control latency under load ----

bench_scale() {
	SC_NA='' SC_STORE=postgres
	SC_10K_T='' SC_10K_RUN='' SC_10K_RSS='' SC_10K_PA='' SC_100K_T='' SC_100K_RUN='' SC_100K_RSS=''
	SC_100K_PA='' SC_IDLE=''
	pg_ready || SC_STORE=sqlite
	for n in 10000 100000; do
		_sc_t='' _sc_r='' _sc_h='' _sc_p=''
		_sc_i=1
		while [ "$_sc_i" -le "$RUNS" ]; do
			say "3 scale: $n agents, run $_sc_i/$RUNS ($SC_STORE)"
			if [ "$SC_STORE" = postgres ]; then
				sim_pg "scale" "" "pool_max = 60" || { SC_NA=${PG_NA:-$SIM_ERR}; break; }
			else
				sim_up "scale" || { SC_NA=$SIM_ERR; break; }
			fi
			_sc_idle=$(vm_kb VmRSS)
			_sc_t0=$(now_s)
			if ctl --json start --agents "$n" --cycles 1 --time-scale 0 --wait \
			    >"$D/start" 2>&1; then
				_sc_t1=$(now_s)
				_sc_hwm=$(vm_kb VmHWM)
				ctl --json stats >"$D/stats" 2>/dev/null
				_sc_t="$_sc_t $(calc 'b - a' "$_sc_t0" "$_sc_t1")"
				_sc_r="$_sc_r $(jget "$D/stats" wall_s)"
				_sc_h="$_sc_h $(calc 'a * 1024' "$_sc_hwm")"
				_sc_p="$_sc_p $(calc '(b - a) * 1024 / '"$n" "$_sc_idle" "$_sc_hwm")"
				SC_IDLE="$SC_IDLE $(calc 'a * 1024' "$_sc_idle")"
			else
				SC_NA="run failed: $(tail -n 1 "$D/start")"
			fi
			sim_down
			[ "$SC_STORE" = postgres ] && dropdb_last
			_sc_i=$((_sc_i + 1))
		done
		if [ "$n" = 10000 ]; then
			SC_10K_T=$(median "$_sc_t") SC_10K_RUN=$(median "$_sc_r")
			SC_10K_RSS=$(median "$_sc_h") SC_10K_PA=$(median "$_sc_p")
		else
			SC_100K_T=$(median "$_sc_t") SC_100K_RUN=$(median "$_sc_r")
			SC_100K_RSS=$(median "$_sc_h") SC_100K_PA=$(median "$_sc_p")
		fi
	done
	SC_IDLE=$(median "$SC_IDLE")
}

# 100,000 agents --all-shop, one cycle, on PostgreSQL: the event queue's bound
# (event_queue_max) holds memory flat; peak RSS, RSS once the run is over, the queue's peak.
ALLSHOP_AGENTS=${BENCH_ALLSHOP_AGENTS:-100000}
scale_allshop() {
	SA_RSS='' SA_AFTER='' SA_QPEAK='' SA_QMAX='' SA_WALL='' SA_NA=''
	pg_ready || { SA_NA=${PG_NA:-PostgreSQL n/a}; return 0; }
	say "3 scale: $ALLSHOP_AGENTS agents --all-shop (postgres)"
	sim_pg "scale_all" "" "pool_max = 60" || { SA_NA=${PG_NA:-$SIM_ERR}; return 0; }
	if ctl --json start --agents "$ALLSHOP_AGENTS" --all-shop --cycles 1 --time-scale 0 \
	    --wait >"$D/start" 2>&1; then
		SA_RSS=$(calc 'a * 1024' "$(vm_kb VmHWM)")
		sleep 1
		SA_AFTER=$(calc 'a * 1024' "$(vm_kb VmRSS)")
		ctl --json status >"$D/status" 2>/dev/null
		SA_QPEAK=$(jget "$D/status" events_queued_peak)
		SA_QMAX=$(jget "$D/status" events_queue_max)
		ctl --json stats >"$D/stats" 2>/dev/null
		SA_WALL=$(jget "$D/stats" wall_s)
	else
		SA_NA="run failed: $(tail -n 1 "$D/start")"
	fi
	sim_down
	dropdb_last
}

bench_control() {
	CL_NA='' CL_NOTE='' CL_STORE=postgres CL_P50='' CL_P99='' CL_MAX='' CL_N='' CL_SCHED=''
	CL_IDLE50='' CL_IDLE99='' CL_SUB50='' CL_SUB99='' CL_SUBMAX='' CL_SUBF='' CL_SUBNOTE=''
	_cl_a='' _cl_b='' _cl_m='' _cl_n='' _cl_ia='' _cl_ib='' _cl_sa='' _cl_sb='' _cl_sm='' _cl_sf=''
	pg_ready || CL_STORE=sqlite
	[ "${BENCH_CONTROL_STORE:-}" = sqlite ] && CL_STORE=sqlite
	_cl_i=1
	while [ "$_cl_i" -le "$RUNS" ]; do
		say "4 control latency: 100000 agents --all-shop, run $_cl_i/$RUNS ($CL_STORE)"
		if [ "$CL_STORE" = postgres ]; then
			sim_pg "ctl" "" "pool_max = 60" || { CL_NA=${PG_NA:-$SIM_ERR}; break; }
		else
			sim_up "ctl" || { CL_NA=$SIM_ERR; break; }
		fi
		if "$W/ctlprobe" "$SOCK" 1 >"$D/idle" 2>&1; then
			_cl_ia="$_cl_ia $(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$D/idle")"
			_cl_ib="$_cl_ib $(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$D/idle")"
		fi
		if ! ctl --json start --agents 100000 --cycles 1 --all-shop --time-scale 0 \
		    >"$D/start" 2>&1; then
			CL_NA="start failed: $(tail -n 1 "$D/start")"
		elif ! wait_running; then
			CL_NA="the run did not start"
		elif "$W/ctlprobe" "$SOCK" "$PROBE_SECS" 10 >"$D/probe" 2>&1; then
			_cl_a="$_cl_a $(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$D/probe")"
			_cl_b="$_cl_b $(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$D/probe")"
			_cl_m="$_cl_m $(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' "$D/probe")"
			_cl_n="$_cl_n $(sed -n 's/^n=\([0-9]*\).*/\1/p' "$D/probe")"
			CL_SCHED=$(sed -n 's/.*sched=\([a-z]*\).*/\1/p' "$D/probe")
			# The run must still have been busy at the end of the window.
			ctl --json status >"$D/st" 2>/dev/null
			grep -q '"state": *"running"' "$D/st" ||
			    CL_NOTE="a run ended within the ${PROBE_SECS} s window"
			# side by side in the same run: 10 subscribers at 100 ms (simctl top's stream)
			if "$W/ctlprobe" "$SOCK" "$PROBE_SECS" 10 10 100 >"$D/subprobe" 2>&1; then
				_cl_sa="$_cl_sa $(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$D/subprobe")"
				_cl_sb="$_cl_sb $(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$D/subprobe")"
				_cl_sm="$_cl_sm $(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' "$D/subprobe")"
				_cl_sf="$_cl_sf $(sed -n 's/.*frames=\([0-9]*\).*/\1/p' "$D/subprobe")"
				ctl --json status >"$D/st" 2>/dev/null
				grep -q '"state": *"running"' "$D/st" ||
				    CL_SUBNOTE="a run ended within the subscribers' window"
			fi
		else
			CL_NA="ctlprobe: $(tail -n 1 "$D/probe")"
		fi
		sim_abort
		[ "$CL_STORE" = postgres ] && dropdb_last
		_cl_i=$((_cl_i + 1))
	done
	{
		CL_P50=$(median "$_cl_a") CL_P99=$(median "$_cl_b")
		CL_MAX=$(median "$_cl_m") CL_N=$(median "$_cl_n")
		CL_IDLE50=$(median "$_cl_ia") CL_IDLE99=$(median "$_cl_ib")
		CL_SUB50=$(median "$_cl_sa") CL_SUB99=$(median "$_cl_sb")
		CL_SUBMAX=$(median "$_cl_sm") CL_SUBF=$(median "$_cl_sf")
	}
	[ -z "$CL_P50" ] || CL_NA=''
}

# ---- 5. remote database through the delaying proxy ----

build_tools() {
	TOOLS_ERR=''
	_cc=${CC:-cc}
	_w="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra"
	# ctlprobe is built by make bench (it links libsim's client side), or here
	if [ -x "$TOP/bench/ctlprobe" ] || make -s -C "$TOP" bench/ctlprobe >"$W/cc.log" 2>&1; then
		cp "$TOP/bench/ctlprobe" "$W/ctlprobe"
	else
		TOOLS_ERR="building ctlprobe failed: $(head -n 1 "$W/cc.log")"
	fi
	# shellcheck disable=SC2046,SC2086 # flags are words
	if ! $_cc $_w -o "$W/delayproxy" "$TOP/bench/delayproxy.c" \
	    $(pkg-config --cflags --libs libevent 2>/dev/null || echo -levent) \
	    >"$W/cc2.log" 2>&1; then
		PROXY_ERR="building delayproxy failed: $(head -n 1 "$W/cc2.log")"
	fi
}

proxy_up() {
	"$W/delayproxy" -d 50 0 "$PGPORT" >"$W/proxy.out" 2>"$W/proxy.err" &
	PROXY_PID=$!
	PROXY_PORT=$(port_of "$W/proxy.out" "$PROXY_PID") && return 0
	PROXY_ERR="delayproxy did not start: $(tail -n 1 "$W/proxy.err")"
	return 1
}

# port_of FILE PID: the N of the "port N" line a helper writes once it listens (5 s at most).
port_of() {
	_po_i=0
	while [ "$_po_i" -lt 100 ]; do
		_po_p=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$1")
		[ -n "$_po_p" ] && { echo "$_po_p"; return 0; }
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
		_po_i=$((_po_i + 1))
	done
	return 1
}

# stop_pid PID: SIGTERM and wait.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

proxy_down() {
	stop_pid "$PROXY_PID"
	PROXY_PID=''
}

bench_remote() {
	RM_NA='' RM_W='' RM_C='' RM_T='' RM_WW='' RM_WC=''
	if ! pg_ready; then
		RM_NA=$PG_NA
		return
	fi
	[ -z "${PROXY_ERR:-}" ] || { RM_NA=$PROXY_ERR; return; }
	proxy_up || { RM_NA=$PROXY_ERR; return; }
	_rm_i=1
	while [ "$_rm_i" -le "$RUNS" ]; do
		say "5 remote database (100 ms RTT, pool_max 55): run $_rm_i/$RUNS"
		_rm_t0=$(now_s)
		if ! sim_pg "remote" "$PROXY_PORT" "pool_max = 55"; then
			RM_NA=${PG_NA:-$SIM_ERR}
			break
		fi
		if one_cycle; then
			RM_W="$RM_W $C_WALL"
			RM_C="$RM_C $C_CYCLE"
			RM_T="$RM_T $(calc 'b - a' "$_rm_t0" "$(now_s)")"
			# the same daemon again, its pool open: another seed, so new rows
			if one_cycle --seed 2; then
				RM_WW="$RM_WW $C_WALL"
				RM_WC="$RM_WC $C_CYCLE"
			fi
		fi
		[ -n "$C_ERR" ] && RM_NA=$C_ERR
		sim_down
		dropdb_last
		_rm_i=$((_rm_i + 1))
	done
	proxy_down
	{
		RM_W=$(median "$RM_W") RM_C=$(median "$RM_C") RM_T=$(median "$RM_T")
		RM_WW=$(median "$RM_WW") RM_WC=$(median "$RM_WC")
	}
	[ -z "$RM_W" ] || RM_NA=''
}

# ---- 6. embedded store ----

bench_embedded() {
	EM_NA='' EM_SPS='' EM_RPS='' EM_CPU='' EM_SPC='' _em_s='' _em_r='' _em_c='' _em_p=''
	_em_i=1
	while [ "$_em_i" -le "$RUNS" ]; do
		say "6 embedded store: sqlite, run $_em_i/$RUNS (${SECS} s)"
		if sim_rate 50 "$SECS" sqlite; then
			_em_s="$_em_s $R_SPS"
			_em_r="$_em_r $R_RPS"
			_em_c="$_em_c $R_CPU"
			_em_p="$_em_p $R_SPC"
		else
			EM_NA=$R_ERR
		fi
		_em_i=$((_em_i + 1))
	done
	{
		EM_SPS=$(median "$_em_s") EM_RPS=$(median "$_em_r")
		EM_CPU=$(median "$_em_c") EM_SPC=$(median "$_em_p")
	}
	[ -z "$EM_SPS" ] || EM_NA=''
}

# ---- 7. LLM personas against the test double ----

LLM_AGENTS=${BENCH_LLM_AGENTS:-2000}  # personas of the unlimited runs
LLM_WINDOW=${BENCH_LLM_WINDOW:-3}     # seconds standing for OpenRouter's minute

llmd_up() {	# llmd_up ARGS...: tests/tools/llmd on a free port (LLMD_URL), or 1 and LLM_ERR
	[ -x "$TOP/tests/tools/llmd" ] || make -s -C "$TOP" tests/tools/llmd >"$W/llmd-cc.log" 2>&1 || {
		LLM_ERR="building tests/tools/llmd failed"
		return 1
	}
	"$TOP/tests/tools/llmd" --listen 127.0.0.1:0 "$@" >"$W/llmd.out" 2>"$W/llmd.err" &
	LLMD_PID=$!
	_lu_p=$(port_of "$W/llmd.out" "$LLMD_PID") && { LLMD_URL=http://127.0.0.1:$_lu_p; return 0; }
	LLM_ERR="llmd did not start: $(tail -n 1 "$W/llmd.err")"
	return 1
}

llmd_down() {
	stop_pid "${LLMD_PID:-}"
	LLMD_PID=''
}

jfield() {	# jfield FILE PATH: a field of a JSON file by path (SQLite's JSON functions)
	sqlite3 :memory: "SELECT json_extract(readfile('$1'), '\$.$2')" 2>/dev/null
}

# llm_run NAME AGENTS CONF...: one run's persona generation; L_S (s), L_N (personas), L_429.
llm_run() {
	_lr_n=$1 _lr_a=$2
	shift 2
	L_S='' L_N='' L_429=''
	sim_up "$_lr_n" "persona_source = llm" "llm_url = $LLMD_URL/v1" "llm_model = good" "$@" ||
	    { LLM_ERR=$SIM_ERR; return 1; }
	ctl --json start --agents "$_lr_a" --cycles 1 --time-scale 0 --wait >/dev/null 2>&1
	ctl --json status >"$D/st" 2>/dev/null
	L_S=$(jfield "$D/st" llm.elapsed_s)
	L_N=$(jfield "$D/st" llm.from_llm)
	L_429=$(jfield "$D/st" llm.status_429)
	sim_down
	[ -n "$L_S" ] && [ "$L_N" = "$_lr_a" ] || { LLM_ERR="run $_lr_n: ${L_N:-no} personas of $_lr_a"; return 1; }
}

bench_llm() {
	LLM_NA='' LLM_PPS='' LLM_RPS_RUNS='' LLM_LIM_S='' LLM_LIM_429='' LLM_ERR=''
	LLMD_PID=''
	if llmd_up --model good=persona; then
		_bl_i=1
		while [ "$_bl_i" -le "$RUNS" ]; do
			say "7 llm personas: $LLM_AGENTS against llmd, no limit, run $_bl_i/$RUNS"
			if llm_run "llm-$_bl_i" "$LLM_AGENTS" "llm_rate = 0" "llm_max_concurrent = 16"; then
				LLM_RPS_RUNS="$LLM_RPS_RUNS $(calc 'a / b' "$L_N" "$L_S")"
			fi
			_bl_i=$((_bl_i + 1))
		done
		llmd_down
	fi
	LLM_PPS=$(median "$LLM_RPS_RUNS")
	# OpenRouter's free tier, 20 requests a minute, one at a time, with the minute scaled
	# down to LLM_WINDOW seconds (and the retry delay with it)
	if llmd_up --model good=persona --rpm 20 --rpm-window "$LLM_WINDOW"; then
		say "7 llm personas: $CYCLE_AGENTS at 20 per ${LLM_WINDOW} s (one run)"
		_bl_f=$(calc 'a / 60' "$LLM_WINDOW")
		if llm_run llm-limited "$CYCLE_AGENTS" "llm_max_concurrent = 1" \
		    "llm_rate = $(calc '10' 0)" "llm_rate_min = $(calc '0.05 / a' "$_bl_f")" \
		    "llm_retry_delay = $(calc '2 * a' "$_bl_f")" "llm_max_retries = 10"; then
			LLM_LIM_S=$L_S LLM_LIM_429=$L_429
		fi
		llmd_down
	fi
	[ -n "$LLM_PPS$LLM_LIM_S" ] || LLM_NA=${LLM_ERR:-no figure}
}

# ---- 9. adaptive concurrency ----

# adaptive_at WHERE PORT: the fixed sweep on PostgreSQL (reached through PORT; "" its
# own), its best limit, then RUNS rounds of that limit and of the adaptive limit from a
# cold start (a fresh simd, its default base), side by side.  Sets AD_<WHERE>_*.
adaptive_at() {
	_aw=$1 _ap=$2 _ab=0 _ac='' _an=''
	_afs='' _afp='' _aas='' _aap='' _aal='' _arr='' _asw='' _als='' _alp='' _all='' _alr=''
	for c in $ADAPT_SWEEP; do
		say "9 adaptive ($_aw): sweep, fixed limit $c (${SWEEP_SECS} s)"
		if sim_rate "$c" "$SWEEP_SECS" pg "$_ap" off; then
			_asw="$_asw${_asw:+, }\"$c\": $R_SPS"
			if [ "$(calc 'a > b' "$R_SPS" "$_ab")" = 1 ]; then
				_ab=$R_SPS
				_ac=$c
			fi
		else
			_an=$R_ERR
		fi
	done
	_ai=1
	while [ -n "$_ac" ] && [ "$_ai" -le "$RUNS" ]; do
		_af='' _aa=''
		say "9 adaptive ($_aw): run $_ai/$RUNS, fixed limit $_ac (${SECS} s)"
		if sim_rate "$_ac" "$SECS" pg "$_ap" off; then
			_af=$R_SPS
			_afs="$_afs $R_SPS" _afp="$_afp $R_P99"
		fi
		say "9 adaptive ($_aw): run $_ai/$RUNS, adaptive from a cold start (${SECS} s)"
		if sim_rate "" "$SECS" pg "$_ap" on; then
			_aa=$R_SPS
			_aas="$_aas $R_SPS" _aap="$_aap $R_P99" _aal="$_aal $R_LIMIT"
		else
			_an=$R_ERR
		fi
		[ -n "$_af" ] && [ -n "$_aa" ] && _arr="$_arr $(calc 'b / a' "$_af" "$_aa")"
		say "9 adaptive ($_aw): run $_ai/$RUNS, adaptive without the machine ceiling (${SECS} s)"
		if sim_rate "" "$SECS" pg "$_ap" latency; then
			_als="$_als $R_SPS" _alp="$_alp $R_P99" _all="$_all $R_LIMIT"
			[ -n "$_af" ] && _alr="$_alr $(calc 'b / a' "$_af" "$R_SPS")"
		fi
		_ai=$((_ai + 1))
	done
	eval "AD_${_aw}_C=\$_ac AD_${_aw}_SWEEP=\$_asw AD_${_aw}_NA=\$_an"
	eval "AD_${_aw}_FIX=$(median "$_afs") AD_${_aw}_FIX_P99=$(median "$_afp")"
	eval "AD_${_aw}_AD=$(median "$_aas") AD_${_aw}_AD_P99=$(median "$_aap")"
	eval "AD_${_aw}_LIMIT=$(median "$_aal") AD_${_aw}_RATIO=$(median "$_arr")"
	eval "AD_${_aw}_LAT=$(median "$_als") AD_${_aw}_LAT_P99=$(median "$_alp")"
	eval "AD_${_aw}_LAT_LIMIT=$(median "$_all") AD_${_aw}_LAT_RATIO=$(median "$_alr")"
}

bench_adaptive() {
	AD_NA='' AD_local_RATIO='' AD_remote_RATIO='' AD_remote_NA=''
	if ! pg_ready; then
		AD_NA=$PG_NA
		return
	fi
	adaptive_at local ""
	if [ -n "${PROXY_ERR:-}" ]; then
		AD_remote_NA=$PROXY_ERR
	elif proxy_up; then
		adaptive_at remote "$PROXY_PORT"
		proxy_down
	else
		AD_remote_NA=$PROXY_ERR
	fi
}

# ---- 10. a cluster: 1, 2 and 3 members sharing one run on one PostgreSQL ----

CLUSTER_AGENTS=${BENCH_CLUSTER_AGENTS:-6000}
CLUSTER_CONC=16 # sessions in flight per member

# cluster_stop: SIGKILL every member (their run is unbounded: its end is not measured).
cluster_stop() {
	for _ks in $K_PIDS; do
		kill -KILL "$_ks" 2>/dev/null
		wait "$_ks" 2>/dev/null
	done
	K_PIDS=''
}

# cluster_rate M: M daemons with cluster = on on a fresh database, one run of M shards
# (--cycles 0, --all-shop, CLUSTER_CONC in flight each); sets K_SPS (sessions/s summed over
# the members over the SECS window), K_RPS (rows/s), K_CONN (the most connections of simd the
# server showed), or K_ERR.
# cluster_sums M FILE: each member's stats into $W/kI/FILE; K_S, K_R, K_E: their sessions,
# rows and errors summed.
cluster_sums() {
	K_S=0 K_R=0 K_E=0 _k=0
	while [ "$_k" -lt "$1" ]; do
		"$SIMCTL" -s "$W/k$_k/sock" --json stats >"$W/k$_k/$2" 2>/dev/null
		K_S=$(calc 'a + b' "$K_S" "$(jget "$W/k$_k/$2" sessions)")
		K_R=$(calc 'a + b' "$K_R" "$(jget "$W/k$_k/$2" rows_written)")
		K_E=$(calc 'a + b' "$K_E" "$(jget "$W/k$_k/$2" errors)")
		_k=$((_k + 1))
	done
}

cluster_rate() {
	K_SPS='' K_RPS='' K_CONN='' K_ERR='' K_PIDS='' K_USPS=''
	if ! newdb; then
		K_ERR="CREATE DATABASE failed: $(tail -n 1 "$W/psql.log")"
		return 1
	fi
	_k=0
	while [ "$_k" -lt "$1" ]; do
		if ! sim_up "k$_k" "adaptive = off" "database_url = $URL" "cluster = on" \
		    "cluster_member = k$_k"; then
			K_ERR="member k$_k: $SIM_ERR"
			cluster_stop
			return 1
		fi
		K_PIDS="$K_PIDS $SIM_PID"
		SIM_PID=''
		_k=$((_k + 1))
	done
	if ! "$SIMCTL" -s "$W/k0/sock" start --agents "$CLUSTER_AGENTS" --shards "$1" --all-shop \
	    --time-scale 0 --cycles 0 --max-concurrent "$CLUSTER_CONC" >"$W/kstart" 2>&1; then
		K_ERR="start --shards failed: $(tail -n 1 "$W/kstart")"
		cluster_stop
		return 1
	fi
	# every member holds a shard (idle until its claim) and has begun its first cycle
	_k=0
	while [ "$_k" -lt "$1" ]; do
		_ki=0
		until "$SIMCTL" -s "$W/k$_k/sock" --json status >"$W/k$_k/st" 2>/dev/null &&
		    grep -q '"state": *"running"' "$W/k$_k/st" &&
		    [ "$(calc 'a > 0' "$(jget "$W/k$_k/st" elapsed_s)")" = 1 ]; do
			_ki=$((_ki + 1))
			if [ "$_ki" -ge 600 ]; then
				K_ERR="member k$_k ran no shard in 60 s: $(tr -d '\n' <"$W/k$_k/st" |
				    cut -c1-100)"
				cluster_stop
				return 1
			fi
			sleep 0.1
		done
		_k=$((_k + 1))
	done
	sleep 1
	cluster_sums "$1" a
	_ka_s=$K_S _ka_r=$K_R
	_kc0=$(cpu_ticks $K_PIDS)
	_kt0=$(now_s)
	_kend=$(calc "a + $SECS" "$_kt0")
	K_CONN=0
	while [ "$(calc 'a < b' "$(now_s)" "$_kend")" = 1 ]; do
		_kc=$(pg_q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
		    AND application_name LIKE 'simd%'")
		[ "${_kc:-0}" -gt "$K_CONN" ] && K_CONN=$_kc
		sleep 0.5
	done
	cluster_sums "$1" b
	[ "$(calc 'a > 0' "$K_E")" = 1 ] && K_ERR="$K_E sessions failed"
	_kdt=$(calc 'b - a' "$_kt0" "$(now_s)")
	_kc1=$(cpu_ticks $K_PIDS)
	K_SPS=$(calc "(b - a) / $_kdt" "$_ka_s" "$K_S")
	# the members' CPU per session: what one host's core could drive
	K_USPS=$(calc "(b - a) / $CLK_TCK * 1000000 / ($_kdt * $K_SPS)" "$_kc0" "$_kc1")
	K_RPS=$(calc "(b - a) / $_kdt" "$_ka_r" "$K_R")
	cluster_stop
	dropdb_last
	[ -z "$K_ERR" ]
}

bench_cluster() {
	KL_NA=''
	if ! pg_ready; then
		KL_NA=$PG_NA
		return
	fi
	for _km in 1 2 3; do
		_kl_s='' _kl_r='' _kl_c='' _kl_u=''
		_kl_i=1
		while [ "$_kl_i" -le "$RUNS" ]; do
			say "10 cluster: $_km member(s), run $_kl_i/$RUNS (${SECS} s)"
			if cluster_rate "$_km"; then
				_kl_s="$_kl_s $K_SPS" _kl_r="$_kl_r $K_RPS" _kl_c="$_kl_c $K_CONN"
				_kl_u="$_kl_u $K_USPS"
			else
				KL_NA=$K_ERR
			fi
			_kl_i=$((_kl_i + 1))
		done
		eval "KL_SPS_$_km=\$(median \"\$_kl_s\") KL_RPS_$_km=\$(median \"\$_kl_r\")"
		eval "KL_CONN_$_km=\$(median \"\$_kl_c\") KL_US_$_km=\$(median \"\$_kl_u\")"
	done

}

# ---- the table ----

# ---- 8. the shop API: sessions through contrib/shopd on loopback ----

API_AGENTS=${BENCH_API_AGENTS:-2000}
LOCUST_SESSIONS=${BENCH_LOCUST_SESSIONS:-1000}
LOCUST=${LOCUST:-$(command -v locust || echo /usr/bin/locust)}

# api_once: one measured window of the HTTP driver at 16 in flight, then the same shopd driven
# by Locust (api_locust); sets A_SPS (sessions/s), A_QPS (requests/s), A_CPU (simd's CPU
# seconds per second), A_KB (peak RSS per agent, kB), A_ERR, and api_locust's L_* figures.
api_once() {
	A_SPS='' A_QPS='' A_CPU='' A_KB='' A_ERR=''
	L_SPS='' L_QPS='' L_CPU='' L_ERR=''
	_ad=$W/apishop
	rm -rf "$_ad"
	mkdir -p "$_ad/data"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$_ad/secret"
	"$SIMD" -d "$_ad/data" --init-db >/dev/null 2>&1 || { A_ERR="simd --init-db failed"; return 1; }
	"$TOP/contrib/shopd/shopd" --listen 127.0.0.1:0 --db "$_ad/data/shop.db" \
	    --jwt-secret-file "$_ad/secret" --rate-search 0 --rate-products 0 \
	    </dev/null >"$_ad/log" 2>&1 &
	SHOPD_PID=$!
	_ai=0
	until grep -q 'listening on' "$_ad/log" 2>/dev/null; do
		_ai=$((_ai + 1))
		if [ "$_ai" -gt 200 ] || ! kill -0 "$SHOPD_PID" 2>/dev/null; then
			A_ERR="shopd did not start"
			return 1
		fi
		sleep 0.05
	done
	_ap=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$_ad/log")
	if ! SIM_DATA=$_ad/data sim_up api "adaptive = off" "shop_api_url = http://127.0.0.1:$_ap" \
	    "api_jwt_secret_file = $_ad/secret"; then
		A_ERR=$SIM_ERR
	elif ! ctl --json start --agents "$API_AGENTS" --all-shop --time-scale 0 --cycles 0 \
	    --max-concurrent 16 >"$D/start" 2>&1; then
		A_ERR="start failed: $(tail -n 1 "$D/start")"
	elif ! wait_running; then
		A_ERR="the run did not start"
	else
		sleep 1
		_ac1=$(cpu_ticks)
		ctl --json status >"$D/a" 2>/dev/null
		sleep "$SECS"
		ctl --json status >"$D/b" 2>/dev/null
		_ac2=$(cpu_ticks)
		_adt=$(calc 'b - a' "$(jfield "$D/a" elapsed_s)" "$(jfield "$D/b" elapsed_s)")
		A_CPU=$(calc "(b - a) / $CLK_TCK / $_adt" "$_ac1" "$_ac2")
		A_SPS=$(calc "(b - a) / $_adt" "$(jfield "$D/a" counts.sessions)" \
		    "$(jfield "$D/b" counts.sessions)")
		A_QPS=$(calc "(b - a) / $_adt" "$(jfield "$D/a" api.requests)" \
		    "$(jfield "$D/b" api.requests)")
		A_KB=$(calc "a / $API_AGENTS" "$(vm_kb VmHWM)")
		[ "$(jfield "$D/b" counts.errors)" = 0 ] || A_ERR="$(jfield "$D/b" counts.errors) sessions failed"
	fi
	unset SIM_DATA
	sim_abort
	[ -z "$A_SPS" ] || api_locust "http://127.0.0.1:$_ap" "$_ad"
	stop_pid "$SHOPD_PID"
	SHOPD_PID=''
	[ -n "$A_SPS" ]
}

# api_locust URL DIR: LOCUST_SESSIONS sessions of bench/locustfile.py, 16 users, against the
# shopd simd has just driven (its users, catalogue and coupons); sets L_SPS, L_QPS, L_CPU
# (Locust's CPU seconds per second, measured in its process: shopd is not counted), or L_ERR.
api_locust() {
	if ! "$LOCUST" --version >/dev/null 2>&1; then
		L_ERR="no locust (sh packaging/deps.sh bench installs python3-locust)"
		return 1
	fi
	_ldb=$2/data/shop.db
	rm -f "$2/locust.json"
	LOCUST_SECRET_FILE=$2/secret LOCUST_OUT=$2/locust.json \
	    LOCUST_SESSIONS=$LOCUST_SESSIONS \
	    LOCUST_USERS=$(sqlite3 "$_ldb" "SELECT count(*) FROM users") \
	    LOCUST_CATEGORIES=$(sqlite3 "$_ldb" "SELECT group_concat(category) FROM
	        (SELECT DISTINCT category FROM products ORDER BY category)") \
	    LOCUST_SIM_TIME=$(sqlite3 "$_ldb" "SELECT CAST(strftime('%s', valid_from) AS INTEGER)
	        + 3600 FROM coupons ORDER BY valid_from LIMIT 1 OFFSET (SELECT count(*) / 2
	        FROM coupons)") \
	    "$LOCUST" -f "$TOP/bench/locustfile.py" --headless -u 16 -r 16 -t 300s \
	    --host "$1" --only-summary --loglevel WARNING </dev/null >"$2/locust.log" 2>&1 || :
	if [ ! -s "$2/locust.json" ]; then
		L_ERR="locust failed: $(grep -v '^[[:space:]]*$' "$2/locust.log" | tail -n 1 | cut -c1-120)"
		return 1
	fi
	_lw=$(jfield "$2/locust.json" wall_s)
	L_SPS=$(calc "a / $_lw" "$(jfield "$2/locust.json" sessions)")
	L_QPS=$(calc "a / $_lw" "$(jfield "$2/locust.json" requests)")
	L_CPU=$(calc "a / $_lw" "$(jfield "$2/locust.json" cpu_s)")
	_lf=$(jfield "$2/locust.json" failures)
	[ "$_lf" = 0 ] || L_ERR="$_lf Locust requests failed"
}

bench_api() {
	API_NA='' LOCUST_NA='' _as='' _aq='' _ak='' _asc='' _aqc='' _ls='' _lq='' _lsc='' _lqc=''
	if [ ! -x "$TOP/contrib/shopd/shopd" ]; then
		API_NA="contrib/shopd/shopd is not built"
		return
	fi
	_ai2=1
	while [ "$_ai2" -le "$RUNS" ]; do
		say "8 shop API: through shopd, run $_ai2/$RUNS (${SECS} s, then $LOCUST_SESSIONS Locust sessions)"
		if api_once; then
			_as="$_as $A_SPS" _aq="$_aq $A_QPS" _ak="$_ak $A_KB"
			_asc="$_asc $(calc "a / b" "$A_SPS" "$A_CPU")" _aqc="$_aqc $(calc "a / b" "$A_QPS" "$A_CPU")"
		else
			API_NA=$A_ERR
		fi
		if [ -n "$L_SPS" ] && [ -z "$L_ERR" ]; then
			_ls="$_ls $L_SPS" _lq="$_lq $L_QPS"
			_lsc="$_lsc $(calc "a / b" "$L_SPS" "$L_CPU")" _lqc="$_lqc $(calc "a / b" "$L_QPS" "$L_CPU")"
		else
			LOCUST_NA=${L_ERR:-$A_ERR}
		fi
		_ai2=$((_ai2 + 1))
	done
	API_SPS=$(median "$_as") API_QPS=$(median "$_aq") API_KB=$(median "$_ak")
	API_SPC=$(median "$_asc") API_QPC=$(median "$_aqc")
	L_SPS=$(median "$_ls") L_QPS=$(median "$_lq") L_SPC=$(median "$_lsc") L_QPC=$(median "$_lqc")
	[ -z "$API_SPS" ] || API_NA=''
	[ -z "$L_SPS" ] || LOCUST_NA=''
}

na() {	# na REASON: how a figure that could not be measured is shown
	printf 'n/a (%s)' "${1:-no figure}"
}

kb() {	# bytes as kB / MB
	fmt "$1" "$(calc "a / $2" "$3")"
}

row_cycle() {
	printf ' 1  cycle time: one --all-shop cycle of %s agents (plan: < 60 s; ours: < 0.5 s)\n' \
	    "$CYCLE_AGENTS"
	for st in postgres pgbouncer sqlite; do
		if [ "$st" = postgres ]; then
			_w=$(median "$CY_PG_W") _c=$(median "$CY_PG_C") _na=$CY_PG_NA
		elif [ "$st" = pgbouncer ]; then
			_w=$(median "$CY_BX_W") _c=$(median "$CY_BX_C") _na=$CY_BX_NA
		else
			_w=$(median "$CY_SQ_W") _c=$(median "$CY_SQ_C") _na=$CY_SQ_NA
		fi
		if [ -n "$_w" ]; then
			printf '      %-10s %s s until every row is written (sessions done in %s s)\n' \
			    "$st" "$(fmt '%.3f' "$_w")" "$(fmt '%.3f' "$_c")"
		else
			printf '      %-10s %s\n' "$st" "$(na "$_na")"
		fi
	done
}

row_throughput() {
	printf ' 2  sustained throughput on the local PostgreSQL (best of %s in flight / clients)\n' \
	    "$(echo "$SWEEP" | tr ' ' ',')"
	if [ -n "$TP_NA" ]; then
		printf '      %s\n' "$(na "$TP_NA")"
		return
	fi
	if [ -n "$TP_SIM_BEST" ]; then
		printf '      %-10s %s sessions/s at %s in flight, %s rows/s (write_mode realistic)\n' \
		    simd "$(fmt '%.0f' "$TP_SIM_BEST")" "$TP_SIM_C" "$(fmt '%.0f' "$TP_SIM_RPS")"
	else
		printf '      %-10s %s\n' simd "$(na "$TP_SIM_NA")"
	fi
	if [ -n "$TP_BLK_BEST" ]; then
		printf '      %-10s %s sessions/s at %s in flight, %s rows/s (write_mode bulk)\n' \
		    "simd bulk" "$(fmt '%.0f' "$TP_BLK_BEST")" "$TP_BLK_C" "$(fmt '%.0f' "$TP_BLK_RPS")"
	else
		printf '      %-10s %s\n' "simd bulk" "$(na "$TP_BLK_NA")"
	fi
	if [ -n "$TP_PGB_BEST" ]; then
		printf '      %-10s %s sessions/s at %s clients, %s rows/s (%s rows per session)\n' \
		    pgbench "$(fmt '%.0f' "$TP_PGB_BEST")" "$TP_PGB_C" \
		    "$(fmt '%.0f' "$TP_PGB_RPS")" "$(fmt '%.1f' "$TP_PGB_RPT")"
	else
		printf '      %-10s %s\n' pgbench "$(na "$TP_PGB_NA")"
	fi
	# the same, on simd's own statements and mix of sessions (bench/pgb-simd-*.sql)
	if [ -n "$TP_MIX_BEST" ]; then
		printf '      %s %s sessions/s at %s clients, %s rows/s (%s rows per session; simd %s)\n' \
		    "pgbench simd-mix" "$(fmt '%.0f' "$TP_MIX_BEST")" "$TP_MIX_C" \
		    "$(fmt '%.0f' "$TP_MIX_RPS")" "$(fmt '%.2f' "$TP_MIX_RPT")" \
		    "$(fmt '%.2f' "$(calc 'b > 0 ? a / b : 0' "$TP_SIM_RPS" "$TP_SIM_BEST")")"
	else
		printf '      %s %s\n' "pgbench simd-mix" "$(na "$TP_MIX_NA")"
	fi
	if [ -n "$TP_RATIO" ]; then
		printf '      %-10s realistic / pgbench = %s sessions/s, %s rows/s (goal >= 1)\n' \
		    ratio "$(fmt '%.2f' "$TP_RATIO")" "$(fmt '%.2f' "$TP_RRATIO")"
	else
		printf '      %-10s realistic: n/a\n' ratio
	fi
	if [ -n "$TP_MIX_RATIO" ]; then
		printf "      %-10s realistic / pgbench on simd's statements = %s sessions/s, %s %s\n" \
		    ratio "$(fmt '%.2f' "$TP_MIX_RATIO")" "$(fmt '%.2f' "$TP_MIX_RRATIO")" \
		    "rows/s (goal >= 1)"
	else
		printf "      %-10s realistic / pgbench on simd's statements: n/a\n" ratio
	fi
	if [ -n "$TP_BLK_RATIO" ]; then
		printf '      %-10s bulk / pgbench = %s sessions/s, %s rows/s (goal >= 2)\n' ratio \
		    "$(fmt '%.2f' "$TP_BLK_RATIO")" "$(fmt '%.2f' "$TP_BLK_RRATIO")"
	else
		printf '      %-10s bulk: n/a\n' ratio
	fi
}

row_scale() {
	if [ "$SC_STORE" = postgres ]; then
		printf ' 3  scale and memory: --cycles 1, pool_max 60 (postgres)\n'
	else
		printf ' 3  scale and memory: --cycles 1 (sqlite: PostgreSQL is n/a)\n'
	fi
	if [ -z "$SC_10K_T$SC_100K_T" ]; then
		printf '      %s\n' "$(na "$SC_NA")"
		return
	fi
	for n in 10000 100000; do
		if [ "$n" = 10000 ]; then
			_t=$SC_10K_T _r=$SC_10K_RUN _h=$SC_10K_RSS _p=$SC_10K_PA
		else
			_t=$SC_100K_T _r=$SC_100K_RUN _h=$SC_100K_RSS _p=$SC_100K_PA
		fi
		if [ -z "$_t" ]; then
			printf '      %-10s %s\n' "$(echo "$n" | sed 's/000$/,000/')" "$(na "$SC_NA")"
			continue
		fi
		printf '      %-10s %s s (cycle %s s), peak RSS %s MB, %s kB per agent\n' \
		    "$(echo "$n" | sed 's/000$/,000/')" \
		    "$(fmt '%.2f' "$_t")" "$(fmt '%.2f' "$_r")" "$(kb '%.1f' 1048576 "$_h")" \
		    "$(kb '%.2f' 1024 "$_p")"
	done
	printf '      %-10s RSS %s MB before the run\n' idle "$(kb '%.1f' 1048576 "$SC_IDLE")"
	if [ -n "$SA_RSS" ]; then
		printf '      %s --all-shop (postgres): %s s, peak RSS %s MB, %s MB after the run,' \
		    "$ALLSHOP_AGENTS" "$(fmt '%.2f' "$SA_WALL")" "$(kb '%.1f' 1048576 "$SA_RSS")" \
		    "$(kb '%.1f' 1048576 "$SA_AFTER")"
		printf ' event queue peak %s (bound %s)\n' "$SA_QPEAK" "$SA_QMAX"
	else
		printf '      %s --all-shop (postgres): %s\n' "$ALLSHOP_AGENTS" "$(na "$SA_NA")"
	fi
}

row_control() {
	printf ' 4  control latency: status round trips during a 100,000-agent --all-shop run (%s)\n' \
	    "$CL_STORE"
	if [ -z "$CL_P50" ]; then
		printf '      %s\n' "$(na "$CL_NA")"
		return
	fi
	printf '      %-10s p50 %s ms, p99 %s ms, max %s ms (%s round trips per run; probe %s)%s\n' \
	    busy "$(fmt '%.2f' "$CL_P50")" "$(fmt '%.2f' "$CL_P99")" "$(fmt '%.1f' "$CL_MAX")" \
	    "$(fmt '%.0f' "$CL_N")" "${CL_SCHED:-default}" "${CL_NOTE:+; $CL_NOTE}"
	printf '      %-10s p50 %s ms, p99 %s ms\n' idle "$(fmt '%.2f' "$CL_IDLE50")" \
	    "$(fmt '%.2f' "$CL_IDLE99")"
	if [ -n "$CL_SUB50" ]; then
		printf '      %-10s p50 %s ms, p99 %s ms, max %s ms with 10 subscribers at 100 ms (%s frames)%s\n' \
		    busy+subs "$(fmt '%.2f' "$CL_SUB50")" "$(fmt '%.2f' "$CL_SUB99")" \
		    "$(fmt '%.1f' "$CL_SUBMAX")" "$(fmt '%.0f' "$CL_SUBF")" \
		    "${CL_SUBNOTE:+; $CL_SUBNOTE}"
	else
		printf '      %-10s %s\n' busy+subs "$(na "subscriber probe failed")"
	fi
}

row_remote() {
	printf ' 5  remote database: the %s-agent cycle with +100 ms round trips, pool_max 55\n' \
	    "$CYCLE_AGENTS"
	if [ -z "$RM_W" ]; then
		printf '      %-10s %s\n' postgres "$(na "$RM_NA")"
		return
	fi
	printf '      %-10s %s s until every row is written (sessions done in %s s)\n' postgres \
	    "$(fmt '%.2f' "$RM_W")" "$(fmt '%.2f' "$RM_C")"
	printf '      %-10s %s s until every row is written (sessions done in %s s)\n' warm \
	    "$(fmt '%.2f' "$RM_WW")" "$(fmt '%.2f' "$RM_WC")"
	printf '      %-10s %s s from simd start (connect and schema through the proxy)\n' total \
	    "$(fmt '%.2f' "$RM_T")"
}

row_embedded() {
	printf ' 6  embedded store: SQLite, --all-shop, 50 in flight\n'
	if [ -z "$EM_SPS" ]; then
		printf '      %-10s %s\n' sqlite "$(na "$EM_NA")"
		return
	fi
	printf '      %-10s %s sessions/s, %s rows/s\n' sqlite "$(fmt '%.0f' "$EM_SPS")" \
	    "$(fmt '%.0f' "$EM_RPS")"
	printf '      %-10s simd used %s %% of a core: %s sessions per CPU second\n' cpu \
	    "$(fmt '%.0f' "$(calc 'a * 100' "$EM_CPU")")" "$(fmt '%.0f' "$EM_SPC")"
}

row_cluster() {
	printf '10  cluster: %s agents --all-shop, one run of M shards on M members (cluster = on), %s in flight each, one PostgreSQL\n' \
	    "$CLUSTER_AGENTS" "$CLUSTER_CONC"
	if [ -n "$KL_NA" ] && [ -z "$KL_SPS_1$KL_SPS_2$KL_SPS_3" ]; then
		printf '      %-10s %s\n' cluster "$(na "$KL_NA")"
		return
	fi
	for _km in 1 2 3; do
		eval "_ks=\$KL_SPS_$_km _kr=\$KL_RPS_$_km _kc=\$KL_CONN_$_km _ku=\$KL_US_$_km"
		printf '      %-10s %s sessions/s, %s rows/s, at most %s connections of simd, %s us of simd CPU a session\n' \
		    "$_km member$([ "$_km" = 1 ] || echo s)" "$(fmt '%.0f' "$_ks")" "$(fmt '%.0f' "$_kr")" \
		    "${_kc:-n/a}" "$(fmt '%.0f' "$_ku")"
	done
	[ -z "$KL_NA" ] || printf '      %-10s %s\n' note "$(na "$KL_NA")"
}

row_api() {
	printf ' 8  shop API: --all-shop through contrib/shopd on loopback (sqlite), 16 in flight\n'
	if [ -z "$API_SPS" ]; then
		printf '      %-10s %s\n' http "$(na "$API_NA")"
		return
	fi
	printf '      %-10s %s sessions/s, %s requests/s, peak RSS %s kB per agent (%s agents)\n' \
	    http "$(fmt '%.0f' "$API_SPS")" "$(fmt '%.0f' "$API_QPS")" "$(fmt '%.1f' "$API_KB")" \
	    "$API_AGENTS"
	printf '      %-10s %s sessions, %s requests per CPU second of simd (%s requests a session)\n' \
	    '' "$(fmt '%.0f' "$API_SPC")" "$(fmt '%.0f' "$API_QPC")" \
	    "$(fmt '%.1f' "$(calc 'a / b' "$API_QPS" "$API_SPS")")"
	if [ -z "$L_SPS" ]; then
		printf '      %-10s %s\n' locust "$(na "$LOCUST_NA")"
		return
	fi
	printf '      %-10s %s sessions/s, %s requests/s: %s sessions of bench/locustfile.py, 16 users\n' \
	    locust "$(fmt '%.0f' "$L_SPS")" "$(fmt '%.0f' "$L_QPS")" "$LOCUST_SESSIONS"
	printf '      %-10s %s sessions, %s requests per CPU second of Locust (%s requests a session)\n' \
	    '' "$(fmt '%.0f' "$L_SPC")" "$(fmt '%.0f' "$L_QPC")" \
	    "$(fmt '%.1f' "$(calc 'a / b' "$L_QPS" "$L_SPS")")"
	printf '      %-10s simd/Locust per CPU second: %s x the requests, %s x the sessions\n' \
	    ratio "$(fmt '%.2f' "$(calc 'a / b' "$API_QPC" "$L_QPC")")" \
	    "$(fmt '%.2f' "$(calc 'a / b' "$API_SPC" "$L_SPC")")"
}

row_llm() {
	printf ' 7  LLM personas against the test double (tests/tools/llmd)\n'
	if [ -n "$LLM_NA" ]; then
		printf '      %-10s %s\n' llm "$(na "$LLM_NA")"
		return
	fi
	printf '      %-10s %s personas/s (%s personas, 16 in flight, no limit: the client'"'"'s ceiling)\n' \
	    unlimited "$(fmt '%.0f' "$LLM_PPS")" "$LLM_AGENTS"
	_rl_min=$(calc 'a * 60 / b' "$LLM_LIM_S" "$LLM_WINDOW")
	printf '      %-10s %s s to %s personas at 20 per %s s, %s 429s (%s min at 20/minute)\n' \
	    limited "$(fmt '%.1f' "$LLM_LIM_S")" "$CYCLE_AGENTS" "$LLM_WINDOW" \
	    "${LLM_LIM_429:-n/a}" "$(fmt '%.1f' "$(calc 'a / 60' "$_rl_min")")"
}

# ---- results.json ----

json_na() {	# {"na": "reason"}
	printf '{"na": %s}' "$(jstr "${1:-no figure}")"
}

obj() {		# obj KEY VALUE-JSON ...: {"KEY": VALUE, ...}
	_o=''
	while [ $# -ge 2 ]; do
		_o="$_o${_o:+, }\"$1\": $2"
		shift 2
	done
	printf '{%s}' "$_o"
}

json_cycle() {
	for _jc in postgres pgbouncer sqlite; do
		if [ "$_jc" = postgres ]; then
			_w=$CY_PG_W _c=$CY_PG_C _na=$CY_PG_NA
		elif [ "$_jc" = pgbouncer ]; then
			_w=$CY_BX_W _c=$CY_BX_C _na=$CY_BX_NA
		else
			_w=$CY_SQ_W _c=$CY_SQ_C _na=$CY_SQ_NA
		fi
		if [ -n "$_w" ]; then
			_v=$(obj wall_s "$(jnum "$(median "$_w")")" \
			    cycle_s "$(jnum "$(median "$_c")")" \
			    runs_wall_s "$(jlist "$_w")" runs_cycle_s "$(jlist "$_c")")
		else
			_v=$(json_na "$_na")
		fi
		case $_jc in postgres) _pg=$_v ;; pgbouncer) _bx=$_v ;; *) _sq=$_v ;; esac
	done
	obj agents "$CYCLE_AGENTS" postgres "$_pg" pgbouncer_transaction "$_bx" sqlite "$_sq"
}

json_pgbench() {	# json_pgbench NA BEST RPS RPT CLIENTS RUNS SWEEP: a pgbench line of row 2
	[ -n "$2" ] || { json_na "$1"; return; }
	obj sessions_per_s "$(jnum "$2")" rows_per_s "$(jnum "$3")" rows_per_session "$(jnum "$4")" \
	    clients "$5" runs_sessions_per_s "$(jlist "$6")" sweep_sessions_per_s "{$7}"
}

json_throughput() {
	[ -z "$TP_NA" ] || { json_na "$TP_NA"; return; }
	if [ -n "$TP_SIM_BEST" ]; then
		_s=$(obj sessions_per_s "$(jnum "$TP_SIM_BEST")" \
		    rows_per_s "$(jnum "$TP_SIM_RPS")" max_concurrent "$TP_SIM_C" \
		    runs_sessions_per_s "$(jlist "$TP_SIM_RUNS")" \
		    sweep_sessions_per_s "{$TP_SIM_SWEEP}")
	else
		_s=$(json_na "$TP_SIM_NA")
	fi
	_p=$(json_pgbench "$TP_PGB_NA" "$TP_PGB_BEST" "$TP_PGB_RPS" "$TP_PGB_RPT" "$TP_PGB_C" \
	    "$TP_PGB_RUNS" "$TP_PGB_SWEEP")
	_m=$(json_pgbench "$TP_MIX_NA" "$TP_MIX_BEST" "$TP_MIX_RPS" "$TP_MIX_RPT" "$TP_MIX_C" \
	    "$TP_MIX_RUNS" "$TP_MIX_SWEEP")
	if [ -n "$TP_BLK_BEST" ]; then
		_b=$(obj sessions_per_s "$(jnum "$TP_BLK_BEST")" \
		    rows_per_s "$(jnum "$TP_BLK_RPS")" max_concurrent "$TP_BLK_C" \
		    runs_sessions_per_s "$(jlist "$TP_BLK_RUNS")" \
		    sweep_sessions_per_s "{$TP_BLK_SWEEP}")
	else
		_b=$(json_na "$TP_BLK_NA")
	fi
	obj window_s "$SECS" simd "$_s" simd_bulk "$_b" pgbench "$_p" pgbench_simd_mix "$_m" \
	    ratio_simd_pgbench "$(jnum "$TP_RATIO")" runs_ratio "$(jlist "$TP_RATIOS")" \
	    ratio_bulk_pgbench "$(jnum "$TP_BLK_RATIO")" runs_ratio_bulk "$(jlist "$TP_BLK_RATIOS")" \
	    rows_ratio_simd_pgbench "$(jnum "$TP_RRATIO")" \
	    rows_ratio_bulk_pgbench "$(jnum "$TP_BLK_RRATIO")" \
	    ratio_simd_pgbench_simd_mix "$(jnum "$TP_MIX_RATIO")" \
	    runs_ratio_simd_mix "$(jlist "$TP_MIX_RATIOS")" \
	    rows_ratio_simd_pgbench_simd_mix "$(jnum "$TP_MIX_RRATIO")"
}

json_scale() {
	[ -n "$SC_10K_T$SC_100K_T" ] || { json_na "$SC_NA"; return; }
	_pm=null
	[ "$SC_STORE" != postgres ] || _pm=60
	obj store "\"$SC_STORE\"" pool_max "$_pm" idle_rss_bytes "$(jnum "$SC_IDLE")" \
	    agents_10000 "$(obj wall_s "$(jnum "$SC_10K_T")" \
		cycle_wall_s "$(jnum "$SC_10K_RUN")" \
		peak_rss_bytes "$(jnum "$SC_10K_RSS")" \
		rss_bytes_per_agent "$(jnum "$SC_10K_PA")")" \
	    agents_100000 "$(obj wall_s "$(jnum "$SC_100K_T")" \
		cycle_wall_s "$(jnum "$SC_100K_RUN")" \
		peak_rss_bytes "$(jnum "$SC_100K_RSS")" \
		rss_bytes_per_agent "$(jnum "$SC_100K_PA")")" \
	    all_shop_postgres "$(obj agents "$ALLSHOP_AGENTS" wall_s "$(jnum "$SA_WALL")" \
		peak_rss_bytes "$(jnum "$SA_RSS")" rss_after_bytes "$(jnum "$SA_AFTER")" \
		events_queued_peak "$(jnum "$SA_QPEAK")" events_queue_max "$(jnum "$SA_QMAX")" \
		note "$(jstr "$SA_NA")")"
}

json_control() {
	[ -n "$CL_P50" ] || { json_na "$CL_NA"; return; }
	obj store "\"$CL_STORE\"" agents 100000 window_s "$PROBE_SECS" \
	    p50_ms "$(jnum "$CL_P50")" p99_ms "$(jnum "$CL_P99")" max_ms "$(jnum "$CL_MAX")" \
	    round_trips "$(jnum "$CL_N")" idle_p50_ms "$(jnum "$CL_IDLE50")" \
	    idle_p99_ms "$(jnum "$CL_IDLE99")" note "$(jstr "$CL_NOTE")" \
	    probe_sched "$(jstr "${CL_SCHED:-default}")" \
	    subscribers_10_at_100ms "$(obj p50_ms "$(jnum "$CL_SUB50")" p99_ms "$(jnum "$CL_SUB99")" \
		max_ms "$(jnum "$CL_SUBMAX")" frames "$(jnum "$CL_SUBF")" \
		note "$(jstr "$CL_SUBNOTE")")"
}

json_remote() {
	[ -n "$RM_W" ] || { json_na "$RM_NA"; return; }
	obj agents "$CYCLE_AGENTS" added_rtt_ms 100 pool_max 55 wall_s "$(jnum "$RM_W")" \
	    cycle_s "$(jnum "$RM_C")" from_start_s "$(jnum "$RM_T")" \
	    warm_wall_s "$(jnum "$RM_WW")" warm_cycle_s "$(jnum "$RM_WC")"
}

json_embedded() {
	[ -n "$EM_SPS" ] || { json_na "$EM_NA"; return; }
	obj store '"sqlite"' max_concurrent 50 window_s "$SECS" \
	    sessions_per_s "$(jnum "$EM_SPS")" rows_per_s "$(jnum "$EM_RPS")" \
	    cpu_cores "$(jnum "$EM_CPU")" sessions_per_cpu_s "$(jnum "$EM_SPC")"
}

json_api() {
	[ -n "$API_SPS" ] || { json_na "$API_NA"; return; }
	if [ -n "$L_SPS" ]; then
		_jl=$(obj sessions "$LOCUST_SESSIONS" users 16 sessions_per_s "$(jnum "$L_SPS")" \
		    requests_per_s "$(jnum "$L_QPS")" sessions_per_cpu_s "$(jnum "$L_SPC")" \
		    requests_per_cpu_s "$(jnum "$L_QPC")")
	else
		_jl=$(json_na "$LOCUST_NA")
	fi
	obj agents "$API_AGENTS" max_concurrent 16 window_s "$SECS" \
	    sessions_per_s "$(jnum "$API_SPS")" requests_per_s "$(jnum "$API_QPS")" \
	    sessions_per_cpu_s "$(jnum "$API_SPC")" requests_per_cpu_s "$(jnum "$API_QPC")" \
	    peak_rss_kb_per_agent "$(jnum "$API_KB")" locust "$_jl" \
	    ratio_requests_per_cpu_s "$(jnum "$(calc 'a / b' "$API_QPC" "$L_QPC")")" \
	    ratio_sessions_per_cpu_s "$(jnum "$(calc 'a / b' "$API_SPC" "$L_SPC")")"
}

json_llm() {
	[ -z "$LLM_NA" ] || { json_na "$LLM_NA"; return; }
	obj unlimited "$(obj agents "$LLM_AGENTS" max_concurrent 16 \
		personas_per_s "$(jnum "$LLM_PPS")" runs_personas_per_s "$(jlist "$LLM_RPS_RUNS")")" \
	    limited "$(obj agents "$CYCLE_AGENTS" requests_per_window 20 window_s "$LLM_WINDOW" \
		wall_s "$(jnum "$LLM_LIM_S")" status_429 "$(jnum "$LLM_LIM_429")")"
}

row_adaptive() {
	printf ' 9  adaptive concurrency: the best fixed limit of %s vs adaptive from a cold start\n' \
	    "$(echo "$ADAPT_SWEEP" | tr ' ' ',')"
	if [ -n "$AD_NA" ]; then
		printf '      %s\n' "$(na "$AD_NA")"
		return
	fi
	for _rw in local remote; do
		eval "_c=\${AD_${_rw}_C:-} _f=\${AD_${_rw}_FIX:-} _fp=\${AD_${_rw}_FIX_P99:-}"
		eval "_a=\${AD_${_rw}_AD:-} _ap=\${AD_${_rw}_AD_P99:-} _l=\${AD_${_rw}_LIMIT:-}"
		eval "_r=\${AD_${_rw}_RATIO:-} _n=\${AD_${_rw}_NA:-}"
		_label=$_rw
		[ "$_rw" = remote ] && _label="100 ms RTT"
		if [ -z "$_f" ] || [ -z "$_a" ]; then
			printf '      %-10s %s\n' "$_label" "$(na "$_n")"
			continue
		fi
		printf '      %-10s fixed %s: %s sessions/s, p99 %s ms; adaptive: %s sessions/s, p99 %s ms,' \
		    "$_label" "$_c" "$(fmt '%.0f' "$_f")" "$(fmt '%.0f' "$_fp")" "$(fmt '%.0f' "$_a")" \
		    "$(fmt '%.0f' "$_ap")"
		printf ' limit %s at the end; adaptive / fixed = %s\n' "$(fmt '%.0f' "$_l")" \
		    "$(fmt '%.2f' "$_r")"
		eval "_a=\${AD_${_rw}_LAT:-} _ap=\${AD_${_rw}_LAT_P99:-} _l=\${AD_${_rw}_LAT_LIMIT:-}"
		eval "_r=\${AD_${_rw}_LAT_RATIO:-}"
		printf '      %-10s without the CPU/memory ceiling: %s sessions/s, p99 %s ms, limit %s;' \
		    '' "$(fmt '%.0f' "$_a")" "$(fmt '%.0f' "$_ap")" "$(fmt '%.0f' "$_l")"
		printf ' / fixed = %s\n' "$(fmt '%.2f' "$_r")"
	done
}

json_adaptive_at() {
	eval "_c=\${AD_$1_C:-} _f=\${AD_$1_FIX:-} _fp=\${AD_$1_FIX_P99:-} _a=\${AD_$1_AD:-}"
	eval "_ap=\${AD_$1_AD_P99:-} _l=\${AD_$1_LIMIT:-} _r=\${AD_$1_RATIO:-} _n=\${AD_$1_NA:-}"
	eval "_sw=\${AD_$1_SWEEP:-}"
	[ -n "$_f" ] && [ -n "$_a" ] || { json_na "$_n"; return; }
	obj best_fixed_limit "$_c" fixed_sessions_per_s "$(jnum "$_f")" \
	    fixed_p99_session_ms "$(jnum "$_fp")" adaptive_sessions_per_s "$(jnum "$_a")" \
	    adaptive_p99_session_ms "$(jnum "$_ap")" adaptive_limit_at_end "$(jnum "$_l")" \
	    adaptive_over_fixed "$(jnum "$_r")" sweep_sessions_per_s "{$_sw}" \
	    latency_only "$(json_latency_only "$1")"
}

json_latency_only() {	# the adaptive run without the machine ceiling
	eval "_a=\${AD_$1_LAT:-} _ap=\${AD_$1_LAT_P99:-} _l=\${AD_$1_LAT_LIMIT:-}"
	eval "_r=\${AD_$1_LAT_RATIO:-}"
	obj sessions_per_s "$(jnum "$_a")" p99_session_ms "$(jnum "$_ap")" \
	    limit_at_end "$(jnum "$_l")" over_fixed "$(jnum "$_r")"
}

json_adaptive() {
	[ -z "$AD_NA" ] || { json_na "$AD_NA"; return; }
	obj agents "$RATE_AGENTS" window_s "$SECS" local "$(json_adaptive_at local)" \
	    remote_100ms_rtt "$(json_adaptive_at remote)"
}

json_cluster() {
	[ -n "$KL_SPS_1$KL_SPS_2$KL_SPS_3" ] || { json_na "$KL_NA"; return; }
	obj agents "$CLUSTER_AGENTS" in_flight_per_member "$CLUSTER_CONC" window_s "$SECS" \
	    members_1 "$(obj sessions_per_s "$(jnum "$KL_SPS_1")" rows_per_s "$(jnum "$KL_RPS_1")" \
	    connections_max "$(jnum "$KL_CONN_1")" cpu_us_per_session "$(jnum "$KL_US_1")")" \
	    members_2 "$(obj sessions_per_s "$(jnum "$KL_SPS_2")" rows_per_s "$(jnum "$KL_RPS_2")" \
	    connections_max "$(jnum "$KL_CONN_2")" cpu_us_per_session "$(jnum "$KL_US_2")")" \
	    members_3 "$(obj sessions_per_s "$(jnum "$KL_SPS_3")" rows_per_s "$(jnum "$KL_RPS_3")" \
	    connections_max "$(jnum "$KL_CONN_3")" cpu_us_per_session "$(jnum "$KL_US_3")")"
}

json_results() {
	_rows=''
	for _jr in cycle:cycle_time throughput:throughput scale:scale control:control_latency \
	    remote:remote embedded:embedded llm:llm_personas api:shop_api adaptive:adaptive \
	    cluster:cluster; do
		want "${_jr%%:*}" || continue
		_rows="$_rows${_rows:+,
}    \"${_jr#*:}\": $(json_"${_jr%%:*}")"
	done
	_m=$(obj cores "$(jnum "$CORES")" cpu "$(jstr "$CPU")" \
	    mem_bytes "$(jnum "$(calc 'a * 1024' "$MEM_KB")")" kernel "$(jstr "$KERNEL")" \
	    load_at_start "$(jnum "$LOAD")")
	_pgv=null
	[ -z "${PG_V:-}" ] || _pgv=$(jstr "$PG_V")
	cat <<JSON
{
  "date": $(jstr "$DATE"),
  "simd": $(jstr "$SIMD_V"),
  "machine": $_m,
  "postgresql": $_pgv,
  "sqlite": $(jstr "$SQLITE_V"),
  "runs": $RUNS,
  "elapsed_s": $(jnum "$BENCH_S"),
  "benchmarks": {
$_rows
  }
}
JSON
}

# ---- main ----

T_START=$(now_s)
DATE=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
machine
say "machine: $MACHINE (load $LOAD); $RUNS runs per figure"
build_tools
if [ -n "$TOOLS_ERR" ]; then
	say "$TOOLS_ERR"
fi
if want cycle || want throughput || want scale || want control || want remote ||
    want adaptive || want cluster; then
	pg_up
fi
pg_version
want cycle && bench_cycle
want throughput && bench_throughput
if want scale; then
	bench_scale
	scale_allshop
fi
if want control; then
	if [ -n "$TOOLS_ERR" ]; then
		CL_NA=$TOOLS_ERR CL_NOTE='' CL_STORE=- CL_P50=''
	else
		bench_control
	fi
fi
want remote && bench_remote
want embedded && bench_embedded
want llm && bench_llm
want api && bench_api
want adaptive && bench_adaptive
want cluster && bench_cluster
BENCH_S=$(calc 'b - a' "$T_START" "$(now_s)")

{
	echo
	echo "simd benchmarks, $DATE, simd ${SIMD_V:-?}"
	echo "machine: $MACHINE (load average $LOAD at start)"
	if [ -n "${PG_V:-}" ]; then
		echo "stores:  PostgreSQL $PG_V (a private server on this machine, fsync off)," \
		    "SQLite ${SQLITE_V:-?}"
	else
		echo "stores:  PostgreSQL n/a, SQLite ${SQLITE_V:-?}"
	fi
	echo "every figure is the median of $RUNS run(s); the whole bench took" \
	    "$(fmt '%.0f' "$BENCH_S") s"
	echo
	want cycle && row_cycle
	want throughput && row_throughput
	want scale && row_scale
	want control && row_control
	want remote && row_remote
	want embedded && row_embedded
	want llm && row_llm
	want api && row_api
	want adaptive && row_adaptive
	want cluster && row_cluster
}
if json_results >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"; then
	echo
	echo "written: $OUT"
else
	echo "bench: cannot write $OUT" >&2
	exit 1
fi
