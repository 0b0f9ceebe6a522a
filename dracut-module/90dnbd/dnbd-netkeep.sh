#!/bin/sh
#
# pre-pivot hook 20: the root lives on the network, so the network must
# outlive the initramfs.  dracut's dhclient sets the DHCP address with
# valid_lft = the lease time and is killed before switch_root; nobody
# renews the lease, and the kernel would drop the address when it runs
# out - and with it the root.  Make the boot interface's IPv4 addresses
# permanent (as a kernel ip= address is), and hand the DNS servers to a
# root that has none.

type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

[ -e /run/dnbd/bound ] && [ -s /run/dnbd/netif ] || { return 0 2>/dev/null || exit 0; }
read -r _if </run/dnbd/netif

for _a in $(ip -4 -o addr show dev "$_if" 2>/dev/null | awk '/valid_lft [0-9]/ { print $4 }'); do
	if ip addr change "$_a" dev "$_if" valid_lft forever preferred_lft forever; then
		info "dnbd: $_a on $_if kept after the DHCP lease (the root is on it)"
	else
		warn "dnbd: could not make $_a on $_if permanent: the root may vanish when the lease expires"
	fi
done

# resolv.conf: only into a writable root that has none of its own.
if [ -s /etc/resolv.conf ] && [ -e /run/dnbd/overlay ] &&
	! grep -qs '^nameserver' "$NEWROOT/etc/resolv.conf" &&
	[ ! -L "$NEWROOT/etc/resolv.conf" ]; then
	cp /etc/resolv.conf "$NEWROOT/etc/resolv.conf" 2>/dev/null || true
fi
unset _if _a
