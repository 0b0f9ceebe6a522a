#!/bin/sh
#
# vm-tests/guest/debian-check.sh - /usr/local/sbin/dnbd-vmtest in the
# Debian test root (t-dracut-debian), started by dnbd-vmtest.service.
# Waits until systemd says the boot is over, checks that multi-user.target
# is active on the overlay root from dnbd, prints the verdict the way the
# VM harness reads it and powers off through systemd (a clean shutdown
# with the root still on dnbd is part of the test: the harness looks for
# the kernel's "reboot: Power down").

fail() { echo "guest: FAIL: $*"; rc=1; }
ok() { echo "guest: ok: $*"; }

# Raw lines on the console (the journal's copy would be prefixed).
exec >/dev/console 2>&1
rc=0
echo "vmtest: running /test.sh"
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
echo "guest: boot finished: $state, $(cut -d' ' -f1 /proc/uptime) s after the kernel started"
[ "$state" = running ] || {
	echo "guest: failed units:"
	systemctl --no-legend --failed | sed 's/^/guest:   /'
}
if systemctl -q is-active multi-user.target; then
	ok "multi-user.target is active"
else
	fail "multi-user.target is not active"
fi
[ "$(systemctl get-default)" = multi-user.target ] || fail "default target $(systemctl get-default)"
root=$(findmnt -n -o FSTYPE,SOURCE /)
case "$root" in overlay*) ok "/ is $root" ;; *) fail "/ is $root, not the dnbd overlay" ;; esac
lower=$(findmnt -n -o FSTYPE,SOURCE /run/dnbd/lower)
case "$lower" in squashfs*/dev/dnbd0) ok "lower layer: $lower" ;; *) fail "lower layer: '$lower'" ;; esac
addrs=$(ip -4 -o addr show scope global)
case "$addrs" in
"") fail "no IPv4 address" ;;
*"valid_lft forever"*) ok "address kept after switch_root: $(echo "$addrs" | awk '{ print $2, $4 }')" ;;
*) fail "the DHCP address still expires: $addrs" ;;
esac
echo "hello from $(hostname)" >/etc/dnbd-written && [ -e /run/dnbd/rw/upper/etc/dnbd-written ] ||
	fail "a write to /etc did not land in the upper layer"
[ -e /run/dnbd/lower/etc/dnbd-written ] && fail "a write reached the image"
ok "writes land in the overlay"
[ "$(cat /sys/block/dnbd0/dnbd/image)" = "$DNBD_IMAGE" ] || fail "dnbd0 is bound to '$(cat /sys/block/dnbd0/dnbd/image)'"
lsmod | grep -q '^dnbd ' && ok "dnbd.ko loaded: $(modinfo -F version dnbd 2>/dev/null || echo '?')"
ok "$(awk '/^segments_requested|^replies_accepted/ { printf "%s %s ", $1, $2 }' /sys/block/dnbd0/dnbd/counters)"
echo VMTEST-DMESG-BEGIN
dmesg
echo VMTEST-DMESG-END
echo "VMTEST-EXIT $rc"
systemctl poweroff
