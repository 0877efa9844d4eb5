# appname.sh - every PostgreSQL connection of simd says whose it is: application_name
# "simd/<run id>" during (and after) a run, the next run's id once that one starts.
set -eu
. "$TOP/tests/lib/common.sh"
t_pg_need
t_setup
url=$(t_pg_db simd_appname)
# the URL's own application_name is overridden: report and purge find simd by its name
t_conf "database_url = $url?application_name=other" "checkpoint_interval = 86400" \
    "pool_size = 3" "max_overflow = 0" "pool_max = 3"
t_start_simd

names() {
	_pg_admin -At -d postgres -c "SELECT DISTINCT application_name FROM pg_stat_activity
	    WHERE datname = 'simd_appname' AND backend_type = 'client backend'
	    AND pid <> pg_backend_pid() ORDER BY 1"
}

for run in 1 2; do
	t_ctl start --agents 20 --cycles 2 --time-scale 0 --wait >/dev/null
	id=$(t_ctl --json status | tr -d ' \n' | sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')
	[ -n "$id" ] || t_fail "no run id in status"
	got=$(names)
	t_expect_eq "$got" "simd/$id" "run $run: application_name of every connection"
	[ "$run" = 1 ] && first=$id
done
[ "$first" != "$id" ] || t_fail "two runs had the same id"
t_stop_simd || t_fail "exit"
echo "application_name: simd/$id"
