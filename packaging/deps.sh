#!/bin/sh
# deps.sh - install everything simd needs to build and to run its tests.
#
#	sh packaging/deps.sh		# build and test packages
#	sh packaging/deps.sh bench	# those and the benchmarks' own (make bench)
#
# Debian/Ubuntu: installs the missing packages with apt-get (through sudo when not
# root), and does nothing when they are all present.  macOS: prints the Homebrew
# command.  Anywhere else: lists what is needed and fails.
set -eu

# Build: compilers, pkg-config and the libraries of the Makefile's PKGS.
# Tests: sqlite3 and the PostgreSQL server (initdb, pg_ctl, postgres, psql, pg_isready,
# and pgbench, which Debian ships in postgresql-NN, pulled in by "postgresql"),
# valgrind (SIMD_VALGRIND=1), clang (the second compiler the code must build with,
# and with libclang-rt-dev, its sanitizer and libFuzzer runtimes, make fuzz),
# clang-format (tests/integration/format.sh: the tree follows .clang-format), zsh
# (tests/integration/completion.sh parses the zsh completion script),
# procps (ps, pgrep), util-linux (setpriv, runuser: PostgreSQL as an unprivileged
# user when the tests run as root), passwd (useradd, for that user) and openssl (a
# certificate for the TLS tests).
# The Debian package (make deb, tests/integration/package.sh): dpkg-dev
# (dpkg-buildpackage), debhelper, lintian, and adduser, which the package's postinst
# calls (dpkg -i does not pull it in).  tests/integration/units.sh: systemd
# (systemd-analyze verify and security) and python3 (parses the launchd plist).
# No fakeroot: debian/control says Rules-Requires-Root: no.  curl: the HTTP test doubles
# (and scraping /metrics).  tmux: simctl top in a real terminal (tests/integration/top.sh);
# prometheus: its promtool checks /metrics (tests/integration/prometheus.sh).
# pgbouncer: the PostgreSQL store behind a real pooler, transaction and session modes
# (tests/integration/pgbouncer.sh).  nginx: a real proxy in front of the reference shop
# backend, its limit_req answering 429, its own 503s and bad bodies
# (tests/integration/shopapi_nginx.sh).
DEB_PKGS="build-essential pkg-config libevent-dev libjansson-dev libcurl4-openssl-dev
libsqlite3-dev sqlite3 libpq-dev libssl-dev libsystemd-dev postgresql valgrind clang
libclang-rt-dev clang-format zsh procps util-linux passwd openssl dpkg-dev debhelper lintian adduser systemd python3 curl
tmux prometheus pgbouncer nginx"
# Bench only (sh packaging/deps.sh bench; bench/run.sh prints n/a without them):
# python3-locust (Debian 12 has 2.12.1), whose FastHttpUser drives the shop API row's
# sessions (bench/locustfile.py) for the simd/Locust comparison.  Kept out of DEB_PKGS:
# it pulls in gevent, Flask and their dependencies, which neither the build nor a test uses.
BENCH_PKGS="python3-locust"
case ${1:-} in
'') ;;
bench) DEB_PKGS="$DEB_PKGS $BENCH_PKGS" ;;
*) echo "usage: sh packaging/deps.sh [bench]" >&2; exit 2 ;;
esac

BREW_CMD="brew install libevent jansson curl sqlite libpq openssl@3 postgresql@15 pkg-config"

deb_missing() {
	missing=
	for p in $DEB_PKGS; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case $st in
		ii*) ;;
		*) missing="$missing $p" ;;
		esac
	done
	printf '%s\n' "${missing# }"
}

deb_install() {
	missing=$(deb_missing)
	if [ -z "$missing" ]; then
		echo "deps: all present"
		return 0
	fi
	sudo=
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "deps: not root and no sudo; as root, run:" >&2
			echo "  apt-get update && apt-get install -y --no-install-recommends $missing" >&2
			exit 1
		fi
		sudo=sudo
	fi
	echo "deps: installing: $missing"
	# sudo drops most of the environment: pass DEBIAN_FRONTEND through env(1).
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # the package list is split on purpose
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $missing
	still=$(deb_missing)
	if [ -n "$still" ]; then
		echo "deps: still missing after apt-get install: $still" >&2
		exit 1
	fi
	echo "deps: installed"
}

case $(uname -s) in
Darwin)
	echo "deps: on macOS, install the dependencies with Homebrew:"
	echo "  $BREW_CMD"
	exit 0
	;;
esac

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	deb_install
	exit 0
fi

echo "deps: unsupported system ($(uname -s)); install the equivalents of these" >&2
echo "Debian packages with your package manager:" >&2
# shellcheck disable=SC2086 # one package a line
printf '  %s\n' $DEB_PKGS >&2
echo "(pkg-config must find: libevent jansson sqlite3 libpq libcurl libcrypto)" >&2
exit 1
