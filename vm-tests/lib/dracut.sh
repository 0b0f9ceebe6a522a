# shellcheck shell=bash
#
# vm-tests/lib/dracut.sh - client VMs that boot the way a lab does: Debian
# kernel + dracut initramfs with the 90dnbd module (built by
# image-builder/dnbd-mkimage), root from dnbd-server on the test LAN,
# addresses from dnsmasq.
#
#   dr_require                     packages, userspace builds
#   dr_initrd KVER systemd|plain   sets DR_INITRD: a cached initramfs
#   dr_test_tree DIR               busybox root with the test's rc.local
#                                  (vm-tests/guest/root-check.sh) and
#                                  /data/random.bin
#   dr_image TREE OUTDIR NAME [mkimage options]   the image of TREE
#   dr_dhcp ROOTPATH               dnsmasq on host "srv" (DHCP, root-path)
#   dr_boot NAME KVER systemd|plain APPEND [QEMU_ARG...]
#   dr_serve GROUP ROOTPATH NAME...  dnbd-server (+ DR_SERVER_ARGS) and
#                                  dnsmasq on "srv"
#
# Initramfs images take ~30 s of dracut each, so they are cached in
# build/vm/dracut/, keyed by the module, the driver and dnbd-client.

# shellcheck source=SCRIPTDIR/dnbd.sh
source "$(dirname "${BASH_SOURCE[0]}")/dnbd.sh"

DR_MKIMAGE=$NET_REPO/image-builder/dnbd-mkimage
DR_CACHE=$NET_REPO/build/vm/dracut
DR_SERVER_IP=10.77.0.11

dr_require() {
	dnbd_vm_require
	vmk_need_pkgs dracut-core dracut-network isc-dhcp-client dnsmasq-base \
		cryptsetup-bin dmsetup squashfs-tools e2fsprogs ||
		fail "could not install dracut, dnsmasq or cryptsetup"
	make -s -C "$NET_REPO" build/bin/dnbd-client >/dev/null ||
		fail "cannot build dnbd-client"
}

# dr_key KVER VARIANT: what the cached initramfs depends on.
dr_key() {
	{
		printf '%s %s\n' "$1" "$2"
		cat "$NET_REPO"/dracut-module/90dnbd/* "$NET_REPO"/kmod/*.[ch] \
			"$NET_REPO"/proto/*.[ch] "$NET_REPO/build/bin/dnbd-client" \
			"$DR_MKIMAGE"
	} | sha256sum | cut -c1-16
}

# dr_initrd KVER systemd|plain: DR_INITRD (cached; built when missing).
DR_INITRD=""
dr_initrd() {
	local kver=$1 variant=$2 key out args=()
	key=$(dr_key "$kver" "$variant")
	out="$DR_CACHE/$kver-$variant-$key"
	DR_INITRD="$out/dnbd-boot.initrd"
	[[ -f "$DR_INITRD" ]] && return 0
	[[ "$variant" == plain ]] && args+=(--no-systemd)
	info "dracut initramfs for $kver ($variant), about 30 s"
	rm -rf "$DR_CACHE/$kver-$variant-"*
	"$DR_MKIMAGE" --no-image --kernel "$kver" "${args[@]}" "$out" \
		>"$NET_WORK/mkimage-$kver-$variant.log" 2>&1 || {
		tail -n 30 "$NET_WORK/mkimage-$kver-$variant.log"
		fail "dnbd-mkimage --no-image for $kver ($variant) failed"
	}
	[[ -f "$DR_INITRD" ]] || fail "no $DR_INITRD"
}

# dr_test_tree DIR: the busybox test root.
dr_test_tree() {
	local d=$1
	"$NET_REPO/image-builder/roots/busybox.sh" "$d" 2>/dev/null ||
		fail "busybox root"
	install -m 755 "$DNBD_VM_GUEST/root-check.sh" "$d/etc/rc.local"
	mkdir -p "$d/lib" "$d/data"
	install -m 644 "$DNBD_VM_GUEST/lib.sh" "$d/lib/dnbd-guest.sh"
	head -c 1048576 /dev/urandom >"$d/data/random.bin"
	sha_of "$d/data/random.bin" >"$d/data/random.sha256"
}

# dr_image TREE OUTDIR NAME [OPTION...]: NAME.img (+ .cmdline, .verity).
dr_image() {
	local tree=$1 out=$2 name=$3
	shift 3
	"$DR_MKIMAGE" --root "$tree" --name "$name" --no-initrd "$@" "$out" \
		>"$NET_WORK/mkimage-$name.log" 2>&1 || {
		cat "$NET_WORK/mkimage-$name.log"
		fail "dnbd-mkimage of $name failed"
	}
}

# dr_dhcp ROOTPATH: dnsmasq on srv, leases 10.77.0.100-199; every client
# gets ROOTPATH as root-path (only root=dhcp/netroot=dhcp clients use it).
dr_dhcp() {
	net_bg srv "$NET_WORK/dnsmasq.log" dnsmasq --no-daemon --conf-file=/dev/null \
		--user=root --port=0 --interface=eth0 --bind-interfaces \
		--dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h \
		--dhcp-leasefile="$NET_WORK/dnsmasq.leases" \
		--dhcp-option="option:root-path,dnbd:$1"
	DR_DNSMASQ_PID=$NET_LAST_PID
	sleep 0.5
	pid_alive "$DR_DNSMASQ_PID" || { cat "$NET_WORK/dnsmasq.log"; fail "dnsmasq did not start"; }
}

# dr_boot NAME KVER systemd|plain APPEND [QEMU_ARG...]: boot a dracut
# client; its root's rc.local prints VMTEST-EXIT (vm_wait collects it).
dr_boot() {
	local name=$1 kver=$2 variant=$3 append=$4
	shift 4
	dr_initrd "$kver" "$variant"
	vm_launch "$name" "$(vmk_vmlinuz "$kver")" "$DR_INITRD" \
		"console=ttyS0 panic=-1 loglevel=5 rd.retry=300 rd.shell=0 rd.emergency=reboot dnbdtest.initrd=$variant $append" "$@"
}

# dr_show NAME...: the guests' check lines ("guest: ok: ...", "guest:
# FAIL: ...") from their consoles, prefixed with the guest's name.
dr_show() {
	local n
	for n in "$@"; do
		vm_log "$n" | grep -aoE 'guest: .*' | sed "s/^/$n: /" || true
	done
}

# dr_lan: the work directory ($W), the packages, the test LAN and host
# "srv" (where dnbd-server and dnsmasq run).
dr_lan() {
	net_init
	W=$NET_WORK
	dr_require
	net_setup_bridge
	net_add_host srv "$DR_SERVER_IP"
}

# dr_serve GROUP ROOTPATH NAME...: dnbd-server on srv exporting
# $W/NAME.img as NAME (groups GROUP, GROUP+1, ... in that order), and
# dnsmasq handing out ROOTPATH (after "dnbd:") as the root-path.  The
# array DR_SERVER_ARGS adds options to dnbd-server's command line (e.g.
# --trace FILE, bench/record-trace.sh); DR_SERVER_PID is its pid.
DR_SERVER_ARGS=()
DR_SERVER_PID=""
dr_serve() {
	local group=$1 rootpath=$2 n args=()
	shift 2
	for n in "$@"; do
		args+=(-d "$W/$n.img,name=$n")
	done
	net_bg srv "$W/srv.log" "$DNBD_SERVER" -m "$group" -i 1 "${args[@]}" \
		--stats "$W/srv.json" "${DR_SERVER_ARGS[@]}"
	# shellcheck disable=SC2034 # the callers use it
	DR_SERVER_PID=$NET_LAST_PID
	wait_for 30 json_ready "$W/srv.json" || fail "the server did not start"
	dr_dhcp "$rootpath"
}

# dr_wait TIMEOUT WHAT NAME...: wait for the clients, show their check
# lines, and fail ("WHAT failed") unless every one passed, powered off
# through its init and left no oops or warning in its kernel log.
dr_wait() {
	local timeout=$1 what=$2 rc=0 n
	shift 2
	vm_wait_all "$timeout" "$@" || rc=$?
	dr_show "$@"
	((rc == 0)) || fail "$what failed ($(vm_rc_text "$rc"))"
	for n in "$@"; do
		vm_check_dmesg "$n" || fail "oops or warning in $n's kernel log"
		vm_log "$n" | grep -q 'reboot: Power down' ||
			fail "$n did not power off cleanly"
		info "$n: passed and powered off after ${VM_SECS[$n]} s"
	done
}
