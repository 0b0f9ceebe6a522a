#!/bin/sh
#
# systemd generator (initramfs with systemd): sysroot.mount for a root on
# dnbd.  The device exists from module load but stays SYSTEMD_READY=0
# while empty (60-dnbd.rules), so the mount waits until /sbin/dnbdroot
# has bound it; with dnbd.verity= it waits for /dev/mapper/dnbd-root.
# For root=dhcp / netroot=dhcp the root-path is not known yet: the mount
# is written the same way, and dnbdroot adds the type in a drop-in.

type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
type dnbd_parse >/dev/null 2>&1 || . /lib/dnbd-lib.sh

GENERATOR_DIR=$1
[ -n "$GENERATOR_DIR" ] || exit 1

fstype=""
spec=$(dnbd_cmdline_spec)
if [ -n "$spec" ]; then
	dnbd_parse "$spec" || exit 0	# the cmdline hook reports it
	[ "$dnbd_fstype" != auto ] && fstype=$dnbd_fstype
elif ! getarg root=dhcp >/dev/null && ! getarg netroot=dhcp >/dev/null; then
	exit 0
fi

dev=$(dnbd_root_dev)
opts=ro
flags=$(getarg rootflags=) && [ -n "$flags" ] && opts="$opts,$flags"
retry=$(getarg rd.retry=) || retry=180
[ -n "$retry" ] || retry=180

mkdir -p "$GENERATOR_DIR/initrd-root-fs.target.requires"
{
	echo "[Unit]"
	echo "Before=initrd-root-fs.target"
	echo "[Mount]"
	echo "What=$dev"
	echo "Where=/sysroot"
	[ -n "$fstype" ] && echo "Type=$fstype"
	echo "Options=$opts"
} >"$GENERATOR_DIR/sysroot.mount"
ln -sf ../sysroot.mount "$GENERATOR_DIR/initrd-root-fs.target.requires/sysroot.mount"

# Discovery and DHCP may take a while: wait rd.retry, not the 90 s default.
unit=$(systemd-escape -p --suffix=device "$dev")
mkdir -p "$GENERATOR_DIR/$unit.d"
{
	echo "[Unit]"
	echo "JobRunningTimeoutSec=$retry"
} >"$GENERATOR_DIR/$unit.d/timeout.conf"
exit 0
