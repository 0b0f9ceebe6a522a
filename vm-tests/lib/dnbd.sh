# shellcheck shell=bash
#
# vm-tests/lib/dnbd.sh - dnbd in the QEMU guests: the driver built for the
# guest's kernel, the static dnbd-client, and the guest-side helpers.
#
#   dnbd_vm_require                 packages and userspace builds
#   dnbd_vm_initrd KVER OUT SCRIPT [MODULE...]
#       an initramfs for KVER whose /test.sh is vm-tests/guest/SCRIPT,
#       with /lib/dnbd.ko, /bin/dnbd-client, /bin/dnbd-cat and
#       /lib/dnbd-guest.sh (fail, ok, counter, sha_is...); the modules
#       dnbd.ko depends on (libcrc32c, ...) are loaded by /init, so
#       SCRIPT's own insmod of /lib/dnbd.ko finds their symbols

# shellcheck source=SCRIPTDIR/vm.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm.sh"

DNBD_VM_GUEST=$NET_REPO/vm-tests/guest
DNBD_STATIC=$NET_REPO/build/static/bin

# dnbd_vm_require: the test packages, the host's servers, the static tools.
dnbd_vm_require() {
	vm_require
	vmk_need_pkgs squashfs-tools jq make gcc libc6-dev ||
		fail "could not install squashfs-tools, jq or the compiler"
	[[ -x "$DNBD_SERVER" ]] || fail "$DNBD_SERVER missing: run make"
	if ! make -s -C "$NET_REPO" static >"$NET_WORK/make-static.log" 2>&1; then
		cat "$NET_WORK/make-static.log"
		fail "make static failed"
	fi
}

# dnbd_vm_kmod KVER: build dnbd.ko for KVER (headers installed when
# missing); sets DNBD_KO.  No output on success (fail must not run in $()).
DNBD_KO=""
dnbd_vm_kmod() {
	local kver=$1 log
	log="$NET_WORK/kmod-$kver.log"
	vmk_headers "$kver" || fail "no headers for $kver"
	DNBD_KO=$("$NET_REPO/scripts/build-kmod.sh" "$kver" 2>"$log") || {
		cat "$log"
		fail "dnbd.ko does not build for $kver"
	}
}

# dnbd_vm_initrd KVER OUT SCRIPT [MODULE...]: see the top of the file.
# DNBD_VM_EXTRA_FILES adds "host:guest" pairs (VMI_FILES syntax).
dnbd_vm_initrd() {
	local kver=$1 out=$2 script=$3 deps
	shift 3
	dnbd_vm_kmod "$kver"
	deps=$(vmi_ko_depends "$DNBD_KO") || fail "modinfo $DNBD_KO"
	# shellcheck disable=SC2086 # one module name a line
	set -- "$@" $deps
	VMI_FILES="$DNBD_VM_GUEST/$script:/test.sh
$DNBD_VM_GUEST/lib.sh:/lib/dnbd-guest.sh
$DNBD_KO:/lib/dnbd.ko
$DNBD_STATIC/dnbd-client:/bin/dnbd-client
$DNBD_STATIC/dnbd-cat:/bin/dnbd-cat
${DNBD_VM_EXTRA_FILES:-}" vmi_build "$kver" "$out" "$@" ||
		fail "initramfs for $kver"
}

# dnbd_kernels [DEFAULT]: the kernels to test, one flavor a line:
# VM_KERNELS="6.12" to pick, else DEFAULT, else "6.1 6.12".  Flavors are
# vmk_resolve's: 6.1, 6.12, newest (Debian sid's kernel).
dnbd_kernels() {
	local k
	for k in ${VM_KERNELS:-${1:-6.1 6.12}}; do
		printf '%s\n' "$k"
	done
}
