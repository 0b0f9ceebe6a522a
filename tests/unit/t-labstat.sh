#!/bin/bash
#
# t-labstat: the appliance's live lab page without a VM.
#   1. labstat.awk (busybox awk, as on the appliance) reads dnsmasq and
#      httpd logs in the shapes they really have (dnsmasq 2.90 with
#      log-dhcp, busybox httpd -vv, IPv4 and v4-mapped peers) and tracks
#      three clients: c1 (BIOS,
#      iPXE ROM) through kernel and initramfs, c2 (UEFI firmware PXE, then
#      snponly.efi's iPXE) up to iPXE, c3 fetched its kernel and then
#      rebooted (a PXE ROM's DHCP: a second boot, stages cleared); a hostile
#      host name stays valid JSON; garbage lines change nothing.
#      c1 also fetched /booted (dnbd.booted=: it runs); c4 did not.
#   2. The page (lab.html) in headless Chromium, served by busybox httpd
#      in a network namespace with that lab.json: c1 "running", c2
#      "iPXE", c3 "DHCP", c4 "root bound" with its reads settled, a client
#      only the server knows "root bound"; no console errors.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AP=$REPO/image-builder/appliance
W=$(mktemp -d "${TMPDIR:-/tmp}/dnbd-labstat.XXXXXX")
NS="dnls$$"
fail() { echo "FAIL: $*"; exit 1; }
cleanup() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	[[ -n "${DNBD_KEEP:-}" ]] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
for t in busybox jq /usr/bin/chromium /usr/bin/chromedriver; do
	command -v "$t" >/dev/null || fail "$t missing (scripts/install-deps.sh)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null ||
	fail "python3-selenium missing (scripts/install-deps.sh)"

# ---- 1. labstat.awk --------------------------------------------------------
d() { printf 'Nov 29 03:22:21 dnsmasq-dhcp[1798]: %s\n' "$*"; }
ack() { # TXID MAC IP [HOST] [pxe] [ipxe] [bios|efi64]
	local tx=$1 mac=$2 ip=$3 host=$4 tags=""
	shift 4
	for a in "$@"; do
		case $a in
		pxe) d "$tx vendor class: PXEClient:Arch:00000:UNDI:002001" ;;
		ipxe) d "$tx user class: iPXE"; tags="ipxe, $tags" ;;
		bios|efi64) tags="$tags$a, " ;;
		esac
	done
	d "$tx DHCPDISCOVER(eth0) $mac "
	d "$tx tags: ${tags}eth0"
	d "$tx DHCPOFFER(eth0) $ip $mac "
	d "$tx requested options: 1:netmask, 3:router, 6:dns-server, 12:hostname, "
	d "$tx DHCPREQUEST(eth0) $ip $mac "
	d "$tx tags: ${tags}eth0"
	d "$tx DHCPACK(eth0) $ip $mac $host"
	d "$tx sent size:  4 option: 54 server-identifier  10.33.0.1"
}
get() { # PEER URL CODE
	printf '%s: url:%s\n%s: response:%s\n' "$1" "$2" "$1" "$3" >>"$W/httpd.log"
}
{
	ack 11 52:54:00:00:00:01 10.33.0.101 pc01 pxe ipxe bios
	ack 22 52:54:00:00:00:02 10.33.0.102 "" pxe efi64
	echo 'Nov 29 03:22:22 dnsmasq-tftp[1798]: sent /srv/tftp/snponly.efi to 10.33.0.102'
	ack 23 52:54:00:00:00:02 10.33.0.102 "" pxe ipxe efi64
	ack 31 52:54:00:00:00:03 10.33.0.103 'bad"name\' pxe ipxe bios
	ack 41 52:54:00:00:00:04 10.33.0.104 pc04 pxe ipxe bios
	echo 'garbage: DHCPACK( with nothing after'
	d "99 DHCPACK(eth0) 10.33.0.199 not-a-mac"
} >"$W/dnsmasq.log"
get 10.33.0.101:40001 /boot.ipxe 200
get '[::ffff:10.33.0.101]:40002' /images/demo.vmlinuz 200
get '[::ffff:10.33.0.101]:40003' /images/demo.initrd 200
get 10.33.0.102:40004 /images/demo.vmlinuz 404
get 10.33.0.103:40005 /images/demo.vmlinuz 200
echo '10.33.0.104:40006: response:200' >>"$W/httpd.log"
get '[::ffff:10.33.0.104]:40007' /images/demo.vmlinuz 200
get '[::ffff:10.33.0.104]:40008' /images/demo.initrd 200
get '[::ffff:10.33.0.101]:40009' /booted 200
mkdir -p "$W/http/status"
# dnbd-server's stats file as it writes it (see dnbd-server(8)): c1 read
# and settled; 10.33.0.150 booted without this DHCP server, still reading.
cat >"$W/http/status/dnbd-server.json" <<'JSON'
{"server_id":1,"uptime_s":300,"rate":0,"qdelay_ms":0,"counters":{"requests":120,"requests_retry":3,"segments_rerequested":9,"repairs":2,"parity_sent":4,"parity_proactive":0,"duplicates_suppressed":50,"errors_sent":0,"crc_failures":0,"send_errors":0},"images":[{"name":"demo","path":"/x","id":"0x1","size":104857600,"revision":1,"group":"239.33.0.1","port":5001,"requests":120,"segments_sent":9000,"data_bytes_sent":12600000,"changed":false}],"clients":[{"address":"10.33.0.101","image":"demo","first_s":0.5,"last_s":0.2,"last_read_s":0.4,"settled":true,"hellos":40,"reads":100,"segments":8000,"retries":3,"repairs":2},{"address":"10.33.0.104","image":"demo","first_s":0.5,"last_s":0.2,"last_read_s":0.4,"settled":true,"hellos":40,"reads":90,"segments":7000,"retries":0,"repairs":0},{"address":"10.33.0.150","image":"demo","first_s":0.3,"last_s":0.1,"last_read_s":0.1,"settled":false,"hellos":2,"reads":20,"segments":1000,"retries":0,"repairs":0}],"replicas":[{"id":2,"address":"10.33.0.2","first_s":200.0,"last_s":1.0,"datagrams":5000}]}
JSON
run_labstat() { # the logs, then the reboot of c3, with ticks between
	{
		cat "$W/dnsmasq.log" "$W/httpd.log"
		echo TICK
		ack 32 52:54:00:00:00:03 10.33.0.103 pc03 pxe bios
		echo TICK
	} | busybox awk -v OUT="$W/http/status/lab.json" \
		-v SERVER="$W/http/status/dnbd-server.json" -f "$AP/labstat.awk"
}
run_labstat || fail "labstat.awk failed"
L=$W/http/status/lab.json
jq -e . "$L" >/dev/null || fail "lab.json is not JSON: $(cat "$L")"
c() { jq -r --arg m "$1" ".clients[] | select(.mac == \$m) | $2" "$L"; }
[[ $(jq '.clients | length' "$L") == 4 ]] || fail "not 4 clients: $(jq -c .clients "$L")"
[[ $(c 52:54:00:00:00:01 '[.ip, .hostname, .arch, .boots] | join(" ")') == "10.33.0.101 pc01 bios 1" ]] ||
	fail "c1: $(c 52:54:00:00:00:01 .)"
c 52:54:00:00:00:01 '.dhcp > 0 and .ipxe > 0 and .kernel > 0 and .initrd > 0 and .running > 0' | grep -qx true ||
	fail "c1 did not reach kernel, initrd and running: $(c 52:54:00:00:00:01 .)"
c 52:54:00:00:00:04 '.kernel > 0 and .initrd > 0 and .running == 0' | grep -qx true ||
	fail "c4 (kernel and initrd, no /booted) wrong: $(c 52:54:00:00:00:04 .)"
c 52:54:00:00:00:02 '.arch == "efi" and .ipxe > 0 and .kernel == 0' | grep -qx true ||
	fail "c2 (UEFI, kernel 404) wrong: $(c 52:54:00:00:00:02 .)"
c 52:54:00:00:00:03 '.boots == 2 and .kernel == 0 and .hostname == "pc03" and .ipxe == 0' | grep -qx true ||
	fail "c3's reboot not seen: $(c 52:54:00:00:00:03 .)"
jq -e '.server.server_id == 1 and (.server.clients | length) == 3' "$L" >/dev/null ||
	fail "dnbd-server's stats are not inside lab.json"
# The hostile host name, before the reboot renamed c3: escaped, still JSON.
{ cat "$W/dnsmasq.log"; echo TICK; } | busybox awk -v OUT="$W/h.json" \
	-v SERVER=/nonexistent -f "$AP/labstat.awk"
jq -e '.server == null and ([.clients[].hostname] | index("bad\"name\\")) != null' "$W/h.json" >/dev/null ||
	fail "a host name with a quote and a backslash: $(cat "$W/h.json")"
echo "ok: labstat.awk: 3 clients, stages, a reboot, a hostile name, garbage ignored"

# ---- 2. the page in headless Chromium ---------------------------------------
run_labstat	# fresh times: the server's entries are "now"
cp "$AP/lab.html" "$W/http/index.html"
cp "$AP/httpd.conf" "$W/httpd.conf"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" busybox httpd -f -p 127.0.0.1:80 -h "$W/http" -c "$W/httpd.conf" &
rc=0
ip netns exec "$NS" timeout 120 /usr/bin/python3 "$REPO/tests/tools/labpage.py" \
	http://127.0.0.1/ --expect 52:54:00:00:00:01 --timeout 60 \
	--dom "$W/dom.html" --screenshot "$W/page.png" >"$W/page.log" 2>&1 || rc=$?
cat "$W/page.log"
((rc == 0)) || fail "labpage.py: exit $rc"
row() { grep -o "<tr data-mac=\"$1\" data-ip=\"[^\"]*\" data-stage=\"[^\"]*\"" "$W/dom.html" | sed 's/.*data-stage="//; s/"$//'; }
[[ $(row 52:54:00:00:00:02) == iPXE ]] || fail "c2 shows '$(row 52:54:00:00:00:02)', not iPXE"
[[ $(row 52:54:00:00:00:03) == DHCP ]] || fail "c3 shows '$(row 52:54:00:00:00:03)', not DHCP"
[[ $(row 52:54:00:00:00:04) == "root bound" ]] || fail "c4 shows '$(row 52:54:00:00:00:04)', not root bound"
grep -q 'reads settled' "$W/dom.html" || fail "c4's settled reads are not shown"
grep -q 'data-mac="" data-ip="10.33.0.150" data-stage="root bound"' "$W/dom.html" ||
	fail "the server-only client 10.33.0.150 is not shown as root bound"
grep -q '<td>10.33.0.2</td>' "$W/dom.html" || fail "replica 10.33.0.2 not shown"
[[ -s "$W/page.png" ]] || fail "no screenshot"
echo "ok: the page shows c1 running, c2 at iPXE, c3 rebooting at DHCP, c4 bound and settled, a server-only client bound, the replica; no console errors"
