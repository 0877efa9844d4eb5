# fuzz.sh - each libFuzzer harness of tests/fuzz runs a few seconds from its seeds
# without a finding (make fuzz runs them longer).  Skipped without clang and its
# libFuzzer runtime.  FUZZ_CHECK_SECS: seconds per harness (3).
set -eu
. "$TOP/tests/lib/common.sh"
t_setup
cd "$TOP"
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(d != NULL && n > 9); }' \
    >"$T/probe.c"
if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	echo "no clang: the fuzz harnesses are not run (Debian: clang libclang-rt-dev)"
	exit 77
fi
if ! "${FUZZ_CC:-clang}" -fsanitize=fuzzer,address,undefined -o "$T/probe" "$T/probe.c" \
    >"$T/probe.log" 2>&1; then
	echo "clang cannot link -fsanitize=fuzzer: the harnesses are not run (Debian: libclang-rt-dev)"
	exit 77
fi
# Built as "make fuzz" builds them, not with the flags of this make check.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j2 -C "$TOP" fuzz-build >"$T/build.log" 2>&1 || {
	cat "$T/build.log" >&2
	t_fail "make fuzz-build failed"
}
bins=
for src in tests/fuzz/fuzz_*.c; do
	bins="$bins ${src%.c}"
done
# shellcheck disable=SC2086 # one harness a word
if ! FUZZ_SECS=${FUZZ_CHECK_SECS:-3} FUZZ_WORK=$T/work sh tests/fuzz/run.sh $bins; then
	# the findings outlive $T, beside those of make fuzz
	mkdir -p tests/fuzz/work
	cp "$T"/work/*-crash-* "$T"/work/*-leak-* "$T"/work/*-timeout-* "$T"/work/*-oom-* \
	    tests/fuzz/work/ 2>/dev/null || true
	t_fail "a fuzz harness has a finding (its input is above and in tests/fuzz/work/)"
fi
