#!/bin/bash
#
# scripts/demo.sh - what `make demo` shows: the netboot appliance at work.
#
#   1. builds what is missing: the Debian demo image (cached in
#      build/appliance/demo/) and the appliance ISO
#      (build/appliance/dnbd-appliance.iso, as `make image` makes it, plus
#      the stall timeouts for slow virtual CPUs of vm-tests/lib/vm.sh)
#   2. in a private network namespace (a bridge with taps; nothing touches
#      the host's network), boots the ISO in one QEMU VM and two disk-less
#      client VMs that PXE-boot from it through QEMU's iPXE ROM, get their
#      root over multicast and reach a root shell prompt
#   3. shows each client's root mount and the appliance's egress next to
#      what the clients read, then powers everything off
# Progress goes to the terminal; the serial consoles are logged in the work
# directory it names.  DEMO_HOLD=1 keeps the lab running until Enter is
# pressed (attach to a console with: socat - UNIX-CONNECT:<dir>/vm-c1.sock).
# Everything it started is cleaned up on exit, even on Ctrl-C.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export DNBD_BIN=${DNBD_BIN:-$REPO/build/bin}
# shellcheck source=SCRIPTDIR/../vm-tests/lib/appliance.sh
source "$REPO/vm-tests/lib/appliance.sh"
trap vm_cleanup EXIT
trap 'exit 130' INT TERM HUP

[[ $EUID -eq 0 ]] || { echo "demo: run as root (QEMU taps, network namespaces)" >&2; exit 1; }
say() { printf 'demo: %s\n' "$*"; }
t0=$SECONDS
ISO=$REPO/build/appliance/dnbd-appliance.iso

# A work directory that survives the cleanup, for the serial logs.
export DNBD_KEEP=1
net_init
W=$NET_WORK
say "work directory (serial logs vm-*.log): $W"
say "[1/5] packages and programs"
ap_require
say "[2/5] the Debian demo image (first run: a few minutes)"
"$REPO/image-builder/demo-image.sh" "$REPO/build/appliance/demo" | sed 's/^/demo:       /'
say "[3/5] the appliance ISO with the demo image (about 10 s)"
# ap_iso: with the slow-virtual-CPU settings every test guest gets
# (VM_SLOW_CPU in vm-tests/lib/vm.sh; harmless on real machines).
ap_iso "$ISO" --images "$REPO/build/appliance/demo" | sed 's/^/demo:       /'

say "[4/5] booting the appliance (BIOS) on a private LAN, 10.33.0.0/24"
net_setup_bridge
net_add_host obs 10.33.0.250
ap_appliance app "$ISO"	# with a DNBDCONF disk: the clients' append (ap_conf)
ap_wait_ready app 300
say "      appliance console: $(vm_log_file app)"

say "[5/5] two disk-less clients PXE-boot from it (QEMU's iPXE ROM, TCG: a few minutes)"
ap_client c1 bios
ap_client c2 bios
declare -A stage=()
deadline=$((SECONDS + 1500))
while ((SECONDS < deadline)); do
	done_=0
	for c in c1 c2; do
		s=$(vm_log "$c" 2>/dev/null | grep -aoE 'Filename: boot.ipxe|images/demo.initrd|Linux version|dnbd0: bound to|Switching root|Reached target.*Multi-User|root@[^ ]*:~# ' | tail -n 1) || true
		case "$s" in
		*boot.ipxe*) s="iPXE got boot.ipxe" ;;
		*demo.initrd*) s="loading kernel and initramfs over HTTP" ;;
		*Linux*) s="kernel started, dracut initramfs" ;;
		*bound*) s="root bound to /dev/dnbd0 over multicast" ;;
		*Switching*) s="switching to the dnbd root" ;;
		*Multi-User*) s="systemd: multi-user.target" ;;
		root@*) s="root shell prompt"; done_=$((done_ + 1)) ;;
		"") s="firmware PXE, iPXE (no serial output yet)" ;;
		esac
		if [[ "${stage[$c]:-}" != "$s" ]]; then
			stage[$c]=$s
			say "      $c: $s ($((SECONDS - t0)) s)"
		fi
		pid_alive "${VM_PID[$c]}" || { vm_tail "$c" 30; say "$c stopped unexpectedly"; exit 1; }
	done
	((done_ == 2)) && break
	sleep 2
done
((done_ == 2)) || { say "the clients did not reach a prompt in time"; exit 1; }

for c in c1 c2; do
	ap_client_checks "$c"	# not in a pipe: it sets AP_READ
	say "$c: $(ap_run "$c" "findmnt -n -o SOURCE,FSTYPE / ; cat /etc/debian_version" 30 | tr '\n' ' ')"
done
stats=$(ap_status_json http://10.33.0.1/status/dnbd-server.json)
sent=$(jq -r '.images[0].data_bytes_sent' <<<"$stats")
say "the appliance sent $(human_mib "$sent") of image data; the clients read $(human_mib "${AP_READ[c1]}") and $(human_mib "${AP_READ[c2]}")"
say "serial logs: $W/vm-app.log $W/vm-c1.log $W/vm-c2.log"
if [[ "${DEMO_HOLD:-0}" == 1 ]]; then
	say "the lab keeps running; consoles: socat - UNIX-CONNECT:$W/vm-c1.sock (c2, app likewise)"
	read -r -p "demo: press Enter to power everything off " _ || true
fi
for c in c1 c2; do
	ap_run "$c" "systemctl poweroff" 10 >/dev/null 2>&1 || true
done
say "done in $((SECONDS - t0)) s; powering off and cleaning up"
