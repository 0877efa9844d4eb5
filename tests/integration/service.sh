# service.sh - service manager integration (sd_notify), make install, make demo.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup

# systemd notifications: READY=1 once listening, WATCHDOG=1 when asked, STOPPING=1 on the way out
if grep -q 'HAVE_SYSTEMD=1' "$TOP/.build-flags" 2>/dev/null; then
	"$TOP/tests/tools/notifyrecv" "$T/notify.sock" 20 >"$T/notify.log" &
	rp=$!
	sleep 0.2
	# WATCHDOG_PID must name simd itself: the shell's pid, which exec hands on
	NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 sh -c \
	    'WATCHDOG_PID=$$ exec "$0" -f -c "$1"' "$SIMD" "$T/simd.conf" 2>"$T/simd.log" &
	SIMD_PID=$!
	_t_wait_ready 10
	sleep 0.5
	t_stop_simd || t_fail "exit"
	wait "$rp" || true
	log=$(cat "$T/notify.log")
	t_expect_match "$log" 'READY=1' "READY=1 sent"
	t_expect_match "$log" 'WATCHDOG=1' "WATCHDOG=1 sent"
	t_expect_match "$log" 'STOPPING=1' "STOPPING=1 sent"
	[ "$(grep -n READY=1 "$T/notify.log" | head -1 | cut -d: -f1)" -lt \
	    "$(grep -n STOPPING=1 "$T/notify.log" | cut -d: -f1)" ] || t_fail "READY after STOPPING"
else
	echo "built without libsystemd: notifications compile to nothing"
fi

# make install honours PREFIX and DESTDIR
make -s -C "$TOP" install-files DESTDIR="$T/root" PREFIX=/usr >/dev/null
for f in usr/sbin/simd usr/bin/simctl usr/share/man/man8/simd.8 usr/share/man/man1/simctl.1 \
    usr/share/man/man5/simd.conf.5 usr/etc/simd.conf.example usr/etc/simd.conf \
    usr/lib/systemd/system/simd.service usr/lib/systemd/system/simd@.service; do
	[ -f "$T/root/$f" ] || t_fail "make install did not install $f"
done
t_expect_match "$(cat "$T/root/usr/lib/systemd/system/simd.service")" 'ExecStart=/usr/sbin/simd' \
    "unit names the installed binary"
t_expect_match "$(cat "$T/root/usr/lib/systemd/system/simd.service")" 'Type=notify' "Type=notify unit"
# the unit's configuration is written from the example, and never overwritten
[ -s "$T/root/usr/etc/simd.conf" ] || t_fail "make install wrote no simd.conf"
echo "agents = 5" >>"$T/root/usr/etc/simd.conf"
make -s -C "$TOP" install-files DESTDIR="$T/root" PREFIX=/usr >/dev/null
grep -q '^agents = 5' "$T/root/usr/etc/simd.conf" || t_fail "make install overwrote simd.conf"
make -s -C "$TOP" uninstall DESTDIR="$T/root" PREFIX=/usr >/dev/null
[ ! -e "$T/root/usr/sbin/simd" ] || t_fail "make uninstall left simd"
[ -e "$T/root/usr/etc/simd.conf" ] || t_fail "make uninstall removed the administrator's simd.conf"
[ ! -e "$T/root/usr/lib/systemd/system/simd@.service" ] || t_fail "make uninstall left simd@.service"

# make demo's script: 372 agents, a simulated day, a summary
out=$(SIMD_DEMO_DIR=$T/demo sh "$TOP/tests/demo.sh")
t_expect_match "$out" 'state: +finished' "demo run finished"
t_expect_match "$out" 'cycle: +24 of 24' "demo ran a simulated day"
t_expect_match "$out" 'sessions [0-9]+, orders [0-9]+, abandoned carts' "demo summary"
