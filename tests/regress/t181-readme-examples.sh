# t181: every fenced `sh` example of the README runs as written (placeholder paths mapped to
# ../shared/data and a temporary directory, `run`/`mesh` at a 3 mm edge length; the table is in
# readme.py), exits as the README says and makes the files its comment names; the `$ cardiotwin`
# blocks print what they show (issue 21).
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || { finish; exit 0; }
mkdir "$T/w"
PYTHONPATH="$CTW_SRC/tests/regress" /usr/bin/python3 "$CTW_SRC/tests/regress/readme.py" examples \
	"$CTW" "$CTW_SRC/README.md" "$CTW_SRC" "$CTW_DATA" "$T/w" || fail "README examples"
finish
