# completion.sh - simctl's completion scripts come from its tables: every verb and every
# flag that simctl's own help lists is completed, by a real bash (and zsh -n where present);
# simd -V and simctl --version say the version, the commit and the optional parts.
set -eu
. "$TOP/tests/lib/common.sh"
CTL="$TOP/simctl"
T=$(mktemp -d "${TMPDIR:-/tmp}/simd-comp.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$CTL" completion bash >"$T/simctl.bash" || t_fail "simctl completion bash"
"$CTL" completion zsh >"$T/_simctl" || t_fail "simctl completion zsh"
bash -n "$T/simctl.bash" || t_fail "the bash script does not parse"
if command -v zsh >/dev/null 2>&1; then
	zsh -n "$T/_simctl" || t_fail "the zsh script does not parse"
else
	echo "no zsh here: its script is only checked for the words"
fi
set +e
"$CTL" completion fish >/dev/null 2>"$T/err"
rc=$?
set -e
t_expect_eq "$rc" 2 "completion for an unknown shell: exit 2"
t_expect_match "$(cat "$T/err")" "bash or zsh" "completion for an unknown shell: message"

# What bash offers for the words "simctl <words> <cur>".
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=(simctl "$@"); COMP_CWORD=$(($# ))
	    _simctl; printf "%s\n" "${COMPREPLY[@]}"' sh "$T/simctl.bash" "$@"
}

# every verb of "simctl help", offered at the first word and in the zsh list
verbs=$("$CTL" help | sed -n '/^commands:/,$p' | awk 'NR > 1 { print $1 }')
[ -n "$verbs" ] || t_fail "simctl help lists no commands"
offered=$(complete_words "")
for v in $verbs; do
	printf '%s\n' "$offered" | grep -qx -- "$v" || t_fail "bash does not offer verb $v"
	grep -q "^		'$v:" "$T/_simctl" || t_fail "zsh does not offer verb $v"
done
# every global option of "simctl help"
opts=$("$CTL" help | sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\1 \2/p' | tr -d ,)
[ -n "$opts" ] || t_fail "simctl help lists no options"
for o in $opts; do
	complete_words - | grep -qx -- "$o" || t_fail "bash does not offer option $o"
done
# every flag of every verb, from "simctl VERB -h"
nflags=0
for v in $verbs; do
	case $v in help | completion) continue ;; esac
	flags=$("$CTL" "$v" -h | awk '$1 ~ /^--/ { print $1 }')
	got=$(complete_words "$v" --)
	for f in $flags; do
		nflags=$((nflags + 1))
		printf '%s\n' "$got" | grep -qx -- "$f" || t_fail "bash does not offer $v $f"
		grep "^		$v) " "$T/_simctl" | grep -q -- "'$f\[" || t_fail "zsh does not offer $v $f"
	done
done
[ "$nflags" -ge 10 ] || t_fail "only $nflags flags found in the verbs' help"
# a flag's value is not completed with flags; --socket completes file names
t_expect_eq "$(complete_words start --agents "")" "" "no words after start --agents"
touch "$T/sock-here"
t_expect_eq "$(cd "$T" && complete_words -s sock)" "sock-here" "-s completes a path"
t_expect_eq "$(complete_words completion "")" "$(printf 'bash\nzsh')" "completion's shells"

# version and build
v=$(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")
t_expect_match "$("$TOP/simd" -V)" "^simd $v \((commit [0-9a-f]{12}(-dirty)?|not built from git); (with|without) libsystemd\)$" "simd -V"
t_expect_match "$("$CTL" --version)" "^simctl $v \((commit [0-9a-f]{12}(-dirty)?|not built from git)\), control protocol [0-9]+$" "simctl --version"
if git -C "$TOP" rev-parse HEAD >/dev/null 2>&1; then
	c=$(git -C "$TOP" rev-parse --short=12 HEAD)
	t_expect_match "$("$TOP/simd" -V)" "commit $c" "simd -V names the commit built"
fi
echo "completion and version: ok"
