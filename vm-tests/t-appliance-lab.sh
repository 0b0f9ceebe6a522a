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
# The admin's view, meanwhile: the live page http://10.33.0.1/ open in
# headless Chromium (tests/tools/labpage.py) from the clients' power-on
# must show each of them reach "running", with no console error; its
# screenshot is build/test-logs/t-appliance-lab-page.png (docs/lab.md
# shows one).  http://10.33.0.1/metrics.prom must be served as Prometheus
# text and parse (tests/tools/promcheck.py).
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
PAGE_PNG=$NET_REPO/build/test-logs/t-appliance-lab-page.png
rm -f "$PAGE_PNG"
net_run obs timeout 1500 /usr/bin/python3 "$NET_REPO/tests/tools/labpage.py" \
	http://10.33.0.1/ --timeout 1400 --screenshot "$PAGE_PNG" --until "$W/booted" \
	--dom "$W/lab-page.html" --expect "${VM_MACADDR[c1]}" \
	--expect "${VM_MACADDR[c2]}" --expect "${VM_MACADDR[c3]}" \
	>"$W/lab-page.log" 2>&1 &
page_pid=$!
if ! ap_wait_prompts 1200 c1 c2 c3; then
	for c in c1 c2 c3; do vm_tail "$c" 30; done
	fail "not every client reached a root prompt"
fi

# The boot chain each took.
vm_log_has c1 'snponly.efi' || { vm_tail c1 60; fail "c1 did not chainload snponly.efi"; }
vm_log_has c1 'boot.ipxe' || fail "c1's iPXE did not fetch boot.ipxe"
vm_log_has c1 'EFI stub: Loaded initrd from command line option' ||
	fail "c1 did not boot through the EFI stub with initrd="
# Only iPXE running boot.ipxe expands ${netX/mac} into BOOTIF=.
for c in c1 c2 c3; do
	mac=${VM_MACADDR[$c]//:/-}
	vm_log_has "$c" "Command line: (demo.vmlinuz )?initrd=demo.initrd BOOTIF=01-$mac dnbd.root=239.33.0.1:5001,image=demo" ||
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

# The metrics, as a Prometheus server would scrape them.
net_run obs /usr/bin/python3 -c 'import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=10)
t = r.headers.get("Content-Type", "")
if not t.startswith("text/plain") or "version=0.0.4" not in t:
    sys.exit("metrics.prom served as %r" % t)
sys.stdout.write(r.read().decode())' http://10.33.0.1/metrics.prom >"$W/metrics.prom" ||
	fail "no Prometheus text at http://10.33.0.1/metrics.prom"
/usr/bin/python3 "$NET_REPO/tests/tools/promcheck.py" "$W/metrics.prom" >"$W/metrics.samples" ||
	fail "the appliance's metrics do not parse"
msent=$(sed -n 's/^dnbd_image_data_sent_bytes_total{image="demo",server_id="1"} //p' "$W/metrics.samples")
[[ "$msent" =~ ^[0-9]+$ ]] && ((msent >= sent)) ||
	fail "metrics: demo's data sent '$msent', the stats file said $sent"

# The live page: every client reached "running" while it watched, and
# still shows it now that they are at a root prompt.
touch "$W/booted"
rc=0
wait_exit "$page_pid" 150 || rc=$?
cat "$W/lab-page.log"
((rc == 0)) || fail "the live page did not show all three clients running, or logged console errors (above)"
[[ -s "$PAGE_PNG" ]] || fail "no screenshot of the live page"
pass "3 disk-less clients (UEFI PXE chainload, 2x BIOS iPXE) booted Debian from the appliance ISO to a root prompt with overlay roots; egress ${ratio}x one client's reads; the live page showed all three running (screenshot $PAGE_PNG); metrics parse"
