#!/bin/bash
#
# dracut module 90dnbd: the root file system from a dnbd server (a
# read-only, multicast network block device), with an overlay on top.
# docs/cmdline.md and dnbd.cmdline(7) list the command line; the steps:
#   parse-dnbdroot.sh  cmdline hook 90: dnbd.root=, root=dnbd:, netroot=dnbd:
#                      (and a DHCP root-path, re-parsed by netroot.sh)
#   dnbdroot.sh        /sbin/dnbdroot, netroot handler: bind, cache, verity
#   dnbd-generator.sh  systemd: sysroot.mount
#   dnbd-overlay.sh    pre-pivot hook 10: overlayfs over the root
#   dnbd-netkeep.sh    pre-pivot hook 20: the DHCP address outlives its lease
#   dnbd-booted.sh     pre-pivot hook 30: dnbd.booted=, a unit that reports
#                      "up" at multi-user.target

# called by dracut
# DNBD_CLIENT=/path/to/dnbd-client picks a binary that is not installed
# (image-builder uses the one it just built); it lands in /usr/sbin.
check() {
	if [[ -n "${DNBD_CLIENT:-}" ]]; then
		[[ -x "$DNBD_CLIENT" ]] || {
			derror "dnbd: DNBD_CLIENT=$DNBD_CLIENT is not executable"
			return 1
		}
	else
		require_binaries dnbd-client || return 1
	fi
	# Host-only images carry it only when asked for (the running root is
	# rarely on dnbd; image-builder asks with --add dnbd).
	[[ $hostonly ]] && return 255
	return 0
}

# called by dracut
depends() {
	# network-legacy first: it is the handler that calls /sbin/netroot
	# (systemd-networkd in dracut 059 does not).
	echo network-legacy network rootfs-block dm
	return 0
}

# called by dracut
installkernel() {
	hostonly='' instmods dnbd overlay squashfs erofs ext4 dm-verity
}

# called by dracut
install() {
	inst_binary "${DNBD_CLIENT:-$(find_binary dnbd-client)}" /usr/sbin/dnbd-client
	inst_multiple blkid dd od cut tr sed
	inst_multiple -o veritysetup
	inst_simple "$moddir/dnbd-lib.sh" /lib/dnbd-lib.sh
	inst_simple "$moddir/60-dnbd.rules" "$udevrulesdir/60-dnbd.rules"
	inst_hook cmdline 90 "$moddir/parse-dnbdroot.sh"
	inst_script "$moddir/dnbdroot.sh" /sbin/dnbdroot
	inst_hook pre-pivot 10 "$moddir/dnbd-overlay.sh"
	inst_hook pre-pivot 20 "$moddir/dnbd-netkeep.sh"
	inst_hook pre-pivot 30 "$moddir/dnbd-booted.sh"
	if dracut_module_included "systemd-initrd"; then
		inst_script "$moddir/dnbd-generator.sh" \
			"$systemdutildir/system-generators/dracut-dnbd-generator"
		inst_multiple systemd-escape
	fi
	dracut_need_initqueue
}
