#!/bin/sh
#
# /lib/dnbd-lib.sh - the dnbd root's kernel command line, parsed once for
# the cmdline hook, the netroot handler, the systemd generator and the
# overlay hook (docs/cmdline.md, dnbd.cmdline(7)).
#
# A root spec is what follows "dnbd.root=", "root=dnbd:", "netroot=dnbd:"
# or "dnbd:" in a DHCP root-path:
#
#   <address>[+<address>...][:<port>][,<option>=<value>...]
#
# one multicast group, or up to 8 unicast servers joined by "+", then
# options: image=, fstype=, port=, timeout=, discover=, iface=, seg=,
# memcache=.
#
# POSIX sh: dracut's /bin/sh may be dash.

# dnbd_ipv4 ADDR: true when ADDR is a dotted quad.
dnbd_ipv4() {
	case "$1" in
	*[!0-9.]* | .* | *. | *..*) return 1 ;;
	esac
	# shellcheck disable=SC2046
	set -- $(IFS=.; echo $1)
	[ $# -eq 4 ] || return 1
	for _o in "$@"; do
		[ ${#_o} -le 3 ] && [ "$_o" -le 255 ] || return 1
	done
	return 0
}

# dnbd_uint VALUE MAX: true when VALUE is a decimal number <= MAX.
dnbd_uint() {
	case "$1" in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ ${#1} -le 10 ] && [ "$1" -le "$2" ]
}

# dnbd_parse SPEC: sets dnbd_addrs (comma-separated, for dnbd-client -b),
# dnbd_multicast (1/0), dnbd_port, dnbd_image, dnbd_fstype, dnbd_timeout,
# dnbd_discover, dnbd_iface, dnbd_seg, dnbd_memcache.  On bad input:
# returns 1 with the reason in dnbd_err.
dnbd_parse() {
	_spec=$1
	dnbd_err=""
	dnbd_addrs="" dnbd_multicast=0 dnbd_port=5001 dnbd_image=""
	dnbd_fstype=auto dnbd_timeout=0 dnbd_discover=120 dnbd_iface=""
	dnbd_seg="" dnbd_memcache=""
	_head=${_spec%%,*}
	_opts=""
	[ "$_head" != "$_spec" ] && _opts=${_spec#*,}
	case "$_head" in
	*:*)
		dnbd_port=${_head##*:}
		_head=${_head%:*}
		if ! dnbd_uint "$dnbd_port" 65535 || [ "$dnbd_port" -eq 0 ]; then
			dnbd_err="bad port '$dnbd_port' in '$_spec'"
			return 1
		fi
		;;
	esac
	[ -n "$_head" ] || { dnbd_err="no server address in '$_spec'"; return 1; }
	_n=0
	for _a in $(echo "$_head" | tr '+' ' '); do
		if ! dnbd_ipv4 "$_a"; then
			dnbd_err="'$_a' is not an IPv4 address (in '$_spec')"
			return 1
		fi
		_n=$((_n + 1))
		case "$_a" in
		22[4-9].* | 23[0-9].*) dnbd_multicast=1 ;;
		esac
		dnbd_addrs=${dnbd_addrs:+$dnbd_addrs,}$_a
	done
	if [ "$dnbd_multicast" = 1 ] && [ "$_n" -gt 1 ]; then
		dnbd_err="give one multicast group or unicast servers, not both (in '$_spec')"
		return 1
	fi
	if [ "$_n" -gt 8 ]; then
		dnbd_err="at most 8 unicast servers (in '$_spec')"
		return 1
	fi
	dnbd_parse_opts "$_opts" "$_spec"
}

# dnbd_parse_opts "K=V,K=V" SPEC: the options after the address.
dnbd_parse_opts() {
	_rest=$1
	while [ -n "$_rest" ]; do
		_kv=${_rest%%,*}
		if [ "$_kv" = "$_rest" ]; then _rest=""; else _rest=${_rest#*,}; fi
		[ -n "$_kv" ] || continue
		_k=${_kv%%=*}
		_v=${_kv#*=}
		if [ "$_k" = "$_kv" ] || [ -z "$_v" ]; then
			dnbd_err="option '$_kv' needs a value (in '$2')"
			return 1
		fi
		dnbd_opt "$_k" "$_v" || {
			dnbd_err="$dnbd_err (in '$2')"
			return 1
		}
	done
	return 0
}

# dnbd_range VALUE MIN MAX: VALUE is a decimal number in MIN..MAX.
dnbd_range() { dnbd_uint "$1" "$3" && [ "$1" -ge "$2" ]; }

# dnbd_name VALUE: letters, digits, ".", "_" and "-" only (and not empty).
dnbd_name() {
	case "$1" in '' | *[!A-Za-z0-9._-]*) return 1 ;; esac
	return 0
}

# dnbd_bad MESSAGE: sets dnbd_err; always false.
dnbd_bad() { dnbd_err=$1; return 1; }

# dnbd_opt KEY VALUE: one option; dnbd_err says why it is refused.
dnbd_opt() {
	case "$1" in
	port) dnbd_range "$2" 1 65535 || dnbd_bad "port '$2': 1..65535" ;;
	image) dnbd_name "$2" || dnbd_bad "image name '$2': letters, digits, . _ - only" ;;
	fstype)
		case "$2" in
		auto | squashfs | erofs | ext4 | ext3 | ext2) ;;
		*) dnbd_bad "fstype '$2': squashfs, erofs, ext4 or auto" ;;
		esac ;;
	timeout) dnbd_range "$2" 0 86400 || dnbd_bad "timeout '$2': seconds, 0 = wait forever" ;;
	discover) dnbd_range "$2" 1 86400 || dnbd_bad "discover '$2': seconds, at least 1" ;;
	iface) dnbd_name "$2" || dnbd_bad "iface '$2' is not an interface name" ;;
	seg) dnbd_range "$2" 512 8900 || dnbd_bad "seg '$2': bytes, 512..8900" ;;
	memcache)
		case "$2" in
		*[!0-9KMGkmg]* | [!0-9]*) dnbd_bad "memcache '$2': bytes, with K, M or G" ;;
		esac ;;
	*) dnbd_bad "unknown option '$1' (image, fstype, port, timeout, discover, iface, seg, memcache)" ;;
	esac || return 1
	eval "dnbd_$1=\$2"
	return 0
}

# dnbd_canonical: the parsed spec written back, with the port as an
# option: "<addr>[+<addr>...],port=N[,option=value...]".  This is the form
# netroot= carries inside the initramfs.  dracut's setup_net ARPs for the
# address after "dnbd:" when it is a bare dotted quad; for a multicast
# group that takes 60 s to fail, and the comma form avoids it.
dnbd_canonical() {
	printf '%s,port=%s' "$(echo "$dnbd_addrs" | tr ',' '+')" "$dnbd_port"
	[ -n "$dnbd_image" ] && printf ',image=%s' "$dnbd_image"
	[ "$dnbd_fstype" != auto ] && printf ',fstype=%s' "$dnbd_fstype"
	[ "$dnbd_timeout" != 0 ] && printf ',timeout=%s' "$dnbd_timeout"
	[ "$dnbd_discover" != 120 ] && printf ',discover=%s' "$dnbd_discover"
	[ -n "$dnbd_iface" ] && printf ',iface=%s' "$dnbd_iface"
	[ -n "$dnbd_seg" ] && printf ',seg=%s' "$dnbd_seg"
	[ -n "$dnbd_memcache" ] && printf ',memcache=%s' "$dnbd_memcache"
	echo
}

# dnbd_cmdline_spec: the root spec the kernel command line names, from
# dnbd.root=, root=dnbd: or netroot=dnbd: (in that order); empty if none.
dnbd_cmdline_spec() {
	_s=$(getarg dnbd.root=) && [ -n "$_s" ] && { echo "$_s"; return 0; }
	_s=$(getarg root=)
	case "$_s" in dnbd:*) echo "${_s#dnbd:}"; return 0 ;; esac
	for _s in $(getargs netroot=); do
		case "$_s" in dnbd:*) echo "${_s#dnbd:}"; return 0 ;; esac
	done
	return 0
}

# dnbd_verity_parse: reads dnbd.verity=<roothash>[,hashoffset=<bytes>]
# into dnbd_roothash and dnbd_hashoffset (empty when not given); returns
# 1 with dnbd_err on a malformed value.
dnbd_verity_parse() {
	dnbd_roothash="" dnbd_hashoffset="" dnbd_err=""
	_v=$(getarg dnbd.verity=) || return 0
	[ -n "$_v" ] || return 0
	dnbd_roothash=${_v%%,*}
	case "$dnbd_roothash" in
	'' | *[!0-9a-f]*)
		dnbd_err="dnbd.verity: root hash '$dnbd_roothash' is not lower-case hex"
		return 1 ;;
	esac
	[ ${#dnbd_roothash} -ge 40 ] ||
		{ dnbd_err="dnbd.verity: root hash too short"; return 1; }
	[ "$_v" = "$dnbd_roothash" ] && return 0
	_o=${_v#*,}
	case "$_o" in
	hashoffset=*) dnbd_hashoffset=${_o#hashoffset=} ;;
	*) dnbd_err="dnbd.verity: unknown option '$_o' (hashoffset=)"; return 1 ;;
	esac
	dnbd_uint "$dnbd_hashoffset" 9999999999 &&
		[ $((dnbd_hashoffset % 4096)) -eq 0 ] ||
		{ dnbd_err="dnbd.verity: hashoffset '$dnbd_hashoffset' is not a multiple of 4096"; return 1; }
	return 0
}

# dnbd_key_parse: reads dnbd.key= (64 hex digits) and dnbd.keyfile= (a
# file in the initramfs) into dnbd_key and dnbd_keyfile; 1 on bad input.
# docs/security.md: /proc/cmdline is readable by every local user, a key
# file in the initramfs by whoever can fetch the initramfs.
dnbd_key_parse() {
	dnbd_key="" dnbd_keyfile="" dnbd_err=""
	_k=$(getarg dnbd.key=) || _k=""
	_f=$(getarg dnbd.keyfile=) || _f=""
	if [ -n "$_k" ] && [ -n "$_f" ]; then
		dnbd_err="give dnbd.key= or dnbd.keyfile=, not both"
		return 1
	fi
	if [ -n "$_k" ]; then
		case "$_k" in
		*[!0-9a-fA-F]*)
			dnbd_err="dnbd.key: not hex (64 hex digits, e.g. od -An -tx1 lab.key)"
			return 1 ;;
		esac
		[ ${#_k} -eq 64 ] ||
			{ dnbd_err="dnbd.key: ${#_k} hex digits, not 64"; return 1; }
		dnbd_key=$_k
	fi
	if [ -n "$_f" ]; then
		case "$_f" in
		/*) ;;
		*) dnbd_err="dnbd.keyfile: '$_f' is not an absolute path"; return 1 ;;
		esac
		dnbd_keyfile=$_f
	fi
	return 0
}

# dnbd_key_write FILE: dnbd_key into FILE, readable by root only.
dnbd_key_write() {
	(umask 077 && printf '%s\n' "$dnbd_key" >"$1")
}

# dnbd_root_dev: the device the root file system is mounted from.
dnbd_root_dev() {
	if [ -n "$(getarg dnbd.verity=)" ]; then
		echo /dev/mapper/dnbd-root
	else
		echo /dev/dnbd0
	fi
}

# dnbd_overlay_parse: reads dnbd.overlay= into dnbd_ovl_kind (tmpfs,
# device, none) and dnbd_ovl_arg (tmpfs size or device); 1 on bad input.
dnbd_overlay_parse() {
	_v=$(getarg dnbd.overlay=) || _v=tmpfs
	[ -n "$_v" ] || _v=tmpfs
	dnbd_ovl_kind="" dnbd_ovl_arg="" dnbd_err=""
	case "$_v" in
	none) dnbd_ovl_kind=none ;;
	tmpfs) dnbd_ovl_kind=tmpfs dnbd_ovl_arg=50% ;;
	tmpfs:*)
		dnbd_ovl_kind=tmpfs dnbd_ovl_arg=${_v#tmpfs:}
		case "$dnbd_ovl_arg" in
		'' | *[!0-9kmgKMG%]* | [!0-9]*)
			dnbd_err="dnbd.overlay: tmpfs size '$dnbd_ovl_arg' (e.g. 512M, 2G, 50%)"
			return 1 ;;
		esac ;;
	/dev/* | LABEL=* | UUID=* | PARTUUID=* | PARTLABEL=*)
		dnbd_ovl_kind=device dnbd_ovl_arg=$_v ;;
	*)
		dnbd_err="dnbd.overlay: '$_v' is not tmpfs[:size], none, /dev/..., LABEL=, UUID=, PARTUUID= or PARTLABEL="
		return 1 ;;
	esac
	return 0
}

# dnbd_dev_path SPEC: /dev path of a /dev/..., LABEL=, UUID=... spec.
dnbd_dev_path() {
	case "$1" in
	LABEL=*) echo "/dev/disk/by-label/$(echo "${1#LABEL=}" | sed 's,/,\\x2f,g')" ;;
	UUID=*) echo "/dev/disk/by-uuid/${1#UUID=}" ;;
	PARTUUID=*) echo "/dev/disk/by-partuuid/${1#PARTUUID=}" ;;
	PARTLABEL=*) echo "/dev/disk/by-partlabel/${1#PARTLABEL=}" ;;
	*) echo "$1" ;;
	esac
}

# dnbd_wait_dev PATH SECONDS: true once PATH is a block device.
dnbd_wait_dev() {
	_i=0
	while [ ! -b "$1" ]; do
		[ "$_i" -ge "$(($2 * 2))" ] && return 1
		udevadm settle --timeout=1 --exit-if-exists="$1" 2>/dev/null || true
		[ -b "$1" ] && break
		sleep 0.5
		_i=$((_i + 1))
	done
	return 0
}

# dnbd_verity_open: dm-verity over /dev/dnbd0 as /dev/mapper/dnbd-root,
# hash tree at dnbd_hashoffset (or right after a squashfs when not given).
dnbd_verity_open() {
	modprobe -q dm-verity
	_off=$dnbd_hashoffset
	if [ -z "$_off" ]; then
		_off=$(dnbd_squashfs_end /dev/dnbd0) || {
			dnbd_err="dnbd.verity: no hashoffset= given and /dev/dnbd0 is not a squashfs"
			return 1
		}
	fi
	if ! veritysetup open /dev/dnbd0 dnbd-root /dev/dnbd0 "$dnbd_roothash" \
		--hash-offset="$_off" >/run/dnbd/verity.log 2>&1; then
		dnbd_err="dm-verity refused the image (wrong root hash or hash offset $_off?): $(cat /run/dnbd/verity.log)"
		return 1
	fi
	udevadm settle --timeout=10 --exit-if-exists=/dev/mapper/dnbd-root 2>/dev/null
	return 0
}

# dnbd_squashfs_end DEV: where a squashfs on DEV ends, rounded up to 4 KiB
# (mkimage puts the hash tree there).  Fails when DEV is not a squashfs.
dnbd_squashfs_end() {
	_sb=$(dd if="$1" bs=96 count=1 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
	[ "${_sb%"${_sb#????????}"}" = 68737173 ] || return 1
	# bytes_used: little-endian u64 at offset 40.
	_h=""
	_i=7
	while [ $_i -ge 0 ]; do
		_h=$_h$(echo "$_sb" | cut -c$((80 + _i * 2 + 1))-$((80 + _i * 2 + 2)))
		_i=$((_i - 1))
	done
	_u=$((0x$_h))
	echo $(((_u + 4095) / 4096 * 4096))
}
