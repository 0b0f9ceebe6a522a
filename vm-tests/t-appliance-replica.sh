#!/bin/bash
#
# t-appliance-replica: two appliances from the same ISO are replicas.
#   app1  server_id 1, 10.33.0.1, full DHCP: clients PXE-boot from it
#   app2  server_id 2, 10.33.0.2, dhcp = off: serves the same images;
#         it boots the ISO through UEFI (OVMF), app1 through BIOS
# Each reads its dnbd-appliance.conf from a FAT disk labelled DNBDCONF.
# Two clients boot; as soon as their root is bound (the kernel has been
# loaded from app1, and the Debian root's reads are starting), app1 is
# powered off.  Both clients must finish booting to a root prompt from
# app2, with a working overlay, and app2's counters must show it served
# them.
# test-timeout: 1500
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/appliance.sh
source "$(dirname "$0")/lib/appliance.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

ap_lab

ap_conf "$W/app1.conf" <<'EOF'
# replica 1: DHCP and PXE for the lab
address = 10.33.0.1/24
server_id = 1
dhcp = full
dhcp_range = 10.33.0.100-10.33.0.199
menu_timeout = 0
EOF
ap_conf "$W/app2.conf" <<'EOF'
# replica 2: same images, another id, no DHCP
address = 10.33.0.2/24
server_id = 2
dhcp = off
EOF
ap_conf_disk "$W/app1-conf.img" "$W/app1.conf"
ap_conf_disk "$W/app2-conf.img" "$W/app2.conf"

ap_appliance app1 "$W/appliance.iso" "$W/app1-conf.img"
ap_appliance app2 "$W/appliance.iso" "$W/app2-conf.img" uefi
ap_wait_ready app1 240
ap_wait_ready app2 240
vm_log_has app2 'BdsDxe: starting .*DVD-ROM' ||
	fail "app2 did not boot the ISO through UEFI (OVMF)"
vm_log_has app2 'configuration: /run/dnbd/conf/dnbd-appliance.conf' ||
	fail "app2 did not read its configuration disk"

ap_client c1 bios
ap_client c2 bios
# Power app1 off once both clients have bound their root.
for c in c1 c2; do
	python3 "$AP_CONSOLE" wait "$(vm_log_file "$c")" 'dnbd0: bound to' 900 >/dev/null ||
		{ vm_tail "$c" 40; fail "$c never bound its root"; }
done
before=$(ap_status_json http://10.33.0.2/status/dnbd-server.json | jq '.images[0].data_bytes_sent')
vm_stop app1 || true	# its wait reports the SIGKILL
info "app1 powered off while the clients boot (app2 had sent $(human_mib "$before") so far)"

ap_wait_prompts 1200 c1 c2 || { vm_tail c1 30; vm_tail c2 30; fail "the clients did not finish booting from app2"; }
for c in c1 c2; do
	ap_client_checks "$c"
	out=$(ap_run "$c" "grep -E '^(failovers|timeouts) ' /sys/block/dnbd0/dnbd/counters; cat /sys/block/dnbd0/dnbd/servers" 30) || true
	info "$c: $(tr '\n' ' ' <<<"$out")"
	vm_check_dmesg "$c" || fail "oops or warning in $c's kernel log"
done
after=$(ap_status_json http://10.33.0.2/status/dnbd-server.json | jq '.images[0].data_bytes_sent')
((after > before)) || fail "app2 sent nothing after app1 went away ($before -> $after bytes)"
info "app2 sent $(human_mib $((after - before))) after app1 was powered off"
pass "two replicas; app1 powered off during the boot; both clients finished booting from app2"
