# shellcheck shell=sh
#
# image-builder/appliance/conf.sh - read and check dnbd-appliance.conf.
#
# POSIX sh (busybox ash in the appliance, dash in the unit test).  The file
# is never sourced: every line is split at the first "=", the key must be
# one of those below and the value must pass its check, otherwise
# conf_load prints "FILE:LINE: what is wrong" and returns 1.  The format
# and every key are documented in dnbd-appliance.conf (this directory) and
# docs/lab.md.
#
#   conf_defaults             the built-in defaults (an isolated lab)
#   conf_load FILE            read FILE over the defaults
#   conf_finish               derived values (DHCP range, netmask, images)
#
# Results: C_IFACE C_ADDR C_PREFIX C_DHCP C_RANGE_START C_RANGE_END
# C_LEASE C_ROUTER C_DNS C_SERVER_ID C_PORT C_GROUP_BASE C_MENU_TIMEOUT
# C_DEFAULT C_APPEND C_RATE, and C_IMAGES: one line per "image =",
# "NAME GROUP LABEL"; C_APPEND_<NAME> (NAME with - and . as _) per image.

conf_defaults() {
	C_IFACE=auto
	C_ADDR=10.33.0.1
	C_PREFIX=24
	C_DHCP=full
	C_RANGE_START=""
	C_RANGE_END=""
	C_LEASE=12h
	C_ROUTER=""
	C_DNS=""
	C_SERVER_ID=1
	C_PORT=5001
	C_GROUP_BASE=239.33.0.1
	C_MENU_TIMEOUT=5
	C_DEFAULT=""
	C_APPEND="console=tty0 console=ttyS0,115200n8"
	C_RATE=""
	C_IMAGES=""
}

# conf_ip4 A.B.C.D: true for a dotted quad with every part 0..255.
conf_ip4() {
	case "$1" in
	*[!0-9.]* | .* | *. | *..*) return 1 ;;
	esac
	# shellcheck disable=SC2086
	set -- $(echo "$1" | tr . ' ')
	[ $# -eq 4 ] || return 1
	for _q; do
		[ ${#_q} -le 3 ] && [ "$_q" -le 255 ] || return 1
	done
}

# conf_ip4_int A.B.C.D: the address as an integer.
conf_ip4_int() {
	# shellcheck disable=SC2086
	set -- $(echo "$1" | tr . ' ')
	echo $(((($1 * 256 + $2) * 256 + $3) * 256 + $4))
}

# conf_int_ip4 N: the dotted quad of an integer.
conf_int_ip4() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# conf_mcast A.B.C.D: an administratively scoped multicast group
# (239.0.0.0/8), the only range a lab should use.
conf_mcast() {
	conf_ip4 "$1" && case "$1" in 239.*) return 0 ;; esac
	return 1
}

conf_uint() {
	case "$1" in '' | *[!0-9]*) return 1 ;; esac
	[ ${#1} -le 9 ]
}

conf_name() {
	case "$1" in '' | *[!A-Za-z0-9._-]* | .*) return 1 ;; esac
	[ ${#1} -le 64 ]
}

# conf_text S: printable, no quote, backslash, $ or backquote (the value
# goes into an iPXE script and a kernel command line).
conf_text() {
	case "$1" in *[\"\\\$\`\;\&\|\<\>]* | *[![:print:]]*) return 1 ;; esac
	[ ${#1} -le 400 ]
}

conf_err() {
	echo "$CONF_FILE:$CONF_LINE: $*" >&2
	CONF_BAD=1
}

# conf_set KEY VALUE: check and store one setting.
conf_set() {
	k=$1 v=$2
	case "$k" in
	interface)
		case "$v" in auto | [a-z]*) ;; *) conf_err "interface '$v': a name such as eth0, or auto"; return ;; esac
		conf_name "$v" && [ ${#v} -le 15 ] || { conf_err "interface '$v': a name such as eth0, or auto"; return; }
		C_IFACE=$v ;;
	address)
		a=${v%/*} p=24
		[ "$a" != "$v" ] && p=${v#*/}
		if ! conf_ip4 "$a" || ! conf_uint "$p" || [ "$p" -lt 8 ] || [ "$p" -gt 30 ]; then
			conf_err "address '$v': A.B.C.D/NN with NN from 8 to 30"
			return
		fi
		C_ADDR=$a C_PREFIX=$p ;;
	dhcp)
		case "$v" in full | proxy | off) C_DHCP=$v ;;
		*) conf_err "dhcp '$v': full, proxy or off" ;; esac ;;
	dhcp_range)
		s=${v%%[ -]*} e=${v##*[ -]}
		if ! conf_ip4 "$s" || ! conf_ip4 "$e" || [ "$s" = "$v" ]; then
			conf_err "dhcp_range '$v': FIRST-LAST, two addresses"
			return
		fi
		C_RANGE_START=$s C_RANGE_END=$e ;;
	lease)
		case "$v" in infinite | [1-9]*[smhd] | [1-9]*) ;; *) conf_err "lease '$v': seconds, or N followed by s, m, h or d, or infinite"; return ;; esac
		case "$v" in infinite) ;; *) conf_uint "${v%[smhd]}" || { conf_err "lease '$v': seconds, or N followed by s, m, h or d, or infinite"; return; } ;; esac
		C_LEASE=$v ;;
	router)
		conf_ip4 "$v" || { conf_err "router '$v': an IPv4 address"; return; }
		C_ROUTER=$v ;;
	dns)
		for d in $(echo "$v" | tr , ' '); do
			conf_ip4 "$d" || { conf_err "dns '$v': IPv4 addresses separated by commas"; return; }
		done
		C_DNS=$v ;;
	server_id)
		if ! conf_uint "$v" || [ "$v" -lt 1 ] || [ "$v" -gt 65535 ]; then
			conf_err "server_id '$v': a number from 1 to 65535, unique per replica"
			return
		fi
		C_SERVER_ID=$v ;;
	port)
		if ! conf_uint "$v" || [ "$v" -lt 1 ] || [ "$v" -gt 65535 ]; then
			conf_err "port '$v': a UDP port from 1 to 65535"
			return
		fi
		C_PORT=$v ;;
	group_base)
		conf_mcast "$v" || { conf_err "group_base '$v': a multicast group in 239.0.0.0/8"; return; }
		C_GROUP_BASE=$v ;;
	menu_timeout)
		if ! conf_uint "$v" || [ "$v" -gt 3600 ]; then
			conf_err "menu_timeout '$v': seconds, 0 to 3600"
			return
		fi
		C_MENU_TIMEOUT=$v ;;
	default)
		conf_name "$v" || { conf_err "default '$v': an image name"; return; }
		C_DEFAULT=$v ;;
	append)
		conf_text "$v" || { conf_err "append: no quotes, \\, \$, \`, ;, &, |, < or > please"; return; }
		C_APPEND=$v ;;
	append.*)
		n=${k#append.}
		conf_name "$n" || { conf_err "$k: not an image name"; return; }
		conf_text "$v" || { conf_err "$k: no quotes, \\, \$, \`, ;, &, |, < or > please"; return; }
		eval "C_APPEND_$(echo "$n" | tr .- __)=\$v" ;;
	rate)
		case "$v" in [1-9]*[KMG] | [1-9]*) conf_uint "${v%[KMG]}" || { conf_err "rate '$v': bytes per second, with K, M or G"; return; } ;;
		*) conf_err "rate '$v': bytes per second, with K, M or G"; return ;; esac
		C_RATE=$v ;;
	image)
		# shellcheck disable=SC2086
		set -- $v
		n=${1:-} g=${2:-auto}
		conf_name "$n" || { conf_err "image '$v': NAME [GROUP|auto] [LABEL]"; return; }
		[ "$g" = auto ] || conf_mcast "$g" ||
			{ conf_err "image $n: group '$g' is not a multicast group in 239.0.0.0/8 (or auto)"; return; }
		shift
		[ $# -gt 0 ] && shift
		conf_text "$*" || { conf_err "image $n: the label has a forbidden character"; return; }
		if printf '%s\n' "$C_IMAGES" | grep -q "^$n "; then
			conf_err "image $n: listed twice"
			return
		fi
		C_IMAGES="$C_IMAGES$n $g ${*:-$n}
" ;;
	*) conf_err "unknown setting '$k' (see dnbd-appliance(8))" ;;
	esac
}

# conf_load FILE: read FILE; 1 (after printing every error) if bad.
conf_load() {
	CONF_FILE=$1 CONF_LINE=0 CONF_BAD=0
	[ -r "$1" ] || { echo "$1: cannot read the configuration" >&2; return 1; }
	while IFS= read -r line || [ -n "$line" ]; do
		CONF_LINE=$((CONF_LINE + 1))
		line=$(printf '%s' "$line" | tr -d '\r')
		# Strip comments and blanks around the key and the value.
		line=${line%%#*}
		key=$(printf '%s' "${line%%=*}" | tr -d ' \t')
		[ -z "$key" ] && [ -z "$(printf '%s' "$line" | tr -d ' \t')" ] && continue
		case "$line" in
		*=*) ;;
		*) conf_err "'$line': expected KEY = VALUE"; continue ;;
		esac
		val=$(printf '%s' "${line#*=}" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
		[ -n "$val" ] || { conf_err "$key: empty value"; continue; }
		conf_set "$key" "$val"
	done <"$1"
	[ "$CONF_LINE" -le 10000 ] || { echo "$1: too long" >&2; return 1; }
	return "$CONF_BAD"
}

# conf_finish: the DHCP range (hosts .100-.199 of the subnet, or the
# upper half of a small one) when none was given, and checks that need
# every setting.
conf_finish() {
	CONF_LINE=end
	a=$(conf_ip4_int "$C_ADDR")
	mask=$(((0xffffffff << (32 - C_PREFIX)) & 0xffffffff))
	net=$((a & mask))
	bcast=$((net | (~mask & 0xffffffff)))
	C_NETMASK=$(conf_int_ip4 "$mask")
	C_NETWORK=$(conf_int_ip4 "$net")
	if [ "$a" -eq "$net" ] || [ "$a" -eq "$bcast" ]; then
		conf_err "address $C_ADDR/$C_PREFIX is the network or broadcast address"
		return 1
	fi
	if [ -z "$C_RANGE_START" ]; then
		if [ $((bcast - net)) -ge 255 ]; then
			s=$((net + 100)) e=$((net + 199))
			[ $((a - net)) -ge 100 ] && [ $((a - net)) -le 199 ] && s=$((net + 200)) e=$((net + 250))
		else
			s=$((net + (bcast - net) / 2)) e=$((bcast - 1))
			[ "$a" -ge "$s" ] && s=$((net + 1)) e=$((net + (bcast - net) / 2 - 1))
		fi
		C_RANGE_START=$(conf_int_ip4 "$s") C_RANGE_END=$(conf_int_ip4 "$e")
	fi
	s=$(conf_ip4_int "$C_RANGE_START") e=$(conf_ip4_int "$C_RANGE_END")
	if [ $((s & mask)) -ne "$net" ] || [ $((e & mask)) -ne "$net" ] || [ "$s" -gt "$e" ]; then
		conf_err "dhcp_range $C_RANGE_START-$C_RANGE_END is not inside $C_NETWORK/$C_PREFIX, first to last"
		return 1
	fi
	if [ "$a" -ge "$s" ] && [ "$a" -le "$e" ]; then
		conf_err "dhcp_range $C_RANGE_START-$C_RANGE_END holds the appliance's own address $C_ADDR"
		return 1
	fi
	return 0
}

# conf_images DIR...: C_EXPORTS, one line "NAME GROUP LABEL" per image to
# export.  With "image =" lines: those (each must exist as DIR/NAME.img),
# groups "auto" numbered from group_base; without: every DIR/*.img.
conf_images() {
	C_EXPORTS=""
	list=$C_IMAGES
	if [ -z "$list" ]; then
		for d; do
			for f in "$d"/*.img; do
				[ -f "$f" ] || continue
				n=$(basename "$f" .img)
				conf_name "$n" || { echo "$f: image names are letters, digits, . _ - (skipped)" >&2; continue; }
				printf '%s\n' "$list" | grep -q "^$n " && continue
				list="$list$n auto $n
"
			done
		done
	fi
	base=$(conf_ip4_int "$C_GROUP_BASE") k=0 bad=0
	while read -r n g label; do
		[ -n "$n" ] || continue
		found=""
		for d; do [ -f "$d/$n.img" ] && { found=$d; break; }; done
		if [ -z "$found" ]; then
			echo "image $n: no $n.img on the appliance medium or the data disk" >&2
			bad=1
			continue
		fi
		[ "$g" = auto ] && g=$(conf_int_ip4 $((base + k)))
		k=$((k + 1))
		C_EXPORTS="$C_EXPORTS$n $g $found $label
"
	done <<EOF
$list
EOF
	[ -n "$C_EXPORTS" ] || { echo "no images to export" >&2; return 1; }
	[ -n "$C_DEFAULT" ] || C_DEFAULT=$(printf '%s' "$C_EXPORTS" | head -n 1 | cut -d' ' -f1)
	printf '%s' "$C_EXPORTS" | grep -q "^$C_DEFAULT " ||
		{ echo "default image $C_DEFAULT is not exported" >&2; return 1; }
	return "$bad"
}
