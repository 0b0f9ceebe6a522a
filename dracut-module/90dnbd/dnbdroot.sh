#!/bin/sh
#
# /sbin/dnbdroot NETIF NETROOT NEWROOT - the netroot handler (called by
# dracut's /sbin/netroot once NETIF is up): bind /dev/dnbd0 to the image,
# attach the local cache, open dm-verity, and arrange the read-only mount
# of the root.  The overlay comes later (pre-pivot hook dnbd-overlay.sh).
#
# The kernel holds the socket, so nothing here must survive switch_root.

type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
type dnbd_parse >/dev/null 2>&1 || . /lib/dnbd-lib.sh

PATH=/usr/sbin:/usr/bin:/sbin:/bin

[ $# -eq 3 ] || { echo "usage: dnbdroot NETIF NETROOT NEWROOT" >&2; exit 1; }
netif=$1
nroot=$2
NEWROOT=$3

[ "${nroot%%:*}" = dnbd ] || exit 0
# Called again for a second interface: already done.
[ -e /run/dnbd/bound ] && exit 0

dnbd_parse "${nroot#dnbd:}" || die "dnbd: $dnbd_err"
dnbd_verity_parse || die "dnbd: $dnbd_err"
dnbd_key_parse || die "dnbd: $dnbd_err"
mkdir -p /run/dnbd

modprobe -q dnbd
dnbd_wait_dev /dev/dnbd0 10 || die "dnbd: /dev/dnbd0 did not appear (is dnbd.ko in the initramfs?)"

# The local cache is an optimisation: without it the root still works.
set --
cache=$(getarg dnbd.cache=)
if [ -n "$cache" ]; then
	cdev=$(dnbd_dev_path "$cache")
	if dnbd_wait_dev "$cdev" 30; then
		set -- -c "$cdev"
	else
		warn "dnbd: cache device $cache did not appear in 30 s; booting without it"
	fi
fi
[ -n "$dnbd_image" ] && set -- "$@" --image "$dnbd_image"
[ -n "$dnbd_seg" ] && set -- "$@" --seg-size "$dnbd_seg"
[ -n "$dnbd_memcache" ] && set -- "$@" --cache-size "$dnbd_memcache"
iface=${dnbd_iface:-$netif}
# The lab key: dnbd-client hands it to the kernel (DNBD_IOC_BIND_KEY); the
# file in /run lives only as long as the bind takes.
keyfile=""
if [ -n "$dnbd_key" ]; then
	keyfile=/run/dnbd/lab.key
	dnbd_key_write "$keyfile" || die "dnbd: cannot write $keyfile"
	set -- "$@" --key-file "$keyfile"
elif [ -n "$dnbd_keyfile" ]; then
	[ -r "$dnbd_keyfile" ] || die "dnbd: dnbd.keyfile $dnbd_keyfile is not in the initramfs"
	set -- "$@" --key-file "$dnbd_keyfile"
fi

info "dnbd: binding /dev/dnbd0 to $dnbd_addrs port $dnbd_port${dnbd_image:+ image $dnbd_image} on $iface${keyfile:+ (keyed)}"
rc=0
dnbd-client -d /dev/dnbd0 -b "$dnbd_addrs" -p "$dnbd_port" -I "$iface" \
	--timeout "$dnbd_timeout" --discover "$dnbd_discover" "$@" \
	>/run/dnbd/client.log 2>&1 || rc=$?
[ -n "$keyfile" ] && rm -f "$keyfile"
if [ $rc -ne 0 ]; then
	warn "dnbd: $(cat /run/dnbd/client.log)"
	warn "dnbd: could not bind /dev/dnbd0 to $dnbd_addrs (port $dnbd_port)"
	exit 1
fi
info "dnbd: $(cat /run/dnbd/client.log)"

rootdev=/dev/dnbd0
if [ -n "$dnbd_roothash" ]; then
	dnbd_verity_open || die "dnbd: $dnbd_err"
	rootdev=/dev/mapper/dnbd-root
fi

fstype=$dnbd_fstype
if [ "$fstype" = auto ]; then
	fstype=$(blkid -o value -s TYPE "$rootdev" 2>/dev/null)
	[ -n "$fstype" ] || fstype=auto
fi
echo "rootdev=$rootdev fstype=$fstype" >/run/dnbd/root
echo "$netif" >/run/dnbd/netif

if [ -z "$DRACUT_SYSTEMD" ]; then
	# init.sh runs the mount hooks once the initqueue is finished.
	printf 'mount -t %s -o ro %s %s || die "dnbd: cannot mount %s (%s) on %s"\n' \
		"$fstype" "$rootdev" "$NEWROOT" "$rootdev" "$fstype" "$NEWROOT" \
		>"$hookdir"/mount/01-dnbd.sh
else
	# The generator wrote sysroot.mount for a root named on the command
	# line; a DHCP root-path tells the file system type only now.
	mkdir -p /run/systemd/system/sysroot.mount.d
	{
		echo "[Mount]"
		echo "What=$rootdev"
		[ "$fstype" != auto ] && echo "Type=$fstype"
	} >/run/systemd/system/sysroot.mount.d/dnbd.conf
	systemctl --no-block daemon-reload
fi

# The device changed size: let udev (and systemd's device unit) know.
udevadm trigger --action=change --sysname-match=dnbd0 >/dev/null 2>&1
: >/run/dnbd/bound
exit 0
