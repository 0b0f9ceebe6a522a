#!/bin/bash
#
# t-dkms: kmod/dkms.conf works: `dkms build` and `dkms install` of the
# tree `make dkms-install` puts in /usr/src, for Debian's 6.1 kernel, in
# private DKMS, source and install trees (the system's are not touched).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

vmk_need_pkgs dkms || fail "cannot install dkms"
kver=$(VM_KERNELS=6.1 km_kernels) || fail "cannot resolve the 6.1 kernel"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$KM_REPO/kmod/dkms.conf")
[[ -n "$version" ]] || fail "no PACKAGE_VERSION in kmod/dkms.conf"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$KM_REPO/scripts/kmod-tree.sh" "$T/src/dnbd-$version"
mkdir -p "$T/dkms" "$T/inst/$kver"
dk=(--sourcetree "$T/src" --dkmstree "$T/dkms" --installtree "$T/inst"
	-m dnbd -v "$version" -k "$kver")
dkms build "${dk[@]}" >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "dkms build"; }
dkms install --no-depmod "${dk[@]}" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "dkms install"; }
ko=$(find "$T/inst/$kver" -name 'dnbd.ko*' | head -n 1)
[[ -n "$ko" ]] || fail "dkms install left no dnbd.ko in the install tree"
modinfo "$ko" | grep -q "^vermagic: *$kver " || fail "the DKMS module is for another kernel"
pass "dkms build and install of dnbd/$version for $kver: ${ko#"$T"/inst/}"
