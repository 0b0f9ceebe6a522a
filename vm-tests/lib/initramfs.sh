# shellcheck shell=bash
#
# vm-tests/lib/initramfs.sh - a tiny busybox initramfs for the QEMU tests.
#
#   VMI_FILES="host:guest ..." vmi_build KVER OUT.img MODULE...
#
# The image holds the static busybox, the kernel modules named (and what
# they depend on, in load order, always with the NIC driver e1000), the
# files of VMI_FILES and an /init that
#   - mounts /proc, /sys, /dev (devtmpfs), /tmp (tmpfs)
#   - insmods the modules, in order
#   - configures lo and eth0 from vmt.ip=A.B.C.D/NN, with a route for
#     multicast (224.0.0.0/4), and waits (5 s at most) for the link
#   - exports every vmt.KEY=VALUE of the kernel command line as VMT_KEY
#     (vmt.ip -> VMT_IP, vmt.name -> VMT_NAME, vmt.srv -> VMT_SRV, ...)
#   - runs /test.sh (stdout and stderr on the console), then prints
#       VMTEST-DMESG-BEGIN / the kernel log / VMTEST-DMESG-END
#       VMTEST-EXIT <exit status of /test.sh>
#     and powers off
#   - with vmt.shell=1 on the command line: the same set-up, then a shell on
#     the console instead of /test.sh; its exit status is the VMTEST-EXIT
#     (see vm-tests/README.md)
#
# Out-of-tree modules (dnbd.ko) are files like any other: pass them in
# VMI_FILES and insmod them from /test.sh; name what they depend on
# (vmi_ko_depends KO) among the MODULEs, so that /init loads it first.
# Modules of 6.12 are .ko.xz: they are stored decompressed (busybox
# insmod reads plain .ko only).

[[ -n "${VMI_LOADED:-}" ]] && return 0
VMI_LOADED=1

# shellcheck source=SCRIPTDIR/kernels.sh
source "$(dirname "${BASH_SOURCE[0]}")/kernels.sh"

VMI_BUSYBOX=${VMI_BUSYBOX:-/bin/busybox}
VMI_NIC_MODULE=e1000

# vmi_build KVER OUT MODULE...: write the gzip'd newc initramfs OUT.
vmi_build() {
	local kver=$1 out=$2 stage rc=0
	shift 2
	vmk_fetch "$kver" || return 1
	stage=$(mktemp -d "${TMPDIR:-/tmp}/vmi.XXXXXX")
	vmi_populate "$kver" "$stage" "$@" &&
		vmi_pack "$stage" "$out" || rc=$?
	rm -rf "$stage"
	((rc == 0)) || vmk_log "vmi_build $out failed"
	return "$rc"
}

# vmi_populate KVER STAGE MODULE...: fill the staging directory.
vmi_populate() {
	local kver=$1 stage=$2
	shift 2
	vmi_skeleton "$stage" &&
		vmi_add_modules "$kver" "$stage" "$VMI_NIC_MODULE" "$@" &&
		vmi_add_files "$stage" &&
		vmi_write_init "$stage/init"
}

# vmi_skeleton STAGE: directories, busybox and its applet links, consoles.
vmi_skeleton() {
	local stage=$1 applet
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,mnt,etc,root,lib/modules,usr}
	ln -s bin "$stage/sbin"
	ln -s ../bin "$stage/usr/bin"
	ln -s ../bin "$stage/usr/sbin"
	cp "$VMI_BUSYBOX" "$stage/bin/busybox"
	for applet in $("$VMI_BUSYBOX" --list); do
		[[ "$applet" == busybox ]] || ln -s busybox "$stage/bin/$applet"
	done
	# The kernel opens /dev/console for /init before devtmpfs is mounted.
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\n' >"$stage/etc/group"
}

# vmi_module_paths KVER MODULE...: the .ko files to load, dependencies
# first, each once (modprobe reads the depmod'ed tree, not the host's
# configuration).
vmi_module_paths() {
	local kver=$1 root m line path
	local -A seen=()
	root=$(vmk_root "$kver")
	shift
	for m in "$@"; do
		while read -r line; do
			case "$line" in
			insmod\ *) ;;
			builtin\ *) continue ;;
			*) continue ;;
			esac
			path=${line#insmod }
			path=${path%% *}
			[[ -n "${seen[$path]:-}" ]] && continue
			seen[$path]=1
			printf '%s\n' "$path"
		done < <(modprobe -C /dev/null -S "$kver" -d "$root" \
			--show-depends "$m") ||
			{ vmk_log "module $m not found for $kver"; return 1; }
	done
}

# vmi_ko_depends KO: the modules an out-of-tree module file depends on
# (its modinfo "depends", e.g. libcrc32c), one name a line, none if it
# has none.  vmi_build resolves their own dependencies and soft
# dependencies (libcrc32c's "pre: crc32c") from the kernel's tree.
vmi_ko_depends() {
	local deps
	deps=$(modinfo -F depends "$1") ||
		{ vmk_log "modinfo cannot read $1"; return 1; }
	tr ',' '\n' <<<"$deps" | sed '/^$/d'
}

# vmi_plain_ko KVER PATH: a plain .ko for PATH, decompressed once into
# build/vm/kernels/KVER.plain/ when the kernel ships .ko.xz/.ko.zst/.ko.gz.
vmi_plain_ko() {
	local kver=$1 src=$2 rel dst
	case "$src" in
	*.ko) printf '%s\n' "$src"; return 0 ;;
	esac
	rel=${src#"$(vmk_moddir "$kver")"/}
	dst="$VMK_CACHE/kernels/$kver.plain/${rel%.*}"
	if [[ ! -f "$dst" ]]; then
		mkdir -p "$(dirname "$dst")"
		case "$src" in
		*.xz) xz -dc "$src" >"$dst.tmp.$$" ;;
		*.zst) zstd -qdc "$src" >"$dst.tmp.$$" ;;
		*.gz) gzip -dc "$src" >"$dst.tmp.$$" ;;
		*) vmk_log "unknown module compression: $src"; return 1 ;;
		esac
		mv "$dst.tmp.$$" "$dst"
	fi
	printf '%s\n' "$dst"
}

# vmi_add_modules KVER STAGE MODULE...: copy the modules (plain .ko) into
# /lib/modules and list them, in load order, in /lib/modules/order.
vmi_add_modules() {
	local kver=$1 stage=$2 paths path plain name
	shift 2
	paths=$(vmi_module_paths "$kver" "$@") || return 1
	: >"$stage/lib/modules/order"
	while read -r path; do
		[[ -n "$path" ]] || continue
		plain=$(vmi_plain_ko "$kver" "$path") || return 1
		name=$(basename "$plain")
		cp "$plain" "$stage/lib/modules/$name"
		printf '%s\n' "$name" >>"$stage/lib/modules/order"
	done <<<"$paths"
}

# vmi_add_files STAGE: copy each "host:guest" of $VMI_FILES (modes kept,
# symlinks followed, directories recursively).
vmi_add_files() {
	local stage=$1 spec host guest
	for spec in ${VMI_FILES:-}; do
		host=${spec%%:*}
		guest=${spec#*:}
		if [[ "$spec" != *:* || "$guest" != /* ]]; then
			vmk_log "VMI_FILES: '$spec' is not host:/guest/path"
			return 1
		fi
		[[ -e "$host" ]] || { vmk_log "VMI_FILES: no $host"; return 1; }
		mkdir -p "$stage$(dirname "$guest")"
		cp -RL --preserve=mode "$host" "$stage$guest"
	done
}

# vmi_pack STAGE OUT: the newc cpio, gzip'd, written atomically.
vmi_pack() {
	local stage=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner 0:0 --quiet) |
		gzip -1 >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
}

# vmi_write_init FILE: the guest's /init (busybox sh).
vmi_write_init() {
	cat >"$1" <<'INIT'
#!/bin/sh
# /init of the dnbd VM tests (vm-tests/lib/initramfs.sh).
export PATH=/bin HOME=/root TERM=linux

# mounts: the pseudo file systems and a scratch /tmp.
mounts() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /tmp
	mount -t tmpfs tmpfs /run
}

# cmdline_env: every vmt.KEY=VALUE of /proc/cmdline as VMT_KEY=VALUE.
cmdline_env() {
	for w in $(cat /proc/cmdline); do
		case "$w" in
		vmt.*=*)
			k=${w%%=*}
			k=$(echo "${k#vmt.}" | tr 'a-z.-' 'A-Z__')
			export "VMT_$k=${w#*=}"
			;;
		esac
	done
}

# load_modules: insmod what /lib/modules/order lists.
load_modules() {
	while read -r m; do
		[ -n "$m" ] || continue
		insmod "/lib/modules/$m" || echo "vmtest: insmod $m failed"
	done </lib/modules/order
}

# network: lo, and eth0 with $VMT_IP; waits 5 s at most for the link.
network() {
	sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip link set lo up
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
		usleep 100000; i=$((i + 1))
	done
	[ -e /sys/class/net/eth0 ] || { echo "vmtest: no eth0"; return 1; }
	ip link set eth0 up
	if [ -n "${VMT_IP:-}" ]; then
		ip addr add "$VMT_IP" dev eth0
		ip route add 224.0.0.0/4 dev eth0
	fi
	i=0
	while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] &&
		[ $i -lt 50 ]; do
		usleep 100000; i=$((i + 1))
	done
	[ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] ||
		echo "vmtest: eth0 has no link after 5 s"
}

# run_test: /test.sh's exit status in $rc.
run_test() {
	if [ -f /test.sh ]; then
		echo "vmtest: running /test.sh"
		cd /tmp
		if [ -x /test.sh ]; then
			/test.sh </dev/null
		else
			sh /test.sh </dev/null
		fi
		rc=$?
		cd /
	else
		echo "vmtest: ERROR: no /test.sh in the initramfs (VMI_FILES)"
		rc=127
	fi
}

# finish: the kernel log, the verdict line, power off.
finish() {
	sync
	echo "VMTEST-DMESG-BEGIN"
	dmesg
	echo "VMTEST-DMESG-END"
	echo "VMTEST-EXIT $rc"
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

mounts
exec </dev/console >/dev/console 2>&1
cmdline_env
[ -n "${VMT_NAME:-}" ] && hostname "$VMT_NAME"
load_modules
network
if [ "${VMT_SHELL:-0}" = 1 ]; then
	echo "vmtest: vmt.shell=1: a shell instead of /test.sh"
	echo "vmtest: 'sh /test.sh' runs the test; 'exit N' ends the VM with status N"
	setsid cttyhack sh -l
	rc=$?
else
	run_test
fi
finish
INIT
	chmod 755 "$1"
}
