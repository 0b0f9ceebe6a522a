#!/bin/bash
#
# scripts/kmod-tree.sh DIR - the driver's source tree as DKMS and the
# out-of-tree build want it: kmod/ with proto/ copied in (not a symlink).
# Only changed files are rewritten, so rebuilds stay incremental.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$1

mkdir -p "$OUT/proto"
for f in "$REPO"/kmod/*.c "$REPO"/kmod/*.h "$REPO"/kmod/Kbuild \
	"$REPO"/kmod/Makefile "$REPO"/kmod/dkms.conf; do
	cmp -s "$f" "$OUT/${f##*/}" || cp "$f" "$OUT/"
done
for f in "$REPO"/proto/*.c "$REPO"/proto/*.h; do
	cmp -s "$f" "$OUT/proto/${f##*/}" || cp "$f" "$OUT/proto/"
done
