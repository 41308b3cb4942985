# t162: smaller command-line items of issue 12 item 17: `cardiotwin help [COMMAND]`, the whole
# description of every command in the top-level --help, `verify MISSING` says the package does
# not exist, a wrong -o extension says which extensions are accepted.
. "$CTW_SRC/tests/regress/lib.sh"

run 0 "$CTW" help
cp "$T/out" "$T/help"
run 0 "$CTW" --help
cmp -s "$T/out" "$T/help" || fail "'help' differs from '--help'"
for cmd in info convert contours segment evaluate mesh fibers export run verify phantom; do
	run 0 "$CTW" help "$cmd"
	cp "$T/out" "$T/h1"
	run 0 "$CTW" "$cmd" --help
	cmp -s "$T/out" "$T/h1" || fail "'help $cmd' differs from '$cmd --help'"
	has "$T/h1" "usage: cardiotwin $cmd"
done
run 1 "$CTW" help nosuch
has "$T/err" "unknown command 'nosuch'"
# the top-level help holds each description whole (the second and third lines too)
has "$T/help" "every change in OUT.log."
has "$T/help" "DIR/mesh.vtu; the helix angle against transmural depth in DIR/fibers.txt."
has "$T/help" "W3C PROV-XML schema, and the mesh in every format against heart.vtu"

# verify of a package that is not there
run 2 "$CTW" verify "$T/nosuch"
error_names "$T/nosuch"
has "$T/err" "does not exist"

# wrong output extensions
"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"
for c in "convert $T/ph/image.nii.gz" "segment --labels $T/ph/labels.nii.gz" "contours --dicom $T/ph/dicom --contours $T"; do
	for ext in txt nrrd nii.gz.bak; do
		# shellcheck disable=SC2086
		run 1 "$CTW" $c -o "$T/out.$ext"
		has "$T/err" ".nii.gz or .nii"
		has "$T/err" "out.$ext"
		[ ! -e "$T/out.$ext" ] || fail "$c wrote out.$ext"
	done
done
finish
