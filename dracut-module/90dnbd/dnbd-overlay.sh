#!/bin/sh
#
# pre-pivot hook 10: the writable root.  The read-only dnbd root mounted
# on $NEWROOT is bind-mounted to /run/dnbd/lower, the upper layer goes to
# /run/dnbd/rw (tmpfs, or a local device for dnbd.overlay=<dev>), and an
# overlay is mounted over $NEWROOT.  /run moves into the new root, so both
# layers stay visible there (/run/dnbd/lower, /run/dnbd/rw/upper).
# Runs at pre-pivot so that it works for the mount hooks and for systemd's
# sysroot.mount alike (as dracut's overlay-root does).

type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
type dnbd_parse >/dev/null 2>&1 || . /lib/dnbd-lib.sh

[ -e /run/dnbd/bound ] || return 0 2>/dev/null || exit 0
[ -e /run/dnbd/overlay ] && { return 0 2>/dev/null || exit 0; }
dnbd_overlay_parse || die "dnbd: $dnbd_err"
if [ "$dnbd_ovl_kind" = none ]; then
	info "dnbd: dnbd.overlay=none: the root stays read-only"
	return 0 2>/dev/null || exit 0
fi
ismounted "$NEWROOT" || die "dnbd: $NEWROOT is not mounted, no overlay possible"

modprobe -q overlay
mkdir -p /run/dnbd/lower /run/dnbd/rw
# Private: with systemd every mount is shared, and the overlay mounted on
# $NEWROOT would propagate onto its own lower layer.
mount --bind "$NEWROOT" /run/dnbd/lower &&
	mount --make-private /run/dnbd/lower &&
	mount -o remount,bind,ro /run/dnbd/lower ||
	die "dnbd: cannot bind-mount the root to /run/dnbd/lower"

case "$dnbd_ovl_kind" in
tmpfs)
	mount -t tmpfs -o "mode=0755,size=$dnbd_ovl_arg" dnbd-overlay /run/dnbd/rw ||
		die "dnbd: cannot mount a tmpfs of size $dnbd_ovl_arg for the overlay"
	;;
device)
	dev=$(dnbd_dev_path "$dnbd_ovl_arg")
	dnbd_wait_dev "$dev" 30 ||
		die "dnbd: overlay device $dnbd_ovl_arg did not appear in 30 s"
	# A persistent upper layer must not be silently replaced: no mkfs.
	mount -o rw,noatime "$dev" /run/dnbd/rw ||
		die "dnbd: cannot mount overlay device $dnbd_ovl_arg (make a file system on it first, e.g. mkfs.ext4 -L dnbd-overlay)"
	;;
esac
mkdir -p /run/dnbd/rw/upper /run/dnbd/rw/work
mount -t overlay -o lowerdir=/run/dnbd/lower,upperdir=/run/dnbd/rw/upper,workdir=/run/dnbd/rw/work \
	dnbd-root "$NEWROOT" || die "dnbd: cannot mount the overlay on $NEWROOT"
echo "$dnbd_ovl_kind $dnbd_ovl_arg" >/run/dnbd/overlay
info "dnbd: root is an overlay: $dnbd_ovl_kind upper layer over /run/dnbd/lower"
