# build.sh - the tree builds cleanly under clang too, and without libsystemd.
set -eu
. "$TOP/tests/lib/common.sh"
cd "$TOP"
FLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow
    -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter -O2 -Iinclude
    -DSIMD_VERSION=\"test\" $(pkg-config --cflags libevent jansson sqlite3 libpq)"
if command -v clang >/dev/null 2>&1; then
	for f in lib/*.c daemon/*.c ctl/*.c tests/unit/*.c tests/tools/*.c contrib/shopd/*.c; do
		# shellcheck disable=SC2086
		clang $FLAGS -DHAVE_SYSTEMD=1 -fsyntax-only "$f" || t_fail "clang: $f"
	done
else
	echo "no clang here: only the build without libsystemd is checked"
fi
# without libsystemd the notify calls compile to nothing
# shellcheck disable=SC2086
cc $FLAGS -c -o /dev/null lib/platform.c || t_fail "platform.c without HAVE_SYSTEMD"
# each binary links what it uses, and the build claims no library that neither links
# (readelf: DT_NEEDED; the Makefile's SIMD_PKGS and CTL_PKGS are what is claimed)
if command -v readelf >/dev/null 2>&1; then
	needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\([^]]*\)\].*/\1/p'; }
	for p in $(make -s -C "$TOP" --no-print-directory print-pkgs); do
		lib=$(pkg-config --libs-only-l "$p" | sed 's/^-l//; s/ .*//')
		needed "$TOP/simd" | grep -q "^lib$lib[-.]" ||
		    t_fail "simd claims $p but does not link lib$lib"
	done
	t_expect_eq "$(needed "$TOP/simctl" | grep -Ev '^lib(c|m|asan|ubsan)\.so' | sed 's/\.so.*//' | tr '\n' ' ')" \
	    "libjansson " "simctl links jansson alone"
else
	echo "no readelf: the link check is skipped"
fi
