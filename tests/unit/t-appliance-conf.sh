#!/bin/bash
#
# t-appliance-conf: the appliance's configuration parser
# (image-builder/appliance/conf.sh) and the ipxe/ generators, under dash
# and busybox sh (the appliance's shell): defaults, good and bad files with
# their exact messages and line numbers, derived DHCP ranges, the image
# list, the client command line, boot.ipxe with and without a menu, and
# dnsmasq.conf in both DHCP modes, checked by dnsmasq --test itself.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0
n=0
ok() { n=$((n + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

for p in dash busybox dnsmasq; do
	command -v "$p" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		"$( [[ $p == busybox ]] && echo busybox-static || { [[ $p == dnsmasq ]] && echo dnsmasq-base || echo "$p"; })" >/dev/null
done

LIB=". '$REPO/image-builder/appliance/conf.sh'; . '$REPO/ipxe/boot-ipxe.sh'; . '$REPO/ipxe/dnsmasq-conf.sh';"

# shrun SHELL SCRIPT: run SCRIPT with the library loaded.
shrun() {
	local sh=$1
	shift
	if [[ $sh == busybox ]]; then
		busybox sh -c "$LIB $*"
	else
		dash -c "$LIB $*"
	fi
}

mkdir -p "$W/img1" "$W/img2"
for f in demo.img demo.vmlinuz demo.initrd lab.img lab.vmlinuz lab.initrd data.img; do
	: >"$W/img1/$f"
done
echo 'dnbd.root=239.0.0.1,image=old,fstype=erofs dnbd.verity=abc123,hashoffset=4096 quiet' >"$W/img1/demo.cmdline"
echo 'dnbd.root=239.0.0.1,image=lab bad$(x) rd.retry=60' >"$W/img1/lab.cmdline"
: >"$W/img2/extra.img"

for SH in dash busybox; do
	# Defaults: an isolated lab.
	out=$(shrun $SH 'conf_defaults; conf_finish; echo "$C_ADDR/$C_PREFIX $C_DHCP $C_RANGE_START-$C_RANGE_END $C_NETMASK $C_SERVER_ID $C_PORT"')
	[[ "$out" == "10.33.0.1/24 full 10.33.0.100-10.33.0.199 255.255.255.0 1 5001" ]] && ok || bad "$SH defaults: $out"

	# The documented example file is itself valid.
	shrun $SH "conf_defaults; conf_load '$REPO/image-builder/appliance/dnbd-appliance.conf' && conf_finish" && ok ||
		bad "$SH: the example dnbd-appliance.conf does not parse"

	# A full, good file.
	cat >"$W/good.conf" <<'EOF'
# comment
interface = eth1
address=192.168.7.10/16   # trailing comment
dhcp = proxy
lease = 2h
router = 192.168.0.1
dns = 192.168.0.1,192.168.0.2
server_id = 12
port = 6001
group_base = 239.7.0.1
menu_timeout = 7
default = lab
rate = 80M
image = lab auto Exam room
image = demo 239.9.9.9 Debian demo
append = console=ttyS0,115200n8 quiet
append.demo = systemd.unit=multi-user.target
EOF
	out=$(shrun $SH "conf_defaults; conf_load '$W/good.conf' && conf_finish && conf_images '$W/img1' && echo \"\$C_IFACE \$C_ADDR/\$C_PREFIX \$C_DHCP \$C_NETWORK \$C_RANGE_START \$C_SERVER_ID \$C_RATE \$C_DEFAULT\" && printf '%s' \"\$C_EXPORTS\"")
	want="eth1 192.168.7.10/16 proxy 192.168.0.0 192.168.0.100 12 80M lab
lab 239.7.0.1 $W/img1 Exam room
demo 239.9.9.9 $W/img1 Debian demo"
	[[ "$out" == "$want" ]] && ok || bad "$SH good file: got
$out
want
$want"

	# Bad values: FILE:LINE: message, status 1.
	while IFS='|' read -r line msg; do
		printf '%s\n' "$line" >"$W/bad.conf"
		err=$(shrun $SH "conf_defaults; conf_load '$W/bad.conf'" 2>&1) && bad "$SH '$line' was accepted" && continue
		[[ "$err" == *"$W/bad.conf:1: $msg"* ]] && ok || bad "$SH '$line': got '$err', want '$msg'"
	done <<'EOF'
address = 10.33.0.300/24|address '10.33.0.300/24': A.B.C.D/NN with NN from 8 to 30
address = 10.33.0.1/31|address '10.33.0.1/31': A.B.C.D/NN with NN from 8 to 30
dhcp = maybe|dhcp 'maybe': full, proxy or off
dhcp_range = 10.0.0.1|dhcp_range '10.0.0.1': FIRST-LAST, two addresses
server_id = 0|server_id '0': a number from 1 to 65535, unique per replica
server_id = 1x|server_id '1x': a number from 1 to 65535, unique per replica
port = 70000|port '70000': a UDP port from 1 to 65535
group_base = 224.0.0.1|group_base '224.0.0.1': a multicast group in 239.0.0.0/8
image = demo 10.0.0.1|image demo: group '10.0.0.1' is not a multicast group in 239.0.0.0/8 (or auto)
image = ../etc|image '../etc': NAME [GROUP|auto] [LABEL]
append = quiet; reboot|append: no quotes
append = $(reboot)|append: no quotes
interface = eth0;ls|interface 'eth0;ls': a name such as eth0, or auto
menu_timeout = -1|menu_timeout '-1': seconds, 0 to 3600
lease = forever|lease 'forever': seconds, or N followed by s, m, h or d, or infinite
rate = fast|rate 'fast': bytes per second, with K, M or G
colour = blue|unknown setting 'colour'
just words|'just words': expected KEY = VALUE
server_id =|server_id: empty value
EOF
	# The line number is the file's.
	printf '# one\n\nserver_id = 3\ndhcp = nope\n' >"$W/bad.conf"
	err=$(shrun $SH "conf_defaults; conf_load '$W/bad.conf'" 2>&1) || true
	[[ "$err" == "$W/bad.conf:4: dhcp 'nope': full, proxy or off" ]] && ok || bad "$SH line number: $err"
	printf 'image = a\nimage = a\n' >"$W/bad.conf"
	err=$(shrun $SH "conf_defaults; conf_load '$W/bad.conf'" 2>&1) || true
	[[ "$err" == *":2: image a: listed twice" ]] && ok || bad "$SH duplicate image: $err"

	# Derived ranges, and ranges that cannot work.
	for case in "10.1.2.3/24 10.1.2.100-10.1.2.199" "10.1.2.150/24 10.1.2.200-10.1.2.250" \
		"10.1.0.1/16 10.1.0.100-10.1.0.199" "10.1.2.1/28 10.1.2.7-10.1.2.14" \
		"10.1.2.14/28 10.1.2.1-10.1.2.6"; do
		set -- $case
		out=$(shrun $SH "conf_defaults; conf_set address $1; conf_finish; echo \$C_RANGE_START-\$C_RANGE_END")
		[[ "$out" == "$2" ]] && ok || bad "$SH range for $1: $out, want $2"
	done
	err=$(shrun $SH "CONF_FILE=f; conf_defaults; conf_set dhcp_range 10.33.0.1-10.33.0.50; conf_finish" 2>&1) && bad "$SH range over own address accepted" ||
		{ [[ "$err" == *"holds the appliance's own address 10.33.0.1"* ]] && ok || bad "$SH own address: $err"; }
	err=$(shrun $SH "CONF_FILE=f; conf_defaults; conf_set dhcp_range 10.34.0.1-10.34.0.50; conf_finish" 2>&1) && bad "$SH range outside accepted" ||
		{ [[ "$err" == *"is not inside 10.33.0.0/24"* ]] && ok || bad "$SH outside: $err"; }
	err=$(shrun $SH "CONF_FILE=f; conf_defaults; conf_set address 10.33.0.0/24; conf_finish" 2>&1) && bad "$SH network address accepted" ||
		{ [[ "$err" == *"is the network or broadcast address"* ]] && ok || bad "$SH network address: $err"; }

	# Images: every *.img of every directory, groups from group_base.
	out=$(shrun $SH "conf_defaults; conf_images '$W/img1' '$W/img2' && printf '%s' \"\$C_EXPORTS\" | cut -d' ' -f1,2 | tr '\n' ' '; echo \$C_DEFAULT")
	[[ "$out" == "data 239.33.0.1 demo 239.33.0.2 lab 239.33.0.3 extra 239.33.0.4 data" ]] && ok || bad "$SH image scan: $out"
	err=$(shrun $SH "CONF_FILE=f; conf_defaults; conf_set image 'nothere'; conf_images '$W/img1'" 2>&1) && bad "$SH missing image accepted" ||
		{ [[ "$err" == *"image nothere: no nothere.img"* ]] && ok || bad "$SH missing image: $err"; }
	err=$(shrun $SH "CONF_FILE=f; conf_defaults; conf_set default zzz; conf_images '$W/img1'" 2>&1) && bad "$SH bad default accepted" ||
		{ [[ "$err" == *"default image zzz is not exported"* ]] && ok || bad "$SH bad default: $err"; }

	# The client command line.
	out=$(shrun $SH "conf_defaults; C_APPEND='console=ttyS0'; C_APPEND_demo='x=1'; ipxe_cmdline demo 239.5.5.5 '$W/img1'")
	want='initrd=demo.initrd BOOTIF=01-${netX/mac:hexhyp} dnbd.root=239.5.5.5:5001,image=demo,fstype=erofs dnbd.booted=http://10.33.0.1/booted dnbd.verity=abc123,hashoffset=4096 quiet console=ttyS0 x=1'
	[[ "$out" == "$want" ]] && ok || bad "$SH cmdline: $out"
	out=$(shrun $SH "conf_defaults; C_APPEND=''; ipxe_cmdline lab 239.5.5.6 '$W/img1'" 2>"$W/err")
	[[ "$out" == 'initrd=lab.initrd BOOTIF=01-${netX/mac:hexhyp} dnbd.root=239.5.5.6:5001,image=lab dnbd.booted=http://10.33.0.1/booted rd.retry=60' ]] && ok || bad "$SH cmdline lab: $out"
	grep -q "skipped (unusual characters)" "$W/err" && ok || bad "$SH: no warning for a skipped token"
	out=$(shrun $SH "conf_defaults; C_APPEND=''; ipxe_cmdline extra 239.5.5.7 '$W/img2'")
	[[ "$out" == 'initrd=extra.initrd BOOTIF=01-${netX/mac:hexhyp} dnbd.root=239.5.5.7:5001,image=extra dnbd.booted=http://10.33.0.1/booted' ]] && ok || bad "$SH cmdline without .cmdline: $out"

	# boot.ipxe: one bootable image, no menu; two with a timeout, a menu.
	out=$(shrun $SH "conf_defaults; conf_set image demo; conf_images '$W/img1'; gen_boot_ipxe")
	head -n 1 <<<"$out" | grep -qx '#!ipxe' && ok || bad "$SH boot.ipxe: no #!ipxe"
	grep -qx 'goto demo' <<<"$out" && ! grep -q '^menu' <<<"$out" && ok || bad "$SH one image: menu or no goto"
	grep -q '^kernel ${dnbd-server}/images/demo.vmlinuz initrd=demo.initrd .*dnbd.root=239.33.0.1:5001,image=demo' <<<"$out" &&
		grep -q '^initrd --name demo.initrd ${dnbd-server}/images/demo.initrd' <<<"$out" && ok || bad "$SH one image: kernel/initrd lines: $out"
	grep -q '^set dnbd-server http://10.33.0.1$' <<<"$out" && ok || bad "$SH: no server URL"
	out=$(shrun $SH "conf_defaults; conf_set menu_timeout 4; conf_set default lab; conf_images '$W/img1'; gen_boot_ipxe")
	grep -q '^choose --default lab --timeout 4000 target' <<<"$out" && ok || bad "$SH menu: no choose line"
	[[ $(grep -c '^item ' <<<"$out") == 2 ]] && ok || bad "$SH menu: want 2 items (data.img has no kernel): $(grep '^item' <<<"$out")"
	grep -q '^:data' <<<"$out" && bad "$SH menu: data (no kernel) has a boot label" || ok

	# dnsmasq.conf in each mode, checked by dnsmasq itself.
	for mode in full proxy off; do
		shrun $SH "conf_defaults; conf_set dhcp $mode; conf_finish; gen_dnsmasq_conf lo '$W' '$W'" >"$W/dnsmasq-$mode.conf"
		dnsmasq --test --conf-file="$W/dnsmasq-$mode.conf" >/dev/null 2>&1 && ok ||
			bad "$SH dnsmasq --test rejects the $mode config: $(dnsmasq --test --conf-file="$W/dnsmasq-$mode.conf" 2>&1)"
	done
	grep -q '^dhcp-range=10.33.0.100,10.33.0.199,255.255.255.0,12h$' "$W/dnsmasq-full.conf" &&
		grep -q '^dhcp-boot=tag:ipxe,boot.ipxe,,10.33.0.1$' "$W/dnsmasq-full.conf" &&
		grep -q '^dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi' "$W/dnsmasq-full.conf" &&
		grep -q '^dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe' "$W/dnsmasq-full.conf" && ok || bad "$SH full-mode dnsmasq.conf"
	grep -q '^dhcp-range=10.33.0.0,proxy,255.255.255.0$' "$W/dnsmasq-proxy.conf" &&
		grep -q '^pxe-service=tag:ipxe,x86PC,"dnbd (iPXE)",boot.ipxe,10.33.0.1$' "$W/dnsmasq-proxy.conf" &&
		! grep -q 'dhcp-authoritative' "$W/dnsmasq-proxy.conf" && ok || bad "$SH proxy-mode dnsmasq.conf"
	! grep -q '^dhcp-range' "$W/dnsmasq-off.conf" && ok || bad "$SH off mode hands out addresses"
done

# make image's --config check uses the same parser.
printf 'dhcp = nope\n' >"$W/bad.conf"
err=$("$REPO/image-builder/dnbd-appliance" --image "$W/img1/demo.img" --config "$W/bad.conf" -o "$W/x.iso" 2>&1) && bad "dnbd-appliance accepted a bad --config" ||
	{ [[ "$err" == *"bad.conf:1: dhcp 'nope'"* ]] && ok || bad "dnbd-appliance --config message: $err"; }
err=$("$REPO/image-builder/dnbd-appliance" --images "$W/none" 2>&1) && bad "dnbd-appliance accepted a missing dir" ||
	{ [[ "$err" == *"--images $W/none: not a directory"* ]] && ok || bad "dnbd-appliance --images message: $err"; }
# --kernel-args goes into grub.cfg: words that could break it are refused.
err=$("$REPO/image-builder/dnbd-appliance" --image "$W/img1/demo.img" --kernel-args 'quiet"; reboot' -o "$W/x.iso" 2>&1) && bad "dnbd-appliance accepted a quote in --kernel-args" ||
	{ [[ "$err" == *"--kernel-args 'quiet\"; reboot': only letters"* ]] && ok || bad "dnbd-appliance --kernel-args message: $err"; }

echo "$n checks passed, $fails failed"
((fails == 0))
