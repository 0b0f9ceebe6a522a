#!/bin/bash
#
# t-dracut-root: client VMs boot Debian's kernel with a dracut initramfs
# (90dnbd) and get their root from dnbd-server: the busybox test root's
# rc.local (vm-tests/guest/root-check.sh) checks that / is an overlay over
# the squashfs on /dev/dnbd0, that the image's file reads right, that
# writes and deletes stay in the upper layer, and powers off through init.
#
# Per kernel, three clients at once, each naming the root another way:
#   dnbd.root=GROUP,image=...       (initramfs with systemd)
#   root=dnbd:GROUP,image=...       (initramfs without systemd)
#   root=dhcp + DHCP root-path      (systemd on 6.1, none on 6.12)
# and on the last kernel a fourth: netroot=dnbd:... with dnbd.overlay=none.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dracut.sh
source "$(dirname "$0")/lib/dracut.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.3
IMG=bbroot

net_init
W=$NET_WORK
dr_require
net_setup_bridge
net_add_host srv "$DR_SERVER_IP"

dr_test_tree "$W/tree"
dr_image "$W/tree" "$W" "$IMG"
net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$GROUP" -i 1 \
	-d "$W/$IMG.img,name=$IMG" --stats "$W/srv.json"
wait_for 30 json_ready "$W/srv.json" || fail "the server did not start"
dr_dhcp "$GROUP,image=$IMG,fstype=squashfs"

mapfile -t flavors < <(dnbd_kernels)
for flav in "${flavors[@]}"; do
	kver=$(vmk_resolve "$flav") || fail "cannot resolve $flav"
	dr_initrd "$kver" systemd
	dr_initrd "$kver" plain
	dhcpvar=systemd
	[[ "$flav" == 6.12 ]] && dhcpvar=plain
	k=${flav//./}
	names=("a$k" "b$k" "c$k")
	dr_boot "a$k" "$kver" systemd "dnbd.root=$GROUP,image=$IMG,fstype=squashfs"
	dr_boot "b$k" "$kver" plain "root=dnbd:$GROUP,image=$IMG"
	dr_boot "c$k" "$kver" "$dhcpvar" "root=dhcp"
	if [[ "$flav" == "${flavors[-1]}" ]]; then
		names+=("d$k")
		dr_boot "d$k" "$kver" systemd \
			"netroot=dnbd:$GROUP:5001,image=$IMG dnbd.overlay=none dnbdtest.overlay=none"
	fi
	rc=0
	vm_wait_all 400 "${names[@]}" || rc=$?
	dr_show "${names[@]}"
	((rc == 0)) || fail "a client on $kver did not boot from dnbd ($(vm_rc_text "$rc"))"
	for n in "${names[@]}"; do
		vm_check_dmesg "$n" || fail "oops or warning in $n's kernel log"
		vm_log "$n" | grep -q 'reboot: Power down' ||
			fail "$n did not power off cleanly"
		info "$n: root reached and powered off in ${VM_SECS[$n]} s"
	done
	pass "$kver: dnbd.root=, root=dnbd:, DHCP root-path$([[ "$flav" == "${flavors[-1]}" ]] && echo ", netroot=dnbd: (no overlay)") boot to the overlay root"
done
check_sanitizer_logs "$W"
