#!/bin/bash
#
# bench/record-trace.sh - record the READs a real client makes while it
# boots, for the boot-storm benchmark (bench/bootstorm.sh replays them).
#
#   bench/record-trace.sh [--image-only] [--timeout S] [--out FILE] demo|desktop
#
#   demo      the Debian 12 demo image (image-builder/demo-image.sh, cached
#             in build/appliance/demo/ and shared with the appliance tests),
#             booted to multi-user.target; the end of the boot is the root
#             shell prompt on the serial console (autologin)
#   desktop   a Debian 12 desktop: dnbd-mkimage --debian --packages (Xfce,
#             lightdm, Xorg, firefox-esr, xdotool) --customize
#             bench/trace-images/desktop-setup.sh, cached in
#             build/trace/desktop/ (rebuilt when its inputs change: about
#             5 minutes and 200 MB of packages the first time); lightdm
#             logs user "lab" into Xfce, whose autostart starts firefox-esr;
#             the end of the boot is its visible window, which the image
#             reports on the serial console ("DNBD-TRACE: window: ...")
#
#   --image-only  build (or check) the image and stop
#   --timeout S   give up when the end of the boot has not come S seconds
#                 after QEMU started (default: demo 1200, desktop 3600)
#   --out FILE    write the trace there (default bench/traces/NAME.trace)
#
# It boots ONE client the way the VM tests do (vm-tests/lib/dracut.sh): in
# a private network namespace, dnbd-server (build/bin, with --trace) and
# dnsmasq on host "srv", QEMU (TCG, 1 vCPU, e1000 on a tap) booting the
# image's kernel and dracut initramfs with dnbd.root= from NAME.cmdline.
# Once the end-of-boot marker is on the console it stops QEMU and the
# server and writes the trace: the client's lines only, sorted by arrival,
# times shifted so that its first READ is at 0, and the header comments of
# the format (dnbd-server(8), bench/README.md): name, booted,
# kernel, image and image_bytes, reads and retries (lines of each kind),
# bytes (the reads' lengths), duration_s (the last done_us), recorded.
#
# Needs root and Debian 12; missing packages are installed with apt-get.
# Exit status: 0 trace written, 1 failure (the boot did not reach its
# marker in time, QEMU ended, the image did not build, no trace lines),
# 2 usage.  On failure the serial log is kept in
# build/test-logs/vm/record-trace-vm-NAME.log; DNBD_KEEP=1 keeps the whole
# work directory (server log, raw trace).  Everything it starts (QEMU,
# dnbd-server, dnsmasq, namespaces, taps) is removed on exit, also on
# failure or Ctrl-C.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# The plain build: the sanitizer build would slow the server's answers.
export DNBD_BIN=${DNBD_BIN:-$REPO/build/bin}
# shellcheck source=SCRIPTDIR/../vm-tests/lib/dracut.sh
source "$REPO/vm-tests/lib/dracut.sh"

# The desktop image's packages, on top of roots/debian.sh's (Recommends
# are not installed, so everything Xorg and the session need is named).
DESKTOP_PACKAGES=xfce4,xfce4-terminal,lightdm,lightdm-gtk-greeter,xserver-xorg-core,xserver-xorg-video-fbdev,xserver-xorg-input-libinput,xauth,dbus-x11,dbus-user-session,at-spi2-core,fonts-dejavu-core,adwaita-icon-theme,firefox-esr,xdotool
DESKTOP_SETUP=$REPO/bench/trace-images/desktop-setup.sh

usage() {
	echo "usage: bench/record-trace.sh [--image-only] [--timeout S] [--out FILE] demo|desktop" >&2
	exit 2
}

NAME="" IMAGE_ONLY=0 TIMEOUT="" OUT=""
parse_args() {
	while (($#)); do
		case "$1" in
		--image-only) IMAGE_ONLY=1 ;;
		--timeout) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; TIMEOUT=$2; shift ;;
		--out) [[ $# -ge 2 && -n $2 ]] || usage; OUT=$2; shift ;;
		-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		demo | desktop) [[ -z "$NAME" ]] || usage; NAME=$1 ;;
		*) echo "record-trace: unknown argument '$1'" >&2; usage ;;
		esac
		shift
	done
	[[ -n "$NAME" ]] || usage
	[[ $EUID -eq 0 ]] || { echo "record-trace: run as root (namespaces, taps, image builds)" >&2; exit 1; }
	OUT=$(realpath -m "${OUT:-$REPO/bench/traces/$NAME.trace}")
}

# Per image: where it is cached, how the client boots, its end marker
# (a console line, grep -E), a failure line, and the words for "# booted:".
IMG_DIR="" MEM=1024 MARK_RE="" FAIL_RE="" MARK_WHAT="" BOOTED="" QEMU_EXTRA=()
setup_name() {
	case "$NAME" in
	demo)
		IMG_DIR=$REPO/build/appliance/demo
		: "${TIMEOUT:=1200}"
		MARK_RE='^root@[^ ]*:~# '
		MARK_WHAT="root shell prompt on ttyS0"
		BOOTED="Debian 12 demo image (image-builder/demo-image.sh) to multi-user.target" ;;
	desktop)
		IMG_DIR=$REPO/build/trace/desktop
		MEM=2560
		: "${TIMEOUT:=3600}"
		MARK_RE='^DNBD-TRACE: window: '
		FAIL_RE='^DNBD-TRACE: fail: '
		MARK_WHAT="firefox-esr window visible"
		# A VGA card for Xorg (bochs-drm, modesetting); no window on the host.
		QEMU_EXTRA=(-device VGA)
		BOOTED="Debian 12 desktop (bench/trace-images/desktop-setup.sh): lightdm autologin into Xfce, firefox-esr started by the session's autostart" ;;
	esac
}

# desktop_key: what the cached desktop image is made of.
desktop_key() {
	{
		echo "$DESKTOP_PACKAGES"
		cat "$REPO"/dracut-module/90dnbd/* "$REPO"/kmod/*.[ch] "$REPO"/proto/*.[ch] \
			"$REPO"/client/*.[ch] "$REPO"/image-builder/dnbd-mkimage \
			"$REPO"/image-builder/roots/debian.sh "$REPO"/image-builder/lib/kernels.sh \
			"$DESKTOP_SETUP"
	} | sha256sum | cut -c1-16
}

# build_image: IMG_DIR/NAME.{img,vmlinuz,initrd,cmdline}, built or reused.
build_image() {
	local log key
	mkdir -p "$REPO/build/trace"
	log=$REPO/build/trace/$NAME-image.log
	if [[ $NAME == demo ]]; then
		"$REPO/image-builder/demo-image.sh" "$IMG_DIR" >"$log" 2>&1 || {
			tail -n 30 "$log"
			fail "building the demo image failed (log: $log)"
		}
		grep -a '^demo-image:' "$log" || true
		return 0
	fi
	key=$(desktop_key)
	if [[ -f "$IMG_DIR/.inputs" && "$(cat "$IMG_DIR/.inputs")" == "$key" ]] &&
		[[ -f "$IMG_DIR/desktop.img" && -f "$IMG_DIR/desktop.initrd" &&
			-f "$IMG_DIR/desktop.vmlinuz" && -f "$IMG_DIR/desktop.cmdline" ]]; then
		info "desktop image: $IMG_DIR/desktop.img is up to date ($(du -h "$IMG_DIR/desktop.img" | cut -f1))"
		return 0
	fi
	info "desktop image: building it in $IMG_DIR (mmdebstrap, squashfs, dracut; log $log)"
	rm -rf "$IMG_DIR"
	mkdir -p "$IMG_DIR"
	"$DR_MKIMAGE" --debian --name desktop --group 239.33.0.9 \
		--packages "$DESKTOP_PACKAGES" --customize "$DESKTOP_SETUP" \
		"$IMG_DIR" >"$log" 2>&1 || {
		tail -n 40 "$log"
		fail "dnbd-mkimage for the desktop image failed (log: $log)"
	}
	echo "$key" >"$IMG_DIR/.inputs"
	grep -a '^dnbd-mkimage: \[' "$log" || true
}

# trace_lines: READ lines in the raw trace so far (it is flushed every second).
trace_lines() { grep -cv '^#' "$W/server.trace" 2>/dev/null || true; }

# wait_marker: 0 when the end-of-boot marker is on the console; fails on
# the image's failure line, when QEMU ends, or after TIMEOUT.  A demo
# client whose prompt line came out garbled (a TCG console under load
# now and then drops a character) counts as booted once systemd has
# reached multi-user.target and the console has been quiet for 60 s.
MARK_SECS="" MARK_NOTE="" LOAD0=""
wait_marker() {
	local deadline=$((SECONDS + TIMEOUT)) next=$((SECONDS + 60))
	local shown=0 lines
	while ((SECONDS < deadline)); do
		if vm_log_has c1 "$MARK_RE"; then
			MARK_SECS=$(elapsed_since "${VM_T0[c1]}")
			return 0
		fi
		if [[ -n "$FAIL_RE" ]] && vm_log_has c1 "$FAIL_RE"; then
			vm_log c1 | grep -a '^DNBD-TRACE:' | cut -c1-300
			fail "$NAME: the image reported a failure (above)"
		fi
		pid_alive "${VM_PID[c1]}" || { vm_tail c1 40; fail "$NAME: QEMU ended before the end of the boot"; }
		vm_quiet c1
		if [[ $NAME == demo ]] && ((VM_QUIET >= 60)) &&
			vm_log_has c1 'Reached target.*Multi-User System'; then
			MARK_SECS=$(elapsed_since "${VM_T0[c1]}")
			MARK_NOTE=" (no clean prompt line; multi-user.target reached and the console quiet for 60 s)"
			return 0
		fi
		# Progress: the console's milestones, and the reads so far.
		((VM_LOG_SIZE[c1] > 0)) || { sleep 2; continue; }
		lines=$(vm_log c1 | grep -aE 'Reached target|DNBD-TRACE:|login: | dnbd: ' | sed -n "$((shown + 1)),\$p") || true
		if [[ -n "$lines" ]]; then
			printf '%s\n' "$lines" | sed 's/^/  console: /' | cut -c1-200
			shown=$((shown + $(printf '%s\n' "$lines" | wc -l)))
		fi
		if ((SECONDS >= next)); then
			info "  $(elapsed_since "${VM_T0[c1]}") s: $(trace_lines) READs traced so far"
			next=$((SECONDS + 60))
		fi
		sleep 2
	done
	vm_tail c1 40
	fail "$NAME: no end of boot ($MARK_WHAT) within $TIMEOUT s"
}

# kernel_of VMLINUZ: "6.1.0-56-amd64 (Debian 6.1.192-2)" from the bzImage.
kernel_of() {
	file -bL "$1" | sed -n 's/.*version \([^ ]*\) .*Debian \([^ ]*\) .*/\1 (Debian \2)/p; t; s/.*version \([^ ]*\) .*/\1/p'
}

# client_ip: the booting client's address, from dnsmasq's lease.
client_ip() {
	awk -v m="${VM_MACADDR[c1]}" 'tolower($2) == m { ip = $3 } END { if (ip) print ip }' \
		"$W/dnsmasq.leases" 2>/dev/null
}

# write_trace RAW IP: OUT from the server's raw trace.
write_trace() {
	local raw=$1 ip=$2 tmp img_bytes others
	tmp=$(mktemp "$(dirname "$OUT")/.$NAME.trace.XXXXXX")
	others=$(awk -v ip="$ip" '!/^#/ && index($3, ip ":") != 1' "$raw" | wc -l)
	((others == 0)) || info "left out $others lines of other clients"
	img_bytes=$(stat -Lc %s "$IMG_DIR/$NAME.img")
	awk -v ip="$ip" '!/^#/ && NF >= 7 && index($3, ip ":") == 1' "$raw" |
		sort -s -n -k1,1 >"$tmp.lines"
	[[ -s "$tmp.lines" ]] || { rm -f "$tmp" "$tmp.lines"; fail "the trace has no READs from $ip"; }
	awk -v name="$NAME" -v booted="$BOOTED; end: $MARK_WHAT$MARK_NOTE, ${MARK_SECS} s after QEMU started" \
		-v kernel="$(kernel_of "$IMG_DIR/$NAME.vmlinuz")" \
		-v image="$NAME, $(sed -n 's/.*fstype=\([a-z0-9]*\).*/\1/p' "$IMG_DIR/$NAME.cmdline"), $img_bytes bytes" \
		-v img_bytes="$img_bytes" \
		-v recorded="$(date -u '+%Y-%m-%d %H:%M UTC') under QEMU TCG" \
		-v qemu="$("$VM_QEMU" --version | head -n 1 | sed 's/^QEMU emulator version //'), 1 vCPU, $MEM MiB, e1000, client $ip" \
		-v host="$(nproc) CPUs, load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; bench/record-trace.sh" '
		{ l[NR] = $0; t[NR] = $1; d[NR] = $2; len[NR] = $6; k[NR] = $7 }
		END {
			t0 = t[1]
			for (i = 1; i <= NR; i++) {
				if (k[i] == "read") { reads++; bytes += len[i] }
				else if (k[i] == "retry") retries++
				if (d[i] - t0 > last) last = d[i] - t0
			}
			print "# dnbd-trace 1"
			print "# name: " name
			print "# booted: " booted
			print "# kernel: " kernel
			print "# image: " image
			print "# image_bytes: " img_bytes
			print "# reads: " reads + 0
			print "# retries: " retries + 0
			print "# bytes: " bytes + 0
			printf "# duration_s: %.1f\n", last / 1e6
			print "# recorded: " recorded
			print "# qemu: " qemu
			print "# host: " host
			print "# time_us done_us client image offset length kind"
			for (i = 1; i <= NR; i++) {
				n = split(l[i], f, " ")
				f[1] -= t0; f[2] -= t0
				s = f[1]
				for (j = 2; j <= n; j++) s = s " " f[j]
				print s
			}
		}' "$tmp.lines" >"$tmp"
	rm -f "$tmp.lines"
	chmod 644 "$tmp"
	mv -f "$tmp" "$OUT"
}

main() {
	local t0=$SECONDS ip append rc=0
	parse_args "$@"
	setup_name
	trap vm_cleanup EXIT
	trap 'exit 143' TERM INT HUP
	build_image
	((IMAGE_ONLY)) && { info "image ready: $IMG_DIR/$NAME.img"; return 0; }
	make -s -C "$REPO" build/bin/dnbd-server >/dev/null || fail "cannot build dnbd-server"
	"$DNBD_SERVER" --help 2>&1 | grep -q -- '--trace' || fail "$DNBD_SERVER has no --trace"

	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	dr_lan
	ln -s "$IMG_DIR/$NAME.img" "$W/$NAME.img"
	local group
	group=$(sed -n 's/.*dnbd.root=\([0-9.]*\).*/\1/p' "$IMG_DIR/$NAME.cmdline")
	[[ -n "$group" ]] || fail "no dnbd.root= group in $IMG_DIR/$NAME.cmdline"
	DR_SERVER_ARGS=(--trace "$W/server.trace")
	dr_serve "$group" "$group,image=$NAME" "$NAME"
	info "dnbd-server on srv: $NAME ($(du -hL "$W/$NAME.img" | cut -f1)) on $group, tracing"

	append="console=ttyS0 panic=-1 loglevel=5 rd.retry=300 rd.shell=0 rd.emergency=reboot $(cat "$IMG_DIR/$NAME.cmdline")"
	VM_MEM=$MEM vm_launch c1 "$IMG_DIR/$NAME.vmlinuz" "$IMG_DIR/$NAME.initrd" "$append" "${QEMU_EXTRA[@]}"
	info "waiting for the end of the boot: $MARK_WHAT (at most $TIMEOUT s)"
	wait_marker
	info "end of boot after $MARK_SECS s$MARK_NOTE"
	vm_stop c1 || true	# (its wait returns QEMU's 137: not an error here)
	net_stop "$DR_SERVER_PID" || rc=$?
	((rc == 0)) || { tail -n 20 "$W/srv.log"; fail "dnbd-server exited with status $rc"; }
	ip=$(client_ip)
	[[ -n "$ip" ]] || fail "no DHCP lease for the client (${VM_MACADDR[c1]}) in $W/dnsmasq.leases"
	mkdir -p "$(dirname "$OUT")"
	write_trace "$W/server.trace" "$ip"
	info "$(grep -E '^# (reads|retries|bytes|duration_s):' "$OUT" | tr '\n' ' ')"
	pass "$OUT written; the recording took $((SECONDS - t0)) s"
}

main "$@"
