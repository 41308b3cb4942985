# t100: the command-line contract of DESIGN.md §4: --version, --help everywhere, exit codes and
# the message form for usage errors. Pins issue #2 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

run 0 "$CTW" --version
for lib in "cardiotwin 0." "ITK 5." "VTK 9." "TetGen 1." "libxml2 2." "libpng 1."; do
	has "$T/out" "$lib"
done
run 0 "$CTW" --help
has "$T/out" "usage: cardiotwin"
for cmd in $(sed -n 's/^  \([a-z]*\) .*/\1/p' "$T/out"); do
	run 0 "$CTW" "$cmd" --help
	has "$T/out" "usage: cardiotwin $cmd"
	has "$T/out" "exit codes"
done
run 1 "$CTW"
run 1 "$CTW" frobnicate
has "$T/err" "cardiotwin: error: usage: unknown command 'frobnicate'"
run 1 "$CTW" info
has "$T/err" "cardiotwin: error: info: missing argument"
run 1 "$CTW" info a b
run 1 "$CTW" info --frob x
has "$T/err" "unknown option '--frob'"
run 1 "$CTW" phantom --kind lv
has "$T/err" "-o DIR is required"
run 1 "$CTW" phantom --kind heart -o "$T/p"
run 1 "$CTW" phantom --kind lv -o "$T/p" --spacing 0
has "$T/err" "--spacing must be a number"
run 1 "$CTW" phantom --kind lv -o "$T/p" --spacing nan
run 1 "$CTW" phantom --kind lv -o "$T/p" --noise -3
run 1 "$CTW" phantom --kind lv -o "$T/p" --seed -1
run 1 "$CTW" phantom --kind lv -o "$T/p" --spacing
has "$T/err" "needs a value"
[ ! -e "$T/p" ] || fail "a failed phantom left output behind"
finish
