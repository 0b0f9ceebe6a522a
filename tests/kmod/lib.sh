# shellcheck shell=bash
#
# tests/kmod/lib.sh - the kernels the driver is built for, and verdicts.
# Headers come from Debian packages (installed when missing, as `make
# check` installs every dependency).

KM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/../../vm-tests/lib/kernels.sh
source "$KM_REPO/vm-tests/lib/kernels.sh"

info() { printf '%s\n' "$*"; }
pass() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

# km_kernels [DEFAULT]: the ABI versions of Debian's 6.1 and 6.12 kernels
# (or of DEFAULT's flavors, or of VM_KERNELS's), with their headers
# installed (sid's, for newest, in the sid chroot).
km_kernels() {
	local flavor kver
	for flavor in ${VM_KERNELS:-${1:-6.1 6.12}}; do
		kver=$(vmk_resolve "$flavor") || return 1
		vmk_headers "$kver" >&2 || return 1
		printf '%s\n' "$kver"
	done
}
