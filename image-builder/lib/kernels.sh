# shellcheck shell=bash
#
# image-builder/lib/kernels.sh - Debian kernels for images and QEMU tests.
#
# Client images and the QEMU guests boot Debian's own kernels (6.1 and the
# 6.12 of bookworm, and "newest": Debian sid's linux-image-amd64) without
# installing them: the linux-image package is downloaded and unpacked
# under build/vm/ (gitignored), once, and reused by every run:
#
#   build/vm/debs/                     the downloaded .deb files
#   build/vm/kernels/KVER/             dpkg -x of linux-image-KVER (and of
#                                      its linux-{base,binary,modules}-KVER
#                                      since 7.x), depmod'ed
#                                      (boot/vmlinuz-KVER, lib/modules/KVER)
#   build/vm/kernels/KVER.plain/       decompressed copies of .ko.xz modules
#   build/vm/apt-sid/                  a private apt configuration for sid
#                                      (sources.list, lists, cache): the
#                                      host's own apt sources are not touched
#
# ABI numbers are never written down: vmk_resolve asks apt for them.
# Modules for sid's kernels are built in a sid chroot (its gcc):
# scripts/sid-chroot.sh, which vmk_headers and scripts/build-kmod.sh call.
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

# vmk_mirror: the host's Debian mirror (the site of its first suite that
# is not -security), for other suites than the host's: labs use local
# mirrors and caching proxies.  deb.debian.org if apt names none.
vmk_mirror() {
	local m
	# shellcheck disable=SC2016 # apt's own $(FIELD) syntax
	m=$(apt-get indextargets --format '$(SITE) $(RELEASE)' \
		'Identifier: Packages' 2>/dev/null |
		awk '$2 !~ /-security$/ && $1 ~ /^(https?|file):/ { print $1; exit }')
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

VMK_SID_APT="$VMK_CACHE/apt-sid"

# vmk_sid_apt CMD ARG...: apt-get or apt-cache with the private sid
# configuration (sid's Release may be past its Valid-Until on a mirror).
vmk_sid_apt() {
	local cmd=$1
	shift
	"$cmd" -o Dir::Etc::sourcelist="$VMK_SID_APT/sources.list" \
		-o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$VMK_SID_APT/lists" \
		-o Dir::Cache="$VMK_SID_APT/cache" \
		-o Acquire::Check-Valid-Until=false -o Acquire::Languages=none \
		"$@"
}

# vmk_sid_update: sid's package lists, fetched when missing or older than
# a day (sid moves; an older list is used when the mirror is unreachable).
vmk_sid_update() {
	local fd rc=0
	mkdir -p "$VMK_SID_APT/lists/partial" "$VMK_SID_APT/cache/archives/partial"
	exec {fd}>"$VMK_SID_APT/.lock"
	flock -w 600 "$fd" || { exec {fd}>&-; vmk_log "sid apt lock busy"; return 1; }
	if [[ ! -f "$VMK_SID_APT/.updated" ||
		-n $(find "$VMK_SID_APT/.updated" -mmin +1440) ]]; then
		printf 'deb %s sid main\n' "$(vmk_mirror)" >"$VMK_SID_APT/sources.list"
		vmk_log "apt-get update (sid, private lists in $VMK_SID_APT)"
		if vmk_sid_apt apt-get update -qq >&2; then
			touch "$VMK_SID_APT/.updated"
		elif [[ -f "$VMK_SID_APT/.updated" ]]; then
			vmk_log "sid lists not refreshed: using the old ones"
		else
			rc=1
		fi
	fi
	exec {fd}>&-
	return "$rc"
}

# vmk_is_sid KVER: KVER is a kernel of the private sid lists that the
# host's own apt sources do not have.
vmk_is_sid() {
	[[ -f "$VMK_SID_APT/.updated" ]] || return 1
	! apt-cache show "linux-image-$1" >/dev/null 2>&1 &&
		vmk_sid_apt apt-cache show "linux-image-$1" >/dev/null 2>&1
}

# vmk_resolve FLAVOR: the kernel version apt installs for FLAVOR (6.1,
# 6.12, or newest: Debian sid's), read from the metapackage, e.g.
# 6.1.0-56-amd64, 7.2.13+deb14-amd64.
vmk_resolve() {
	local meta kver apt=()
	case "$1" in
	6.1) meta=linux-image-amd64 ;;
	6.12) meta=linux-image-6.12-amd64 ;;
	newest | sid)
		meta=linux-image-amd64
		apt=(vmk_sid_apt)
		vmk_sid_update || { vmk_log "cannot fetch sid's package lists"; return 1; } ;;
	*) vmk_log "unknown kernel flavor '$1' (6.1, 6.12 or newest)"; return 1 ;;
	esac
	kver=$("${apt[@]}" apt-cache depends "$meta" 2>/dev/null |
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
# Since 2026 (sid's 7.x) linux-image-KVER is an empty package whose
# dependencies hold the kernel (linux-binary-KVER, linux-modules-KVER,
# linux-base-KVER): every dependency named *-KVER is unpacked with it.
vmk_fetch_locked() {
	local kver=$1 dir=$2 pkg deb debs=() apt=()
	vmk_is_sid "$kver" && apt=(vmk_sid_apt)
	# shellcheck disable=SC2046 # one package name a line
	for pkg in "linux-image-$kver" $(vmk_kernel_parts "$kver" "${apt[@]}"); do
		deb=$(vmk_find_deb "$pkg")
		if [[ -z "$deb" ]]; then
			vmk_log "downloading $pkg"
			(cd "$VMK_CACHE/debs" && "${apt[@]}" apt-get download -q "$pkg") >&2 2>&1 ||
				{ ((${#apt[@]} == 0)) && apt-get update -qq >&2 &&
					(cd "$VMK_CACHE/debs" && apt-get download -q "$pkg") >&2 2>&1; } ||
				{ vmk_log "apt-get download $pkg failed"; return 1; }
			deb=$(vmk_find_deb "$pkg")
			[[ -n "$deb" ]] || { vmk_log "no .deb for $pkg"; return 1; }
		fi
		debs+=("$deb")
	done
	rm -rf "$dir" "$dir.tmp" "$dir.plain"
	for deb in "${debs[@]}"; do
		vmk_log "unpacking $(basename "$deb")"
		dpkg -x "$deb" "$dir.tmp"
	done
	# 7.x's packages have a merged /usr: usr/lib/modules/KVER/vmlinuz.
	# The tree gets the usual paths (lib -> usr/lib, boot/vmlinuz-KVER).
	[[ -e "$dir.tmp/lib" || ! -d "$dir.tmp/usr/lib/modules" ]] ||
		ln -s usr/lib "$dir.tmp/lib"
	if [[ ! -f "$dir.tmp/boot/vmlinuz-$kver" &&
		-f "$dir.tmp/lib/modules/$kver/vmlinuz" ]]; then
		mkdir -p "$dir.tmp/boot"
		ln "$dir.tmp/lib/modules/$kver/vmlinuz" "$dir.tmp/boot/vmlinuz-$kver"
	fi
	[[ -f "$dir.tmp/boot/vmlinuz-$kver" && -d "$dir.tmp/lib/modules/$kver" ]] ||
		{ vmk_log "${debs[*]} lack boot/vmlinuz-$kver or lib/modules/$kver"; return 1; }
	depmod -b "$dir.tmp" "$kver"
	touch "$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
}

# vmk_kernel_parts KVER [APT-WRAPPER]: the packages linux-image-KVER
# depends on whose names end in -KVER, one a line (none before 7.x).
vmk_kernel_parts() {
	local kver=$1
	shift
	"$@" apt-cache depends "linux-image-$kver" 2>/dev/null |
		awk -v suf="-$kver" '$1 ~ /^(Pre)?Depends:$/ &&
			substr($2, length($2) - length(suf) + 1) == suf { print $2 }' |
		sort -u
}

# vmk_find_deb PKG: the downloaded .deb of PKG, if any.
vmk_find_deb() {
	local f
	for f in "$VMK_CACHE/debs/${1}_"*.deb; do
		[[ -f "$f" ]] && { printf '%s\n' "$f"; return 0; }
	done
	return 0
}

# vmk_headers KVER: make sure /usr/src/linux-headers-KVER exists (to build
# out-of-tree modules against KVER); for a kernel of sid, in the sid
# chroot (scripts/sid-chroot.sh, created the first time).
vmk_headers() {
	[[ -d "/usr/src/linux-headers-$1" ]] && return 0
	if vmk_is_sid "$1"; then
		"$VMK_REPO/scripts/sid-chroot.sh" "$1" >/dev/null
		return
	fi
	vmk_log "installing linux-headers-$1"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "linux-headers-$1" >&2 ||
		{ apt-get update -qq >&2 && apt-get install -y -qq "linux-headers-$1" >&2; }
}
