# units.sh - the service definitions: the launchd job parses as a plist and names what
# "make install" installs (and the README's macOS lines match it); the systemd units as
# "make install" renders them pass "systemd-analyze verify" and rate at most 2.5 in
# "systemd-analyze security --offline=yes"; the simd.conf installed for them agrees
# with their ExecStart.
set -eu
. "$TOP/tests/lib/common.sh"
t_setup

# ---- launchd ----
PLIST=$TOP/packaging/org.simd.simd.plist
if command -v plutil >/dev/null 2>&1; then
	plutil -lint "$PLIST" >/dev/null || t_fail "plutil -lint $PLIST"
fi
command -v python3 >/dev/null 2>&1 || t_fail "no python3 to parse the plist (packaging/deps.sh)"
# The Makefile's default PREFIX: what "make install" on macOS puts in place.
prefix=$(sed -n 's/^PREFIX *?= *//p' "$TOP/Makefile")
[ -n "$prefix" ] || t_fail "no default PREFIX in the Makefile"
python3 - "$PLIST" "$prefix" "$TOP/README.md" "$TOP/packaging/deps.sh" <<'EOF' ||
import plistlib, re, sys

path, prefix, readme, deps = sys.argv[1:]
def fail(msg):
	sys.exit("plist: " + msg)
try:
	with open(path, "rb") as f:
		job = plistlib.load(f)
except Exception as e:
	fail("%s does not parse: %s" % (path, e))
if job.get("Label") != "org.simd.simd":
	fail("Label is %r, the file is org.simd.simd.plist" % job.get("Label"))
args = job.get("ProgramArguments")
want = [prefix + "/sbin/simd", "-f", "-c", prefix + "/etc/simd.conf"]
if args != want:
	fail("ProgramArguments %r, make install gives %r" % (args, want))
text = open(readme).read()
if " ".join(want) not in text:
	fail("README does not say the job runs `%s`" % " ".join(want))
boot = "launchctl bootstrap system /Library/LaunchDaemons/org.simd.simd.plist"
if boot not in text or boot not in open(path).read():
	fail("README or the plist's comment lacks: " + boot)
brew = re.search(r'^BREW_CMD="(.*)"$', open(deps).read(), re.M)
if brew is None or brew.group(1) not in text:
	fail("README lacks deps.sh's Homebrew line")
EOF
    t_fail "the launchd job"

# ---- systemd ----
command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze"; exit 77; }
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
    { echo "systemd-analyze has no security --offline (systemd < 250)"; exit 77; }

# Rendered with the staged paths, so that verify finds the binary and the man pages.
R=$T/root
make -s -C "$TOP" install-files PREFIX="$R" >/dev/null
for u in simd.service simd@.service; do
	f=$R/lib/systemd/system/$u
	[ -f "$f" ] || t_fail "make install did not install $u"
	! grep -n '@[A-Z]*@' "$f" || t_fail "$u: placeholders left"
	out=$(MANPATH=$R/share/man systemd-analyze verify "$f" 2>&1) ||
	    t_fail "systemd-analyze verify $u: $out"
	[ -z "$out" ] || t_fail "systemd-analyze verify $u warns: $out"
	out=$(systemd-analyze security --offline=yes "$f" 2>&1) ||
	    t_fail "systemd-analyze security $u: $out"
	score=$(printf '%s\n' "$out" |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || t_fail "no exposure level for $u in: $out"
	awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
	    t_fail "$u: exposure $score > 2.5: $(printf '%s\n' "$out" | grep '✗')"
	echo "$u: systemd-analyze security exposure $score"
done

# The template differs from simd.service only in what names the instance.
keys() {
	grep -E '^[A-Za-z]+=' "$1" |
	    grep -Ev '^(Description|ExecStart|RuntimeDirectory|StateDirectory)=' || true
}
keys "$R/lib/systemd/system/simd.service" >"$T/keys.main"
keys "$R/lib/systemd/system/simd@.service" >"$T/keys.tmpl"
diff "$T/keys.main" "$T/keys.tmpl" || t_fail "simd@.service's settings drifted from simd.service's"

# The unit pins -d and -s to its StateDirectory and RuntimeDirectory; the simd.conf
# installed beside it says the same, and names the socket group.
exec_start=$(sed -n 's/^ExecStart=//p' "$R/lib/systemd/system/simd.service")
t_expect_eq "$exec_start" \
    "$R/sbin/simd -f -c $R/etc/simd.conf -d /var/lib/simd -s /run/simd/simd.sock" \
    "simd.service ExecStart"
dirs=$(sed -n 's/^StateDirectory=//p; s/^RuntimeDirectory=//p' \
    "$R/lib/systemd/system/simd.service" | tr '\n' ' ')
t_expect_eq "$dirs" "simd simd " "state and runtime directories"
conf=$(cat "$R/etc/simd.conf")
t_expect_match "$conf" '^socket = /run/simd/simd.sock$' "installed simd.conf: socket"
t_expect_match "$conf" '^socket_group = simd$' "installed simd.conf: socket_group"
t_expect_match "$conf" '^data_dir = /var/lib/simd$' "installed simd.conf: data_dir"
# simd -n checks that socket_group exists: without the package's group, that is all it says
if getent group simd >/dev/null 2>&1; then
	"$SIMD" -n -c "$R/etc/simd.conf" -d "$T/data" >/dev/null ||
	    t_fail "simd -n on the installed simd.conf"
else
	rc=0; "$SIMD" -n -c "$R/etc/simd.conf" -d "$T/data" >/dev/null 2>"$T/n.err" || rc=$?
	t_expect_eq "$rc" 1 "simd -n without the group simd"
	t_expect_eq "$(cat "$T/n.err")" "simd: socket_group: no group named simd" \
	    "simd -n on the installed simd.conf finds only the missing group"
fi
cmp -s "$TOP/etc/simd.conf" "$R/etc/simd.conf.example" || t_fail "the example is not etc/simd.conf"
