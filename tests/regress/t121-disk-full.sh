# t121: a full disk is exit 3 naming the file, with nothing half written left (issue 12 item 3).
# `phantom` aborted inside GDCM (SIGABRT, an assertion) before. Two ways: a real 256 KiB tmpfs
# (root only), and an LD_PRELOAD library (CTW_ENOSPC_SHIM, built by tests/CMakeLists.txt) that
# makes writes under a directory fail with ENOSPC after N bytes, for many N.
. "$CTW_SRC/tests/regress/lib.sh"
trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM PIPE

"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"

# full CODE DIR CMD...: CMD exits with CODE (3 = disk full, named in one error line); DIR then
# holds only what it held before (no output, no temporary)
full() {
	want=$1 dir=$2
	shift 2
	before=$(ls -A "$dir" | sort | tr '\n' ' ')
	run "$want" timeout 120 "$@"
	if [ "$want" = 3 ]; then
		grep -q "^cardiotwin: error: .*$dir/.*No space left on device" "$T/err" ||
			{ fail "no disk-full error naming a file in $dir: $*"; sed 's/^/  /' "$T/err" >&2; }
		after=$(ls -A "$dir" | sort | tr '\n' ' ')
		same "$after" "$before" "(left behind in $dir by: $*)"
	fi
}

# 1. a real small file system
mkdir "$T/full"
if [ "$(id -u)" != 0 ]; then
	echo "skip: tmpfs part (not root)"
elif ! mount -t tmpfs -o size=256k tmpfs "$T/full" 2>/dev/null; then
	echo "skip: tmpfs part (mount failed)"
else
	full 3 "$T/full" "$CTW" -q phantom --kind lv --spacing 2 -o "$T/full/ph"
	head -c 400000 /dev/zero >"$T/full/fill" 2>/dev/null
	full 3 "$T/full" "$CTW" convert "$T/ph/image.nii.gz" -o "$T/full/x.nii.gz"
	full 3 "$T/full" "$CTW" convert "$T/ph/dicom" -o "$T/full/x.nii"
	umount "$T/full"
	# every writing command, on file systems of a few sizes: exit 3 naming the final file (not
	# its temporary name), nothing left beside what was there
	"$CTW" -q mesh --labels "$T/ph/labels.nii.gz" --model lv --edge-length 4 -o "$T/m" >/dev/null || fail "mesh"
	"$CTW" -q fibers --mesh "$T/m" -o "$T/f" >/dev/null || fail "fibers"
	for size in 16k 64k; do
		mount -t tmpfs -o size=$size tmpfs "$T/full" || fail "mount"
		full 3 "$T/full" "$CTW" segment --labels "$T/ph/labels.nii.gz" --preset canonical --iso 0.4 -o "$T/full/s.nii.gz"
		full 3 "$T/full" "$CTW" mesh --labels "$T/ph/labels.nii.gz" --model lv --edge-length 4 -o "$T/full/m"
		full 3 "$T/full" "$CTW" fibers --mesh "$T/m" -o "$T/full/f"
		full 3 "$T/full" "$CTW" export --mesh "$T/f" -o "$T/full/e"
		! grep -q '\.tmp-' "$T/err" || fail "a temporary name in the error: $(cat "$T/err")"
		umount "$T/full"
	done
	# run keeps the stages it finished (it resumes from them) and nothing half written
	mount -t tmpfs -o size=2m tmpfs "$T/full" || fail "mount"
	run 3 "$CTW" run --phantom lv --spacing 4 --edge-length 4 -o "$T/full/r"
	has "$T/err" "No space left on device; free some space and run again"
	[ -z "$(find "$T/full" -name '.tmp-*')" ] || fail "run left $(find "$T/full" -name '.tmp-*')"
	! grep -q '\.tmp-' "$T/err" || fail "a temporary name in the error: $(cat "$T/err")"
	umount "$T/full"
fi

# 2. writes failing after N bytes, every writer of phantom and convert in turn
if [ -z "${CTW_ENOSPC_SHIM:-}" ] || [ ! -f "$CTW_ENOSPC_SHIM" ]; then
	[ "${CI:-}" = true ] && fail "CTW_ENOSPC_SHIM not built"
	echo "skip: no ENOSPC shim (CTW_ENOSPC_SHIM)"
elif [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ]; then
	echo "skip: ENOSPC shim under sanitizers"
else
	mkdir "$T/sh"
	for n in 0 100 400 3000 20000 60000 120000; do
		full 3 "$T/sh" env LD_PRELOAD="$CTW_ENOSPC_SHIM" CTW_ENOSPC_PREFIX="$T/sh" CTW_ENOSPC_AFTER=$n \
			"$CTW" -q phantom --kind lv --spacing 4 -o "$T/sh/ph"
	done
	for n in 0 200 2000 5000; do
		full 3 "$T/sh" env LD_PRELOAD="$CTW_ENOSPC_SHIM" CTW_ENOSPC_PREFIX="$T/sh" CTW_ENOSPC_AFTER=$n \
			"$CTW" convert "$T/ph/image.nii.gz" -o "$T/sh/x.nii.gz"
		full 3 "$T/sh" env LD_PRELOAD="$CTW_ENOSPC_SHIM" CTW_ENOSPC_PREFIX="$T/sh" CTW_ENOSPC_AFTER=$n \
			"$CTW" convert "$T/ph/image.nii.gz" -o "$T/sh/x.nii"
	done
	# with room enough the same commands succeed
	full 0 "$T/sh" env LD_PRELOAD="$CTW_ENOSPC_SHIM" CTW_ENOSPC_PREFIX="$T/sh" CTW_ENOSPC_AFTER=100000000 \
			"$CTW" -q phantom --kind lv --spacing 4 -o "$T/sh/ph"
fi
finish
