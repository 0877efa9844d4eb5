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
