#!/bin/bash
#
# t-client-metrics: dnbd-client --metrics FILE (client/metrics.c) on a fake
# sysfs tree (DNBD_SYSFS): dnbd0 bound with servers and counters (some
# lines malformed, an image name with a quote and a backslash, a counter
# this client has no help for), dnbd1 unbound (empty files, as the driver
# writes them), dnbd2 without a dnbd/ directory (an old driver), and sda
# and dnbd0p1, which are not dnbd disks.  The output is parsed by a real
# Prometheus parser, python3-prometheus-client's, and checked against the
# fixture, which the checker reads itself: every family once with HELP and
# TYPE, counters ending in _total, the values (srtt_us in seconds), the
# label escaping, nothing for the unbound devices but their bound gauge,
# every malformed line skipped and reported.  Then: the file is replaced
# by rename, "-" is standard output, no devices is a valid file, and a
# directory that cannot be written (missing, read-only) is an error.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
if [[ -z "${DNBD_BIN:-}" ]]; then
	DNBD_BIN=build/bin
	[[ -x build/asan/bin/dnbd-client ]] && DNBD_BIN=build/asan/bin
fi
CLIENT=$DNBD_BIN/dnbd-client
[[ "$CLIENT" = /* ]] || CLIENT=$REPO/$CLIENT
PY=/usr/bin/python3	# Debian's, with Debian's python3-prometheus-client
W=$(mktemp -d)
ro=""
cleanup() {
	[[ -n "$ro" ]] && umount "$ro" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
bad=0
fail() { echo "FAIL: $*"; bad=1; }

[[ -x "$CLIENT" ]] || { echo "FAIL: $CLIENT missing: run make"; exit 1; }
if ! $PY -c 'import prometheus_client.parser' 2>/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends python3-prometheus-client >/dev/null ||
		{ echo "FAIL: cannot install python3-prometheus-client"; exit 1; }
fi

# ---- the fixture ------------------------------------------------------------
S=$W/sys
mkdir -p "$S/block/sda" "$S/block/dnbd0p1/dnbd" "$S/block/dnbd2"
d0=$S/block/dnbd0/dnbd
d1=$S/block/dnbd1/dnbd
mkdir -p "$d0" "$d1"
printf '%s\n' 'deb"ian\lab' >"$d0/image"
printf '0x%016x\n' $((0x1234abcd5678ef90)) >"$d0/image_id"
echo $((RANDOM + 1)) >"$d0/revision"
echo $((RANDOM * 1000 + 7)) >"$d0/cache_hits"
echo $((RANDOM + 3)) >"$d0/cache_misses"
cat >"$d0/servers" <<EOF
1 10.0.0.1:5001 up 1500 $((RANDOM % 100 + 1))
2 10.0.0.2:5001 down $((RANDOM * 10)) 0
7 10.0.0.7:5002 up 2000000 12
garbage line
3 10.0.0.3:5001 up 12x 1
EOF
cat >"$d0/counters" <<EOF
reads_completed $((RANDOM + 100))
bytes_received 18446744073709551615
requests_sent $RANDOM
timeouts 0
a_counter_from_a_newer_driver $RANDOM
Bad_Name 4
reads_failed -3
segments_received 12abc
nomem
requests_sent 99
server_up 5
cachefile_hits $((RANDOM + 1))
EOF
echo "image-of-a-partition" >"$S/block/dnbd0p1/dnbd/image"
for f in image image_id revision cache_hits cache_misses servers counters; do
	: >"$d1/$f"
done

# ---- the checker ----------------------------------------------------------------
cat >"$W/check.py" <<'EOF'
"""check.py SYSROOT PROM STDERR: the exposition against the fixture."""
import os
import re
import sys
from prometheus_client.parser import text_string_to_metric_families

root, prom, errfile = sys.argv[1:4]
text = open(prom).read()
errs = open(errfile).read()
bad = []
P = "dnbd_client_"
RESERVED = {"devices", "device_bound", "device_info", "device_cache_hits",
            "device_cache_misses", "server_up", "server_srtt_seconds",
            "server_weight"}


def rd(dev, f):
    try:
        return open(os.path.join(root, "block", dev, "dnbd", f)).read()
    except OSError:
        return ""


devs = sorted(d for d in os.listdir(os.path.join(root, "block"))
              if re.fullmatch(r"dnbd[0-9]+", d))
bound = {d: rd(d, "image").strip("\n") != "" for d in devs}

# What the client must export, from the fixture's own text.
counters, skipped_lines = {}, []
for d in devs:
    counters[d] = {}
    if not bound[d]:
        continue
    for line in rd(d, "counters").splitlines():
        m = re.fullmatch(r"([a-z0-9_]+) ([0-9]+)", line)
        if not m or m.group(1) in RESERVED or m.group(1) in counters[d]:
            skipped_lines.append(line)
            continue
        counters[d][m.group(1)] = int(m.group(2))
servers = {}
for d in devs:
    servers[d] = {}
    for line in rd(d, "servers").splitlines():
        m = re.fullmatch(r"([0-9]+) ([0-9.:]+) ([a-z]+) ([0-9]+) ([0-9]+)", line)
        if not m:
            skipped_lines.append(line)
            continue
        servers[d][m.group(1)] = (m.group(2), m.group(3) == "up",
                                  int(m.group(4)) / 1e6, int(m.group(5)))

# 1. The raw text: one HELP and one TYPE per family, counters in _total.
helps = re.findall(r"^# HELP (\S+) ", text, re.M)
types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
if len(helps) != len(set(helps)) or len(types) != len({t for t, _ in types}):
    bad.append("a HELP or TYPE line is repeated")
if sorted(helps) != sorted(t for t, _ in types):
    bad.append("HELP and TYPE lines do not pair up")
for name, typ in types:
    if not name.startswith(P):
        bad.append("%s: no %s prefix" % (name, P))
    if typ not in ("counter", "gauge"):
        bad.append("%s: type %s" % (name, typ))
    if (typ == "counter") != name.endswith("_total"):
        bad.append("%s: a %s, and its name ends %s" % (name, typ, name[-6:]))
for line in text.splitlines():
    if line and not line.startswith("# "):
        name = re.match(r"[a-z_0-9]+", line).group(0)
        if name not in helps:
            bad.append("sample without HELP/TYPE: " + line)

# 2. The parser's view.
fams = list(text_string_to_metric_families(text))
names = [f.name for f in fams]
if len(names) != len(set(names)):
    bad.append("a family appears twice (samples not together): %s" % names)
samples = {}
for f in fams:
    if not f.documentation or f.type not in ("counter", "gauge"):
        bad.append("%s: help %r, type %s" % (f.name, f.documentation, f.type))
    for s in f.samples:
        if f.type == "counter" and not s.name.endswith("_total"):
            bad.append("counter sample %s" % s.name)
        samples.setdefault(s.name, []).append((s.labels, s.value, f))


def value(name, **labels):
    got = [v for l, v, _ in samples.get(name, []) if l == labels]
    if len(got) != 1:
        bad.append("%s%s: %d samples" % (name, labels, len(got)))
        return None
    return got[0]


def expect(name, want, **labels):
    got = value(name, **labels)
    if got is not None and abs(got - want) > 1e-9 * max(1, abs(want)):
        bad.append("%s%s = %r, fixture says %r" % (name, labels, got, want))


expect(P + "devices", len(devs))
for d in devs:
    expect(P + "device_bound", 1 if bound[d] else 0, device=d)
for d in (d for d in devs if bound[d]):
    img = rd(d, "image").rstrip("\n")
    lab = {"device": d, "image": img}
    expect(P + "device_info", 1, image_id=rd(d, "image_id").strip(),
           revision=rd(d, "revision").strip(), **lab)
    expect(P + "device_cache_hits_total", int(rd(d, "cache_hits")), **lab)
    expect(P + "device_cache_misses_total", int(rd(d, "cache_misses")), **lab)
    for sid, (addr, up, srtt, weight) in servers[d].items():
        sl = dict(lab, server_id=sid, address=addr)
        expect(P + "server_up", 1 if up else 0, **sl)
        expect(P + "server_srtt_seconds", srtt, **sl)
        expect(P + "server_weight", weight, **sl)
    for c, v in counters[d].items():
        expect(P + c + "_total", v, **lab)
    got = {n[len(P):-6] for n, ss in samples.items()
           if not n.startswith(P + "device_") and n.endswith("_total")
           and any(l.get("device") == d for l, _, _ in ss)}
    if got != set(counters[d]):
        bad.append("%s: counters %s, fixture %s" % (d, sorted(got),
                                                     sorted(counters[d])))
    for c in counters[d]:
        f = samples[P + c + "_total"][0][2]
        generic = "no help known" in f.documentation
        if generic != c.startswith("a_counter_from"):
            bad.append("%s: help %r" % (c, f.documentation))
# The unbound and the other devices: only their bound gauge.
for n, ss in samples.items():
    for l, v, _ in ss:
        d = l.get("device")
        if d is not None and d not in devs:
            bad.append("%s exported for %s, not a dnbd disk" % (n, d))
        if d in devs and not bound[d] and n != P + "device_bound":
            bad.append("%s exported for the unbound %s" % (n, d))
# Every malformed line reported on stderr, none of them in the output.
for line in skipped_lines:
    if ("'%s'" % line) not in errs and ("'%s' skipped" % line.split()[0]) not in errs:
        bad.append("no warning for %r on stderr" % line)
if "reserved counter 'server_up'" not in errs or \
        "repeated counter 'requests_sent'" not in errs:
    bad.append("no warning for the reserved or the repeated counter")
for b in bad:
    print("FAIL:", b)
print("%d families, %d samples, %d lines skipped" %
      (len(fams), sum(len(f.samples) for f in fams), len(skipped_lines)))
sys.exit(1 if bad else 0)
EOF

# ---- 1. the fixture, parsed and checked --------------------------------------
mkdir "$W/out"
rc=0
DNBD_SYSFS=$S "$CLIENT" --metrics "$W/out/dnbd.prom" 2>"$W/err" || rc=$?
cat "$W/err"
((rc == 0)) || fail "--metrics exited $rc"
[[ -s "$W/out/dnbd.prom" ]] || fail "no $W/out/dnbd.prom"
if ! $PY "$W/check.py" "$S" "$W/out/dnbd.prom" "$W/err"; then
	fail "the exposition does not match the fixture:"
	cat "$W/out/dnbd.prom"
fi
[[ -z "$(ls "$W/out" | grep -v '^dnbd.prom$')" ]] ||
	fail "left behind in the directory: $(ls "$W/out")"

# The checker itself must be able to fail: a changed value, a lost HELP.
sed 's/^\(dnbd_client_reads_completed_total{.*}\) [0-9]*$/\1 1/' \
	"$W/out/dnbd.prom" >"$W/wrong.prom"
sed '/^# HELP dnbd_client_server_up /d' "$W/out/dnbd.prom" >"$W/nohelp.prom"
for f in wrong nohelp; do
	! $PY "$W/check.py" "$S" "$W/$f.prom" "$W/err" >/dev/null ||
		fail "the checker accepts a broken exposition ($f)"
done

# ---- 2. rename, stdout ----------------------------------------------------------
ino=$(stat -c %i "$W/out/dnbd.prom")
echo 5 >"$d0/cache_misses"
DNBD_SYSFS=$S "$CLIENT" --metrics "$W/out/dnbd.prom" 2>/dev/null ||
	fail "second run failed"
[[ "$(stat -c %i "$W/out/dnbd.prom")" != "$ino" ]] ||
	fail "the file was rewritten in place, not replaced by rename"
grep -q '^dnbd_client_device_cache_misses_total{device="dnbd0",.*} 5$' \
	"$W/out/dnbd.prom" || fail "the second run did not update the file"
DNBD_SYSFS=$S "$CLIENT" --metrics - >"$W/stdout.prom" 2>/dev/null ||
	fail "--metrics - failed"
cmp -s "$W/stdout.prom" "$W/out/dnbd.prom" ||
	fail "--metrics - differs from the file"

# ---- 3. no dnbd devices: a valid file -----------------------------------------
mkdir -p "$W/empty/block/sda"
DNBD_SYSFS=$W/empty "$CLIENT" --metrics "$W/out/empty.prom" ||
	fail "--metrics with no devices failed"
$PY - "$W/out/empty.prom" <<'EOF' || fail "the file for no devices is wrong"
import sys
from prometheus_client.parser import text_string_to_metric_families
f = list(text_string_to_metric_families(open(sys.argv[1]).read()))
assert [(x.name, x.type, [s.value for s in x.samples]) for x in f] == \
    [("dnbd_client_devices", "gauge", [0.0])], f
EOF

# ---- 4. errors --------------------------------------------------------------------
# expect_err WHAT PATTERN ARGS...: dnbd-client ARGS fails saying PATTERN.
expect_err() {
	local what=$1 pat=$2 rc=0
	shift 2
	DNBD_SYSFS=$S "$CLIENT" "$@" >"$W/e.out" 2>&1 || rc=$?
	if ((rc == 0)) || ! grep -q -- "$pat" "$W/e.out"; then
		fail "$what: exit $rc, output: $(cat "$W/e.out")"
	else
		echo "$what: exit $rc, '$(grep -- "$pat" "$W/e.out" | head -n 1)'"
	fi
}
expect_err "missing directory" "cannot write $W/nodir/dnbd.prom.*No such file" \
	--metrics "$W/nodir/dnbd.prom"
mkdir "$W/ro"
if mount -t tmpfs -o ro,size=1m tmpfs "$W/ro" 2>/dev/null; then
	ro=$W/ro
	expect_err "read-only directory" "cannot write.*Read-only file system" \
		--metrics "$W/ro/dnbd.prom"
else
	echo "(no read-only tmpfs here: that case not checked)"
fi
expect_err "--metrics with -d" "give it alone" --metrics - -d /dev/dnbd0
DNBD_SYSFS=$W/none "$CLIENT" --metrics - >/dev/null 2>"$W/e.out" &&
	fail "a missing sysfs root gave exit 0"
grep -q "$W/none/block" "$W/e.out" || fail "no message for a missing sysfs root"

((bad == 0)) && echo "dnbd-client --metrics: all checks passed"
exit $bad
