# pg.sh - a private PostgreSQL server for the tests.  POSIX sh.
#
# Source it, then:
#	pg_start		# initdb + start; exports PGHOST PGPORT PGUSER PGDATABASE PG_URL
#	pg_psql -c 'select count(*) from orders'	# -At output, stops on errors
#	pg_set_password PW	# TCP clients must now give PW (scram-sha-256)
#	pg_restart [SECS]	# fast stop, optional pause, start again on the same port
#	pg_stop			# immediate stop, removes the directory
#	pg_bouncer_start MODE	# pgbouncer in front of it (see below)
#
# PostgreSQL refuses to run as root, so as root the server runs as the system user
# "simdtest" (created with useradd when missing; "nobody" if that fails).  The server
# listens on 127.0.0.1 only, on a free port in 20000-29999, and on a unix socket inside
# its own directory ($PG_DIR).  Every function returns non-zero with a message on
# stderr when it fails.  The caller must make sure pg_stop runs on exit; the EXIT trap
# of common.sh's t_setup does that.  PG_BINDIR may name the directory of initdb.

PG_DIR=
PG_BINDIR=${PG_BINDIR:-}
PG_LOG=
_PG_USER=

_pg_err() {
	echo "pg.sh: $*" >&2
	return 1
}

# The newest /usr/lib/postgresql/N/bin holding a server (Debian), else pg_config's.
_pg_find_bindir() {
	if [ -n "$PG_BINDIR" ]; then
		[ -x "$PG_BINDIR/initdb" ] && return 0
		_pg_err "PG_BINDIR=$PG_BINDIR has no initdb"
		return 1
	fi
	_pg_best=-1
	for _pg_d in /usr/lib/postgresql/*/bin; do
		_pg_v=${_pg_d#/usr/lib/postgresql/}
		_pg_v=${_pg_v%/bin}
		case $_pg_v in
		'' | *[!0-9]*) continue ;;
		esac
		if [ ! -x "$_pg_d/initdb" ] || [ ! -x "$_pg_d/pg_ctl" ] ||
		    [ ! -x "$_pg_d/postgres" ]; then
			continue
		fi
		if [ "$_pg_v" -gt "$_pg_best" ]; then
			_pg_best=$_pg_v
			PG_BINDIR=$_pg_d
		fi
	done
	if [ -z "$PG_BINDIR" ] && command -v pg_config >/dev/null 2>&1; then
		_pg_d=$(pg_config --bindir 2>/dev/null || true)
		[ -n "$_pg_d" ] && [ -x "$_pg_d/initdb" ] && PG_BINDIR=$_pg_d
	fi
	if [ -z "$PG_BINDIR" ]; then
		_pg_err "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in" \
		    "/usr/lib/postgresql/*/bin nor by pg_config; install them" \
		    "(sh packaging/deps.sh) or set PG_BINDIR"
		return 1
	fi
}

# As root, pick the unprivileged user the server runs as.
_pg_pick_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id simdtest >/dev/null 2>&1 && command -v useradd >/dev/null 2>&1; then
		# Another test may create it at the same moment: check again below.
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin simdtest >/dev/null 2>&1 || true
	fi
	if id simdtest >/dev/null 2>&1; then
		_PG_USER=simdtest
	elif id nobody >/dev/null 2>&1; then
		_PG_USER=nobody
	else
		_pg_err "running as root, and neither user simdtest nor nobody exists"
		return 1
	fi
	if ! command -v setpriv >/dev/null 2>&1 && ! command -v runuser >/dev/null 2>&1; then
		_pg_err "running as root needs setpriv or runuser (util-linux) to drop privileges"
		return 1
	fi
}

# Run a command as the server's user (as ourselves when not root), in $PG_DIR so that
# the current directory is one the user can reach.
_pg_as() {
	if [ -z "$_PG_USER" ]; then
		(cd "$PG_DIR" && "$@")
	elif command -v setpriv >/dev/null 2>&1; then
		(cd "$PG_DIR" && setpriv --reuid="$(id -u "$_PG_USER")" \
		    --regid="$(id -g "$_PG_USER")" --clear-groups -- "$@")
	else
		(cd "$PG_DIR" && runuser -u "$_PG_USER" -- "$@")
	fi
}

# Where a server's directory is made: $TMPDIR when the server's user can reach it and the
# socket's path in it stays short (a Unix socket's path is limited to about 104 bytes), else
# /tmp, which is world-traversable (1777).
_pg_tmp_base() {
	_pg_b=${TMPDIR:-/tmp}
	if [ ${#_pg_b} -gt 60 ] || { [ -n "$_PG_USER" ] && ! (PG_DIR=/ _pg_as test -x "$_pg_b"); }; then
		_pg_b=/tmp
	fi
	echo "$_pg_b"
}

# psql as the superuser over the unix socket, which stays "trust" whatever
# pg_set_password does to TCP connections.
_pg_admin() {
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR/sock" -p "$PGPORT" \
	    -U postgres "$@"
}

# psql on the test database: unaligned, tuples only, stops at the first error.
pg_psql() {
	_pg_admin -At -d simtest "$@"
}

_pg_ready() {
	_pg_i=0
	while [ "$_pg_i" -lt 300 ]; do
		"$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" -t 1 && return 0
		sleep 0.1
		_pg_i=$((_pg_i + 1))
	done
	_pg_err "server on port $PGPORT not ready after 30 s; log $PG_LOG:"
	tail -n 30 "$PG_LOG" >&2
	return 1
}

# Start the server on $PGPORT; non-zero when it did not come up.
_pg_ctl_start() {
	_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_LOG" -w -t 30 \
	    -o "-p $PGPORT" start >/dev/null 2>&1
}

_pg_configure() {
	cat >>"$PG_DIR/data/postgresql.conf" <<EOF

# pg.sh: a throwaway server for tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR/sock'
# fsync off loses nothing unless the machine itself goes down; synchronous_commit
# stays on: with it off, a server stopped with -m immediate (pgrestart, the soak) loses
# the commits of its last moments that simd was told were in, and the rows of a run
# that resumes exactly would then differ from the reference's
fsync = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
EOF
}

# Try ports from 20000 + $$ % 10000 on until one is free.
_pg_start_on_free_port() {
	_pg_try=0
	while [ "$_pg_try" -lt 20 ]; do
		PGPORT=$((20000 + ($$ + _pg_try * 397) % 10000))
		_pg_ctl_start && return 0
		if ! grep -q 'could not bind\|could not create any TCP/IP' "$PG_LOG"; then
			_pg_err "postgres did not start; log $PG_LOG:"
			tail -n 30 "$PG_LOG" >&2
			return 1
		fi
		_pg_try=$((_pg_try + 1))
	done
	_pg_err "no free port found for postgres; log $PG_LOG:"
	tail -n 30 "$PG_LOG" >&2
	return 1
}

pg_start() {
	[ -z "$PG_DIR" ] || { _pg_err "pg_start: already started in $PG_DIR"; return 1; }
	_pg_find_bindir || return 1
	# Settings of the caller's that would change how our clients connect.
	unset PGSERVICE PGSSLMODE PGOPTIONS PGPASSWORD
	_pg_pick_user || return 1
	PG_DIR=$(mktemp -d "$(_pg_tmp_base)/simd-pg.XXXXXX") || return 1
	if [ -n "$_PG_USER" ]; then
		chown "$_PG_USER" "$PG_DIR" || return 1
		_pg_as test -w "$PG_DIR" ||
		    { _pg_err "user $_PG_USER cannot write $PG_DIR"; return 1; }
	fi
	PG_LOG=$PG_DIR/postgres.log
	export PG_DIR PG_LOG PG_BINDIR
	_pg_as mkdir "$PG_DIR/sock" || return 1
	if ! _pg_as "$PG_BINDIR/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync \
	    -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1; then
		_pg_err "initdb failed:"
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	_pg_configure || return 1
	_pg_start_on_free_port || return 1
	export PGPORT
	_pg_ready || return 1
	_pg_admin -d postgres -c 'CREATE DATABASE simtest' || return 1
	PGHOST=127.0.0.1
	PGUSER=postgres
	PGDATABASE=simtest
	PG_URL=postgresql://postgres@127.0.0.1:$PGPORT/simtest
	export PGHOST PGUSER PGDATABASE PG_URL
	# The server's own client tools (pgbench, psql) come first.
	PATH=$PG_BINDIR:$PATH
	export PATH
}

# Give role postgres the password $1 and require it (scram-sha-256) over TCP.
pg_set_password() {
	[ -n "$PG_DIR" ] || { _pg_err "pg_set_password: server not started"; return 1; }
	_pg_pw=$(printf '%s' "$1" | sed "s/'/''/g")
	_pg_admin -d postgres -c "SET password_encryption = 'scram-sha-256'" \
	    -c "ALTER ROLE postgres PASSWORD '$_pg_pw'" || return 1
	cat >"$PG_DIR/data/pg_hba.conf" <<EOF
local	all	all			trust
host	all	all	127.0.0.1/32	scram-sha-256
host	all	all	::1/128		scram-sha-256
EOF
	_pg_admin -d postgres -At -c 'SELECT pg_reload_conf()' >/dev/null || return 1
	PG_PASSWORD=$1
	export PG_PASSWORD
}

# Turn TLS on with a self-signed certificate made here (openssl), and reload.
pg_enable_ssl() {
	[ -n "$PG_DIR" ] || { _pg_err "pg_enable_ssl: server not started"; return 1; }
	command -v openssl >/dev/null 2>&1 || { _pg_err "pg_enable_ssl: no openssl"; return 1; }
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	    -keyout "$PG_DIR/server.key" -out "$PG_DIR/server.crt" >/dev/null 2>&1 ||
	    { _pg_err "openssl req failed"; return 1; }
	chmod 0600 "$PG_DIR/server.key"
	[ -z "$_PG_USER" ] || chown "$_PG_USER" "$PG_DIR/server.key" "$PG_DIR/server.crt"
	cat >>"$PG_DIR/data/postgresql.conf" <<EOF
ssl = on
ssl_cert_file = '$PG_DIR/server.crt'
ssl_key_file = '$PG_DIR/server.key'
EOF
	_pg_admin -d postgres -At -c 'SELECT pg_reload_conf()' >/dev/null || return 1
	sleep 0.3
}

# Stop (fast), wait $1 seconds (default 0), start again on the same port and directory.
pg_restart() {
	[ -n "$PG_DIR" ] || { _pg_err "pg_restart: server not started"; return 1; }
	_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null ||
	    { _pg_err "pg_ctl stop failed"; return 1; }
	[ "${1:-0}" = 0 ] || sleep "$1"
	if ! _pg_ctl_start; then
		_pg_err "restart on port $PGPORT failed; log $PG_LOG:"
		tail -n 30 "$PG_LOG" >&2
		return 1
	fi
	_pg_ready
}

# Stop (immediate) and remove everything; safe to call twice or after a failed start.
pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop \
		    >/dev/null 2>&1 || true
	fi
	# Should pg_ctl have failed, do not leave a server behind.
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		_pg_pid=$(head -n 1 "$PG_DIR/data/postmaster.pid")
		case $_pg_pid in
		'' | *[!0-9]*) ;;
		*) kill -KILL "$_pg_pid" 2>/dev/null || true ;;
		esac
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}

# pgbouncer (Debian's package) in front of the server, as the same unprivileged user:
#	pg_bouncer_start MODE [POOL]	# pool_mode MODE (transaction | session), POOL server
#					# connections per database (default 5); exports
#					# PGB_PORT, PGB_DIR and PGB_URL (the simtest database)
#	pg_bouncer_url DB		# the URL of database DB through the pooler
#	pg_bouncer_stop			# stops it and removes its directory (safe twice)
# It listens on 127.0.0.1 only, on a free port, and trusts user postgres (the server
# behind it does too).
PGB_DIR=
PGB_PORT=
_pg_bouncer_bin() {
	for _pgb in pgbouncer /usr/sbin/pgbouncer; do
		if command -v "$_pgb" >/dev/null 2>&1; then
			echo "$_pgb"
			return 0
		fi
	done
	_pg_err "pgbouncer not found; install it (sh packaging/deps.sh)"
}

_pg_bouncer_conf() {	# mode pool port
	cat >"$PGB_DIR/pgbouncer.ini" <<EOC
[databases]
* = host=127.0.0.1 port=$PGPORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $3
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/users.txt
pool_mode = $1
default_pool_size = $2
max_client_conn = 1000
max_db_connections = $2
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
EOC
	echo '"postgres" ""' >"$PGB_DIR/users.txt"
	chmod 0644 "$PGB_DIR/pgbouncer.ini" "$PGB_DIR/users.txt"
}

pg_bouncer_start() {
	[ -n "$PGPORT" ] || { _pg_err "pg_bouncer_start: no server (PGPORT)"; return 1; }
	[ -z "$PGB_DIR" ] || { _pg_err "pg_bouncer_start: already started in $PGB_DIR"; return 1; }
	_pgb_bin=$(_pg_bouncer_bin) || return 1
	_pg_pick_user || return 1
	PGB_DIR=$(mktemp -d "$(_pg_tmp_base)/simd-pgb.XXXXXX") || return 1
	[ -z "$_PG_USER" ] || chown "$_PG_USER" "$PGB_DIR" || return 1
	chmod 0755 "$PGB_DIR"
	_pgb_try=0
	while :; do
		PGB_PORT=$((30000 + ($$ + _pgb_try * 389) % 10000))
		_pg_bouncer_conf "$1" "${2:-5}" "$PGB_PORT"
		rm -f "$PGB_DIR/pgbouncer.log"
		# -d: it forks into the background; refuses to run as root, hence _pg_as
		if ! (PG_DIR=$PGB_DIR _pg_as "$_pgb_bin" -q -d "$PGB_DIR/pgbouncer.ini") \
		    >"$PGB_DIR/start.log" 2>&1; then
			_pg_err "pgbouncer did not start:"
			cat "$PGB_DIR/start.log" "$PGB_DIR/pgbouncer.log" >&2 2>/dev/null
			return 1
		fi
		_pg_bouncer_ready && break
		# the port was taken (it may bind after forking): the next one
		if ! grep -q 'in use\|nowhere to listen' "$PGB_DIR/pgbouncer.log" ||
		    [ "$_pgb_try" -ge 20 ]; then
			_pg_err "pgbouncer on port $PGB_PORT not ready after 10 s"
			tail -n 20 "$PGB_DIR/pgbouncer.log" >&2
			return 1
		fi
		_pgb_try=$((_pgb_try + 1))
	done
	PGB_URL=$(pg_bouncer_url simtest)
	export PGB_DIR PGB_PORT PGB_URL
}

# Ready on PGB_PORT within 10 s; 1 at once once its log says it gave up.
_pg_bouncer_ready() {
	_pgb_i=0
	while ! "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PGB_PORT" -d simtest -t 1; do
		grep -q 'FATAL' "$PGB_DIR/pgbouncer.log" 2>/dev/null && return 1
		_pgb_i=$((_pgb_i + 1))
		[ "$_pgb_i" -lt 100 ] || return 1
		sleep 0.1
	done
}

pg_bouncer_url() {
	echo "postgresql://postgres@127.0.0.1:$PGB_PORT/$1"
}

pg_bouncer_stop() {
	[ -n "$PGB_DIR" ] || return 0
	if [ -f "$PGB_DIR/pgbouncer.pid" ]; then
		_pgb_pid=$(head -n 1 "$PGB_DIR/pgbouncer.pid")
		case $_pgb_pid in
		'' | *[!0-9]*) ;;
		*)
			kill -INT "$_pgb_pid" 2>/dev/null || true
			_pgb_i=0
			while kill -0 "$_pgb_pid" 2>/dev/null && [ "$_pgb_i" -lt 50 ]; do
				sleep 0.1
				_pgb_i=$((_pgb_i + 1))
			done
			kill -KILL "$_pgb_pid" 2>/dev/null || true
			;;
		esac
	fi
	rm -rf "$PGB_DIR"
	PGB_DIR=
}
