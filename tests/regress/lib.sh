# lib.sh: helpers for the regression scripts (POSIX sh). Environment from CTest: CTW (the
# program), CTW_DATA (../shared/data), CTW_SRC (the source tree).
set -u
: "${CTW:?}" "${CTW_DATA:?}" "${CTW_SRC:?}"
T=$(mktemp -d /tmp/ctw_regress.XXXXXX)
trap 'rm -rf "$T"' EXIT
# a salt of the test's own, so no test writes the installation's salt into $HOME
export CTW_SALT_FILE="$T/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run CODE CMD...: runs CMD, stdout to $T/out, stderr to $T/err; checks the exit code.
run() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "exit $got, expected $want: $*"
		sed 's/^/  stderr: /' "$T/err" >&2
	fi
	return 0
}

# has FILE TEXT: FILE contains the fixed string TEXT.
has() {
	grep -qF -- "$2" "$1" || { fail "'$2' not in $1:"; sed 's/^/  /' "$1" >&2; }
}

# error_names PATH: the last run printed one error line of the form of DESIGN.md §4 naming PATH.
error_names() {
	grep -q "^cardiotwin: error: .*$1" "$T/err" || { fail "no 'cardiotwin: error: ... $1' message"; sed 's/^/  /' "$T/err" >&2; }
}

# field NAME [FILE]: the first value of "NAME: value" (indented or not) in the last run's stdout.
field() {
	sed -n "s/^ *$1: //p" "${2:-$T/out}" | head -n 1
}

# same A B: two strings are equal.
same() {
	[ "$1" = "$2" ] || fail "'$1' != '$2' ${3:-}"
}

finish() {
	[ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
	echo ok
}

# need_data [SUBDIR]: true when $CTW_DATA (../shared/data)[/SUBDIR] is there. Without it: with
# CI=true the test fails (CI must have the data); otherwise says 'skip: ...' once and returns 1,
# so `need_data x || { finish; exit; }` or `if need_data x; then ...; fi` skip the part that reads it.
# A script reading only the data calls `need_data || exit 0` first (the skip is its whole result).
need_data() {
	d="$CTW_DATA${1:+/$1}"
	[ -e "$d" ] && return 0
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $d missing (CI=true needs ../shared/data)" >&2
		exit 1
	fi
	echo "skip: no $d (../shared/data is not here)"
	return 1
}
