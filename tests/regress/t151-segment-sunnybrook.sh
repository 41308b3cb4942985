# t151: segment never hands mesh a map mesh refuses (issue 12 item 12): every Sunnybrook case
# here goes through the whole chain (run --image DICOM --contours DIR --model lv) with default
# options, and each segment log shows the voxel checks mesh runs (passed, or repaired).
. "$CTW_SRC/tests/regress/lib.sh"
[ -d "$CTW_DATA" ] || { [ "${CI:-}" = true ] && { echo "FAIL: $CTW_DATA missing" >&2; exit 1; }; echo "skip: no $CTW_DATA"; exit 0; }
sb="$CTW_DATA/sunnybrook_scd/final_data"
for c in "SCD0000101 SC-HF-I-1" "SCD0000301 SC-HF-I-4"; do
	set -- $c
	run 0 "$CTW" run --image "$sb/dicoms/$1" --contours "$sb/contourfiles/$2" --model lv -o "$T/$1"
	log=$(find "$T/$1" -name 'labels.log' -o -name 'segment.log' | head -n 1)
	if [ -n "$log" ]; then
		grep -q "voxel checks: passed\|topology repair" "$log" || fail "$1: no voxel checks in $log"
	fi
	find "$T/$1" -name 'heart.vtu' -o -name 'mesh.vtu' | grep -q . || fail "$1: no mesh"
done
finish
