#!/bin/bash
#
# scripts/install-deps.sh [demo|demo-net] - install the Debian packages the
# build and the tests need (make check and make image run it; make demo and
# make demo-net run it with their name).
#
# Checks with dpkg-query first, so a second run installs and prints nothing
# and takes well under a second.  Runs apt-get update only when an install
# fails (for instance on a fresh machine without package lists).
set -euo pipefail

# What the tests need: compiler and make, namespaces and veths (iproute2),
# packet loss (nftables), JSON (jq), pgrep/sysctl (procps), fuser/killall
# for debugging (psmisc), groff for the man page check (groff-base),
# coreutils' timeout and sha256sum.  The kernel driver and its VM tests:
# QEMU, a static busybox, cpio/xz/kmod for initramfs images, squashfs
# images, DKMS, and perl/binutils for checkpatch.  Kernel packages and
# headers are fetched by the tests themselves (image-builder/lib/kernels.sh),
# since their ABI version is resolved at run time.  The dracut module and
# the image builder: dracut-core and dracut-network (not the "dracut"
# package, which would replace initramfs-tools on the host), dhclient for
# the initramfs, dnsmasq for DHCP in the tests, cryptsetup/dmsetup for
# dm-verity, mkfs tools, mmdebstrap for the Debian root and for the sid
# chroot that builds dnbd.ko for the newest kernel (scripts/sid-chroot.sh:
# sid's headers need sid's gcc; util-linux's unshare and flock, essential,
# run it).  The appliance ISO: grub for BIOS and UEFI, xorriso and mtools
# (grub-mkrescue), Debian's iPXE binaries, OVMF for UEFI clients, FAT tools for the config disk, zstd.  The
# fuzzers in fuzz/ (tests/unit/t-fuzz.sh): clang-14, which brings libFuzzer
# and the sanitizer runtimes.  The metrics and the live lab page: a
# Prometheus parser (python3-prometheus-client: tests/net/t-metrics.sh,
# tests/unit/t-client-metrics.sh) and headless Chromium with
# its WebDriver (chromium, chromium-driver, python3-selenium).  The boot
# replay client bench/dnbd-replay, which every `make` builds, links libnbd
# (libnbd-dev); its test (tests/net/t-replay.sh) replays a trace from
# nbd-server and nbdkit too.
REQUIRED=(build-essential libnbd-dev iproute2 nftables jq procps psmisc coreutils groff-base
	qemu-system-x86 busybox-static cpio xz-utils kmod squashfs-tools dkms
	perl binutils clang-14
	dracut-core dracut-network isc-dhcp-client dnsmasq-base cryptsetup-bin
	dmsetup e2fsprogs erofs-utils mmdebstrap dash python3
	grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools ipxe ovmf
	dosfstools zstd
	python3-prometheus-client chromium chromium-driver python3-selenium
	nbd-server nbdkit)
OPTIONAL=(xxd)
if [[ "${1:-}" == demo-net ]]; then
	REQUIRED=(build-essential libnbd-dev iproute2 jq procps coreutils)
	OPTIONAL=()
elif [[ "${1:-}" == demo ]]; then
	# The appliance ISO, the Debian demo image and QEMU.
	REQUIRED=(build-essential libnbd-dev iproute2 jq procps psmisc coreutils
		qemu-system-x86 busybox-static cpio xz-utils kmod squashfs-tools
		dracut-core dracut-network isc-dhcp-client dnsmasq-base mmdebstrap
		python3 grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools
		ipxe ovmf dosfstools zstd)
	OPTIONAL=()
elif [[ $# -gt 0 ]]; then
	echo "usage: scripts/install-deps.sh [demo|demo-net]" >&2
	exit 2
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

# missing PKG...: the ones not installed yet.
missing() {
	local p
	for p in "$@"; do
		installed "$p" || printf '%s\n' "$p"
	done
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$@" >/dev/null
}

# install PKG...: quietly, with one apt-get update and a retry on failure.
install() {
	(($#)) || return 0
	echo "install-deps: installing $*"
	if ! apt_install "$@" 2>/dev/null; then
		echo "install-deps: apt-get update"
		apt-get update -qq >/dev/null
		apt_install "$@"
	fi
}

if [[ $EUID -ne 0 ]]; then
	need=$(missing "${REQUIRED[@]}" | tr '\n' ' ')
	[[ -z "$need" ]] && exit 0
	echo "install-deps: missing packages, and not root to install them:" \
		"$need" >&2
	exit 1
fi

mapfile -t need < <(missing "${REQUIRED[@]}")
install "${need[@]}"
mapfile -t want < <(missing "${OPTIONAL[@]}")
if ((${#want[@]})); then
	install "${want[@]}" || echo "install-deps: optional ${want[*]} not installed"
fi
