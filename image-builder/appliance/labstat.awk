# /etc/appliance/labstat.awk - the lab's boot progress from the logs, for
# the live page (busybox awk).
#
# Input, one stream (see svc labstat): dnsmasq's log (log-dhcp), busybox
# httpd's log (-vv: "IP:PORT: url:/path", "IP:PORT: response:200") and a
# line "TICK" every second.  Output, at every tick: OUT (a JSON file,
# written to OUT.tmp and renamed), with dnbd-server's stats file SERVER
# inside, so that the page needs one request:
#   {"updated":T,"clients":[{"mac":"..","ip":"..","hostname":"..",
#     "arch":"bios|efi","boots":N,"dhcp":T,"ipxe":T,"kernel":T,
#     "initrd":T,"running":T}, ...],"server":{...dnbd-server --stats...}}
# T: Unix seconds when this boot of the client reached the stage (0: not
# yet).  Stages of one boot, in order: an address (DHCPACK), iPXE (a DHCP
# exchange of iPXE, or boot.ipxe fetched), the kernel and the initramfs
# fetched over HTTP, and "running": the booted system fetched /booted
# (dnbd.booted=, which boot.ipxe sets; the dracut module's unit does it at
# multi-user.target).  The page takes "root bound" from dnbd-server's
# stats file.  A PXE firmware's DHCP from a client that had
# fetched its kernel starts a new boot.  At most MAXC clients (the oldest
# is forgotten); lines that match nothing are ignored.
BEGIN {
	MAXC = 512
	n = 0
	now = systime()
}

function client(mac,    i, oldest) {
	if (mac in idx)
		return idx[mac]
	if (n < MAXC) {
		i = ++n
	} else {
		oldest = 1
		for (i = 2; i <= n; i++)
			if (seen[i] < seen[oldest])
				oldest = i
		i = oldest
		delete idx[cmac[i]]
	}
	idx[mac] = i
	cmac[i] = mac
	cip[i] = ""; chost[i] = ""; carch[i] = ""; boots[i] = 0
	stages_clear(i)
	seen[i] = now
	return i
}

# No stage reached yet in this boot of client i.
function stages_clear(i) {
	t_dhcp[i] = 0; t_ipxe[i] = 0; t_kernel[i] = 0; t_initrd[i] = 0
	t_running[i] = 0
}

function newboot(i) {
	boots[i]++
	stages_clear(i)
}

# The word after "key" in the line, or "".
function after(key,    p, rest) {
	p = index($0, key)
	if (!p)
		return ""
	rest = substr($0, p + length(key))
	sub(/^[ \t]+/, "", rest)
	sub(/[ \t].*$/, "", rest)
	return rest
}

function jstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	gsub(/[\001-\037]/, "", s)
	return "\"" s "\""
}

# dnbd-server's stats file (one line, renamed into place), or null.
function server(    line, all) {
	all = ""
	while ((getline line < SERVER) > 0)
		all = all line
	close(SERVER)
	return all ~ /^\{.*\}$/ ? all : "null"
}

function write(    i, f, sep) {
	f = OUT ".tmp"
	printf "{\"updated\":%d,\"clients\":[", now > f
	sep = ""
	for (i = 1; i <= n; i++) {
		printf "%s{\"mac\":%s,\"ip\":%s,\"hostname\":%s,\"arch\":%s," \
			"\"boots\":%d,\"dhcp\":%d,\"ipxe\":%d,\"kernel\":%d," \
			"\"initrd\":%d,\"running\":%d}", sep, jstr(cmac[i]),
			jstr(cip[i]), jstr(chost[i]), jstr(carch[i]), boots[i],
			t_dhcp[i], t_ipxe[i], t_kernel[i], t_initrd[i],
			t_running[i] > f
		sep = ","
	}
	printf "],\"server\":%s}\n", server() > f
	close(f)
	system("mv -f '" f "' '" OUT "'")
}

# The client that has address ip, or 0.
function byip(ip,    i) {
	for (i = 1; i <= n; i++)
		if (cip[i] == ip)
			return i
	return 0
}

$0 == "TICK" {
	now = systime()
	write()
	# Transactions without an ACK and requests without a response
	# (garbage, NAKs, cut connections) must not pile up.
	if (pending > 4096) {
		split("", pxe); split("", ipxe); split("", arch); split("", url)
		pending = 0
	}
	next
}

# dnsmasq, per DHCP transaction (the number before the message):
# "TXID vendor class: PXEClient:...", "TXID user class: iPXE",
# "TXID tags: ipxe, bios, eth0", "TXID DHCPACK(eth0) IP MAC [HOSTNAME]".
/dnsmasq-dhcp.*[0-9]+ vendor class: PXEClient/ {
	tx = after("]:")
	pxe[tx] = 1
	pending++
	next
}
/dnsmasq-dhcp.*[0-9]+ user class: iPXE/ {
	tx = after("]:")
	ipxe[tx] = 1
	pending++
	next
}
/dnsmasq-dhcp.*[0-9]+ tags: / {
	tx = after("]:")
	if ($0 ~ /tags:.*[ ,]ipxe(,|$)/)
		ipxe[tx] = 1
	if ($0 ~ /tags:.*[ ,]efi64(,|$)/)
		arch[tx] = "efi"
	else if ($0 ~ /tags:.*[ ,]bios(,|$)/)
		arch[tx] = "bios"
	next
}
/dnsmasq-dhcp.* DHCPACK\(/ {
	tx = after("]:")
	s = $0
	sub(/.* DHCPACK\([^)]*\) /, "", s)
	split(s, w, " ")
	if (w[2] !~ /^[0-9a-f][0-9a-f](:[0-9a-f][0-9a-f])+$/)
		next
	i = client(w[2])
	seen[i] = now
	# A PXE firmware asking again after the kernel: the client rebooted.
	if (tx in pxe && (t_kernel[i] || !boots[i]))
		newboot(i)
	cip[i] = w[1]
	if (w[3] != "")
		chost[i] = w[3]
	if (tx in arch)
		carch[i] = arch[tx]
	if (!t_dhcp[i])
		t_dhcp[i] = now
	if ((tx in ipxe) && !t_ipxe[i])
		t_ipxe[i] = now
	delete pxe[tx]; delete ipxe[tx]; delete arch[tx]
	next
}
# dnsmasq's TFTP: "sent /srv/tftp/boot.ipxe to IP".
/dnsmasq-tftp.* sent .*boot\.ipxe to / {
	i = byip(after(" to "))
	if (i && !t_ipxe[i])
		t_ipxe[i] = now
	next
}
# busybox httpd -vv: "PEER: url:/path" then "PEER: response:CODE", where
# PEER is IP:PORT, or [::ffff:IP]:PORT when httpd listens on IPv6 too.
/^(\[::ffff:)?[0-9.]+\]?:[0-9]+: url:/ {
	peer = $1
	sub(/:$/, "", peer)
	url[peer] = after("url:")
	pending++
	next
}
/^(\[::ffff:)?[0-9.]+\]?:[0-9]+: response:/ {
	peer = $1
	sub(/:$/, "", peer)
	if (!(peer in url))
		next
	u = url[peer]
	delete url[peer]
	if (after("response:") != "200")
		next
	ip = peer
	sub(/:[0-9]+$/, "", ip)
	sub(/^\[::ffff:/, "", ip)
	sub(/\]$/, "", ip)
	i = byip(ip)
	if (!i)
		next
	seen[i] = now
	if (u ~ /\/boot\.ipxe$/ && !t_ipxe[i])
		t_ipxe[i] = now
	else if (u ~ /^\/images\/.*\.vmlinuz$/)
		t_kernel[i] = now
	else if (u ~ /^\/images\/.*\.initrd$/)
		t_initrd[i] = now
	else if (u ~ /^\/booted(\?|$)/)
		t_running[i] = now
	next
}
