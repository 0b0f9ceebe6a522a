#!/bin/bash
#
# t-dracut-persist: a client with local disks, booted twice (first on one
# kernel, then on the other, one initramfs with systemd and one without):
#   dnbd.cache=/dev/disk/by-id/virtio-dnbdcache   a raw disk: the first
#       boot fills it, the second reads segments from it
#   dnbd.overlay=LABEL=dnbd-ovl                   an ext4 disk: the upper
#       layer; a file written in the first boot is there in the second
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dracut.sh
source "$(dirname "$0")/lib/dracut.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.5
IMG=proot

dr_lan

dr_test_tree "$W/tree"
dr_image "$W/tree" "$W" "$IMG" --group "$GROUP"
dr_serve "$GROUP" "$GROUP,image=$IMG" "$IMG"

truncate -s 64M "$W/cache.raw"
truncate -s 64M "$W/ovl.raw"
mkfs.ext4 -q -F -L dnbd-ovl "$W/ovl.raw" || fail "mkfs.ext4"
disks=(-drive "file=$W/cache.raw,format=raw,if=none,id=d0"
	-device "virtio-blk-pci,drive=d0,serial=dnbdcache"
	-drive "file=$W/ovl.raw,format=raw,if=none,id=d1"
	-device "virtio-blk-pci,drive=d1,serial=dnbdovl")
append="$(cat "$W/$IMG.cmdline") dnbd.cache=/dev/disk/by-id/virtio-dnbdcache dnbd.overlay=LABEL=dnbd-ovl dnbdtest.overlay=device"

mapfile -t flavors < <(dnbd_kernels)
first=${flavors[-1]} second=${flavors[0]}
boot=1
for flav in "$first" "$second"; do
	kver=$(vmk_resolve "$flav") || fail "cannot resolve $flav"
	variant=plain phase=first
	((boot == 1)) || variant=systemd phase=second
	n="p$boot"
	dr_boot "$n" "$kver" "$variant" \
		"$append dnbdtest.persist=$phase dnbdtest.cache=$phase" "${disks[@]}"
	dr_wait 400 "the $phase boot ($kver, $variant)" "$n"
	boot=$((boot + 1))
done
debugfs -R "cat /upper/persist.txt" "$W/ovl.raw" 2>/dev/null | grep -q '^persist ' ||
	fail "the host does not find /upper/persist.txt on the overlay disk"
pass "local cache and persistent overlay across two boots ($first, then $second)"
