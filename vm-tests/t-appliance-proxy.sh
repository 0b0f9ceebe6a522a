#!/bin/bash
#
# t-appliance-proxy: proxyDHCP beside the lab's own DHCP server.  A plain
# dnsmasq on host "dhcp" (10.33.0.5) hands out addresses and knows nothing
# about PXE; the appliance (dhcp = proxy, from its DNBDCONF disk) only
# answers PXE clients.  A BIOS client must boot to a root prompt with an
# address from the plain dnsmasq, and the appliance must have leased no
# address at all.
# test-timeout: 1500
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/appliance.sh
source "$(dirname "$0")/lib/appliance.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

ap_lab
net_add_host dhcp 10.33.0.5

# The lab's DHCP server: addresses only, no boot options.
net_bg dhcp "$W/plain-dnsmasq.log" dnsmasq --no-daemon --conf-file=/dev/null \
	--user=root --port=0 --interface=eth0 --bind-interfaces \
	--dhcp-range=10.33.0.150,10.33.0.160,255.255.255.0,1h \
	--dhcp-leasefile="$W/plain.leases" --log-dhcp
sleep 0.5
pid_alive "$NET_LAST_PID" || { cat "$W/plain-dnsmasq.log"; fail "the plain dnsmasq did not start"; }

ap_conf "$W/app.conf" <<'EOF'
address = 10.33.0.1/24
dhcp = proxy
server_id = 7
EOF
ap_conf_disk "$W/app-conf.img" "$W/app.conf"
ap_appliance app "$W/appliance.iso" "$W/app-conf.img"
ap_wait_ready app 240
vm_log_has app 'DHCP proxy' || fail "the appliance is not in proxy mode"

ap_client c1 bios
ap_wait_prompts 1200 c1 || { vm_tail c1 40; fail "c1 did not boot through proxyDHCP"; }
ap_client_checks c1
vm_check_dmesg c1 || fail "oops or warning in c1's kernel log"

mac=${VM_MACADDR[c1]}
grep -qi "$mac" "$W/plain.leases" || fail "the plain dnsmasq leased nothing to c1 ($mac): $(cat "$W/plain.leases")"
addr=$(grep -i "$mac" "$W/plain.leases" | awk '{ print $3 }' | head -n 1)
# The demo root has no iproute2: the kernel's own table of local addresses.
out=$(ap_run c1 "cat /proc/net/fib_trie" 30) || fail "cannot read /proc/net/fib_trie on c1"
grep -q -- "-- $addr\$" <<<"$out" || fail "c1 does not have its address $addr from the plain dnsmasq: $out"
leases=$(ap_status_json http://10.33.0.1/status/dhcp-leases) || leases=""
[[ -z "$leases" ]] || fail "the appliance leased addresses in proxy mode: $leases"
# Only boot.ipxe, from the appliance, puts BOOTIF= (iPXE's ${netX/mac}) there.
vm_log_has c1 "Command line: initrd=demo.initrd BOOTIF=01-${mac//:/-} dnbd.root=239.33.0.1:5001,image=demo" ||
	fail "c1 did not boot the kernel command line of the appliance's boot.ipxe"
pass "proxyDHCP: address $addr from the plain dnsmasq, PXE and boot.ipxe from the appliance, root over multicast"
