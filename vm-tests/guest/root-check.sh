#!/bin/sh
#
# vm-tests/guest/root-check.sh - /etc/rc.local of the busybox test root
# that the dracut tests boot from dnbd.  It runs once the root has been
# switched to, checks what the kernel command line's dnbdtest.* ask for,
# prints the verdict the way the VM harness reads it (VMTEST-EXIT) and
# powers off through busybox init (so the shutdown path runs too).
#
#   dnbdtest.initrd=systemd|plain   which initramfs brought us here
#   dnbdtest.overlay=tmpfs|device|none
#   dnbdtest.fstype=squashfs|erofs|ext4   the image's file system
#   dnbdtest.tmpfs=SIZE             the tmpfs upper layer's size option
#   dnbdtest.verity=1               root through dm-verity; /data/bad.bin
#                                   was corrupted on the server: EIO
#   dnbdtest.persist=first|second   device overlay: write a file, or find
#                                   the one the first boot wrote
#   dnbdtest.cache=first|second     dnbd.cache: second boot has hits
#   dnbdtest.keyed=1                bound with dnbd.key=: untagged datagrams
#                                   were dropped, the key file is gone

export PATH=/sbin:/bin:/usr/sbin:/usr/bin
. /lib/dnbd-guest.sh

arg() {
	for a in $(cat /proc/cmdline); do
		case "$a" in "$1="*) echo "${a#*=}"; return 0 ;; esac
	done
	return 1
}

mounted() { awk -v m="$1" '$2 == m { print $3 " " $1 }' /proc/mounts | tail -n 1; }

check_root() {
	root=$(mounted /)
	info "/ is $root"
	lower=$(mounted /run/dnbd/lower)
	case "$(arg dnbdtest.overlay)" in
	none)
		case "$root" in squashfs*) ok "read-only squashfs root, no overlay" ;;
		*) fail "dnbd.overlay=none, yet / is $root" ;; esac
		return 0 ;;
	esac
	case "$root" in overlay*) ok "/ is an overlay" ;; *) fail "/ is not an overlay: $root" ;; esac
	fs=$(arg dnbdtest.fstype) || fs=squashfs
	case "$lower" in "$fs "*) ok "lower layer /run/dnbd/lower: $lower" ;;
	*) fail "no $fs at /run/dnbd/lower: '$lower'" ;; esac
	if size=$(arg dnbdtest.tmpfs); then
		grep -q "^dnbd-overlay /run/dnbd/rw tmpfs .*size=$size" /proc/mounts ||
			fail "the overlay's tmpfs is not size=$size: $(grep /run/dnbd/rw /proc/mounts)"
		ok "upper layer: tmpfs of size $size"
	fi
	# The expected sum from the image itself: a persistent overlay may hold
	# the previous boot's deletion of /data/random.sha256.
	sum=/data/random.sha256
	[ -e /run/dnbd/lower$sum ] && sum=/run/dnbd/lower$sum
	sha_is /data/random.bin "$(cat $sum)" "/data/random.bin through dnbd"
}

check_initrd() {
	want=$(arg dnbdtest.initrd) || return 0
	if [ -d /run/systemd/system ] || [ -e /run/systemd/journal ]; then got=systemd; else got=plain; fi
	[ "$got" = "$want" ] || fail "expected a $want initramfs, /run says $got"
	ok "booted through the $got initramfs"
}

check_write() {
	[ "$(arg dnbdtest.overlay)" = none ] && {
		if echo x 2>/dev/null >/written; then fail "wrote to a read-only root"; fi
		ok "the root is read-only"
		return 0
	}
	echo "written by $(hostname) at $(cat /proc/uptime)" >/written || fail "cannot write to /"
	[ -s /written ] || fail "/written is empty"
	[ -e /run/dnbd/rw/upper/written ] || fail "/written is not in the upper layer"
	[ -e /run/dnbd/lower/written ] && fail "/written reached the lower layer"
	rm -f /data/random.sha256
	[ -e /data/random.sha256 ] && fail "cannot delete a lower-layer file"
	[ -e /run/dnbd/lower/data/random.sha256 ] || fail "the delete reached the lower layer"
	ok "writes and deletes land in the upper layer, the image is untouched"
}

check_verity() {
	[ "$(arg dnbdtest.verity)" = 1 ] || return 0
	[ -b /dev/mapper/dnbd-root ] || fail "no /dev/mapper/dnbd-root"
	grep -q "^dnbd-root" /proc/self/mountinfo 2>/dev/null
	if out=$(cat /data/bad.bin 2>&1 >/dev/null); then
		fail "/data/bad.bin (corrupted on the server) read without an error"
	fi
	case "$out" in *"Input/output error"* | *"I/O error"*) ok "corrupted block: $out" ;;
	*) fail "corrupted block gave '$out', not an I/O error" ;; esac
	dmesg | grep -q "verity.*corrupted" || fail "no dm-verity corruption message"
	ok "dm-verity reported the corruption"
}

check_persist() {
	p=$(arg dnbdtest.persist) || return 0
	case "$p" in
	first)
		echo "persist $(cat /proc/sys/kernel/random/boot_id)" >/persist.txt
		sync
		ok "wrote /persist.txt to the device overlay" ;;
	second)
		[ -s /persist.txt ] || fail "/persist.txt from the first boot is gone"
		ok "found /persist.txt from the first boot: $(cat /persist.txt)" ;;
	esac
}

check_cache() {
	c=$(arg dnbdtest.cache) || return 0
	writes_done() { [ "$(counter dnbd0 cachefile_writes)" -gt 0 ]; }
	case "$c" in
	first)
		wait_until 20 writes_done || fail "nothing written to the cache device"
		ok "dnbd.cache: $(counter dnbd0 cachefile_writes) segments written to the local cache" ;;
	second)
		hits=$(counter dnbd0 cachefile_hits)
		[ "$hits" -gt 0 ] || fail "second boot: no hits in the local cache"
		ok "dnbd.cache: $hits segments read from the local cache" ;;
	esac
}

check_keyed() {
	[ "$(arg dnbdtest.keyed)" = 1 ] || return 0
	[ -e /run/dnbd/lab.key ] && fail "the key file /run/dnbd/lab.key is still there"
	grep -q "keyed" /run/dnbd/client.log ||
		fail "dnbd-client did not bind keyed: $(cat /run/dnbd/client.log)"
	missing=$(counter dnbd0 auth_missing)
	[ "$missing" -gt 0 ] || fail "keyed: no untagged datagram dropped"
	ok "keyed: $missing untagged datagrams dropped, key file removed"
}

# The DHCP address must not expire with its lease (dnbd-netkeep.sh).  The
# interface may have been renamed (eth0 -> ens2 under systemd's udev).
check_net() {
	nif=$(cat /run/dnbd/netif 2>/dev/null)
	[ -n "$nif" ] || fail "no /run/dnbd/netif"
	a=$(ip -4 addr show dev "$nif")
	echo "$a" | grep -q 'inet ' || fail "$nif has no IPv4 address"
	if echo "$a" | grep -q 'valid_lft [0-9]'; then
		fail "$nif's address still expires: $(echo "$a" | grep valid_lft)"
	fi
	ok "$nif's address is permanent: $(echo "$a" | awk '/inet / { print $2 }')"
}

run() {
	check_root
	check_net
	check_initrd
	check_write
	check_verity
	check_persist
	check_cache
	check_keyed
	info "device: $(cat /sys/block/dnbd0/dnbd/image 2>/dev/null), servers: $(cat /sys/block/dnbd0/dnbd/servers 2>/dev/null | head -n 1)"
}

echo "vmtest: running /test.sh"
( run )
rc=$?
echo VMTEST-DMESG-BEGIN
dmesg
echo VMTEST-DMESG-END
echo "VMTEST-EXIT $rc"
poweroff
