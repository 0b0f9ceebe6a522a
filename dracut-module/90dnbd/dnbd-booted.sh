#!/bin/sh
#
# pre-pivot hook 30: dnbd.booted=http://HOST[:PORT]/PATH asks the booted
# system to say "I am up" to the appliance's live page: a systemd unit in
# /run/systemd/system (/run moves into the new root, and systemd reads
# runtime units there), wanted by multi-user.target and ordered after it,
# sends one HTTP GET of PATH?mac=MAC to HOST with bash's /dev/tcp (bash is
# Essential in Debian; curl and wget are not).  No systemd or no bash in
# the root: nothing happens, and the page stops at "root bound".

type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

dnbd_booted_unit() {
	local url host port path mac
	url=$(getarg dnbd.booted=) || return 0
	[ -e /run/dnbd/bound ] || return 0
	case "$url" in
	http://*/*) ;;
	*) warn "dnbd: dnbd.booted=$url is not http://HOST[:PORT]/PATH: ignored"; return 0 ;;
	esac
	url=${url#http://}
	host=${url%%/*}
	path=/${url#*/}
	port=80
	case "$host" in *:*) port=${host#*:}; host=${host%%:*} ;; esac
	case "$host$port$path" in
	*[!A-Za-z0-9._/:-]*|'')
		warn "dnbd: dnbd.booted= has unusual characters: ignored"; return 0 ;;
	esac
	case "$port" in ''|*[!0-9]*) warn "dnbd: dnbd.booted= port '$port': ignored"; return 0 ;; esac
	mac=$(cat "/sys/class/net/$(cat /run/dnbd/netif 2>/dev/null)/address" 2>/dev/null)
	case "$mac" in *[!0-9a-f:]*|'') mac=unknown ;; esac
	mkdir -p /run/systemd/system/multi-user.target.wants || return 0
	cat >/run/systemd/system/dnbd-booted.service <<UNIT
# Written by the dnbd dracut module (dnbd.booted=): tell the appliance
# that this client reached multi-user.target.
[Unit]
Description=Tell the dnbd appliance that this client is up
After=multi-user.target

[Service]
Type=oneshot
TimeoutStartSec=20
ExecStart=/bin/bash -c 'exec 3<>/dev/tcp/$host/$port && printf "GET $path?mac=$mac HTTP/1.0\\\\r\\\\nHost: $host\\\\r\\\\n\\\\r\\\\n" >&3 && timeout 10 cat <&3 >/dev/null'
UNIT
	ln -sf ../dnbd-booted.service \
		/run/systemd/system/multi-user.target.wants/dnbd-booted.service
	info "dnbd: the booted system will report to http://$host:$port$path"
}

dnbd_booted_unit
