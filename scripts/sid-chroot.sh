#!/bin/bash
#
# scripts/sid-chroot.sh KVER - a Debian sid chroot that can build
# out-of-tree modules against linux-headers-KVER; prints its path.
# scripts/sid-chroot.sh --run KVER DIR CMD... - the same, then runs CMD in
# it with the host's DIR bind-mounted at the same path (build-kmod.sh:
# make -C /usr/src/linux-headers-KVER M=DIR modules).
#
# The newest kernels (Debian sid's linux-image-amd64) need a newer gcc than
# the host's Debian 12 has, so dnbd.ko is built for them in a chroot:
# mmdebstrap --variant=apt with build-essential and the headers, in
# build/cache/chroot-sid/ (gitignored).  It is made once and reused; when
# sid has moved on to another kernel, the new headers are added to it (and
# headers of other versions removed).  A lock serialises parallel runs, a
# half-built tree is never used (.complete marks a finished one).  The
# mirror is the host's (its apt sources), not the host's suites: the host's
# apt configuration is not changed.  scripts/build-kmod.sh uses it.
#
# Needs root and mmdebstrap (scripts/install-deps.sh installs it).  Progress
# and mmdebstrap's log tail go to stderr.
set -euo pipefail

RUN=
if [[ ${1:-} == --run ]]; then
	[[ $# -ge 4 ]] || { echo "usage: $0 --run KVER DIR CMD..." >&2; exit 2; }
	RUN=$3
	set -- "$2" "${@:4}"
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
KVER=${1:?usage: scripts/sid-chroot.sh [--run] KVER [DIR CMD...]}
shift
CACHE=$REPO/build/cache
ROOT=$CACHE/chroot-sid
LOG=$CACHE/chroot-sid.log
APTOPTS=(--aptopt='Acquire::Check-Valid-Until "false"'
	--aptopt='Acquire::Languages "none"')
# Not needed to build modules; keeps the tree small.
DPKGOPTS=(--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/usr/share/info/*')

# shellcheck source=SCRIPTDIR/../image-builder/lib/kernels.sh
source "$REPO/image-builder/lib/kernels.sh"

say() { printf 'sid-chroot: %s\n' "$*" >&2; }

[[ $KVER =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { say "bad kernel version '$KVER'"; exit 2; }
[[ $(id -u) -eq 0 ]] || { say "must run as root (mmdebstrap --mode=root)"; exit 1; }
command -v mmdebstrap >/dev/null ||
	{ say "mmdebstrap missing (scripts/install-deps.sh)"; exit 1; }

# in_root CMD...: run CMD in the chroot with /proc, /dev and /sys (and
# BIND, a host directory, at the same path), in a private mount namespace:
# the mounts vanish with it, even on failure.
# shellcheck disable=SC2016 # $1... are the inner sh's
in_root() {
	unshare --mount --propagation private -- /bin/sh -ec '
		r=$1 b=$2; shift 2
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount --rbind /sys "$r/sys"
		if [ -n "$b" ]; then
			mkdir -p "$r$b"
			mount --bind "$b" "$r$b"
		fi
		exec chroot "$r" "$@"' sh "$ROOT" "${BIND:-}" "$@"
}

# create: the tree, from scratch, into ROOT.tmp, then renamed.
create() {
	local start=$SECONDS m
	m=$(vmk_mirror)
	rm -rf --one-file-system "$ROOT.tmp"
	say "creating $ROOT (mmdebstrap sid from $m, log $LOG)"
	if ! mmdebstrap --mode=root --format=directory --variant=apt \
		"${APTOPTS[@]}" "${DPKGOPTS[@]}" \
		--include="build-essential,kmod,linux-headers-$KVER" \
		sid "$ROOT.tmp" "deb $m sid main" >"$LOG" 2>&1; then
		say "mmdebstrap failed; last lines of $LOG:"
		tail -n 30 "$LOG" >&2
		rm -rf --one-file-system "$ROOT.tmp"
		return 1
	fi
	# Acquire::Check-Valid-Until for later apt-get runs in the tree.
	printf 'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\n' \
		>"$ROOT.tmp/etc/apt/apt.conf.d/99dnbd"
	touch "$ROOT.tmp/.complete"
	mv "$ROOT.tmp" "$ROOT"
	say "created in $((SECONDS - start)) s ($(du -sh "$ROOT" | cut -f1))"
}

# add_headers: sid moved on: install linux-headers-KVER, drop the others.
add_headers() {
	local old rc
	say "installing linux-headers-$KVER in $ROOT"
	# shellcheck disable=SC2016 # dpkg-query's own ${Package}
	old=$(in_root dpkg-query -W -f='${Package}\n' 'linux-headers-*' 2>/dev/null |
		grep -E '^linux-headers-[0-9].*-amd64$' | grep -vxF "linux-headers-$KVER" || true)
	rc=0
	in_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
		in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "linux-headers-$KVER" >&2 || rc=$?
	# shellcheck disable=SC2086 # one package a line
	[[ $rc -ne 0 || -z $old ]] || in_root env DEBIAN_FRONTEND=noninteractive \
		apt-get purge -y -qq $old >&2 || true
	# Package lists and .debs are not kept (about 160 MB).
	in_root sh -c 'apt-get clean; rm -rf /var/lib/apt/lists/*' || true
	return "$rc"
}

mkdir -p "$CACHE"
exec {lock}>"$CACHE/chroot-sid.lock"
flock -w 1800 "$lock" || { say "lock $CACHE/chroot-sid.lock busy"; exit 1; }
if [[ ! -f $ROOT/.complete ]]; then
	rm -rf --one-file-system "$ROOT"
	create
fi
[[ -d $ROOT/usr/src/linux-headers-$KVER ]] || add_headers
[[ -d $ROOT/usr/src/linux-headers-$KVER ]] ||
	{ say "no linux-headers-$KVER in $ROOT"; exit 1; }
if [[ -z $RUN ]]; then
	printf '%s\n' "$ROOT"
	exit 0
fi
# Builds share the tree; only creating or changing it is exclusive.
flock -s "$lock"
[[ -d $RUN ]] || { say "no directory $RUN"; exit 1; }
BIND=$(realpath "$RUN") in_root "$@"
