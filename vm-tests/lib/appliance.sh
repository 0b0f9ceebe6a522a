# shellcheck shell=bash
#
# vm-tests/lib/appliance.sh - the appliance ISO and disk-less PXE clients
# as QEMU guests on the test LAN (tests/net/lib.sh, vm-tests/lib/vm.sh).
#
#   ap_require                   packages (OVMF, FAT tools, ISO tools)
#   ap_lab                       the usual start: $W, the ISO, the LAN
#   ap_demo_image                AP_DEMO_DIR: the bundled demo image, cached
#   ap_iso OUT.iso [dnbd-appliance options]   build an appliance ISO
#   ap_conf OUT.conf <TEXT       a dnbd-appliance.conf: TEXT, then the
#                                test guests' append = line
#   ap_conf_disk OUT.img FILE    a FAT disk labelled DNBDCONF holding FILE
#                                (written by ap_conf) as dnbd-appliance.conf
#   ap_appliance NAME ISO [CONF_DISK] [bios|uefi]   boot an appliance
#                                (no CONF_DISK: one with ap_conf's defaults)
#   ap_wait_ready NAME TIMEOUT   until it says "ready"
#   ap_client NAME bios|uefi     a disk-less client: PXE from its NIC ROM
#   ap_wait_prompt NAME TIMEOUT  until its console shows a root prompt
#   ap_run NAME COMMAND [TIMEOUT]   run COMMAND on its console
#   ap_status_json URL           GET from host "obs" on the LAN
#
# Consoles are QEMU chardev sockets with a log file: vm-NAME.log is the
# whole console (vm_log NAME), vm-NAME.sock takes keystrokes
# (lib/console.py).  Guests are stopped by vm_cleanup like the others.
#
# Every guest gets VM_SLOW_CPU (lib/vm.sh) on its kernel command line: the
# appliance through its GRUB menu (ap_iso: dnbd-appliance --kernel-args),
# the PXE clients through boot.ipxe, from the appliance configuration's
# append = (AP_CLIENT_APPEND).  ap_appliance always has a configuration
# disk, and ap_conf_disk takes only files with that append = line, so a
# test cannot boot a client without it.  A configuration baked into the
# ISO (--config) is shadowed by that disk: write it with ap_conf instead.

# shellcheck source=SCRIPTDIR/vm.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm.sh"

AP_CONSOLE=$VM_LIB/console.py
AP_DEMO_DIR=""
AP_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
AP_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# The PXE clients' kernel command line after boot.ipxe's own words: the
# serial console (the appliance's default adds tty0) and VM_SLOW_CPU.
AP_CLIENT_APPEND="console=ttyS0,115200n8 $VM_SLOW_CPU"

ap_require() {
	vm_require
	vmk_need_pkgs ovmf dosfstools mtools python3 jq grub-pc-bin \
		grub-efi-amd64-bin grub-common xorriso ipxe dnsmasq-base mmdebstrap \
		dracut-core dracut-network isc-dhcp-client squashfs-tools \
		chromium chromium-driver python3-selenium python3-prometheus-client ||
		fail "could not install the appliance test packages"
	make -s -C "$NET_REPO" build/bin/dnbd-server build/bin/dnbd-client >/dev/null ||
		fail "cannot build dnbd-server and dnbd-client"
}

# ap_demo_image: AP_DEMO_DIR holds demo.{img,vmlinuz,initrd,cmdline}
# (image-builder/demo-image.sh; rebuilt only when its inputs changed).
ap_demo_image() {
	AP_DEMO_DIR=$NET_REPO/build/appliance/demo
	info "demo image (image-builder/demo-image.sh; a few minutes the first time)"
	"$NET_REPO/image-builder/demo-image.sh" "$AP_DEMO_DIR" >"$NET_WORK/demo-image.log" 2>&1 || {
		tail -n 30 "$NET_WORK/demo-image.log"
		fail "building the demo image failed"
	}
	grep -a 'demo-image:' "$NET_WORK/demo-image.log" || true
}

# ap_lab: what every appliance test starts with: the EXIT trap's work
# directory $W, the packages, the demo image, $W/appliance.iso built from
# it, the LAN, and host "obs" (10.33.0.250) for ap_status_json.
ap_lab() {
	net_init
	W=$NET_WORK
	ap_require
	ap_demo_image
	ap_iso "$W/appliance.iso" --images "$AP_DEMO_DIR"
	net_setup_bridge
	net_add_host obs 10.33.0.250
}

# ap_iso OUT.iso [OPTION...]: image-builder/dnbd-appliance, with
# VM_SLOW_CPU on the appliance's own kernel command line.
ap_iso() {
	local out=$1
	shift
	"$NET_REPO/image-builder/dnbd-appliance" -o "$out" --kernel-args "$VM_SLOW_CPU" "$@" \
		>"$NET_WORK/appliance-$(basename "$out" .iso).log" 2>&1 || {
		cat "$NET_WORK/appliance-$(basename "$out" .iso).log"
		fail "dnbd-appliance failed"
	}
	grep -a '\[[0-9]/[0-9]\] done' "$NET_WORK/appliance-$(basename "$out" .iso).log" || true
}

# ap_conf OUT.conf: a dnbd-appliance.conf with the lines on stdin (no
# append = there: the clients' command line is AP_CLIENT_APPEND), then
# "append = $AP_CLIENT_APPEND".
ap_conf() {
	local body
	body=$(cat)
	! grep -qE '^[[:space:]]*append[[:space:]]*=' <<<"$body" ||
		fail "ap_conf $1: no append = line of your own (AP_CLIENT_APPEND is the clients' append)"
	{
		[[ -n "$body" ]] && printf '%s\n' "$body"
		echo "# test guests: VM_SLOW_CPU in vm-tests/lib/vm.sh (ap_conf)"
		echo "append = $AP_CLIENT_APPEND"
	} >"$1"
}

# ap_conf_disk OUT.img FILE: a 4 MiB FAT disk, label DNBDCONF; FILE must
# come from ap_conf.
ap_conf_disk() {
	grep -qxF "append = $AP_CLIENT_APPEND" "$2" ||
		fail "ap_conf_disk: $2 lacks the test guests' append = line: write it with ap_conf"
	rm -f "$1"
	mkfs.vfat -C -n DNBDCONF "$1" 4096 >/dev/null || fail "mkfs.vfat failed"
	mcopy -i "$1" "$2" ::dnbd-appliance.conf || fail "mcopy failed"
}

# ap_qemu NAME FIRMWARE MEM ROM [QEMU_ARG...]: start a guest with a
# socket console on the LAN.  FIRMWARE bios or uefi; ROM "rom" keeps the
# NIC's iPXE ROM (PXE clients), "norom" drops it.  AP_NIC is the NIC model
# (default e1000).
ap_qemu() {
	local name=$1 fw=$2 mem=$3 rom=$4 log sock nic fwargs=()
	shift 4
	[[ -z "${VM_PID[$name]:-}" ]] || fail "VM $name already started"
	log=$(vm_log_file "$name")
	sock=$NET_WORK/vm-$name.sock
	vm_next_mac
	VM_NAMES+=("$name")
	vm_tap "$name" "$NET_BR"
	nic="${AP_NIC:-e1000},netdev=n0,mac=$VM_MAC"
	[[ $rom == norom ]] && nic+=",romfile="
	if [[ $fw == uefi ]]; then
		cp "$AP_OVMF_VARS" "$NET_WORK/vm-$name.vars"
		fwargs=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$AP_OVMF_CODE"
			-drive "if=pflash,format=raw,unit=1,file=$NET_WORK/vm-$name.vars")
	fi
	VM_T0[$name]=$EPOCHREALTIME
	VM_MACADDR[$name]=$VM_MAC
	info "vm $name: $fw, mac $VM_MAC, console $(basename "$log")"
	ip netns exec "$NET_BR" "$VM_QEMU" -accel tcg -machine q35 -m "$mem" -smp 1 \
		-nodefaults -display none -vga none -no-reboot "${fwargs[@]}" \
		-chardev "socket,id=con,path=$sock,server=on,wait=off,logfile=$log" \
		-serial chardev:con -monitor none \
		-netdev "tap,id=n0,ifname=t-$name,script=no,downscript=no" \
		-device "$nic" "$@" </dev/null >"$NET_WORK/vm-$name.qemu.log" 2>&1 &
	VM_PID[$name]=$!
}

# ap_appliance NAME ISO [CONF_DISK] [bios|uefi]: boot the appliance ISO.
# Without CONF_DISK (or with ""): a disk with nothing but the defaults and
# the clients' append = (ap_conf).
ap_appliance() {
	local name=$1 iso=$2 conf=${3:-} fw=${4:-bios} args=()
	if [[ -z "$conf" ]]; then
		ap_conf "$NET_WORK/$name.conf" </dev/null
		conf=$NET_WORK/$name-conf.img
		ap_conf_disk "$conf" "$NET_WORK/$name.conf"
	fi
	args=(-drive "file=$iso,media=cdrom,readonly=on,if=none,id=cd0"
		-device "ide-cd,drive=cd0,bootindex=0")
	args+=(-drive "file=$conf,format=raw,if=none,id=conf0"
		-device "virtio-blk-pci,drive=conf0")
	ap_qemu "$name" "$fw" 512 norom "${args[@]}"
}

# ap_wait_ready NAME TIMEOUT: the appliance's "ready" line (fails on its
# ERROR line or when QEMU ends).
ap_wait_ready() {
	local name=$1 t=$2 deadline line
	deadline=$((SECONDS + t))
	while ((SECONDS < deadline)); do
		[[ -f "$(vm_log_file "$name")" ]] || { sleep 1; continue; }
		line=$(vm_log "$name" | grep -m1 -E 'dnbd-appliance: (server id [0-9]+ ready|ERROR)') || true
		case "$line" in
		*ready*) info "$name: ${line#*dnbd-appliance: }"; return 0 ;;
		*ERROR*) vm_log "$name" | grep -a 'dnbd-appliance' | tail -n 20
			fail "appliance $name: ${line#*dnbd-appliance: }" ;;
		esac
		pid_alive "${VM_PID[$name]}" || { vm_log "$name" | tail -n 30; fail "appliance $name: QEMU ended"; }
		sleep 1
	done
	vm_log "$name" | tail -n 30
	fail "appliance $name not ready within $t s"
}

# ap_client NAME bios|uefi|uefi-pxe [MEM]: a disk-less PXE client.
# bios and uefi boot from the iPXE ROM of QEMU's e1000; uefi-pxe has a
# virtio NIC without ROM, so OVMF's own PXE client starts and chainloads
# iPXE (snponly.efi) from the appliance, as on most real PCs.
ap_client() {
	if [[ $2 == uefi-pxe ]]; then
		AP_NIC=virtio-net-pci ap_qemu "$1" uefi "${3:-1024}" norom
		return
	fi
	ap_qemu "$1" "$2" "${3:-1024}" rom -boot n
}

# ap_wait_prompt NAME TIMEOUT: a root shell prompt on the console.
ap_wait_prompt() {
	local name=$1 t=$2
	if python3 "$AP_CONSOLE" wait "$(vm_log_file "$name")" '^root@[^ ]*:~# ' "$t" >/dev/null; then
		VM_SECS[$name]=$(elapsed_since "${VM_T0[$name]}")
		return 0
	fi
	return 1
}

# ap_wait_prompts TIMEOUT NAME...: every NAME's root prompt; VM_SECS[NAME]
# is when it first showed.  1 (naming the missing ones) on timeout.  The
# serial console of a loaded TCG guest now and then repeats or drops a
# character, and a garbled prompt line never matches: once the root's
# systemd has reached its login stage (AP_LOGIN_STAGE on the console), a
# console that has printed nothing for 20 s without a prompt gets a
# newline typed into it (at most every 60 s), and the shell answers with a
# fresh prompt.  Never before: firmware and boot loaders read keys.
AP_LOGIN_STAGE='Reached target .*[Mm]ulti-[Uu]ser|\(automatic login\)|login: |^Debian GNU/Linux'
ap_wait_prompts() {
	local deadline=$((SECONDS + $1)) n left
	local -A poked=()
	shift
	while ((SECONDS < deadline)); do
		left=()
		for n in "$@"; do
			[[ -n "${VM_SECS[$n]:-}" ]] && continue
			if vm_log_has "$n" '^root@[^ ]*:~# '; then
				VM_SECS[$n]=$(elapsed_since "${VM_T0[$n]}")
				info "$n: root prompt after ${VM_SECS[$n]} s"
				continue
			fi
			left+=("$n")
			pid_alive "${VM_PID[$n]}" || { info "$n: QEMU ended"; return 1; }
			vm_quiet "$n"
			if ((VM_QUIET >= 20 && SECONDS - ${poked[$n]:-0} >= 60)) &&
				vm_log_has "$n" "$AP_LOGIN_STAGE"; then
				poked[$n]=$SECONDS
				info "$n: no prompt and a quiet console for 20 s: typing a newline"
				python3 "$AP_CONSOLE" send "$NET_WORK/vm-$n.sock" "" || true
			fi
		done
		((${#left[@]})) || return 0
		sleep 2
	done
	info "no root prompt within the time limit: ${left[*]}"
	return 1
}

# ap_run NAME COMMAND [TIMEOUT]: COMMAND's output; its exit status.  The
# serial console of a TCG guest on a loaded host can garble a character
# of the end marker (a CI run read "C...-EEND-42" for "C...-END-42" on the
# first command after the prompt): a failed exchange is tried once more.
# Every command given here may run twice.
ap_run() {
	local out
	if out=$(python3 "$AP_CONSOLE" run "$NET_WORK/vm-$1.sock" \
		"$(vm_log_file "$1")" "$2" "${3:-60}"); then
		printf '%s\n' "$out"
		return 0
	fi
	python3 "$AP_CONSOLE" run "$NET_WORK/vm-$1.sock" "$(vm_log_file "$1")" \
		"$2" "${3:-60}"
}

# ap_status_json URL: GET URL from host "obs" (net_add_host obs first).
ap_status_json() {
	net_run obs python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
}

# ap_client_checks NAME: on a booted client: VM_SLOW_CPU on its kernel
# command line (through boot.ipxe), root on an overlay over /dev/dnbd0, a
# write that stays in the upper layer; sets AP_READ[NAME] to the bytes it
# read through /dev/dnbd0.
declare -A AP_READ=()
ap_client_checks() {
	local name=$1 out p want=() n=0
	# The guest checks and its exit status answers: the console of a
	# loaded TCG guest now and then repeats a character of what it prints.
	for p in $VM_SLOW_CPU; do
		want+=(-e "$(printf '%q' "$p")")
		n=$((n + 1))
	done
	if ! ap_run "$name" "test \$(tr ' ' '\\n' </proc/cmdline | grep -x -F ${want[*]} | sort -u | wc -l) -eq $n" 30 >/dev/null; then
		out=$(ap_run "$name" "cat /proc/cmdline" 30) || true
		fail "$name: the kernel command line lacks a setting of VM_SLOW_CPU ($VM_SLOW_CPU; append = of ap_conf): $out"
	fi
	ap_run "$name" 'test "$(findmnt -n -o FSTYPE /)" = overlay' 30 >/dev/null || {
		out=$(ap_run "$name" "findmnt /" 30) || true
		fail "$name: / is not an overlay: $out"
	}
	ap_run "$name" 'test "$(findmnt -n -o SOURCE /run/dnbd/lower)" = /dev/dnbd0' 30 >/dev/null || {
		out=$(ap_run "$name" "findmnt /run/dnbd/lower" 30) || true
		fail "$name: the lower layer is not /dev/dnbd0: $out"
	}
	ap_run "$name" "echo written-by-$name > /root/overlay-test && grep -qx written-by-$name /root/overlay-test && ! test -e /run/dnbd/lower/root/overlay-test" 30 >/dev/null ||
		fail "$name: a write to / did not stay in the upper layer"
	# Sectors read, twice on one line: a repeated character shows as a
	# mismatch, and the read is tried again.
	local sectors=
	for _ in 1 2 3; do
		out=$(ap_run "$name" "awk '{ print \"sectors\", \$3, \$3 }' /sys/block/dnbd0/stat" 30) || continue
		sectors=$(awk '$1 == "sectors" && $2 == $3 && $2 ~ /^[0-9]+$/ { print $2; exit }' <<<"${out//$'\r'/}")
		[[ -n "$sectors" ]] && break
	done
	[[ -n "$sectors" ]] || fail "$name: no sector count from /sys/block/dnbd0/stat: $out"
	AP_READ[$name]=$((sectors * 512))
	info "$name: root is an overlay over /dev/dnbd0; a write stayed in the upper layer; read $(human_mib "${AP_READ[$name]}") through /dev/dnbd0"
}
