#!/bin/bash
#
# test-timeout: 1200
# (two kernels, several boots each: 600 s ran out on a loaded host)
# t-dracut-root: client VMs boot Debian's kernel with a dracut initramfs
# (90dnbd) and get their root from dnbd-server: the busybox test root's
# rc.local (vm-tests/guest/root-check.sh) checks that / is an overlay over
# the squashfs on /dev/dnbd0, that the image's file reads right, that
# writes and deletes stay in the upper layer, and powers off through init.
#
# Per kernel, four clients at once, each naming the root another way:
#   dnbd.root=GROUP,image=...       (initramfs with systemd)
#   root=dnbd:GROUP,image=...       (initramfs without systemd)
#   root=dhcp + DHCP root-path      (systemd on 6.1, none on 6.12)
#   an erofs image (6.1) or an ext4 image (6.12) on the server's next groups
# and on the last kernel a fifth: netroot=dnbd:... with dnbd.overlay=none.
# The root=dnbd: client's overlay is a 64 MiB tmpfs (dnbd.overlay=tmpfs:64M);
# on the last kernel it boots through 10% loss of dnbd datagrams in both
# directions (each datagram its own draw), repaired by retransmission and
# by parity from the server (docs/protocol.md section 20).
# The dnbd.root= client is keyed (dnbd.key=): it boots from a keyed server
# of the squashfs while a rogue host sends untagged replies of wrong data
# to that group, and checks that it dropped them (auth_missing) and that
# the key file the initramfs wrote in /run/dnbd is gone.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/dracut.sh
source "$(dirname "$0")/lib/dracut.sh"
trap vm_cleanup EXIT
trap 'exit 143' TERM INT HUP

GROUP=239.77.0.3
IMG=bbroot

dr_lan

dr_test_tree "$W/tree"
dr_image "$W/tree" "$W" "$IMG"
dr_image "$W/tree" "$W" "$IMG-erofs" --fs erofs
dr_image "$W/tree" "$W" "$IMG-ext4" --fs ext4
# Three images: groups GROUP, GROUP+1 (erofs), GROUP+2 (ext4).
dr_serve "$GROUP" "$GROUP,image=$IMG,fstype=squashfs" "$IMG" "$IMG-erofs" "$IMG-ext4"
# The dnbd.root= clients boot keyed (dnbd.key=) from a keyed server of the
# squashfs on KGROUP, where a rogue sends untagged replies of wrong data.
KGROUP=239.77.0.13
key=$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$key" >"$W/lab.key"
net_bg srv "$W/keyed.log" "$DNBD_SERVER" -m "$KGROUP" -i 2 \
	-d "$W/$IMG.img,name=$IMG" --key-file "$W/lab.key" --stats "$W/keyed.json"
wait_for 30 json_ready "$W/keyed.json" || fail "the keyed server did not start"
net_add_host rogue 10.77.0.66
net_bg rogue "$W/forge.log" "$DNBD_FORGE" --to "$KGROUP" --iface eth0 \
	--kind reply-wrongdata --spread --count 100000 --interval-ms 20 \
	--image-id "$(json_get "$W/keyed.json" '.images[0].id')" \
	--size "$(stat -c %s "$W/$IMG.img")"
forge_pid=$NET_LAST_PID

# loss_guest NAME P: P% of the dnbd datagrams into and out of guest NAME's
# tap dropped (nftables, bridge family, one draw per datagram).  The
# server's eth0 cuts its GSO trains into datagrams (gso_max_segs 1), so a
# draw drops one datagram, as on a wire, not a train of up to 45.
loss_guest() {
	ip -n "$(net_ns srv)" link set eth0 gso_max_segs 1
	ip netns exec "$NET_BR" nft -f - <<EOF
table bridge lossy {
	chain drops {
		type filter hook forward priority 0; policy accept;
		oifname "t-$1" udp dport 5001 numgen random mod 100 < $2 counter drop
		iifname "t-$1" udp dport 5001 numgen random mod 100 < $2 counter drop
	}
}
EOF
}

mapfile -t flavors < <(dnbd_kernels)
for flav in "${flavors[@]}"; do
	kver=$(vmk_resolve "$flav") || fail "cannot resolve $flav"
	dr_initrd "$kver" systemd
	dr_initrd "$kver" plain
	dhcpvar=systemd
	[[ "$flav" == 6.12 ]] && dhcpvar=plain
	k=${flav//./}
	names=("a$k" "b$k" "c$k")
	before=$(net_port_tx_bytes srv)
	dr_boot "a$k" "$kver" systemd \
		"dnbd.root=$KGROUP,image=$IMG,fstype=squashfs dnbd.key=$key dnbdtest.keyed=1"
	dr_boot "b$k" "$kver" plain \
		"root=dnbd:$GROUP,image=$IMG dnbd.overlay=tmpfs:64M dnbdtest.tmpfs=65536k"
	[[ "$flav" != "${flavors[-1]}" ]] || loss_guest "b$k" 10
	dr_boot "c$k" "$kver" "$dhcpvar" "root=dhcp"
	if [[ "$flav" == "${flavors[-1]}" ]]; then
		names+=("d$k" "e$k")
		dr_boot "d$k" "$kver" systemd \
			"netroot=dnbd:$GROUP:5001,image=$IMG dnbd.overlay=none dnbdtest.overlay=none"
		dr_boot "e$k" "$kver" plain \
			"dnbd.root=${GROUP%.*}.$((${GROUP##*.} + 2)),image=$IMG-ext4,fstype=ext4 dnbdtest.fstype=ext4"
	else
		names+=("e$k")
		dr_boot "e$k" "$kver" systemd \
			"dnbd.root=${GROUP%.*}.$((${GROUP##*.} + 1)),image=$IMG-erofs dnbdtest.fstype=erofs"
	fi
	dr_wait 400 "a boot from dnbd on $kver" "${names[@]}"
	# A figure, not a check: every client reads about the same blocks of
	# the squashfs, mostly at the same time.
	info "$kver: the server sent $((($(net_port_tx_bytes srv) - before) / 1024)) KiB" \
		"for ${#names[@]} boots from images of $(($(stat -c %s "$W/$IMG.img") / 1024)) KiB"
	pass "$kver: dnbd.root=, root=dnbd:, DHCP root-path, $([[ "$flav" == "${flavors[-1]}" ]] && echo "ext4, netroot=dnbd: (no overlay)" || echo erofs) boot to the root"
done
# The lossy guest's datagrams were dropped, both ways, and it booted.
lost=$(ip netns exec "$NET_BR" nft -j list table bridge lossy |
	jq -c '[.nftables[] | .rule? | select(.) | .expr[] | .counter? |
		select(.) | .packets]')
info "10% loss at guest b${k}: dropped into it, out of it: $lost"
jq -e 'length == 2 and .[0] > 0 and .[1] > 0' <<<"$lost" >/dev/null ||
	fail "the loss rules at b$k dropped nothing: $lost"
pass "root=dnbd: booted through 10% loss of dnbd datagrams both ways"
kill -TERM "$forge_pid" 2>/dev/null || true
wait "$forge_pid" 2>/dev/null || true
info "rogue: $(tail -n 1 "$W/forge.log"); keyed server:" \
	"$(jq -c '.counters | {requests, segments_sent, auth_missing}' "$W/keyed.json")"
check_sanitizer_logs "$W"
