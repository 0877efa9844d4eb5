#!/bin/sh
# demo.sh - make demo: 372 agents shop for a simulated day (24 cycles) on the embedded
# SQLite store, as fast as possible, and the summary is printed.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
D=${SIMD_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/simd-demo.XXXXXX")}
SOCK=$D/simd.sock
mkdir -p "$D/data"
"$TOP/simd" -f -d "$D/data" -s "$SOCK" -l warn 2>"$D/simd.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
i=0
until "$TOP/simctl" -s "$SOCK" ping >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
		echo "demo: simd did not start:" >&2; cat "$D/simd.log" >&2; exit 1
	fi
	sleep 0.05
done
echo "simd is up; simctl status:"
"$TOP/simctl" -s "$SOCK" status
echo
echo "simctl start --agents 372 --cycles 24 --time-scale 0 --wait"
"$TOP/simctl" -s "$SOCK" start --agents 372 --cycles 24 --time-scale 0 --wait
echo
"$TOP/simctl" -s "$SOCK" stats
echo
"$TOP/simctl" -s "$SOCK" stop >/dev/null 2>&1 || true
kill $pid; wait $pid || true
trap - EXIT
echo "the shop database is $D/data/shop.db, for example:"
echo "  sqlite3 $D/data/shop.db 'SELECT outcome, count(*) FROM shopping_sessions GROUP BY 1'"
