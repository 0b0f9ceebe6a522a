#!/bin/bash
#
# t-boot: the VM harness works.  For each kernel (Debian's 6.1 and 6.12;
# VM_KERNELS="6.12" picks some), one guest on the test LAN
#   - boots the busybox initramfs with e1000, squashfs and loop,
#   - finds a file passed in through VMI_FILES, with the right content,
#   - sees squashfs in /proc/filesystems and loop loaded, runs KVER,
#   - pings the host namespace "srv" (10.77.0.11) over the bridge,
# and "srv" then knows the guest's MAC.  Then two guests run at once (one
# per kernel) and ping srv and each other.  Any failure fails the test.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/vm.sh
source "$(dirname "$0")/lib/vm.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

SRV_IP=10.77.0.11
VM_IP=10.77.0.21
PAIR_IPS=(10.77.0.31 10.77.0.32)
BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-180}

vm_require
net_init
W=$NET_WORK
net_setup_bridge
net_add_host srv "$SRV_IP"

# guest_checks KVER TOKEN: the guest's checks of kernel, files, modules.
guest_checks() {
	cat <<GUEST
#!/bin/sh
set -e
check() { echo "guest: \$*"; }
[ "\$(uname -r)" = "$1" ] || { echo "guest: runs \$(uname -r), not $1"; exit 1; }
check "kernel \$(uname -r)"
[ "\$(cat /etc/vmt-token)" = "$2" ] || { echo "guest: token missing/wrong"; exit 1; }
check "VMI_FILES token present"
grep -qw squashfs /proc/filesystems || { echo "guest: no squashfs"; exit 1; }
grep -q '^loop ' /proc/modules || { echo "guest: loop not loaded"; exit 1; }
check "squashfs and loop loaded"
ip -4 addr show dev eth0
ip route | grep -q '^224.0.0.0/4 dev eth0' || { echo "guest: no multicast route"; exit 1; }
GUEST
}

# guest_script KVER TOKEN: the guest's /test.sh: the checks, then a ping
# of srv; exits non-zero on the first check that fails.
guest_script() {
	guest_checks "$1" "$2"
	cat <<'GUEST'
ping -c 3 -W 2 "$VMT_SRV" || { echo "guest: ping $VMT_SRV failed"; exit 1; }
check "ping $VMT_SRV ok"
GUEST
}

# pair_script KVER TOKEN: /test.sh of the two-guest run: the checks, then
# ping srv and the peer guest (vmt.peer), which may still be booting (30 s).
pair_script() {
	guest_checks "$1" "$2"
	cat <<'GUEST'
ping -c 1 -W 2 "$VMT_SRV" || { echo "guest: ping $VMT_SRV failed"; exit 1; }
i=0
until ping -c 1 -W 1 "$VMT_PEER" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 30 ] || { echo "guest: peer $VMT_PEER never answered"; exit 1; }
done
check "ping $VMT_SRV and peer $VMT_PEER ok"
# The peer must still answer when it pings us: stay up a little.
sleep 3
GUEST
}

# build_initrd FLAVOR NAME SCRIPTFN: set KVER to FLAVOR's kernel and build
# $W/initrd-NAME.img, whose /test.sh SCRIPTFN writes.  (No output: fail
# must not run in a $(...) subshell.)
KVER=""
build_initrd() {
	local flavor=$1 name=$2 fn=$3 kver token
	kver=$(vmk_resolve "$flavor") || fail "cannot resolve kernel $flavor"
	vmk_fetch "$kver" || fail "cannot fetch kernel $kver"
	token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s\n' "$token" >"$W/token-$name"
	"$fn" "$kver" "$token" >"$W/test-$name.sh"
	chmod +x "$W/test-$name.sh"
	VMI_FILES="$W/test-$name.sh:/test.sh $W/token-$name:/etc/vmt-token" \
		vmi_build "$kver" "$W/initrd-$name.img" squashfs loop ||
		fail "initramfs for $kver"
	KVER=$kver
}

# boot_one FLAVOR: one guest on kernel FLAVOR; fails the test on any error.
boot_one() {
	local flavor=$1 kver name rc=0 start secs mac
	name="boot${flavor//./}"
	start=$EPOCHREALTIME
	build_initrd "$flavor" "$name" guest_script
	kver=$KVER
	info "$kver: kernel and initramfs ready in $(elapsed_since "$start") s"
	start=$EPOCHREALTIME
	vm_start "$name" "$kver" "$W/initrd-$name.img" "$VM_IP/24" "vmt.srv=$SRV_IP"
	vm_wait "$name" "$BOOT_TIMEOUT" || rc=$?
	secs=$(elapsed_since "$start")
	((rc == 0)) || fail "$kver: guest test exited $rc after $secs s"
	vm_output "$name" | grep -q '^guest: ping .* ok$' ||
		fail "$kver: the guest's output lacks the ping line"
	vm_dmesg "$name" | grep -q 'e1000' ||
		fail "$kver: the guest's kernel log lacks e1000"
	vm_check_dmesg "$name" || fail "$kver: kernel problems in the guest"
	mac=$(ip -n "$(net_ns srv)" neigh show "$VM_IP" | awk '{print $5}')
	[[ -n "$mac" && "$mac" == 52:54:00:77:* ]] ||
		fail "$kver: srv has no neighbour entry for $VM_IP ('$mac')"
	pass "$kver: booted, module and file checks, ping srv; boot to power-off $secs s"
	vm_stop "$name"
	ip -n "$(net_ns srv)" neigh flush dev eth0
}

# boot_pair FLAVOR1 FLAVOR2: two guests at once that ping each other.
boot_pair() {
	local i kver names=(pair1 pair2) flavors=("$1" "$2") start rc=0
	for i in 0 1; do
		build_initrd "${flavors[i]}" "${names[i]}" pair_script
		kver=$KVER
		vm_start "${names[i]}" "$kver" "$W/initrd-${names[i]}.img" \
			"${PAIR_IPS[i]}/24" \
			"vmt.srv=$SRV_IP vmt.peer=${PAIR_IPS[1 - i]}"
	done
	start=$EPOCHREALTIME
	vm_wait_all "$BOOT_TIMEOUT" "${names[@]}" || rc=$?
	((rc == 0)) || fail "two guests at once: exit $rc"
	for i in 0 1; do
		vm_check_dmesg "${names[i]}" || fail "kernel problems in ${names[i]}"
	done
	pass "two guests ($1, $2) at once pinged srv and each other ($(elapsed_since "$start") s)"
}

read -ra kernels <<<"${VM_KERNELS:-6.1 6.12}"
for flavor in "${kernels[@]}"; do
	boot_one "$flavor"
done
boot_pair "${kernels[0]}" "${kernels[-1]}"
