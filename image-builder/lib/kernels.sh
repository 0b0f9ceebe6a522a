# shellcheck shell=bash
#
# image-builder/lib/kernels.sh - Debian kernels for images and QEMU tests.
#
# Client images and the QEMU guests boot Debian's own kernels (6.1 and the 6.12 of bookworm)
# without installing them: the linux-image package is downloaded and
# unpacked under build/vm/ (gitignored), once, and reused by every run:
#
#   build/vm/debs/                     the downloaded .deb files
#   build/vm/kernels/KVER/             dpkg -x of linux-image-KVER, depmod'ed
#                                      (boot/vmlinuz-KVER, lib/modules/KVER)
#   build/vm/kernels/KVER.plain/       decompressed copies of .ko.xz modules
#
# ABI numbers are never written down: vmk_resolve asks apt for them.
# Functions print progress on stderr and return non-zero on failure.

[[ -n "${VMK_LOADED:-}" ]] && return 0
VMK_LOADED=1

VMK_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMK_CACHE="$VMK_REPO/build/vm"

# vmk_log MSG...: progress on stderr.
vmk_log() { printf 'vm: %s\n' "$*" >&2; }

# vmk_need_pkgs PKG...: install the Debian packages that are missing
# (one apt-get update first, only when something must be installed).
vmk_need_pkgs() {
	local pkg missing=()
	for pkg in "$@"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) == ii* ]] ||
			missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	vmk_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || true
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# vmk_resolve FLAVOR: the kernel version apt installs for FLAVOR (6.1 or
# 6.12), read from the metapackage, e.g. 6.1.0-56-amd64.
vmk_resolve() {
	local meta kver
	case "$1" in
	6.1) meta=linux-image-amd64 ;;
	6.12) meta=linux-image-6.12-amd64 ;;
	*) vmk_log "unknown kernel flavor '$1' (6.1 or 6.12)"; return 1 ;;
	esac
	kver=$(apt-cache depends "$meta" 2>/dev/null |
		awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-/ {
			sub(/^linux-image-/, "", $2); print $2; exit }')
	if [[ -z "$kver" ]]; then
		vmk_log "apt-cache depends $meta names no kernel (apt-get update?)"
		return 1
	fi
	printf '%s\n' "$kver"
}

# vmk_root KVER: the directory holding the unpacked package.
vmk_root() { printf '%s\n' "$VMK_CACHE/kernels/$1"; }

# vmk_vmlinuz KVER: the path of the kernel image.
vmk_vmlinuz() { printf '%s\n' "$VMK_CACHE/kernels/$1/boot/vmlinuz-$1"; }

# vmk_moddir KVER: the path of the kernel's module tree.
vmk_moddir() { printf '%s\n' "$VMK_CACHE/kernels/$1/lib/modules/$1"; }

# vmk_fetch KVER: make sure build/vm/kernels/KVER holds the unpacked,
# depmod'ed linux-image-KVER.  Idempotent; a lock serialises parallel runs.
vmk_fetch() {
	local kver=$1 dir fd rc=0
	dir=$(vmk_root "$kver")
	[[ -f "$dir/.complete" ]] && return 0
	mkdir -p "$VMK_CACHE/debs" "$VMK_CACHE/kernels"
	exec {fd}>"$VMK_CACHE/.lock"
	flock -w 600 "$fd" || { exec {fd}>&-; vmk_log "cache lock busy"; return 1; }
	[[ -f "$dir/.complete" ]] || vmk_fetch_locked "$kver" "$dir" || rc=$?
	exec {fd}>&-
	return "$rc"
}

# vmk_fetch_locked KVER DIR: download and unpack (caller holds the lock).
vmk_fetch_locked() {
	local kver=$1 dir=$2 pkg="linux-image-$1" deb
	deb=$(vmk_find_deb "$kver")
	if [[ -z "$deb" ]]; then
		vmk_log "downloading $pkg"
		(cd "$VMK_CACHE/debs" && apt-get download -q "$pkg") >&2 2>&1 ||
			{ apt-get update -qq >&2 &&
				(cd "$VMK_CACHE/debs" && apt-get download -q "$pkg") >&2 2>&1; } ||
			{ vmk_log "apt-get download $pkg failed"; return 1; }
		deb=$(vmk_find_deb "$kver")
		[[ -n "$deb" ]] || { vmk_log "no .deb for $pkg"; return 1; }
	fi
	vmk_log "unpacking $(basename "$deb")"
	rm -rf "$dir" "$dir.tmp" "$dir.plain"
	dpkg -x "$deb" "$dir.tmp"
	[[ -f "$dir.tmp/boot/vmlinuz-$kver" && -d "$dir.tmp/lib/modules/$kver" ]] ||
		{ vmk_log "$deb lacks boot/vmlinuz-$kver or lib/modules/$kver"; return 1; }
	depmod -b "$dir.tmp" "$kver"
	touch "$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
}

# vmk_find_deb KVER: the downloaded .deb of linux-image-KVER, if any.
vmk_find_deb() {
	local f
	for f in "$VMK_CACHE/debs/linux-image-${1}_"*.deb; do
		[[ -f "$f" ]] && { printf '%s\n' "$f"; return 0; }
	done
	return 0
}

# vmk_headers KVER: make sure /usr/src/linux-headers-KVER exists (to build
# out-of-tree modules against KVER).
vmk_headers() {
	[[ -d "/usr/src/linux-headers-$1" ]] && return 0
	vmk_log "installing linux-headers-$1"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "linux-headers-$1" >&2 ||
		{ apt-get update -qq >&2 && apt-get install -y -qq "linux-headers-$1" >&2; }
}
