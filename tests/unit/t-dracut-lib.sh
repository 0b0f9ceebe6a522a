#!/bin/bash
#
# t-dracut-lib: the dracut module's command line parsing
# (dracut-module/90dnbd/dnbd-lib.sh), run under dash as in the initramfs,
# with dracut's getarg replaced by a stub over a test command line:
# every documented form parses to the right dnbd-client arguments, and
# every malformed one is refused with a message naming the bad part.
# The module's scripts must parse as POSIX sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
MOD=dracut-module/90dnbd
bad=0
command -v dash >/dev/null || { echo "SKIP: no dash (Debian's /bin/sh)"; exit 77; }

for f in "$MOD"/*.sh; do
	[[ "$(basename "$f")" == module-setup.sh ]] && continue	# bash, run by dracut
	dash -n "$f" || { echo "FAIL: $f does not parse as POSIX sh"; bad=1; }
done
bash -n "$MOD/module-setup.sh" || bad=1

# run CMDLINE SHELL-CODE: the code under dash with dnbd-lib.sh and a getarg
# stub reading CMDLINE ("key=value" words).
run() {
	CMDLINE=$1 dash -c '
		getargs() { for w in $CMDLINE; do case "$w" in "$1"*) echo "${w#"$1"}";; esac; done; }
		getarg() {
			case "$1" in *=?*) for w in $CMDLINE; do [ "$w" = "$1" ] && return 0; done; return 1;; esac
			v=$(getargs "$1" | tail -n 1); [ -n "$v" ] || return 1; echo "$v"; }
		. '"$MOD"'/dnbd-lib.sh
		'"$2"
}

# ok SPEC EXPECTED: dnbd_parse accepts SPEC; the variables print EXPECTED.
ok() {
	local got
	got=$(run "" 'dnbd_parse "'"$1"'" || { echo "ERR $dnbd_err"; exit 0; }
		echo "$dnbd_addrs|$dnbd_multicast|$dnbd_port|$dnbd_image|$dnbd_fstype|$dnbd_timeout|$dnbd_discover|$dnbd_iface|$dnbd_seg|$dnbd_memcache"')
	if [[ "$got" != "$2" ]]; then
		echo "FAIL: '$1' gave '$got', expected '$2'"
		bad=1
	fi
}

# no SPEC WORDS: dnbd_parse refuses SPEC with a message containing WORDS.
no() {
	local got
	got=$(run "" 'dnbd_parse "'"$1"'" && echo ACCEPTED || echo "$dnbd_err"')
	if [[ "$got" == ACCEPTED || "$got" != *"$2"* ]]; then
		echo "FAIL: '$1' gave '$got', expected an error with '$2'"
		bad=1
	fi
}

ok 239.0.0.1 "239.0.0.1|1|5001||auto|0|120|||"
ok 239.0.0.1:6000,image=lab-2026,fstype=squashfs \
	"239.0.0.1|1|6000|lab-2026|squashfs|0|120|||"
ok 10.0.0.5+10.0.0.6:5001,image=x,timeout=30,discover=10,iface=eth1,seg=8900,memcache=64M \
	"10.0.0.5,10.0.0.6|0|5001|x|auto|30|10|eth1|8900|64M"
ok "239.1.2.3,,image=a," "239.1.2.3|1|5001|a|auto|0|120|||"
ok 239.0.0.1,port=6001 "239.0.0.1|1|6001||auto|0|120|||"
no 239.0.0.1,port=0 "port '0'"

# The canonical form (netroot= inside the initramfs) parses back to the
# same values, and never has a bare address after "dnbd:" (dracut would
# ARP for a multicast group for 60 s).
for sp in 239.0.0.1 239.0.0.1:6000,image=a,fstype=erofs,timeout=5,discover=9,iface=e1,seg=600,memcache=1M \
	10.0.0.5+10.0.0.6; do
	canon=$(run "" 'dnbd_parse "'"$sp"'" && dnbd_canonical')
	vals() { run "" 'dnbd_parse "'"$1"'" && echo "$dnbd_addrs|$dnbd_port|$dnbd_image|$dnbd_fstype|$dnbd_timeout|$dnbd_discover|$dnbd_iface|$dnbd_seg|$dnbd_memcache"'; }
	[[ "$(vals "$sp")" == "$(vals "$canon")" && -n "$(vals "$sp")" ]] ||
		{ echo "FAIL: '$sp' -> '$canon' does not parse back the same"; bad=1; }
	[[ "${canon%%,*}" == "${canon}" || "${canon%%,*}" == *,* ]] &&
		{ echo "FAIL: canonical '$canon' has no option after the address"; bad=1; }
done
[[ "$(run "" 'dnbd_parse 239.0.0.1 && dnbd_canonical')" == "239.0.0.1,port=5001" ]] ||
	{ echo "FAIL: canonical form of 239.0.0.1"; bad=1; }
no "" "no server address"
no ":5001" "no server address"
no 239.0.0.1:99999 "bad port '99999'"
no 239.0.0.1:0 "bad port '0'"
no 239.0.0.1:x "bad port 'x'"
no 300.0.0.1 "'300.0.0.1' is not an IPv4 address"
no 10.0.0 "'10.0.0' is not an IPv4 address"
no lab.example.org "is not an IPv4 address"
no 239.0.0.1+10.0.0.1 "one multicast group or unicast servers"
no 1.1.1.1+1.1.1.2+1.1.1.3+1.1.1.4+1.1.1.5+1.1.1.6+1.1.1.7+1.1.1.8+1.1.1.9 "at most 8"
no 239.0.0.1,image "needs a value"
no 239.0.0.1,image= "needs a value"
no "239.0.0.1,image=a b" "letters, digits"
no "239.0.0.1,image=../x/y" "letters, digits"
no 239.0.0.1,fstype=ntfs "fstype 'ntfs'"
no 239.0.0.1,timeout=-1 "timeout '-1'"
no 239.0.0.1,discover=0 "discover '0'"
no 239.0.0.1,seg=100 "seg '100'"
no 239.0.0.1,seg=9000 "seg '9000'"
no 239.0.0.1,memcache=lots "memcache 'lots'"
no 239.0.0.1,colour=blue "unknown option 'colour'"

# The command line forms, in their order of precedence.
spec() { run "$1" 'dnbd_cmdline_spec'; }
[[ "$(spec "root=dnbd:10.0.0.1 dnbd.root=239.0.0.1,image=a")" == "239.0.0.1,image=a" ]] ||
	{ echo "FAIL: dnbd.root= does not win"; bad=1; }
[[ "$(spec "root=dnbd:10.0.0.1,image=b netroot=dnbd:10.0.0.2")" == "10.0.0.1,image=b" ]] ||
	{ echo "FAIL: root=dnbd: does not win over netroot="; bad=1; }
[[ "$(spec "netroot=nfs:x netroot=dnbd:10.0.0.2")" == "10.0.0.2" ]] ||
	{ echo "FAIL: netroot=dnbd: not found"; bad=1; }
[[ -z "$(spec "root=/dev/sda1 netroot=dhcp")" ]] ||
	{ echo "FAIL: a spec found where there is none"; bad=1; }

# dnbd.verity= and dnbd.overlay=.
h=$(printf '%064d' 7)
v() { run "$1" 'dnbd_verity_parse && echo "$dnbd_roothash|$dnbd_hashoffset" || echo "ERR $dnbd_err"'; }
[[ "$(v "dnbd.verity=$h,hashoffset=8192")" == "$h|8192" ]] || { echo "FAIL: verity with offset"; bad=1; }
[[ "$(v "dnbd.verity=$h")" == "$h|" ]] || { echo "FAIL: verity without offset"; bad=1; }
[[ "$(v "")" == "|" ]] || { echo "FAIL: no verity"; bad=1; }
[[ "$(v "dnbd.verity=XYZ")" == "ERR"*"not lower-case hex"* ]] || { echo "FAIL: bad root hash accepted"; bad=1; }
[[ "$(v "dnbd.verity=abcd")" == "ERR"*"too short"* ]] || { echo "FAIL: short root hash accepted"; bad=1; }
[[ "$(v "dnbd.verity=$h,hashoffset=100")" == "ERR"*"multiple of 4096"* ]] || { echo "FAIL: odd hash offset accepted"; bad=1; }
[[ "$(v "dnbd.verity=$h,salt=1")" == "ERR"*"unknown option"* ]] || { echo "FAIL: unknown verity option accepted"; bad=1; }
o() { run "$1" 'dnbd_overlay_parse && echo "$dnbd_ovl_kind|$dnbd_ovl_arg" || echo "ERR $dnbd_err"'; }
for c in "|tmpfs|50%" "dnbd.overlay=tmpfs:2G|tmpfs|2G" "dnbd.overlay=none|none|" \
	"dnbd.overlay=LABEL=ovl|device|LABEL=ovl" "dnbd.overlay=/dev/sda2|device|/dev/sda2"; do
	[[ "$(o "${c%%|*}")" == "${c#*|}" ]] || { echo "FAIL: overlay '${c%%|*}' gave '$(o "${c%%|*}")'"; bad=1; }
done
[[ "$(o dnbd.overlay=ram)" == "ERR"* ]] || { echo "FAIL: dnbd.overlay=ram accepted"; bad=1; }
[[ "$(o dnbd.overlay=tmpfs:big)" == "ERR"* ]] || { echo "FAIL: tmpfs:big accepted"; bad=1; }
[[ "$(run "" 'dnbd_dev_path LABEL=a/b')" == '/dev/disk/by-label/a\x2fb' ]] || { echo "FAIL: LABEL with a slash"; bad=1; }

# dnbd.key= and dnbd.keyfile=, and the key file dnbdroot.sh writes.
k=$(printf '%064x' 12345)
kp() { run "$1" 'dnbd_key_parse && echo "$dnbd_key|$dnbd_keyfile" || echo "ERR $dnbd_err"'; }
[[ "$(kp "")" == "|" ]] || { echo "FAIL: no key"; bad=1; }
[[ "$(kp "dnbd.key=$k")" == "$k|" ]] || { echo "FAIL: dnbd.key= gave '$(kp "dnbd.key=$k")'"; bad=1; }
[[ "$(kp "dnbd.keyfile=/etc/dnbd/lab.key")" == "|/etc/dnbd/lab.key" ]] ||
	{ echo "FAIL: dnbd.keyfile="; bad=1; }
[[ "$(kp "dnbd.key=${k}0")" == "ERR"*"65 hex digits, not 64"* ]] || { echo "FAIL: long key accepted"; bad=1; }
[[ "$(kp "dnbd.key=abc")" == "ERR"*"not 64"* ]] || { echo "FAIL: short key accepted"; bad=1; }
[[ "$(kp "dnbd.key=${k%?}g")" == "ERR"*"not hex"* ]] || { echo "FAIL: non-hex key accepted"; bad=1; }
[[ "$(kp "dnbd.keyfile=lab.key")" == "ERR"*"absolute"* ]] || { echo "FAIL: relative keyfile accepted"; bad=1; }
[[ "$(kp "dnbd.key=$k dnbd.keyfile=/k")" == "ERR"*"not both"* ]] || { echo "FAIL: key and keyfile accepted"; bad=1; }
t=$(mktemp -d)
run "dnbd.key=$k" "dnbd_key_parse && dnbd_key_write $t/lab.key"
[[ "$(stat -c %a "$t/lab.key")" == 600 ]] || { echo "FAIL: key file mode $(stat -c %a "$t/lab.key")"; bad=1; }
[[ "$(cat "$t/lab.key")" == "$k" ]] || { echo "FAIL: key file content"; bad=1; }
# (vm-tests/t-kmod.sh binds with such a file: 64 hex digits, a newline.)
rm -rf "$t"

# Where the hash tree starts after a squashfs (when hashoffset= is absent).
if command -v mksquashfs >/dev/null; then
	t=$(mktemp -d)
	head -c 300000 /dev/urandom >"$t/f"
	mksquashfs "$t/f" "$t/img" -quiet -no-progress >/dev/null
	used=$(python3 -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(96), 40)[0])' "$t/img")
	want=$(((used + 4095) / 4096 * 4096))
	got=$(run "" "dnbd_squashfs_end $t/img")
	[[ "$got" == "$want" ]] || { echo "FAIL: squashfs end $got, expected $want"; bad=1; }
	[[ -z "$(run "" "dnbd_squashfs_end $t/f" || true)" ]] || { echo "FAIL: random data taken for a squashfs"; bad=1; }
	rm -rf "$t"
fi
# dnbd-booted.sh (pre-pivot 30) in a private /run (its own mount namespace):
# the unit it writes for dnbd.booted=, enabled for multi-user.target and
# valid for systemd; nothing for a bad URL or a root dnbd did not bind.
booted() { # CMDLINE BOUND: the unit written (or nothing) and the hook's words
	CMDLINE=$1 BOUND=$2 unshare -m dash -c '
		mount -t tmpfs none /run && mkdir -p /run/dnbd || exit 1
		[ "$BOUND" = yes ] && : >/run/dnbd/bound
		echo lo >/run/dnbd/netif
		getarg() { for w in $CMDLINE; do case "$w" in "$1"*) echo "${w#"$1"}"; return 0;; esac; done; return 1; }
		warn() { echo "warn: $*"; }
		info() { echo "info: $*"; }
		. '"$MOD"'/dnbd-booted.sh
		u=/run/systemd/system/dnbd-booted.service
		[ -f $u ] || exit 0
		[ "$(readlink /run/systemd/system/multi-user.target.wants/dnbd-booted.service)" = ../dnbd-booted.service ] ||
			echo "not enabled"
		cat $u
		systemd-analyze verify --man=no $u 2>&1 | sed "s/^/verify: /"'
}
out=$(booted "dnbd.root=239.0.0.1 dnbd.booted=http://10.33.0.1/booted" yes)
grep -qF "ExecStart=/bin/bash -c 'exec 3<>/dev/tcp/10.33.0.1/80 && printf \"GET /booted?mac=00:00:00:00:00:00 HTTP/1.0" <<<"$out" &&
	grep -q '^After=multi-user.target' <<<"$out" && ! grep -q "not enabled\|^verify:" <<<"$out" ||
	{ echo "FAIL: dnbd.booted= wrote no valid enabled unit:"; echo "$out"; bad=1; }
out=$(booted "dnbd.booted=http://10.33.0.1:8080/x/up" yes)
grep -q "/dev/tcp/10.33.0.1/8080 && printf \"GET /x/up?" <<<"$out" ||
	{ echo "FAIL: dnbd.booted= with a port: $out"; bad=1; }
for u in 'http://10.33.0.1/a;reboot' 'ftp://10.33.0.1/x' 'http://10.33.0.1:8x/y' 'http://h$(id)/z'; do
	out=$(booted "dnbd.booted=$u" yes)
	grep -q "^warn: dnbd: dnbd.booted=" <<<"$out" && ! grep -q ExecStart <<<"$out" ||
		{ echo "FAIL: dnbd.booted=$u was not refused: $out"; bad=1; }
done
out=$(booted "dnbd.booted=http://10.33.0.1/booted" no)
[[ -z "$out" ]] || { echo "FAIL: dnbd.booted= acted for a root dnbd did not bind: $out"; bad=1; }
((bad == 0)) && echo "ok: 90dnbd parses every form and refuses the bad ones"
exit $bad
