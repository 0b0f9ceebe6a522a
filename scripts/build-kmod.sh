#!/bin/bash
#
# scripts/build-kmod.sh [KVER] - build dnbd.ko for one kernel.
#
# Out-of-tree builds write their objects next to the sources, so each
# kernel gets its own copy of kmod/ (with proto/ as a real directory, the
# same tree `make dkms-install` puts in /usr/src) under build/kmod/KVER/.
# Prints the path of the module.  KVER defaults to the running kernel;
# its headers must be installed (linux-headers-KVER).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
KVER=${1:-$(uname -r)}
KDIR=/lib/modules/$KVER/build
OUT=$REPO/build/kmod/$KVER

if [[ ! -d $KDIR ]]; then
	echo "build-kmod: no headers for $KVER in $KDIR" \
		"(apt-get install linux-headers-$KVER)" >&2
	exit 1
fi
"$REPO/scripts/kmod-tree.sh" "$OUT"
make -s -C "$KDIR" M="$OUT" modules >&2
echo "$OUT/dnbd.ko"
