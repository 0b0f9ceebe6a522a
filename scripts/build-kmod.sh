#!/bin/bash
#
# scripts/build-kmod.sh [KVER] - build dnbd.ko for one kernel.
#
# Out-of-tree builds write their objects next to the sources, so each
# kernel gets its own copy of kmod/ (with proto/ as a real directory, the
# same tree `make dkms-install` puts in /usr/src) under build/kmod/KVER/.
# Prints the path of the module.  KVER defaults to the running kernel;
# its headers must be installed (linux-headers-KVER), or KVER must be a
# kernel of Debian sid that the host's gcc cannot build for: then the
# module is built in the sid chroot of scripts/sid-chroot.sh, which gets
# the headers itself.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
KVER=${1:-$(uname -r)}
KDIR=/lib/modules/$KVER/build
OUT=$REPO/build/kmod/$KVER

if [[ -d $KDIR ]]; then
	"$REPO/scripts/kmod-tree.sh" "$OUT"
	make -s -C "$KDIR" M="$OUT" modules >&2
elif apt-cache show "linux-headers-$KVER" >/dev/null 2>&1; then
	echo "build-kmod: no headers for $KVER in $KDIR" \
		"(apt-get install linux-headers-$KVER)" >&2
	exit 1
else
	# Not a kernel of the host's release: sid's (scripts/sid-chroot.sh).
	"$REPO/scripts/kmod-tree.sh" "$OUT"
	"$REPO/scripts/sid-chroot.sh" --run "$KVER" "$OUT" \
		make -s -C "/usr/src/linux-headers-$KVER" M="$OUT" modules >&2
fi
echo "$OUT/dnbd.ko"
