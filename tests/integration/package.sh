# package.sh - the Debian package: "make deb" from a copy of the tree, lintian, then
# dpkg -i, simd run as simd.service and simd@shard1.service would run it, simctl as a
# member of group simd, an upgrade that keeps a changed simd.conf, dpkg -r and dpkg -P.
# Needs root and dpkg-buildpackage (packaging/deps.sh installs debhelper and lintian);
# leaves the machine as it found it.
set -eu
. "$TOP/tests/lib/common.sh"

skip() {
	echo "$*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "not root: installing a package needs root"
for c in dpkg-buildpackage dh lintian setpriv useradd flock; do
	command -v "$c" >/dev/null 2>&1 || skip "no $c (sh packaging/deps.sh installs it)"
done
# Checkouts tested at once on one machine take turns: one package on it at a time (run.sh
# takes the same lock to look for a left-behind /var/lib/simd).
# -o: the lock stays with flock, not with the daemons this test starts.
[ -n "${SIMD_PKG_LOCKED:-}" ] ||
	SIMD_PKG_LOCKED=1 exec flock -o /run/lock/simd-package-test.lock sh "$0" "$@"
# Never replace what a person installed or left: the package's purge removes these.
st=$(dpkg-query -W -f='${db:Status-Abbrev}' simd 2>/dev/null || true)
case $st in
"" | un*) ;;
*) skip "a simd package is on this machine (dpkg status '$st'): not replacing it" ;;
esac
for p in /etc/simd /var/lib/simd /run/simd /run/simd-shard1; do
	[ ! -e "$p" ] || skip "$p exists: the package would take it over, its purge remove it"
done

t_setup
MEMBER=simdtm$$
OTHER=simdto$$
had_simd_user=0
getent passwd simd >/dev/null 2>&1 && had_simd_user=1
INST_PID=

# Undo everything, whatever step failed, then common.sh's own clean-up.
pkg_cleanup() {
	_pc=$?
	trap - EXIT
	set +e	# every step is tried
	[ -z "$SIMD_PID" ] || t_stop_simd >/dev/null 2>&1
	if [ -n "$INST_PID" ]; then
		kill -TERM "$INST_PID" 2>/dev/null
		wait "$INST_PID" 2>/dev/null
	fi
	rm -f /etc/simd/simd-shard1.conf
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' simd 2>/dev/null || true)
	case $st in
	"" | un*) ;;
	*) dpkg -P simd </dev/null >/dev/null 2>&1 || echo "package.sh: dpkg -P simd failed" >&2 ;;
	esac
	rm -rf /run/simd /run/simd-shard1 /var/lib/simd
	for u in "$MEMBER" "$OTHER"; do
		! getent passwd "$u" >/dev/null 2>&1 || userdel "$u"
	done
	if [ "$had_simd_user" = 0 ] && getent passwd simd >/dev/null 2>&1; then
		userdel simd
		! getent group simd >/dev/null 2>&1 || groupdel simd
	fi
	(exit "$_pc")
	_t_cleanup
}
trap pkg_cleanup EXIT

# ---- build from a copy of the working tree (committed or not, never its build output) ----
SRC=$T/build/simd
mkdir -p "$SRC"
if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# -co: tracked and untracked-but-not-ignored files; a deleted tracked file is skipped
	git -C "$TOP" ls-files -co --exclude-standard | while IFS= read -r f; do
		[ -e "$TOP/$f" ] || [ -L "$TOP/$f" ] || continue
		printf '%s\n' "$f"
	done >"$T/files"
	tar -C "$TOP" -cf - -T "$T/files" | tar -C "$SRC" -xf -
else
	cp -a "$TOP/." "$SRC/"
	rm -rf "$SRC/dist" "$SRC/debian/simd" "$SRC/debian/.debhelper"
fi
# The copy builds as a user's "make deb" would, not with the flags of this make check
# (make exports command-line variables such as SANITIZE=1 to the environment).
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u OPT make -C "$SRC" deb >"$T/build.log" 2>&1; then
	tail -n 40 "$T/build.log" >&2
	t_fail "make deb failed"
fi
VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
# debian/changelog follows the Makefile's VERSION (the changelog may add a -N or +x)
mk_version=$(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")
case $VERSION in
"$mk_version" | "$mk_version"[-+~]*) ;;
*) t_fail "debian/changelog is at $VERSION, the Makefile at $mk_version: add a changelog entry" ;;
esac
DEB=$(ls "$SRC"/dist/simd_"$VERSION"_*.deb)
[ -f "$DEB" ] || t_fail "make deb left no dist/simd_${VERSION}_*.deb"
[ "$(ls -A "$T/build")" = simd ] || t_fail "make deb left files beside the tree: $(ls "$T/build")"

# ---- lintian: no error or warning; info and pedantic tags are shown ----
# (TMPDIR: lintian leaves files in it)
TMPDIR=$T lintian --pedantic -I "$DEB" 2>&1 | grep -v 'running with root privileges' \
    >"$T/lintian" || true
if [ -s "$T/lintian" ]; then
	sed 's/^/lintian: /' "$T/lintian"
else
	echo "lintian --pedantic -I: no tags"
fi
! grep -q '^[EW]:' "$T/lintian" || t_fail "lintian reports errors or warnings"

# The upgrade: the same package under a higher version.
mkdir "$T/re"
dpkg-deb -R "$DEB" "$T/re/pkg"
sed -i "s/^Version: .*/Version: $VERSION+up1/" "$T/re/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -b "$T/re/pkg" "$T/re/simd_up.deb" >/dev/null

# run_dpkg STEP ARGS...: dpkg ARGS, its output in $T/dpkg-STEP.log; any warning fails.
run_dpkg() {
	_step=$1
	shift
	if ! dpkg "$@" </dev/null >"$T/dpkg-$_step.log" 2>&1; then
		cat "$T/dpkg-$_step.log" >&2
		t_fail "dpkg $* ($_step) failed"
	fi
	# a warning, or a maintainer script's complaint ("postinst: 3: x: not found")
	if grep -Ei 'warning|/var/lib/dpkg/info/' "$T/dpkg-$_step.log" >&2; then
		t_fail "dpkg $* ($_step) warned"
	fi
}

# ---- install ----
run_dpkg install -i "$DEB"
for f in /usr/sbin/simd /usr/bin/simctl /usr/share/man/man8/simd.8.gz \
    /usr/share/man/man1/simctl.1.gz /usr/share/man/man5/simd.conf.5.gz /etc/simd/simd.conf \
    /lib/systemd/system/simd.service /lib/systemd/system/simd@.service \
    /usr/share/doc/simd/examples/simd.conf /usr/share/doc/simd/copyright \
    /usr/share/bash-completion/completions/simctl /usr/share/zsh/vendor-completions/_simctl; do
	[ -f "$f" ] || t_fail "the package did not install $f"
done
t_expect_eq "$(dpkg-query -W -f='${Conffiles}' simd | awk '{ print $1 }')" /etc/simd/simd.conf \
    "conffiles"
conf=$(cat /etc/simd/simd.conf)
t_expect_match "$conf" '^socket = /run/simd/simd.sock$' "shipped config: socket"
t_expect_match "$conf" '^socket_group = simd$' "shipped config: socket_group"
t_expect_match "$conf" '^data_dir = /var/lib/simd$' "shipped config: data_dir"
[ -L /etc/systemd/system/multi-user.target.wants/simd.service ] ||
    t_fail "simd.service is not enabled"
if command -v systemd-analyze >/dev/null 2>&1; then
	for u in simd.service simd@.service; do
		out=$(systemd-analyze verify "/lib/systemd/system/$u" 2>&1) ||
		    t_fail "systemd-analyze verify on the installed $u: $out"
		[ -z "$out" ] || t_fail "systemd-analyze verify on the installed $u warns: $out"
	done
fi
pw=$(getent passwd simd) || t_fail "no user simd"
t_expect_match "$pw" '^simd:x:[0-9]+:[0-9]+:.*:/var/lib/simd:/usr/sbin/nologin$' "user simd"
[ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ] || t_fail "simd is not a system user: $pw"
getent group simd >/dev/null || t_fail "no group simd"
SIMD_UID=$(id -u simd)
SIMD_GID=$(getent group simd | cut -d: -f3)

# Under a running systemd the postinst started simd.service: take it down for the rest.
if [ -d /run/systemd/system ]; then
	systemctl is-active -q simd.service || t_fail "postinst did not start simd.service"
	systemctl stop simd.service
fi

# ---- simd as the unit runs it ----
# unit_key UNIT KEY: the value of KEY= in the unit file UNIT (instance already substituted).
unit_key() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# unit_run UNIT LOG: create the unit's RuntimeDirectory and StateDirectory as systemd
# does, then start its ExecStart as its User and Group, with its UMask, in the background.
unit_run() {
	[ "$(unit_key "$1" User):$(unit_key "$1" Group)" = simd:simd ] ||
	    t_fail "$1 does not run as simd:simd"
	install -d -o simd -g simd -m "$(unit_key "$1" RuntimeDirectoryMode)" \
	    "/run/$(unit_key "$1" RuntimeDirectory)"
	install -d -o simd -g simd -m "$(unit_key "$1" StateDirectoryMode)" \
	    "/var/lib/$(unit_key "$1" StateDirectory)"
	_cmd=$(unit_key "$1" ExecStart)
	# shellcheck disable=SC2086 # ExecStart is split into words as systemd splits it
	(umask "$(unit_key "$1" UMask)" && exec setpriv --reuid="$SIMD_UID" --regid="$SIMD_GID" \
	    --init-groups --no-new-privs env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    HOME=/var/lib/simd USER=simd LOGNAME=simd $_cmd) </dev/null >"$2" 2>&1 &
}

as_user() {	# USER COMMAND...: COMMAND as USER with USER's groups
	_u=$1
	shift
	setpriv --reuid="$(id -u "$_u")" --regid="$(id -g "$_u")" --init-groups "$@"
}

UNIT=/lib/systemd/system/simd.service
t_expect_eq "$(unit_key "$UNIT" ExecStart)" \
    "/usr/sbin/simd -f -c /etc/simd/simd.conf -d /var/lib/simd -s /run/simd/simd.sock" \
    "simd.service ExecStart"
# common.sh's helpers (_t_wait_ready, t_stop_simd) on the installed programs
export SIMD=/usr/sbin/simd SIMCTL=/usr/bin/simctl SIMD_SOCKET=/run/simd/simd.sock
unit_run "$UNIT" "$T/simd.log"
SIMD_PID=$!
_t_wait_ready 10
as_user simd /usr/sbin/simd -n -c /etc/simd/simd.conf >/dev/null || t_fail "simd -n as simd"
t_expect_eq "$(stat -c '%a %U %G' /run/simd/simd.sock)" "660 simd simd" "socket mode and owner"
t_expect_eq "$(stat -c '%a %U %G' /run/simd)" "750 simd simd" "/run/simd mode and owner"
t_expect_eq "$(stat -c '%U %a' /var/lib/simd/checkpoints.db)" "simd 640" \
    "UMask: checkpoints.db owner and mode"

useradd -M -N -g nogroup -G simd -s /usr/sbin/nologin "$MEMBER"
useradd -M -N -g nogroup -s /usr/sbin/nologin "$OTHER"
out=$(as_user "$MEMBER" /usr/bin/simctl -s /run/simd/simd.sock ping 2>&1) ||
    t_fail "simctl ping as a member of group simd: $out"
t_expect_eq "$out" pong "ping as a member of group simd"
rc=0
as_user "$OTHER" /usr/bin/simctl -s /run/simd/simd.sock ping >/dev/null 2>&1 || rc=$?
t_expect_eq "$rc" 3 "simctl ping as a user outside group simd (cannot reach)"

# An instance of the template beside it: its own config, state and socket.
sed 's/%i/shard1/g' /lib/systemd/system/simd@.service >"$T/simd@shard1.service"
t_expect_eq "$(unit_key "$T/simd@shard1.service" ExecStart)" \
    "/usr/sbin/simd -f -c /etc/simd/simd-shard1.conf -d /var/lib/simd/shard1 \
-s /run/simd-shard1/simd.sock" "simd@shard1 ExecStart"
cp /etc/simd/simd.conf /etc/simd/simd-shard1.conf
unit_run "$T/simd@shard1.service" "$T/shard1.log"
INST_PID=$!
i=0
until as_user "$MEMBER" /usr/bin/simctl -s /run/simd-shard1/simd.sock ping >/dev/null 2>&1; do
	kill -0 "$INST_PID" 2>/dev/null || { cat "$T/shard1.log" >&2; t_fail "simd@shard1 exited"; }
	i=$((i + 1))
	[ "$i" -lt 200 ] || t_fail "simd@shard1 did not answer within 10 s"
	sleep 0.05
done
[ -f /var/lib/simd/shard1/simd.lock ] || t_fail "simd@shard1 does not use /var/lib/simd/shard1"
out=$(as_user "$MEMBER" /usr/bin/simctl -s /run/simd/simd.sock ping) || t_fail "simd.service gone"
kill -TERM "$INST_PID"
rc=0
wait "$INST_PID" || rc=$?
INST_PID=
t_expect_eq "$rc" 0 "simd@shard1 exit status on SIGTERM"
rm -f /etc/simd/simd-shard1.conf
t_stop_simd || t_fail "simd.service's simd exited with status $? on SIGTERM"
rm -rf /run/simd /run/simd-shard1	# as systemd removes RuntimeDirectory on stop

# ---- upgrade: a changed conffile is kept (no prompt: stdin is /dev/null) ----
echo 'log_level = debug' >>/etc/simd/simd.conf
run_dpkg upgrade -i "$T/re/simd_up.deb"
t_expect_eq "$(dpkg-query -W -f='${Version}' simd)" "$VERSION+up1" "version after the upgrade"
t_expect_eq "$(tail -n 1 /etc/simd/simd.conf)" 'log_level = debug' "changed simd.conf kept"
[ "$(ls -A /etc/simd)" = simd.conf ] || t_fail "upgrade left: $(ls -A /etc/simd)"
[ -d /var/lib/simd ] || t_fail "upgrade removed /var/lib/simd"

# ---- remove: the programs go, the configuration and the data stay ----
run_dpkg remove -r simd
for f in /usr/sbin/simd /usr/bin/simctl /lib/systemd/system/simd.service; do
	[ ! -e "$f" ] || t_fail "dpkg -r left $f"
done
[ -f /etc/simd/simd.conf ] || t_fail "dpkg -r removed the conffile"
[ -d /var/lib/simd ] || t_fail "dpkg -r removed /var/lib/simd"

# ---- purge: configuration, data and the unit's enablement go; the system user stays ----
run_dpkg purge -P simd
[ ! -e /etc/simd ] || t_fail "dpkg -P left /etc/simd: $(ls -A /etc/simd)"
[ ! -e /var/lib/simd ] || t_fail "dpkg -P left /var/lib/simd"
[ ! -e /etc/systemd/system/multi-user.target.wants/simd.service ] ||
    t_fail "dpkg -P left simd.service enabled"
t_expect_match "$(dpkg-query -W -f='${db:Status-Abbrev}' simd 2>&1 || true)" \
    '^(un|dpkg-query: no)' "dpkg status after purge"
getent passwd simd >/dev/null || t_fail "purge removed the system user simd (policy: keep it)"
echo "package $VERSION: built, lintian clean, installed, ran, upgraded, removed, purged"
