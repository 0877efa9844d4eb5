# format.sh - every C file follows .clang-format (make format applies it).
# The style file is written for clang-format 14 (Debian 12's); another version formats some
# constructs differently, so the check is skipped rather than failed there.
set -eu
. "$TOP/tests/lib/common.sh"
cd "$TOP"
command -v clang-format >/dev/null 2>&1 || { echo "no clang-format here"; exit 77; }
major=$(clang-format --version | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p')
[ "$major" = 14 ] || { echo "clang-format $major here, the style is written for 14"; exit 77; }
bad=
for f in $(make -s --no-print-directory print-format-src); do
	if ! clang-format "$f" | cmp -s "$f" -; then
		bad="$bad $f"
		clang-format "$f" | diff -u "$f" - | head -20 >&2 || :
	fi
done
[ -z "$bad" ] || t_fail "not formatted (make format):$bad"
echo "every C file follows .clang-format"
