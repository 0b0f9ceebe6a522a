#!/bin/bash
#
# image-builder/roots/busybox.sh OUTDIR - a tiny root file system tree:
# Debian's static busybox with busybox init, for tests and for a quick
# look at the boot chain.  About 2 MB.
#
#   /sbin/init          busybox init, /etc/inittab:
#     sysinit             /etc/init.d/rcS: /proc, /sys, /dev, /tmp, hostname,
#                         a banner naming the root device
#     wait                /etc/rc.local, when it exists and is executable
#                         (tests put their checks there); the console
#                         shell starts when it has finished
#     askfirst            a shell on the console
#     shutdown            /etc/init.d/rcK: sync, unmount what it can, read-only
#
# /etc/os-release makes it an OS tree for systemd's switch-root.
set -euo pipefail

usage() {
	echo "usage: image-builder/roots/busybox.sh OUTDIR" >&2
	exit 2
}

[[ $# -eq 1 && $1 != -* ]] || usage
out=$1
busybox=${BUSYBOX:-/bin/busybox}
if [[ -e "$out" ]] && [[ -n "$(ls -A "$out" 2>/dev/null)" ]]; then
	echo "busybox-root: $out exists and is not empty" >&2
	exit 2
fi
# ldd fails on a static binary.
if [[ ! -x "$busybox" ]] || ldd "$busybox" >/dev/null 2>&1; then
	echo "busybox-root: $busybox is not a static busybox (apt-get install busybox-static)" >&2
	exit 1
fi

mkdir -p "$out"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,proc,sys,dev,run,tmp,root,mnt,var/log}
chmod 1777 "$out/tmp"
install -m 755 "$busybox" "$out/bin/busybox"
for applet in $("$busybox" --list-full); do
	[[ -e "$out/$applet" ]] || ln -s /bin/busybox "$out/$applet"
done

cat >"$out/etc/inittab" <<'INITTAB'
::sysinit:/etc/init.d/rcS
::wait:/etc/init.d/rc.local
::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
INITTAB

cat >"$out/etc/init.d/rcS" <<'RCS'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
# /dev, /proc, /sys and /run come mounted from the initramfs.
mounted() { grep -q "^[^ ]* $1 " /proc/mounts 2>/dev/null; }
mounted /proc || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mounted /run || mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
hostname dnbd-busybox
echo "dnbd busybox root: up on $(uname -r); / is $(awk '$2 == "/" { print $3 " " $1 }' /proc/mounts | tail -n 1)"
RCS

cat >"$out/etc/init.d/rc.local" <<'RCL'
#!/bin/sh
[ -x /etc/rc.local ] && exec /etc/rc.local
exit 0
RCL

cat >"$out/etc/init.d/rcK" <<'RCK'
#!/bin/sh
echo "dnbd busybox root: shutting down"
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
sync
RCK
chmod 755 "$out"/etc/init.d/*

cat >"$out/etc/os-release" <<'OSR'
NAME="dnbd busybox root"
ID=dnbd-busybox
PRETTY_NAME="dnbd busybox root (tests)"
OSR
echo "root::0:0:root:/root:/bin/sh" >"$out/etc/passwd"
echo "root:x:0:" >"$out/etc/group"
echo dnbd-busybox >"$out/etc/hostname"
: >"$out/etc/fstab"
echo "busybox-root: $out ($(du -sh "$out" | cut -f1))" >&2
