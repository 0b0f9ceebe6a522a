#!/bin/bash
#
# t-build: dnbd.ko builds for Debian's 6.1 and 6.12 kernels and for the
# newest (Debian sid's, built in the sid chroot of scripts/sid-chroot.sh)
# with no compiler warning at all (warnings are errors here), and modinfo
# shows the parameters and the license the kernel needs to load it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

mapfile -t kvers < <(km_kernels "6.1 6.12 newest") || fail "cannot resolve the kernels"
((${#kvers[@]})) || fail "no kernel to build for"
for kver in "${kvers[@]}"; do
	log=$(mktemp)
	if ! KCFLAGS=-Werror "$KM_REPO/scripts/build-kmod.sh" "$kver" >"$log" 2>&1; then
		cat "$log"
		fail "$kver: dnbd.ko does not build"
	fi
	ko=$(tail -n 1 "$log")
	grep -i 'warning' "$log" | grep -v 'BTF' && fail "$kver: warnings"
	rm -f "$log"
	info=$(modinfo "$ko")
	grep -q '^license: *GPL$' <<<"$info" || fail "$kver: no GPL license"
	grep -q "^vermagic: *$kver " <<<"$info" || fail "$kver: wrong vermagic"
	# root...overlay: the initramfs's dnbd.* parameters, accepted quietly.
	for p in nr_devices queue_depth root verity cache overlay; do
		grep -q "^parm: *$p:" <<<"$info" || fail "$kver: no parameter $p"
	done
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
	grep -q "^version: *$ver$" <<<"$info" ||
		fail "$kver: module version $(grep '^version:' <<<"$info") is not dkms.conf's $ver"
	pass "$kver: $(basename "$ko") built without warnings ($(stat -c %s "$ko") bytes)"
done
