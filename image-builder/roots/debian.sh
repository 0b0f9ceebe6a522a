#!/bin/bash
#
# image-builder/roots/debian.sh - build a Debian root filesystem tree for
# diskless dnbd lab clients, with mmdebstrap.
#
#   image-builder/roots/debian.sh [--suite bookworm] [--mirror URL]
#       [--include PKG,PKG...] [--cache DIR] OUTDIR
#
#   --suite SUITE    Debian suite (default: bookworm)
#   --mirror URL     Debian mirror (default: http://deb.debian.org/debian);
#                    SUITE-updates comes from it too, SUITE-security from
#                    http://deb.debian.org/debian-security (not for sid)
#   --include LIST   more packages, comma separated, added to the defaults
#   --cache DIR      .deb cache kept between runs
#                    (default: <repo>/build/cache/debs-SUITE)
#   OUTDIR           the tree to create; must not exist or be empty
#
# Needs root (mmdebstrap --mode=root) and the mmdebstrap package.  Exit
# status: 0 done, 1 build failed, 2 usage error.  Progress goes to stderr
# as "debian-root: ..." lines; mmdebstrap's own output goes to
# OUTDIR.mmdebstrap.log next to OUTDIR (its tail is shown on failure).
#
# The tree becomes a read-only squashfs that clients mount over the network
# with a tmpfs overlay on top; a dracut initramfs has already configured the
# network (DHCP) before switch_root.  Therefore the tree has no kernel (added
# later by another script), no root entry in /etc/fstab, an empty
# /etc/machine-id (systemd makes a transient one at boot), and nothing that
# manages the network: no ifupdown or NetworkManager, systemd-networkd
# masked, because downing or reconfiguring the boot interface kills root.
#
# SECURITY: this is a lab demo image.  Root's password is locked, but root
# is logged in AUTOMATICALLY on the serial console ttyS0 and on tty1
# (drop-ins in /etc/systemd/system/{serial-getty@ttyS0,getty@tty1}.service.d/).
# Anyone at the console or serial line is root.  Admins should delete those
# drop-ins and set up real accounts or keys before using this elsewhere.

set -euo pipefail

readonly DEFAULT_MIRROR=http://deb.debian.org/debian
readonly SECURITY_MIRROR=http://deb.debian.org/debian-security
readonly HOSTNAME_=dnbd-client
readonly MERGED_USR_HOOKS=/usr/share/mmdebstrap/hooks/maybe-merged-usr
# Added to mmdebstrap's minbase variant (Essential + Priority:required + apt).
readonly BASE_PKGS=(systemd-sysv udev kmod dbus libpam-systemd login passwd
	iproute2 iputils-ping netbase procps less nano)
# Units that make no sense on a diskless overlay root, or that would manage
# the boot interface.  Masked if the tree has them.
readonly MASK_UNITS=(apt-daily.timer apt-daily-upgrade.timer
	e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer
	man-db.timer logrotate.timer
	systemd-networkd.service systemd-networkd.socket
	systemd-networkd-wait-online.service
	networking.service NetworkManager.service)
# Kept out of the tree by dpkg (also for packages installed later).
readonly DPKG_OPTS=(
	'path-exclude=/usr/share/man/*'
	'path-exclude=/usr/share/info/*'
	'path-exclude=/usr/share/locale/*'
	'path-include=/usr/share/locale/locale.alias'
	'path-exclude=/usr/share/doc/*'
	'path-include=/usr/share/doc/*/copyright'
	'path-exclude=/usr/share/lintian/*'
	'path-exclude=/usr/share/linda/*'
)

suite=bookworm
mirror=$DEFAULT_MIRROR
extra_pkgs=
cache=
outdir=

say() { printf 'debian-root: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	[[ $# -eq 0 ]] || say "$*"
	printf 'usage: %s [--suite bookworm] [--mirror URL] [--include PKG,PKG...]\n' "$0" >&2
	printf '       [--cache DIR] OUTDIR    (--help for more)\n' >&2
	exit 2
}

# parse_args ARG...: set suite, mirror, extra_pkgs, cache, outdir.
parse_args() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		-h | --help) sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
		--suite | --mirror | --include | --cache)
			[[ $# -ge 2 && -n $2 ]] || usage "$1 needs a value"
			set_opt "${1#--}" "$2"
			shift 2 ;;
		--suite=* | --mirror=* | --include=* | --cache=*)
			local kv=${1#--}
			set_opt "${kv%%=*}" "${kv#*=}"
			shift ;;
		--) shift; break ;;
		-*) usage "unknown option: $1" ;;
		*) break ;;
		esac
	done
	[[ $# -eq 1 && -n $1 ]] || usage "need exactly one OUTDIR"
	outdir=$1
}

set_opt() {
	[[ -n $2 ]] || usage "--$1 needs a value"
	case $1 in
	suite) suite=$2 ;;
	mirror) mirror=${2%/} ;;
	include) extra_pkgs+=${extra_pkgs:+,}$2 ;;
	cache) cache=$2 ;;
	esac
}

# check_args: sanity of the values and of OUTDIR; fills in the cache path.
check_args() {
	[[ $suite =~ ^[a-z0-9][a-z0-9.-]*$ ]] || usage "bad suite: $suite"
	[[ $mirror =~ ^(https?|file):// ]] || usage "bad mirror URL: $mirror"
	local repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	cache=$(realpath -m "${cache:-$repo/build/cache/debs-$suite}")
	outdir=$(realpath -m "$outdir")
	# mmdebstrap's sync-in/sync-out hooks split their arguments on blanks.
	[[ $cache != *[[:space:]]* ]] || usage "cache path must not contain blanks: $cache"
	[[ $outdir != / ]] || usage "OUTDIR must not be /"
	if [[ -e $outdir || -L $outdir ]]; then
		[[ -d $outdir && ! -L $outdir ]] || usage "OUTDIR exists and is not a directory: $outdir"
		[[ -z $(ls -A "$outdir") ]] || usage "OUTDIR exists and is not empty: $outdir"
	fi
}

check_host() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap --mode=root, chroot); try: sudo $0 ..."
	command -v mmdebstrap >/dev/null || die "mmdebstrap not found; apt-get install mmdebstrap"
}

# sources: one "deb ..." line per apt source, for mmdebstrap's MIRROR args.
sources() {
	printf 'deb %s %s main\n' "$mirror" "$suite"
	case $suite in
	sid | unstable | experimental | rc-buggy) return 0 ;;
	esac
	printf 'deb %s %s-updates main\n' "$mirror" "$suite"
	printf 'deb %s %s-security main\n' "$SECURITY_MIRROR" "$suite"
}

# run_mmdebstrap LOG: build the tree; the .debs go through the cache
# (sync-in before the download, sync-out after the install; essential/unlink
# is skipped so the Essential .debs stay for sync-out as well).
run_mmdebstrap() {
	local log=$1 opt args=() srcs=()
	local pkgs
	pkgs=$(IFS=,; printf '%s' "${BASE_PKGS[*]}")${extra_pkgs:+,$extra_pkgs}
	for opt in "${DPKG_OPTS[@]}"; do args+=("--dpkgopt=$opt"); done
	# Merged /usr the way debootstrap does it (usr-is-merged): else apt pulls
	# in usrmerge and with it ~50 MB of perl.
	[[ ! -d $MERGED_USR_HOOKS ]] || args+=("--hook-dir=$MERGED_USR_HOOKS")
	mapfile -t srcs < <(sources)
	mkdir -p "$cache"
	say "mmdebstrap $suite from $mirror (cache $cache, log $log)"
	# shellcheck disable=SC2016 # $1 is for the hook's sh, the tree's path
	mmdebstrap --mode=root --format=directory --variant=minbase --verbose \
		--include="$pkgs" \
		--aptopt='Acquire::Languages "none"' \
		"${args[@]}" \
		--skip=essential/unlink \
		--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
		--setup-hook="sync-in $cache /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives $cache" \
		"$suite" "$outdir" "${srcs[@]}" >"$log" 2>&1
}

# build_failed LOG: show why, remove the partial tree if nothing is mounted in it.
build_failed() {
	local log=$1
	say "mmdebstrap failed; last lines of $log:"
	tail -n 40 "$log" >&2
	if [[ -d $outdir ]] && ! findmnt -rn -o TARGET | grep -q "^$outdir/"; then
		rm -rf --one-file-system "$outdir"
		say "removed the partial tree $outdir"
	fi
	exit 1
}

# configure_identity ROOT: hostname, hosts, machine-id, resolv.conf, locale,
# fstab.
configure_identity() {
	local root=$1
	printf '%s\n' "$HOSTNAME_" >"$root/etc/hostname"
	cat >"$root/etc/hosts" <<-EOF
		127.0.0.1	localhost
		127.0.1.1	$HOSTNAME_
		::1	localhost ip6-localhost ip6-loopback
		ff02::1	ip6-allnodes
		ff02::2	ip6-allrouters
	EOF
	# Empty, not "uninitialized": systemd makes a transient ID at every boot
	# without treating the boot as a first boot (no presets, no firstboot).
	: >"$root/etc/machine-id"
	rm -f "$root/var/lib/dbus/machine-id"
	# mmdebstrap copied the build host's resolv.conf; do not ship it.
	rm -f "$root/etc/resolv.conf"
	printf '# No DNS servers in the image; the initramfs may write the ones DHCP gave.\n' \
		>"$root/etc/resolv.conf"
	# C.UTF-8 comes with libc-bin; without this file pam_env warns at login.
	printf 'LANG=C.UTF-8\n' >"$root/etc/default/locale"
	cat >"$root/etc/fstab" <<-'EOF'
		# /etc/fstab: no root entry on purpose.  Root is a read-only squashfs
		# from the dnbd network block device with a tmpfs overlay on top,
		# both mounted by the initramfs before switch_root.
		# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
	EOF
}

# configure_login ROOT: lock root's password; autologin on ttyS0 and tty1.
configure_login() {
	local root=$1 unit dir
	chroot "$root" passwd --lock root >/dev/null
	for unit in serial-getty@ttyS0 getty@tty1; do
		dir=$root/etc/systemd/system/$unit.service.d
		mkdir -p "$dir"
		autologin_dropin "$unit" >"$dir/autologin.conf"
	done
	mkdir -p "$root/etc/systemd/system/getty.target.wants"
	ln -sfn /lib/systemd/system/serial-getty@.service \
		"$root/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
	ln -sfn /lib/systemd/system/getty@.service \
		"$root/etc/systemd/system/getty.target.wants/getty@tty1.service"
}

# autologin_dropin UNIT: the drop-in text; agetty's own lines from Debian 12
# plus --autologin, and -f in the login options (else login asks for the
# locked password).
autologin_dropin() {
	local extra='--noclear'
	[[ $1 == serial-* ]] && extra='--keep-baud 115200,57600,38400,9600'
	cat <<-EOF
		# dnbd lab demo image: root logs in without a password here (root's
		# password is locked).  Delete this file for anything but a lab.
		[Service]
		ExecStart=
		ExecStart=-/sbin/agetty -o '-p -f -- \\\\u' --autologin root $extra - \$TERM
	EOF
}

# configure_units ROOT: default target, masks.
configure_units() {
	local root=$1 unit masked=()
	ln -sfn /lib/systemd/system/multi-user.target \
		"$root/etc/systemd/system/default.target"
	for unit in "${MASK_UNITS[@]}"; do
		[[ -e $root/lib/systemd/system/$unit ]] || continue
		rm -f "$root"/etc/systemd/system/*.wants/"$unit"
		ln -sfn /dev/null "$root/etc/systemd/system/$unit"
		masked+=("$unit")
	done
	say "masked: ${masked[*]:-none}"
}

# shrink ROOT: what dpkg's path-excludes and mmdebstrap's cleanup leave.
shrink() {
	local root=$1
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
		"$root"/var/cache/apt/archives/*.deb "$root"/var/cache/debconf/*-old \
		"$root"/var/lib/dpkg/*-old "$root"/var/log/apt/* "$root"/tmp/*
	find "$root/var/log" -type f -name '*.log' -delete
}

main() {
	local log start=$SECONDS
	parse_args "$@"
	check_args
	check_host
	log=$outdir.mmdebstrap.log
	mkdir -p "$(dirname "$outdir")"
	run_mmdebstrap "$log" || build_failed "$log"
	say "mmdebstrap done after $((SECONDS - start)) s; configuring $outdir"
	configure_identity "$outdir"
	configure_login "$outdir"
	configure_units "$outdir"
	shrink "$outdir"
	say "done: $outdir, $(du -sh --one-file-system "$outdir" | cut -f1)," \
		"$(chroot "$outdir" dpkg-query -f '.\n' -W | wc -l) packages," \
		"$((SECONDS - start)) s"
}

main "$@"
