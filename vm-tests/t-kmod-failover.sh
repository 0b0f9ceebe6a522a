#!/bin/bash
#
# t-kmod-failover: a VM reads a 64 MiB image through dnbd.ko from two
# rate-limited replicas; once data flows, the replica sending the most is
# killed with SIGKILL.  The read must complete from the other, with the
# exact bytes, on each kernel (Debian's 6.1 and 6.12).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dnbd.sh
source "$(dirname "$0")/lib/dnbd.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.1
SIZE_MIB=64
RATE=6M		# two replicas need 5 s or more for 64 MiB

net_init
W=$NET_WORK
dnbd_vm_require
net_setup_bridge
net_add_host srv1 10.77.0.11
net_add_host srv2 10.77.0.12

make_image "$W/disk.img" "$SIZE_MIB"
sha=$(sha_of "$W/disk.img")

declare -A srv_pid
start_server() {
	rm -f "$W/srv$1.json"
	net_bg "srv$1" "$W/srv$1-$2.log" "$DNBD_SERVER" -m "$GROUP" \
		-d "$W/disk.img" -i "$1" --rate "$RATE" --stats "$W/srv$1.json"
	srv_pid[$1]=$NET_LAST_PID
	wait_for 30 json_ready "$W/srv$1.json" || fail "server $1 did not start"
}
segs() { json_num "$W/srv$1.json" '.counters.segments_sent'; }

while read -r flavor; do
	kver=$(vmk_resolve "$flavor") || fail "cannot resolve kernel $flavor"
	name="fo${flavor//./}"
	for i in 1 2; do
		pid_alive "${srv_pid[$i]:-0}" || start_server "$i" "$name"
	done
	dnbd_vm_initrd "$kver" "$W/$name.img" t-kmod-read.sh
	vm_start "$name" "$kver" "$W/$name.img" 10.77.0.21/24 \
		"vmt.group=$GROUP vmt.sha=$sha"
	base1=$(segs 1) base2=$(segs 2)
	flowing() { (($(segs 1) + $(segs 2) > base1 + base2 + 2000)); }
	wait_for 120 flowing || fail "$kver: no data flowed within 120 s"
	a1=$(segs 1) a2=$(segs 2)
	sleep 1.5
	d1=$(($(segs 1) - a1)) d2=$(($(segs 2) - a2))
	if ((d1 >= d2)); then victim=1; else victim=2; fi
	info "$kver: segments sent over 1.5 s: server 1 +$d1, server 2 +$d2;" \
		"killing server $victim"
	kill -KILL "${srv_pid[$victim]}"
	wait "${srv_pid[$victim]}" 2>/dev/null || true
	killed_at=$EPOCHREALTIME
	rc=0
	vm_wait "$name" 600 || rc=$?
	vm_output "$name" | grep '^guest: '
	((rc == 0)) || fail "$kver: the read did not complete after the kill ($(vm_rc_text "$rc"))"
	vm_output "$name" | grep -q "^$((3 - victim)) .* up " ||
		fail "$kver: the surviving replica is not up at the end"
	vm_check_dmesg "$name" || fail "$kver: oops or warning in the guest"
	pass "$kver: read completed from the surviving replica $(elapsed_since "$killed_at") s after the kill"
	vm_stop "$name"
done < <(dnbd_kernels)
check_sanitizer_logs "$W"
