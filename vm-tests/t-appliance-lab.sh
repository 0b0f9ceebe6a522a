#!/bin/bash
#
# t-appliance-lab: the lab, unattended.  The appliance ISO as `make image`
# builds it (the Debian demo image and the built-in defaults: an isolated
# lab with full DHCP; its configuration disk holds only the test guests'
# append =, see ap_appliance) boots in one VM; three disk-less clients
# power on at the same time and boot over PXE, iPXE and a multicast root
# to a root prompt:
#   c1  UEFI (OVMF) with a virtio NIC without ROM: the firmware's own PXE
#       client chainloads snponly.efi, which fetches boot.ipxe
#   c2  BIOS, QEMU's iPXE ROM (e1000)
#   c3  BIOS, QEMU's iPXE ROM (e1000)
# Each client's root must be an overlay over /dev/dnbd0 and take writes in
# its upper layer.  The appliance's dnbd-server counters must show egress
# well under 3x (here: under 2x) the bytes one client read through
# /dev/dnbd0: the multicast sharing that is the point of dnbd.
# test-timeout: 1500
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/appliance.sh
source "$(dirname "$0")/lib/appliance.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

ap_lab

ap_appliance app "$W/appliance.iso"
ap_wait_ready app 240
boot_ipxe=$(ap_status_json http://10.33.0.1/boot.ipxe) || fail "no boot.ipxe over HTTP"
grep -q '^kernel .*initrd=demo.initrd .*dnbd.root=239.33.0.1:5001,image=demo' <<<"$boot_ipxe" ||
	fail "boot.ipxe has no kernel line with initrd= and dnbd.root=: $boot_ipxe"

ap_client c1 uefi-pxe
ap_client c2 bios
ap_client c3 bios
if ! ap_wait_prompts 1200 c1 c2 c3; then
	for c in c1 c2 c3; do vm_tail "$c" 30; done
	fail "not every client reached a root prompt"
fi

# The boot chain each took.
ap_log_has c1 'snponly.efi' || { vm_tail c1 60; fail "c1 did not chainload snponly.efi"; }
ap_log_has c1 'boot.ipxe' || fail "c1's iPXE did not fetch boot.ipxe"
ap_log_has c1 'EFI stub: Loaded initrd from command line option' ||
	fail "c1 did not boot through the EFI stub with initrd="
# Only iPXE running boot.ipxe expands ${netX/mac} into BOOTIF=.
for c in c1 c2 c3; do
	mac=${VM_MACADDR[$c]//:/-}
	ap_log_has "$c" "Command line: (demo.vmlinuz )?initrd=demo.initrd BOOTIF=01-$mac dnbd.root=239.33.0.1:5001,image=demo" ||
		fail "$c did not boot the kernel command line of boot.ipxe"
done
if [[ $(vm_log c1 | grep -c 'snponly.efi') -gt 2 ]]; then
	fail "c1 loaded snponly.efi more than once: a chainload loop"
fi

for c in c1 c2 c3; do
	ap_client_checks "$c"
	vm_check_dmesg "$c" || fail "oops or warning in $c's kernel log"
done

stats=$(ap_status_json http://10.33.0.1/status/dnbd-server.json) || fail "no status JSON"
sent=$(jq -r '.images[] | select(.name == "demo") | .data_bytes_sent' <<<"$stats")
[[ "$sent" =~ ^[0-9]+$ ]] || fail "no data_bytes_sent for demo in $stats"
one=0
for c in c1 c2 c3; do
	((AP_READ[$c] > one)) && one=${AP_READ[$c]}
done
((one > 0)) || fail "the clients read nothing through /dev/dnbd0"
ratio=$(awk -v s="$sent" -v o="$one" 'BEGIN { printf "%.2f", s / o }')
info "appliance egress: $(human_mib "$sent") of image data for 3 clients; one client read at most $(human_mib "$one"): ${ratio}x (3 unicast clients: about 3x)"
awk -v r="$ratio" 'BEGIN { exit !(r < 2.0) }' ||
	fail "egress ${ratio}x the bytes one client read: not well under 3x"
vm_check_dmesg app || fail "oops or warning in the appliance's kernel log"
pass "3 disk-less clients (UEFI PXE chainload, 2x BIOS iPXE) booted Debian from the appliance ISO to a root prompt with overlay roots; egress ${ratio}x one client's reads"
