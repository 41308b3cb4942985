# t105: at least 30 malformed DICOM inputs (truncated files, zero/NaN spacing, huge dimensions,
# missing pixel data, broken series): each gives exit 2 and one error naming the file or the
# directory at fault, never a crash, and no output file. Pins issue #3 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || exit 0

export CTW_SALT_FILE="$T/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"
"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"
mkdir "$T/bad"
/usr/bin/python3 "$CTW_SRC/tests/regress/make_bad_dicom.py" "$T/bad" \
	"$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101" "$T/ph/dicom" >"$T/cases" || fail "make_bad_dicom.py"
n=0
tab=$(printf '\t')
while IFS="$tab" read -r cmd path words; do
	n=$((n + 1))
	rm -f "$T/o.nii.gz" "$T/o.json"
	set -- $cmd
	if [ "$1" = info ]; then
		run 2 "$CTW" info "$path"
	else
		shift
		run 2 "$CTW" convert "$path" "$@" -o "$T/o.nii.gz"
	fi
	grep -q "^cardiotwin: error: $path" "$T/err" || { fail "case $n: the error does not name '$path'"; cat "$T/err" >&2; }
	[ -z "$words" ] || has "$T/err" "$words"
	[ "$(grep -c 'error:' "$T/err")" -eq 1 ] || fail "case $n: not exactly one error line"
	[ ! -e "$T/o.nii.gz" ] && [ ! -e "$T/o.json" ] || fail "case $n: output written for a bad input"
done <"$T/cases"
[ "$n" -ge 30 ] || fail "only $n malformed cases"
echo "$n malformed inputs refused"
finish
