# nginx.sh - a real nginx (Debian's package) in front of contrib/shopd for the shop API
# tests: on loopback, with a configuration of the test's own, as an unprivileged user when
# the tests run as root (the user PostgreSQL's tests use).  POSIX sh.
#
#	ngx_need			# before t_setup: exits 77 when there is no nginx
#	ngx_setup			# after shop.sh: $NGX, nginx's directory, writable by it
#	nginx_conf() { ...; }		# the test's: writes $NGX/nginx.conf for port $1
#	ngx_start PROBE			# nginx on a free port ($NGX_PORT, $NGX_URL) once GET
#					# PROBE answers; its master's pid in $NGX_MASTER and BG_PIDS
#	ngx_http_common			# the lines every http block needs (logs, temp paths)

ngx_need() {
	if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
		echo "no nginx (sh packaging/deps.sh installs it)"
		exit 77
	fi
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

ngx_setup() {
	_keep_pg_dir=${PG_DIR:-}
	. "$TOP/tests/lib/pg.sh"
	PG_DIR=$_keep_pg_dir
	_pg_pick_user || t_fail "no unprivileged user for nginx"
	NGX=$T/nginx
	mkdir -p "$NGX/tmp"
	[ -z "$_PG_USER" ] || chown -R "$_PG_USER" "$NGX"
	chmod 0755 "$T" "$NGX"
}

ngx_http_common() {
	cat <<EOC
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
EOC
}

ngx_start() {
	_try=0
	while :; do
		NGX_PORT=$((40000 + ($$ + _try * 433) % 10000))
		nginx_conf "$NGX_PORT"
		(PG_DIR=$NGX _pg_as "$NGINX" -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" \
		    -g 'daemon off;') </dev/null >"$NGX/start.log" 2>&1 &
		NGX_PID=$!
		_i=0
		while [ "$_i" -lt 100 ] && kill -0 "$NGX_PID" 2>/dev/null &&
		    ! curl -s -o /dev/null "http://127.0.0.1:$NGX_PORT$1"; do
			_i=$((_i + 1))
			sleep 0.05
		done
		if kill -0 "$NGX_PID" 2>/dev/null; then
			break
		fi
		grep -q 'in use' "$NGX/error.log" "$NGX/start.log" 2>/dev/null ||
		    t_fail "nginx did not start: $(cat "$NGX/start.log" "$NGX/error.log" 2>/dev/null)"
		_try=$((_try + 1))
		[ "$_try" -lt 20 ] || t_fail "nginx found no free port"
	done
	# NGX_PID is the subshell that started it: the master's own pid is what stops nginx
	# (every run of shopapi_nginx.sh left an nginx behind before).
	NGX_MASTER=$(cat "$NGX/nginx.pid") || t_fail "nginx wrote no pid file"
	BG_PIDS="$NGX_MASTER $NGX_PID $BG_PIDS"
	NGX_URL=http://127.0.0.1:$NGX_PORT
	[ -z "$_PG_USER" ] ||
	    [ "$(ps -o user= -p "$NGX_MASTER" | tr -d ' ')" = "$_PG_USER" ] ||
	    t_fail "nginx does not run as $_PG_USER"
}
