#!/bin/bash
#
# t-kmod: dnbd.ko in a QEMU guest, for each kernel: Debian's 6.1 and 6.12,
# and the newest, Debian sid's (7.2 in late 2026; dnbd.ko for it is built
# in a sid chroot, scripts/sid-chroot.sh).  VM_KERNELS="6.12" or
# VM_KERNELS=newest picks some.  dnbd-server runs in host namespace srv
# and exports a random 64 MiB image and a squashfs image; a second server
# exports the random image slowly on another port.  The guest
# (vm-tests/guest/t-kmod.sh):
#   - reads the whole image through /dev/dnbd0 and checks its sha256,
#   - writes the counters for Prometheus (dnbd-client --metrics) from the
#     driver's sysfs files: no warning, dnbd0's reads and server 1 up,
#   - mounts the squashfs from /dev/dnbd1 and checks a file,
#   - fills a cache file, rebinds, and reads everything from it (counters),
#   - adds a cache file to a bound device (dnbd-client -c alone),
#   - binds over unicast, cuts the server off: a read waits and resumes;
#     with --timeout 2 it fails with EIO instead,
#   - binds with the lab key (dnbd-client --key-file, DNBD_IOC_BIND_KEY)
#     to a keyed server while a rogue on the LAN sends untagged replies of
#     wrong data: reads 16 MiB, checks its sha256 and auth_missing,
#   - listens on a port where a rogue sends trains of valid replies (UDP
#     GSO) with one damaged datagram each: the driver receives them as GRO
#     batches and drops only the damaged datagram of each,
#   - unbinds a device with reads in flight, then rmmods the driver.
# The test then greps the guest's kernel log for oopses and warnings.
# Three guests of about a minute each, and the first time the sid chroot
# and three kernels' downloads: about 5 minutes here, more on slower CI.
# test-timeout: 900
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dnbd.sh
source "$(dirname "$0")/lib/dnbd.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SQGROUP=239.77.0.2
SLOWPORT=5002
UCPORT=5003
KEYPORT=5004
TRAINPORT=5005
TRAINSEGS=20
SIZE_MIB=64
SEG=1400

net_init
W=$NET_WORK
dnbd_vm_require
net_setup_bridge
net_add_host srv 10.77.0.11

make_image "$W/rand.img" "$SIZE_MIB"
sha=$(sha_of "$W/rand.img")
partsha=$(dd if="$W/rand.img" bs=64k skip=300 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)
keysha=$(head -c $((16 * MIB)) "$W/rand.img" | sha256sum | cut -d' ' -f1)
# The lab key; the guest gets it on its command line (vmt.key), as
# dnbd.key= would give it to a dracut initramfs.
key=$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$key" >"$W/lab.key"
segs=$(((SIZE_MIB * MIB + SEG - 1) / SEG))
mkdir -p "$W/sqroot"
make_image "$W/sqroot/data.bin" 2
echo "hello from dnbd" >"$W/sqroot/hello.txt"
mksquashfs "$W/sqroot" "$W/sq.img" -quiet -noappend >/dev/null
sqsha=$(sha_of "$W/sqroot/data.bin")

net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -i 1 \
	-d "$W/rand.img,name=rand" -d "$W/sq.img,name=sq,group=$SQGROUP" \
	--stats "$W/srv.json"
net_bg srv "$W/slow.log" "$DNBD_SERVER" -m "$GROUP" -p "$SLOWPORT" -i 9 \
	-d "$W/rand.img,name=rand" --rate 256K --stats "$W/slow.json"
net_bg srv "$W/ucast.log" "$DNBD_SERVER" -m 10.77.0.11 -p "$UCPORT" -i 5 \
	-d "$W/rand.img,name=rand" --stats "$W/ucast.json"
wait_for 30 json_ready "$W/srv.json" || fail "the server did not start"
wait_for 30 json_ready "$W/ucast.json" || fail "the unicast server did not start"
wait_for 30 json_ready "$W/slow.json" || fail "the slow server did not start"
net_bg srv "$W/keyed.log" "$DNBD_SERVER" -m "$GROUP" -p "$KEYPORT" -i 7 \
	-d "$W/rand.img,name=rand" --key-file "$W/lab.key" --stats "$W/keyed.json"
wait_for 30 json_ready "$W/keyed.json" || fail "the keyed server did not start"
# A rogue without the key: untagged replies of wrong data all over the
# image, with correct CRCs, for as long as the guests run.
net_bg srv "$W/forge.log" "$DNBD_FORGE" --to "$GROUP" --port "$KEYPORT" \
	--iface eth0 --kind reply-wrongdata --spread --count 100000 \
	--interval-ms 10 --image-id "$(json_get "$W/keyed.json" '.images[0].id')" \
	--size $((SIZE_MIB * MIB))
forge_pid=$NET_LAST_PID
# Damaged trains: TRAINSEGS valid replies of the image as one GSO message,
# number 7 damaged after sealing, every 200 ms, for as long as the guests
# run (2396 trains to walk the image).
net_bg srv "$W/train.log" "$DNBD_SERVER" -m "$GROUP" -p "$TRAINPORT" -i 11 \
	-d "$W/rand.img,name=rand" --stats "$W/train.json"
wait_for 30 json_ready "$W/train.json" || fail "the train port's server did not start"
net_bg srv "$W/trainforge.log" "$DNBD_FORGE" --to "$GROUP" --port "$TRAINPORT" \
	--iface eth0 --kind reply-train --image-id "$(json_get "$W/train.json" '.images[0].id')" \
	--data-file "$W/rand.img" --segs "$TRAINSEGS" --bad 7 --count 2300 \
	--interval-ms 200
trainforge_pid=$NET_LAST_PID

while read -r flavor; do
	kver=$(vmk_resolve "$flavor") || fail "cannot resolve kernel $flavor"
	name="kmod${flavor//./}"
	dnbd_vm_initrd "$kver" "$W/$name.img" t-kmod.sh squashfs
	start=$EPOCHREALTIME
	VM_MEM=768 vm_start "$name" "$kver" "$W/$name.img" 10.77.0.21/24 \
		"vmt.group=$GROUP vmt.sqgroup=$SQGROUP vmt.slowport=$SLOWPORT vmt.ucast=10.77.0.11 vmt.ucport=$UCPORT vmt.sha=$sha vmt.partsha=$partsha vmt.segs=$segs vmt.sqsha=$sqsha vmt.keyport=$KEYPORT vmt.key=$key vmt.keysha=$keysha vmt.trainport=$TRAINPORT vmt.trainsegs=$TRAINSEGS"
	rc=0
	vm_wait "$name" 900 || rc=$?
	vm_output "$name" | grep '^guest: '
	((rc == 0)) || fail "$kver: the guest's test failed ($(vm_rc_text "$rc"))"
	vm_check_dmesg "$name" || fail "$kver: oops or warning in the guest's kernel log"
	pass "$kver: read, squashfs, cache file, keyed bind, unbind in flight, rmmod ($(elapsed_since "$start") s)"
	vm_stop "$name"
done < <(dnbd_kernels "6.1 6.12 newest")
kill -TERM "$forge_pid" "$trainforge_pid" 2>/dev/null || true
wait "$forge_pid" "$trainforge_pid" 2>/dev/null || true
info "rogue: $(tail -n 1 "$W/forge.log"); keyed server:" \
	"$(jq -c '.counters | {requests, segments_sent, auth_missing}' \
	"$W/keyed.json")"
check_sanitizer_logs "$W"
