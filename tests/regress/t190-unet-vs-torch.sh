#!/bin/sh
# t190: the segmenter's C inference (segment/unet.c, through tests/unit/unet_run.c) gives the
# logits PyTorch gives for the same (randomly initialised) network on a few ACDC validation
# slices: max abs difference <= 1e-3, the same bytes with 1 and 2 threads (issue 13). Skipped
# when python3-torch or python3-h5py is missing (CI installs torch only with --train), even with
# CI=true.
. "$(dirname "$0")/lib.sh"
: "${CTW_UNET_RUN:?unet_run is set by CTest}"
if ! /usr/bin/python3 -c 'import torch, h5py' 2>/dev/null; then
	echo "skip: no python3-torch"
	exit 0
fi
need_data acdc || { finish; exit 0; }
/usr/bin/python3 "$CTW_SRC/tests/regress/unet_torch.py" "$CTW_UNET_RUN" "$CTW_DATA/acdc" "$T" >"$T/log" 2>&1 ||
	fail "C and PyTorch logits differ: $(cat "$T/log")"
cat "$T/log"
finish
