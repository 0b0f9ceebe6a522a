#!/bin/bash
#
# t-dracut-debian: the lab case end to end.  dnbd-mkimage --debian builds
# a Debian 12 root with systemd (mmdebstrap), its squashfs image, Debian's
# 6.1 kernel and a systemd dracut initramfs; a client VM boots it from
# dnbd-server over multicast with DHCP from dnsmasq, reaches
# multi-user.target on the overlay root, and powers off cleanly with its
# root still on dnbd.  The first run downloads ~100 MB of packages
# (cached in build/cache/) and takes a few minutes.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dracut.sh
source "$(dirname "$0")/lib/dracut.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.6
IMG=debroot
FLAVOR=${DNBD_DEBIAN_KERNEL:-6.1}

dr_lan
vmk_need_pkgs mmdebstrap || fail "could not install mmdebstrap"

G=$NET_REPO/vm-tests/guest
ln -s /etc/systemd/system/dnbd-vmtest.service "$W/wants-link"
start=$SECONDS
info "building the Debian image (mmdebstrap, squashfs, dracut)"
"$DR_MKIMAGE" --debian --name "$IMG" --kernel "$FLAVOR" --group "$GROUP" \
	--add "$G/debian-check.sh:/usr/local/sbin/dnbd-vmtest" \
	--add "$G/dnbd-vmtest.service:/etc/systemd/system/dnbd-vmtest.service" \
	--add "$W/wants-link:/etc/systemd/system/multi-user.target.wants/dnbd-vmtest.service" \
	"$W" >"$W/mkimage-debian.log" 2>&1 || {
	tail -n 40 "$W/mkimage-debian.log"
	fail "dnbd-mkimage --debian failed"
}
grep '^dnbd-mkimage: \[' "$W/mkimage-debian.log"
info "image built in $((SECONDS - start)) s"

dr_serve "$GROUP" "$GROUP,image=$IMG" "$IMG"

before=$(net_port_tx_bytes srv)
VM_MEM=1024 vm_launch deb "$W/$IMG.vmlinuz" "$W/$IMG.initrd" \
	"console=ttyS0 panic=-1 loglevel=5 rd.retry=300 rd.shell=0 rd.emergency=reboot $(cat "$W/$IMG.cmdline")"
rc=0
vm_wait deb 900 || rc=$?
dr_show deb
((rc == 0)) || fail "the Debian client did not reach multi-user.target ($(vm_rc_text "$rc"))"
vm_check_dmesg deb || fail "oops or warning in the client's kernel log"
vm_log deb | grep -q 'reboot: Power down' || fail "the client did not power off cleanly"
if vm_log deb | grep -E 'Failed to (unmount|finalize)|Unable to (unmount|finalize)' | grep -v 'ignoring' ; then
	fail "the shutdown could not unmount or finalize something"
fi
egress=$(($(net_port_tx_bytes srv) - before))
size=$(stat -c %s "$W/$IMG.img")
info "image $((size / 1048576)) MiB; the boot read $((egress / 1048576)) MiB from the server; $(vm_log deb | grep -m1 -o 'boot finished.*')"
pass "Debian 12 ($FLAVOR kernel) booted from dnbd to multi-user.target and powered off in ${VM_SECS[deb]} s"
