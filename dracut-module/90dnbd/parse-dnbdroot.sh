#!/bin/sh
#
# cmdline hook 90: is the root on dnbd?  Accepts
#   dnbd.root=<spec>            (wins over the others)
#   root=dnbd:<spec>
#   netroot=dnbd:<spec>
#   netroot=dnbd:<spec> handed over by netroot.sh from a DHCP root-path
#     (root=dhcp / netroot=dhcp; netroot.sh re-sources cmdline/90*.sh)
# Sets netroot=dnbd:<spec> and rootok=1, loads the driver, and has the
# initqueue wait until /sbin/dnbdroot has bound /dev/dnbd0.

type dnbd_parse >/dev/null 2>&1 || . /lib/dnbd-lib.sh

[ -z "$root" ] && root=$(getarg root=)

_dnbd_spec=$(getarg dnbd.root=)
if [ -n "$_dnbd_spec" ]; then
	netroot=dnbd:$_dnbd_spec
elif [ "${root%%:*}" = dnbd ]; then
	[ -n "$netroot" ] && [ "$netroot" != "$root" ] &&
		warn "dnbd: root=$root takes precedence over netroot=$netroot"
	netroot=$root
elif [ "${netroot%%:*}" != dnbd ]; then
	for _dnbd_n in $(getargs netroot=); do
		[ "${_dnbd_n%%:*}" = dnbd ] && netroot=$_dnbd_n && break
	done
	unset _dnbd_n
fi
if [ "${netroot%%:*}" != dnbd ]; then
	unset _dnbd_spec
	return 0 2>/dev/null || exit 0
fi

dnbd_parse "${netroot#dnbd:}" || die "dnbd: $dnbd_err"
netroot=dnbd:$(dnbd_canonical)
dnbd_verity_parse || die "dnbd: $dnbd_err"
dnbd_overlay_parse || die "dnbd: $dnbd_err"

modprobe -q dnbd || [ -b /dev/dnbd0 ] ||
	die "dnbd: root on dnbd, but the initramfs has no dnbd.ko for $(uname -r)"

# rootok makes init.sh accept the root; root= must not be empty.  The
# ifup/dhclient path asks getarg for netroot= again, so the translated
# value also goes to /etc/cmdline.d (not for a DHCP root-path: there
# netroot.sh already holds it).
rootok=1
case "$root" in
'' | dnbd:*) root=dnbd ;;
esac
_dnbd_dhcp=0
getarg netroot=dhcp >/dev/null && _dnbd_dhcp=1
getarg root=dhcp >/dev/null && _dnbd_dhcp=1
if [ -n "$_dnbd_spec" ] || [ "$_dnbd_dhcp" = 0 ]; then
	mkdir -p /etc/cmdline.d
	echo "netroot=$netroot" >/etc/cmdline.d/90dnbd.conf
fi
unset _dnbd_spec _dnbd_dhcp

# The initqueue is done when the handler has bound the device.
echo '[ -e /run/dnbd/bound ]' >"$hookdir"/initqueue/finished/dnbdroot.sh
