# t182: each command's --help lists exactly what it accepts (every listed option is accepted, an
# unlisted one is refused naming the command), and the README's section of each command names
# every option of its --help and no other (issue 21).
. "$CTW_SRC/tests/regress/lib.sh"
/usr/bin/python3 "$CTW_SRC/tests/regress/readme.py" options "$CTW" "$CTW_SRC/README.md" || fail "README and --help"
finish
