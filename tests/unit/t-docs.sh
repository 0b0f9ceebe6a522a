#!/bin/bash
#
# t-docs: the documentation keeps up with the code.  Every long option a
# program lists in --help has a line in its man page, the man pages render
# without groff warnings, and the README still names the two commands.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${DNBD_BIN:-build/bin}
bad=0

check_prog() { # PROG MANPAGE (PROG: in $BIN, or a path)
	local prog=$1 man=$2 opt n=0 exe
	exe=$BIN/$prog
	[[ "$prog" == */* ]] && exe=$prog
	[[ -x "$exe" ]] || { echo "FAIL: $exe not built"; bad=1; return; }
	while read -r opt; do
		n=$((n + 1))
		# roff writes a dash as \- : --rate is \-\-rate in the page.
		if ! grep -q -- "${opt//-/\\\\-}" "$man"; then
			echo "FAIL: $prog $opt is not in $man"
			bad=1
		fi
	done < <("$exe" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	((n > 5)) || { echo "FAIL: $prog --help lists only $n long options"; bad=1; }
	echo "$prog: $n long options, all in $man"
}

check_prog dnbd-server docs/man/dnbd-server.8
check_prog dnbd-cat docs/man/dnbd-cat.1
check_prog dnbd-client docs/man/dnbd-client.8
check_prog image-builder/dnbd-mkimage docs/man/dnbd-mkimage.8
check_prog "$BIN/../bench/dnbd-replay" docs/man/dnbd-replay.1

# dnbd-appliance's options and every key of dnbd-appliance.conf are in
# dnbd-appliance(8); every key is in docs/lab.md too.
for opt in $(image-builder/dnbd-appliance --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -q -- "${opt//-/\\\\-}" docs/man/dnbd-appliance.8 ||
		{ echo "FAIL: dnbd-appliance $opt is not in dnbd-appliance(8)"; bad=1; }
done
mapfile -t akeys < <(sed -n '/^conf_set() {/,/^}/ s/^\t\([a-z_.]*\)\*\{0,1\})$/\1/p' image-builder/appliance/conf.sh)
((${#akeys[@]} >= 14)) || { echo "FAIL: found only ${#akeys[@]} keys in conf.sh"; bad=1; }
for k in "${akeys[@]}"; do
	grep -qF -- "$k" docs/man/dnbd-appliance.8 ||
		{ echo "FAIL: appliance key $k is not in dnbd-appliance(8)"; bad=1; }
	grep -qF -- "\`$k" docs/lab.md || { echo "FAIL: appliance key $k is not in docs/lab.md"; bad=1; }
done
echo "dnbd-appliance(8), docs/lab.md: ${akeys[*]}"

# Every option of the root spec and every dnbd.* parameter the dracut
# module reads is in dnbd.cmdline(7) and docs/cmdline.md.
lib=dracut-module/90dnbd/dnbd-lib.sh
mapfile -t keys < <(sed -n '/^dnbd_opt() {/,/^}/ s/^\t\([a-z][a-z]*\)).*/\1/p' "$lib")
((${#keys[@]} >= 7)) || { echo "FAIL: found only ${#keys[@]} spec options in $lib"; bad=1; }
mapfile -t params < <(grep -ohE 'getarg dnbd\.[a-z]+=' dracut-module/90dnbd/*.sh |
	sed 's/getarg //' | sort -u)
((${#params[@]} >= 4)) || { echo "FAIL: found only ${#params[@]} dnbd.* parameters"; bad=1; }
for k in "${keys[@]/%/=}" "${params[@]}"; do
	grep -q -- "$k" docs/man/dnbd.cmdline.7 ||
		{ echo "FAIL: $k is not in dnbd.cmdline(7)"; bad=1; }
	grep -q -- "\`${k}" docs/cmdline.md ||
		{ echo "FAIL: $k is not in docs/cmdline.md"; bad=1; }
done
echo "dnbd.cmdline(7), docs/cmdline.md: ${keys[*]} ${params[*]}"

for man in docs/man/*.[0-9]; do
	warn=$(groff -man -Tutf8 -ww -z "$man" 2>&1) || true
	if [[ -n "$warn" ]]; then
		echo "FAIL: groff warns on $man:"
		echo "$warn"
		bad=1
	fi
done
echo "man pages render without warnings: $(ls docs/man | tr '\n' ' ')"

for cmd in 'make check' 'make demo'; do
	grep -q "$cmd" README.md || { echo "FAIL: README.md does not name '$cmd'"; bad=1; }
done
grep -qx 'exec make check' .ci/run || { echo "FAIL: .ci/run does not run 'make check'"; bad=1; }
((bad == 0)) && echo "ok: docs match the programs"
exit $bad
