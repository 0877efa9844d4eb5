# prometheus.sh - metrics_listen: /metrics scraped during a run passes promtool's check,
# its counters never go down from one scrape to the next, and it listens on loopback
# unless another address is configured.
set -eu
. "$TOP/tests/lib/common.sh"
command -v promtool >/dev/null 2>&1 ||
    { echo "no promtool here (Debian's prometheus package; packaging/deps.sh installs it)"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "no curl here"; exit 77; }
t_setup

# off by default: nothing listens, status says null
t_start_simd
t_expect_match "$(t_ctl --json status | tr -d ' \n')" '"metrics_listen":null' "off by default"
t_stop_simd || t_fail "exit"

# a bare port listens on 127.0.0.1 (0: any free port, which status names)
t_conf "metrics_listen = 0"
t_start_simd
addr=$(t_ctl --json status | tr -d ' \n' | sed -n 's/.*"metrics_listen":"\([^"]*\)".*/\1/p')
t_expect_match "$addr" '^127\.0\.0\.1:[0-9]+$' "a bare port binds loopback"
grep -q "metrics: serving http://$addr/metrics" "$T/simd.log" || t_fail "the log names the address"

scrape() {
	curl -s -m 30 -o "$1" -w '%{http_code}' "http://$addr/metrics" >"$1.code" ||
	    t_fail "cannot scrape http://$addr/metrics"
	t_expect_eq "$(cat "$1.code")" 200 "GET /metrics"
	promtool check metrics <"$1" >"$1.lint" 2>&1 || t_fail "promtool: $(cat "$1.lint")"
}

# a paced run, scraped three times while it goes
t_ctl start --agents 300 --cycles 100000 --time-scale 14400 >/dev/null
scrape "$T/m1"
i=0
while [ "$(t_status_field sessions)" -lt 20 ]; do
	i=$((i + 1)); [ $i -lt 400 ] || t_fail "the run made no sessions"; sleep 0.05
done
scrape "$T/m2"
t_ctl set-concurrency 70 >/dev/null
scrape "$T/m3"
for f in m1 m2 m3; do
	grep -q '^simd_run_state{state="running"} 1$' "$T/$f" || t_fail "$f: not running"
done
for m in simd_sessions_total simd_orders_total 'simd_errors_total{type="timeout"}' \
    simd_events_total simd_rows_written_total simd_agents_processed_total \
    simd_sessions_in_flight simd_concurrency_limit 'simd_store_connections{state="idle"}' \
    simd_lag_seconds simd_cycle process_resident_memory_bytes process_cpu_seconds_total \
    'simd_step_duration_seconds_bucket{step="begin",le="+Inf"}' \
    'simd_session_duration_seconds_count' 'simd_cycle_duration_seconds_sum'; do
	grep -q "^$m " "$T/m3" || t_fail "/metrics lacks $m"
done
grep -q '^simd_concurrency_limit 70$' "$T/m3" || t_fail "the limit gauge follows set-concurrency"
# every counter (and every histogram series) is at least what it was a scrape before
for pair in "m1 m2" "m2 m3"; do
	set -- $pair
	awk 'NR == FNR { if ($1 ~ /_total|_bucket|_count|_sum/) seen[$1] = $2; next }
	    ($1 in seen) && $2 + 0 < seen[$1] + 0 { print $1 " went from " seen[$1] " to " $2; bad = 1 }
	    END { exit bad }' "$T/$1" "$T/$2" || t_fail "a counter went down between scrapes"
done
awk '$1 == "simd_sessions_total" { s = $2 } END { exit !(s >= 20) }' "$T/m2" ||
    t_fail "simd_sessions_total does not count the run's sessions"
# only /metrics; only GET and HEAD
t_expect_eq "$(curl -s -m 30 -o /dev/null -w '%{http_code}' "http://$addr/")" 404 "GET / is not served"
t_expect_eq "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X POST "http://$addr/metrics")" 501 \
    "POST /metrics is refused"
t_ctl stop --wait >/dev/null
t_stop_simd || t_fail "exit"

# bad addresses are refused by simd -n, naming the key
for bad in 'localhost:9464' '127.0.0.1:99999' 'nope' '1.2.3.4.5:80'; do
	{ cat "$T/simd.conf"; printf 'metrics_listen = %s\n' "$bad" ; } >"$T/bad.conf"
	rc=0; "$SIMD" -n -c "$T/bad.conf" 2>"$T/err" || rc=$?
	t_expect_eq "$rc" 1 "metrics_listen = $bad"
	t_expect_match "$(cat "$T/err")" "metrics_listen: \"$bad\" wants \[HOST:\]PORT" "its message"
done
