#!/bin/sh
# build-time.sh: wall time and peak memory of a clean Release build (ccache disabled), the
# figure issue #2 asks for (target: under 3 minutes on 2 cores). Usage: bench/build-time.sh
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/ctw_buildbench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
jobs=$(nproc)
CCACHE_DISABLE=1 /usr/bin/time -f "configure: %e s wall, %M KiB peak" \
	cmake -S . -B "$dir" -DCTW_WERROR=ON >/dev/null
CCACHE_DISABLE=1 /usr/bin/time -f "build (-j$jobs): %e s wall, %U s user, %M KiB peak" \
	cmake --build "$dir" -j"$jobs" >/dev/null
