#!/usr/bin/env python3
"""bench/report.py RAW OUT - the report of bench/run.sh.

Reads RAW/results.tsv (one line per run), failover.tsv, cpu.tsv, meta.tsv,
s1-dnbd-server.json and the profile files (profile-*.txt, profile-*.tsv),
and writes OUT/benchmarks.md and the plots OUT/bench/*.png (gnuplot,
pngcairo; their data and script stay in RAW/plot/).  Every ratio is computed
from figures of the same run.  MB is 10^6 bytes, MiB and GiB powers of two.
The reasons given for missed targets are sentences with this run's figures
(counters, CPU, profile shares) filled in; the mechanisms they name were
found with perf and in the code (proto/client.c) when the benchmark was
written, and are worth re-checking when the code changes.
"""
import csv
import json
import os
import statistics
import subprocess
import sys

RAW, OUT = "", ""
PLOTS = "bench"  # the plots' folder, relative to OUT


# ---- input -------------------------------------------------------------------

def tsv(name):
    path = os.path.join(RAW, name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def meta():
    out = {}
    with open(os.path.join(RAW, "meta.tsv"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            out[k] = v
    return out


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def note(row, key):
    for kv in row.get("note", "").split(";"):
        k, _, v = kv.partition("=")
        if k == key:
            return num(v)
    return None


def runs(rows, scen, system, param=None):
    return [r for r in rows if r["scenario"] == scen and r["system"] == system
            and (param is None or r["param"] == str(param))]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def mbps(row):
    """Throughput of one reader in MB/s."""
    wall = num(row["wall_s"])
    return num(row["image_bytes"]) / wall / 1e6 if wall else None


def busy(row, m):
    """Share of all cores' time the machine was busy during the run, %."""
    h, w = num(row.get("host_cpu_s")), num(row["wall_s"])
    return h / (w * int(m["nproc"])) * 100 if h is not None and w else None


def egress_x(row):
    return num(row["egress_bytes"]) / num(row["image_bytes"])


# ---- formatting ----------------------------------------------------------------

def f(v, digits=1, unit=""):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}{unit}"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.{digits}f}×"


def table(head, rows, left=1):
    """A markdown table; the first LEFT columns left-aligned, the rest right."""
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i < left else "---:" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


# ---- plots -------------------------------------------------------------------------

GNUPLOT_HEAD = """set terminal pngcairo size 800,480 font "DejaVu Sans,11"
set grid ytics
set key top left
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
"""


def write_data(name, lines):
    path = os.path.join(RAW, "plot", name)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def plots(s1, s2, s3, s6):
    """One gnuplot run for every plot; returns the PNG names made."""
    os.makedirs(os.path.join(RAW, "plot"), exist_ok=True)
    os.makedirs(os.path.join(OUT, PLOTS), exist_ok=True)
    png = lambda n: os.path.join(OUT, PLOTS, n)  # noqa: E731
    gp = [GNUPLOT_HEAD]
    d1 = write_data("s1.dat", [f'"{k}" {v:.1f}' for k, v in s1 if v is not None])
    gp.append(f"""set output "{png('s1-throughput.png')}"
set title "1: one client reads the image (MB/s; iperf3 = TCP link limit)"
set ylabel "MB/s"
set logscale y
set yrange [1:*]
set style data boxes
set boxwidth 0.6
set xrange [-0.6:{len(s1) - 0.4}]
plot "{d1}" using 0:2:xtic(1) notitle lc rgb "#4477aa", \\
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 notitle
unset logscale y
set yrange [*:*]
set xrange [*:*]
""")
    d2 = write_data("s2.dat", [f"{n} {de:.3f} {ne:.3f} {dw:.2f} {nw:.2f}" for n, de, ne, dw, nw in s2])
    gp.append(f"""set style data linespoints
set output "{png('s2-egress.png')}"
set title "2: server egress / image size, N clients at once"
set xlabel "clients"
set ylabel "egress / image"
set yrange [0:*]
plot "{d2}" using 1:2 title "dnbd" lw 2 pt 7, "" using 1:3 title "nbd-server" lw 2 pt 5
set output "{png('s2-wall.png')}"
set title "2: wall time until every client has the image"
set ylabel "seconds"
plot "{d2}" using 1:4 title "dnbd" lw 2 pt 7, "" using 1:5 title "nbd-server" lw 2 pt 5
""")
    d3 = write_data("s3.dat", [f"{p} {d if d is not None else 'NaN'} {n if n is not None else 'NaN'}"
                               for p, d, n in s3])
    gp.append(f"""set output "{png('s3-loss.png')}"
set title "3: throughput under random loss, relative to no loss"
set xlabel "loss (%)"
set ylabel "relative throughput"
set yrange [0:1.1]
plot "{d3}" using 1:2 title "dnbd" lw 2 pt 7, "" using 1:3 title "nbd-server (TCP)" lw 2 pt 5
set yrange [*:*]
unset xlabel
set style data histograms
""")
    d6 = write_data("s6.dat", [f'"{k}" {v:.2f}' for k, v in s6 if v is not None])
    gp.append(f"""set output "{png('s6-tbf.png')}"
set title "6: slow shared link, time until every client has the image"
set ylabel "seconds"
set yrange [0:*]
set style data boxes
set boxwidth 0.5
set offsets 0, 0, graph 0.1, 0
set xrange [-0.6:{len(s6) - 0.4}]
plot "{d6}" using 0:2:xtic(1) notitle lc rgb "#cc6677", \\
     "" using 0:2:(sprintf("%.1f s", $2)) with labels offset 0,0.8 notitle
""")
    script = write_data("plots.gp", gp)
    subprocess.run(["gnuplot", script], check=True)
    return ["s1-throughput.png", "s2-egress.png", "s2-wall.png", "s3-loss.png", "s6-tbf.png"]


# ---- sections -------------------------------------------------------------------

READERS = [("dnbd", "dnbd-cat", "dnbd-server"),
           ("nbd-server", "nbdcopy", "nbd-server 3 (TCP)"),
           ("nbdkit", "nbdcopy", "nbdkit, file plugin (TCP)")]


def sec1(rows, m, res):
    """Scenario 1: one reader."""
    out = [f"## 1. One client, sequential read of the whole image ({int(m['mib'])} MiB)\n",
           "Each reader copies the whole image from srv to c1 and throws it away: `dnbd-cat -b GROUP "
           "> /dev/null` against dnbd-server (multicast group, defaults: 1400-byte segments, window "
           "16, one I/O thread), and libnbd's `nbdcopy nbd://srv/... null:` (Debian's libnbd-bin, "
           "its defaults, which here are 2 connections and 2 threads, one per core, 64 requests "
           "in flight) against nbd-server and nbdkit. The readers run one after the other, "
           f"{m['passes']} pass(es), and the table gives the median pass. The time is the reader's "
           "wall time, from process start (including connection or server discovery) to exit. "
           f"The link limit is `iperf3 -R -P {m.get('iperf_p', 1)}` (srv sends, as many TCP streams "
           f"as nbdcopy's connections) for {m['iperf_s']} s on the same veth pairs and bridge. A "
           "veth has no line rate: TCP over it is bound by CPU too.\n"]
    d = med(mbps(r) for r in runs(rows, "s1", "dnbd"))
    res["s1_dnbd"], res["s1_nbd"] = d, med(mbps(r) for r in runs(rows, "s1", "nbd-server"))
    lines, plot = [], []
    for sys_, reader, server in READERS:
        rs = runs(rows, "s1", sys_)
        if not rs:
            continue
        v = med(mbps(r) for r in rs)
        vals = [mbps(r) for r in rs]
        lines.append([f"{reader} ← {server}", f(v), f(min(vals)) + "–" + f(max(vals)),
                      f(med(num(r["wall_s"]) for r in rs), 2),
                      f(med(num(r["cli_cpu_s"]) for r in rs), 2),
                      f(med(num(r["srv_cpu_s"]) for r in rs), 2),
                      f(med(busy(r, m) for r in rs), 0, " %"),
                      f(med(num(r["egress_bytes"]) / max(num(r["egress_pkts"]), 1) for r in rs), 0),
                      "1.00×" if sys_ == "dnbd" else ratio(d, v)])
        plot.append((sys_, v))
    for r in runs(rows, "s1", "iperf3"):
        v = num(r["image_bytes"]) / num(r["wall_s"]) / 1e6
        res["s1_link"] = v
        lines.append([f"iperf3 -R, TCP ({v * 8 / 1000:.1f} Gbit/s)", f(v), "", f(num(r["wall_s"]), 1),
                      "", "", "", "", ratio(d, v, 3)])
        plot.append(("iperf3 link", v))
    out.append(table(["reader ← server", "MB/s", "range", "s", "client CPU s", "server CPU s",
                      "machine busy", "bytes/packet on the wire", "dnbd / this"], lines))
    out.append(variants_table(rows, m, res, plot))
    out.append("\n*Machine busy* is the busy time of all cores (user, system, interrupts, from "
               "/proc/stat) over the run, against 100 % = every core busy for the whole run. "
               "\"bytes/packet\" is the server's egress bytes divided by its packets, both counted "
               "at its bridge port: TCP over a veth pair travels as 64 KiB GSO packets, dnbd as one "
               "datagram per segment.\n")
    out.append(f"\n![scenario 1]({PLOTS}/s1-throughput.png)\n")
    return "\n".join(out), plot


VARIANTS = [("dnbd-t2", "dnbd-server -t 2 (two I/O workers)", "dnbd -t 2"),
            ("dnbd-seg8900", "--seg-max 8900 / --seg-size 8900 (IP-fragmented)", "dnbd 8900 B")]


def variants_table(rows, m, res, plot):
    """dnbd with non-default knobs, same run, against nbd-server."""
    lines = []
    for sys_, label, short in VARIANTS:
        rs = runs(rows, "s1", sys_)
        if not rs:
            continue
        v = med(mbps(r) for r in rs)
        lines.append([label, f(v), f(med(num(r["wall_s"]) for r in rs), 2),
                      f(med(num(r["cli_cpu_s"]) for r in rs), 2),
                      f(med(num(r["srv_cpu_s"]) for r in rs), 2),
                      f(med(busy(r, m) for r in rs), 0, " %"),
                      ratio(v, res["s1_dnbd"]), ratio(v, res["s1_nbd"])])
        plot.insert(len(plot) - 1, (short, v))
    if not lines:
        return ""
    return ("\ndnbd with other knobs, same run (not the defaults; not used for the targets):\n\n"
            + table(["variant", "MB/s", "s", "client CPU s", "server CPU s", "machine busy",
                     "this / dnbd default", "this / nbd-server"], lines))


def sec2(rows, m, res):
    """Scenario 2: N readers at once."""
    out = [f"## 2. N clients read the same image at once ({int(m['mib'])} MiB)\n",
           "N readers (c1…cN) start together; the wall time runs until the last one exits. Egress "
           "is what srv sent into the bridge during the run (its bridge port's byte counter, "
           "headers included) divided by the image size. dnbd's clients share one multicast "
           "group; nbd-server gets N TCP connections from N nbdcopy processes. One pass.\n"]
    lines, plot = [], []
    for n in m["n_list"].split():
        d = (runs(rows, "s2", "dnbd", n) or [None])[0]
        b = (runs(rows, "s2", "nbd-server", n) or [None])[0]
        if not d or not b:
            continue
        dw, bw, de, be = num(d["wall_s"]), num(b["wall_s"]), egress_x(d), egress_x(b)
        lines.append([n, f(dw, 2), f(bw, 2), ratio(dw, bw), f(de, 3) + "×", f(be, 3) + "×",
                      ratio(de, be), f(note(d, "rerequested"), 0), f(note(d, "timeouts"), 0),
                      f(busy(d, m), 0, " %"), f(busy(b, m), 0, " %")])
        plot.append((int(n), de, be, dw, bw))
        res["s2_egress"] = (int(n), de)
    out.append(table(["N", "dnbd s", "nbd-server s", "time dnbd / nbd", "dnbd egress / image",
                      "nbd egress / image", "egress dnbd / nbd", "dnbd re-requested segments",
                      "dnbd timeouts", "machine busy, dnbd", "machine busy, nbd"], lines))
    out.append(f"\n![egress]({PLOTS}/s2-egress.png) ![wall time]({PLOTS}/s2-wall.png)\n")
    return "\n".join(out), plot


def sec3(rows, m, res):
    """Scenario 3: random loss."""
    out = [f"## 3. Random loss ({int(m['loss_mib'])} MiB, one client)\n",
           "nftables in c1 and in srv drops each arriving dnbd datagram (UDP port 5001) with "
           "probability p, and, for the comparison, each arriving TCP segment of the nbd "
           "connection: loss in both directions. One reader, one pass per p; the relative figure "
           "is against p = 0 of the same run. nbdcopy is stopped after "
           f"{m.get('loss_timeout', '?')} s (\"failed\").\n"]
    lines, plot = [], []
    d0 = b0 = None
    for p in m["losses"].split():
        d = (runs(rows, "s3", "dnbd", p) or [None])[0]
        b = (runs(rows, "s3", "nbd-server", p) or [None])[0]
        dv = mbps(d) if d else None
        bv = mbps(b) if b and b["wall_s"] != "-" else None
        if p == "0":
            d0, b0 = dv, bv
        dr = dv / d0 if dv and d0 else None
        br = bv / b0 if bv and b0 else None
        if p == "5":
            res["s3_rel5"] = dr
        lines.append([f"{p} %", f(dv), f(dr, 2), f(note(d, "rerequested"), 0) if d else "–",
                      f(note(d, "timeouts"), 0) if d else "–",
                      f(bv) if bv else "failed", f(br, 2), ratio(dv, bv)])
        plot.append((int(p), dr, br))
    out.append(table(["loss", "dnbd MB/s", "dnbd relative", "re-requested segments", "timeouts",
                      "nbd-server MB/s", "nbd relative", "dnbd / nbd"], lines))
    out.append(f"\n![loss]({PLOTS}/s3-loss.png)\n")
    return "\n".join(out), plot


def sec4(m, res):
    """Scenario 4: failover."""
    fo = tsv("failover.tsv")
    out = [f"## 4. Failover ({int(m['fail_mib'])} MiB, two replicas)\n",
           f"Two dnbd-servers (ids 1 and 2, on srv and srv2) export the same image on one group, "
           f"each paced with `--rate {m['fail_rate']}` so that the read lasts a few seconds. "
           "`dnbd-cat` in c1 writes into a small reader (`bench/tsread.py`) that timestamps "
           "every chunk it gets. Once data flows, the replica that sent more over 0.4 s "
           "(bridge port counters) is killed with `kill -9`. *Resumed* is the time from the kill "
           "to the end of the longest pause in the client's output that ends after the kill, "
           "i.e. until the stream flows again; *first data* is the first chunk after the kill "
           "(data already on its way); *longest pause before* is the longest pause before the "
           f"kill, for scale. {len(fo)} repeat(s); every read delivered the whole image.\n"]
    lines = []
    for r in fo:
        lines.append([r["repeat"], r["victim"], f(num(r["kill_after_s"]), 2),
                      f(num(r["first_ms"]), 0), f(num(r["resume_ms"]), 0),
                      f(num(r["stall_ms"]), 0), f(num(r["base_gap_ms"]), 0), r["failovers"]])
    resumed = [num(r["resume_ms"]) for r in fo]
    if resumed:
        lines.append(["**median / max**", "", "", "", f"**{f(med(resumed), 0)} / "
                      f"{f(max(resumed), 0)}**", "", "", ""])
        res["s4"] = (med(resumed), max(resumed))
    out.append(table(["repeat", "replica killed", "kill after s", "first data ms",
                      "resumed ms", "pause ms", "longest pause before ms", "client failovers"],
                     lines))
    return "\n".join(out)


def sec5(m, res):
    """Scenario 5: server CPU per GiB."""
    cpu = tsv("cpu.tsv")
    out = ["## 5. Server CPU seconds per GiB\n",
           "User + system time of the server process (all threads; nbd-server's per-connection "
           "children through the parent's cutime/cstime once they are reaped), read from "
           "`/proc/PID/stat` before and after each run of scenarios 1 and 2 (10 ms ticks). "
           "*Per GiB sent* divides by the server's egress; *per GiB delivered* by image size × "
           "readers, which is what the clients got. Soft-interrupt work is charged to whichever "
           "process the CPU was running, so part of the receivers' and the bridge's packet "
           "processing can land on the sender, and the reverse: compare orders of magnitude.\n"]
    by = {(r["source"], r["system"], r["clients"]): r for r in cpu}
    lines = []
    for (src, sys_, n), r in sorted(by.items(), key=lambda kv: (kv[0][0], int(kv[0][2]), kv[0][1])):
        peer = by.get((src, "nbd-server", n))
        mine = num(r["cpu_per_gib_delivered"])
        rel = ratio(mine, num(peer["cpu_per_gib_delivered"])) if peer and sys_ == "dnbd" else ""
        lines.append([f"scenario {src[1]}", n, sys_, r["runs"], f(num(r["srv_cpu_s"]), 2),
                      f(num(r["egress_gib"]), 2), f(num(r["delivered_gib"]), 2),
                      f(num(r["cpu_per_gib_egress"]), 2), f(mine, 2), rel])
        if sys_ in ("dnbd", "nbd-server") and src == "s1":
            res[f"s5_{sys_}"] = num(r["cpu_per_gib_egress"])
    out.append(table(["from", "clients", "server", "runs", "CPU s", "GiB sent", "GiB delivered",
                      "CPU s / GiB sent", "CPU s / GiB delivered", "dnbd / nbd-server (delivered)"],
                     lines))
    return "\n".join(out)


def sec6(rows, m, res):
    """Scenario 6: slow shared link."""
    out = [f"## 6. Slow shared link: {m['tbf_n']} clients behind tbf {m['tbf_rate']} "
           f"({int(m['tbf_mib'])} MiB)\n",
           f"`tc qdisc add dev eth0 root tbf rate {m['tbf_rate']} burst 32kbit latency 400ms` on "
           f"srv's eth0 shapes everything srv sends, like the one radio channel of a wireless lab. "
           f"{m['tbf_n']} readers start together; the time runs until the last one has the "
           "whole image. One pass.\n"]
    lines, plot = [], []
    base = None
    for sys_ in ("dnbd", "nbd-server"):
        r = (runs(rows, "s6", sys_) or [None])[0]
        if not r:
            continue
        w = num(r["wall_s"])
        base = w if sys_ == "dnbd" else base
        lines.append([sys_, f(w, 1), f(note(r, "fastest"), 1), f(egress_x(r), 2) + "×",
                      f(note(r, "rerequested"), 0) if sys_ == "dnbd" else "",
                      "1.00×" if sys_ == "dnbd" else ratio(base, w)])
        plot.append((sys_, w))
        res[f"s6_{sys_}"] = (w, egress_x(r))
    out.append(table(["server", "all done, s", "first done, s", "egress / image",
                      "re-requested segments", "dnbd / this"], lines))
    out.append(f"\n![slow link]({PLOTS}/s6-tbf.png)\n")
    return "\n".join(out), plot


def profile_text(name):
    path = os.path.join(RAW, f"profile-{name}.txt")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return "\n".join(line.rstrip() for line in fh).rstrip()


def profile_meta():
    out = {}
    path = os.path.join(RAW, "profile-meta.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                k, _, v = line.rstrip("\n").partition("\t")
                out[k] = v
    return out


def prof_share(comm, symbol, view="children"):
    """The share (% of all samples) of SYMBOL in COMM's profile, or None."""
    text = profile_text(f"{comm}-{view}") or ""
    for line in text.splitlines():
        parts = line.split()
        if symbol in parts:
            return num(parts[0].rstrip("%"))
    return None


def sec_profile(m):
    pm = profile_meta()
    if not pm:
        return "## Profile\n\nNo profile (BENCH_PERF=0).\n"
    if not pm.get("tool", "").startswith("perf"):
        out = ["## Profile\n", "perf could not run here; `strace -c` of both programs during one "
               "more single-client read instead (system calls, counts and time).\n"]
        for name in ("dnbd-server", "dnbd-cat"):
            out.append(f"**{name}**\n\n```\n{profile_text(name + '-self') or ''}\n```\n")
        return "\n".join(out)
    out = ["## Profile\n",
           f"During one more single-client read of the image (not timed), `perf record -e "
           f"cpu-clock -F 999 -g -a` ({pm['tool']}, {pm.get('samples', '?')} samples) sampled "
           "the whole machine. Every percentage below is a share of all samples of both cores, "
           "idle included. `[k]` is the kernel, `[.]` the program. *Self* counts samples in the "
           "function itself; *children* adds everything it calls (kernel call chains; the "
           "programs are built without frame pointers, so user-space chains stop early). This "
           "machine is a VM without hardware counters, so perf samples with a timer: samples "
           "taken while interrupts were off are charged to the place that switched them on "
           "again (`_raw_spin_unlock_irqrestore`, `finish_task_switch`), which makes those two "
           "look hot; their callers in the children view (wake-ups, context switches) are the "
           "real cost.\n",
           f"**Who used the CPU** (`--sort comm,dso`)\n\n```\n{profile_text('who')}\n```\n"]
    for name in ("dnbd-server", "dnbd-cat"):
        out.append(f"**{name}, self** (`--no-children --sort comm,symbol`)\n\n"
                   f"```\n{profile_text(name + '-self')}\n```\n")
        out.append(f"**{name}, children** (`--children --sort comm,symbol`)\n\n"
                   f"```\n{profile_text(name + '-children')}\n```\n")
    return "\n".join(out)


def machine(m):
    busy = "" if m.get("qemu_running", "0") == "0" else \
        f" **{m['qemu_running']} QEMU processes were running: figures are low and noisy.**"
    quick = "\n**BENCH_QUICK=1: tiny sizes, one pass. These figures only show that the " \
        "benchmark works; see docs/benchmarks.md for a real run.**\n" if m.get("quick") == "1" else ""
    return (f"Generated by `make bench` (bench/run.sh, bench/report.py) on {m['date']}, dnbd "
            f"{m['dnbd']}, in {float(m.get('runtime_s', 0)) / 60:.1f} minutes.\n{quick}\n"
            f"- Machine: {m['nproc']} cores ({m['cpu']}), {int(m['mem_mib']) // 1024} GiB, "
            f"kernel {m['kernel']} (a VM). Load average before {m['load_before']}, after "
            f"{m.get('load_after', '–')}.{busy}\n"
            f"- Debian 12 packages: nbd-server {m['v_nbd-server']}, nbdkit {m['v_nbdkit']}, "
            f"libnbd-bin (nbdcopy) {m['v_libnbd-bin']}, iperf3 {m['v_iperf3']}, linux-perf "
            f"{m['v_linux-perf']}, nftables {m['v_nftables']}.\n"
            "- The LAN is the one of the integration tests (tests/net/lib.sh): one bridge "
            "namespace, srv (10.77.0.11), srv2 (10.77.0.12) and clients c1…c8, each its own "
            "network namespace with a veth pair into the bridge (MTU 1500, multicast snooping "
            "off). Bridge ports of hosts a run does not use are down, so the flooded multicast "
            "reaches only the hosts taking part, as with IGMP snooping. Servers and clients share "
            "the same 2 cores: every packet is sent, bridged and received by this one CPU pair.\n"
            "- dnbd-server and dnbd-cat are the optimized build (`build/bin`, -O2). Images are "
            "random data in the page cache; readers write to /dev/null. MB/s is 10^6 bytes per "
            "second.\n")


def chains(comm):
    """Shares (%) of COMM's samples per call-chain path (run.sh prof_chains)."""
    out = {}
    path = os.path.join(RAW, f"profile-chains-{comm}.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                k, _, v = line.rstrip("\n").partition("\t")
                out[k] = num(v)
    return out


def server_counters(scen="s1"):
    """dnbd-server's counters after scenario SCEN (its --stats file)."""
    path = os.path.join(RAW, f"{scen}-dnbd-server.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh).get("counters", {})


def why_throughput(rows, m, res):
    """Why one client reads slower than from nbd-server: CPU per datagram."""
    d1, b1 = runs(rows, "s1", "dnbd"), runs(rows, "s1", "nbd-server")
    if not d1 or not b1:
        return ""
    bpp = lambda rs: med(num(r["egress_bytes"]) / max(num(r["egress_pkts"]), 1) for r in rs)  # noqa: E731
    cpu = lambda rs: med(num(r["srv_cpu_s"]) for r in rs)  # noqa: E731
    load = med(busy(r, m) for r in d1) or 0
    lead = ("dnbd is short of CPU, per datagram." if load >= 75
            else "dnbd spends far more CPU per byte, per datagram.")
    text = [f"- **Single-client throughput: {f(res['s1_dnbd'])} MB/s, "
            f"{ratio(res['s1_dnbd'], res['s1_nbd'])} nbd-server's {f(res['s1_nbd'])} MB/s.** "
            f"{lead} During its read the machine was {f(load, 0)} % busy (both cores), and "
            f"dnbd-server used {f(cpu(d1), 1)} s of CPU for the image against nbd-server's "
            f"{f(cpu(b1), 2)} s. For the same bytes dnbd puts {f(bpp(b1) / bpp(d1), 0)}× more "
            f"packets through the kernel: {f(bpp(d1), 0)} bytes per packet against "
            f"{f(bpp(b1), 0)} for TCP, whose 64 KiB GSO packets cross the veths and the bridge "
            "whole. Each 1,400-byte segment makes its own trip through UDP send, IP multicast "
            "output, the bridge and its netfilter hooks, a veth, and the receiver's UDP stack "
            "and wake-up."]
    text.append(why_profile())
    text.append(why_variants(rows, res))
    return "\n".join(t for t in text if t) + "\n"


def why_profile():
    """The profile's call-chain shares, in words."""
    sc, cc, ctr = chains("dnbd-server"), chains("dnbd-cat"), server_counters()
    if not sc.get("samples"):
        return ""
    share = lambda k, d=0: f(sc.get(k), d)  # noqa: E731
    text = (f"  The profile, as shares of dnbd-server's {int(sc['samples']):,} samples by call "
            f"chain (the shares overlap: a chain can pass through several of these): "
            f"{share('sendmmsg')} % under `sendmmsg`. That includes the receivers' side, because "
            "the kernel delivers the datagrams in soft-interrupt context on the sending CPU "
            f"(`net_rx_action` in {share('softirq')} %, the bridge in {share('bridge')} %).")
    looped, sent = num(ctr.get("own_looped")) or 0, num(ctr.get("segments_sent")) or 0
    if sent and looped >= sent / 2 and (sc.get("loopback") or 0) >= 5:
        loop = sum(sc.get(k) or 0 for k in ("loopback", "wait_epoll", "recv"))
        text += (f" {share('loopback')} % is under `dev_loopback_xmit`: the kernel loops a copy "
                 "of every multicast reply back to the server's own socket (IP_MULTICAST_LOOP; "
                 f"its counter `own_looped` is {f(looped, 0)} for {f(sent, 0)} segments sent). "
                 f"Its event loop wakes up for those copies ({share('wait_epoll')} % in "
                 f"`epoll_wait`) and reads and drops them ({share('recv')} % receiving). So up "
                 f"to {f(loop, 0)} % of dnbd-server's CPU goes to hearing its own replies, which "
                 "it only needs from other replicas.")
    text += (f" Waking a sleeping reader per datagram (`sock_def_readable`) is in "
             f"{share('wakeup')} % of the chains; in this VM a cross-CPU wake-up is an IPI, and "
             "its samples land on `_raw_spin_unlock_irqrestore`. The software CRC32C "
             f"(`dnbd_crc32c`) is {share('crc32c', 1)} % of the server and "
             f"{f(cc.get('crc32c'), 1)} % of dnbd-cat; reading the image (`pread`) "
             f"{share('pread', 1)} %. dnbd-cat spends {f(cc.get('wait_poll'), 0)} % of its "
             "samples in `poll()`, going to sleep and waking up.")
    return text


def why_variants(rows, res):
    """What the two knobs of scenario 1 did, same run."""
    var = {v: med(mbps(r) for r in runs(rows, "s1", v)) for v in ("dnbd-t2", "dnbd-seg8900")}
    if not all(var.values()):
        return ""
    return (f"  Fewer or cheaper trips help, as the variants of the same run show: two I/O "
            f"workers (`-t 2`) {f(var['dnbd-t2'])} MB/s, 8900-byte segments (IP-fragmented) "
            f"{f(var['dnbd-seg8900'])} MB/s; still {ratio(max(var.values()), res['s1_nbd'])} "
            "nbd-server's. Closing the gap needs fewer trips through the stack per byte: UDP GSO "
            "(docs/architecture.md), no loop-back of the server's own multicast, fewer wake-ups.")


def why_loss(rows, m, res):
    """Why 5 % loss costs more than 40 %: retransmission timers."""
    d0 = (runs(rows, "s3", "dnbd", 0) or [None])[0]
    d5 = (runs(rows, "s3", "dnbd", 5) or [None])[0]
    b0 = (runs(rows, "s3", "nbd-server", 0) or [None])[0]
    b5 = (runs(rows, "s3", "nbd-server", 5) or [None])[0]
    if not d0 or not d5:
        return ""
    reads = num(d5["image_bytes"]) / 65536
    tcp = ""
    if b0 and b5 and b5["wall_s"] != "-":
        tcp = (f" (TCP to nbd-server kept {f(mbps(b5) / mbps(b0) * 100, 0)} %, and in absolute "
               f"terms dnbd is {ratio(mbps(d5), mbps(b5))} nbd-server at 5 %)")
    load = (f"Not for lack of CPU: the machine was {f(busy(d5, m), 0)} % busy, against "
            f"{f(busy(d0, m), 0)} % without loss; the client was waiting. "
            if (busy(d5, m) or 100) < 60 else
            f"The machine was {f(busy(d5, m), 0)} % busy. ")
    return (f"- **5 % loss: dnbd kept {f(res['s3_rel5'] * 100, 0)} % of its throughput**{tcp}. "
            f"{load}It waited on retransmission timers: {f(note(d5, 'timeouts'), 0)} timeouts "
            f"and {f(note(d5, 'rerequested'), 0)} re-requested segments for {f(reads, 0)} reads "
            f"of 64 KiB, against {f(note(d0, 'timeouts'), 0)} and "
            f"{f(note(d0, 'rerequested'), 0)} without loss. A read's lost segments are asked "
            "again at once only when the last datagram of its burst (LAST) arrives "
            "(proto/client.c, fast retransmit). When the request, the LAST datagram or a "
            "re-request is lost (here 5 % each, both ways), the read waits for its RTO, and a "
            "read's RTO doubles with every attempt, fast retransmissions included "
            "(`shift = tries - 1` in `dispatch()`). A 64 KiB read is 47 segments, so "
            f"{f((1 - 0.95 ** 47) * 100, 0)} % of reads lose at least one at 5 %. dnbd-cat "
            "writes in order: one waiting read stalls the output once the other 15 reads of its "
            "window are done. Re-asking holes on a timer shorter than the RTO, and not doubling "
            "the RTO after fast retransmissions, is where to start.\n")


def why_egress(rows, m, res):
    n, eg = res.get("s2_egress", (None, None))
    r = (runs(rows, "s2", "dnbd", n) or [None])[0]
    if not r:
        return ""
    return (f"- **Egress {f(eg, 2)}× the image with {n} clients.** Headers are 90 bytes per "
            "1,400-byte segment (6.4 %); the rest is segments sent again: "
            f"{f(note(r, 'rerequested'), 0)} re-requested after {f(note(r, 'timeouts'), 0)} "
            "timeouts. Re-requests carry RETRY, which bypasses the server's dedup window.\n")


def why_failover(res):
    fo = res.get("s4")
    return (f"- **Failover: up to {f(fo[1], 0)} ms** before the output flowed again. The client "
            "only leaves a replica after two timeouts without any data from it "
            "(proto/client.c, DOWN_AFTER_TIMEOUTS).\n") if fo else ""


def tbf_resent(rows, m):
    """Segments the server sent more than once behind tbf, and why."""
    r = (runs(rows, "s6", "dnbd") or [None])[0]
    sent = num(server_counters("s6").get("segments_sent"))
    if not r or not sent:
        return ""
    segs = -(-num(r["image_bytes"]) // 1400)
    extra, drops = sent - segs, num(m.get("s6_dnbd_tbf_drops")) or 0
    if extra < segs * 0.05:
        return ""
    queue = num(m.get("s6_tbf_queue_bytes"))
    dropped = ""
    if drops > 0:
        dropped = (f" tbf dropped {f(drops, 0)} datagrams: its queue (400 ms at the rate, "
                   f"{f(queue / 1e6 if queue else None, 1)} MB) is shorter than the server's "
                   "8 MiB socket send buffer, so the server's bursts overflow it.")
    return (f" Headers are 6.4 % of the image; dnbd-server sent {f(extra, 0)} segments more "
            f"than the image has ({f(extra / segs * 100, 0)} % of it).{dropped} The server's "
            "dedup only knows what it has handed to the kernel: segments waiting in tbf's "
            "queue" + (" or dropped there" if drops > 0 else "") + " make the clients time out "
            f"({f(note(r, 'timeouts'), 0)} timeouts), and their re-requests carry RETRY, which "
            "bypasses the dedup window.")


def well(rows, m, res):
    """What the same run shows where dnbd does well or as designed."""
    out = []
    ns = [n for n in m["n_list"].split() if runs(rows, "s2", "dnbd", n)]
    if len(ns) > 1 and res.get("s2_egress", (0, 9))[1] <= 1.15:
        d = [runs(rows, "s2", "dnbd", n)[0] for n in (ns[0], ns[-1])]
        b = [runs(rows, "s2", "nbd-server", n)[0] for n in (ns[0], ns[-1])]
        out.append(
            f"- **Egress stays at one copy:** {f(egress_x(d[1]), 2)}× the image for {ns[-1]} "
            f"clients, against {f(egress_x(b[1]), 2)}× for nbd-server. The wall time still grows "
            f"with N ({f(num(d[0]['wall_s']), 1)} s → {f(num(d[1]['wall_s']), 1)} s) on this "
            "machine, because every client receives and checks every datagram on the same 2 "
            f"cores ({f(busy(d[1], m), 0)} % busy), and the server's CPU grows with N "
            f"({f(num(d[0]['srv_cpu_s']), 1)} s → {f(num(d[1]['srv_cpu_s']), 1)} s) although it "
            "sends the same bytes: the bridge's copies are delivered to the receivers in the "
            "sender's soft-interrupt context. On a real LAN each client has its own CPU.")
    d6, b6 = res.get("s6_dnbd"), res.get("s6_nbd-server")
    if d6 and b6:
        out.append(
            f"- **Slow shared link:** {m['tbf_n']} clients had the image after {f(d6[0], 1)} s "
            f"with dnbd and {f(b6[0], 1)} s with nbd-server (which took {ratio(b6[0], d6[0], 1)} as long), "
            f"with {f(d6[1], 2)}× the image on the link against {f(b6[1], 2)}×."
            + (" That is the wireless-lab case dnbd is for: about one copy on the shared medium, "
               "whatever the number of clients." if d6[1] <= 1.3 else "")
            + tbf_resent(rows, m))
    fo = res.get("s4")
    if fo and fo[1] < 1000:
        out.append(f"- **Failover:** the output flowed again {f(fo[0], 0)} ms (median) after the "
                   f"replica in use was killed, {f(fo[1], 0)} ms at most.")
    return "\n".join(out) + "\n" if out else ""


def shortfalls(res, m, rows):
    """Plain reasons where dnbd misses a target, and what it does well."""
    ok = {key: met for _, _, _, met, key in targets(res, m)}
    why = {"throughput": "CPU per datagram: 1,490-byte packets against 64 KiB TCP packets; "
                         "the server also receives its own multicast",
           "loss": "waits on retransmission timers (RTO doubles per try), not CPU",
           "egress": "re-requested segments bypass the dedup window",
           "failover": "two timeouts before the replica is left"}
    text = ["## Where dnbd falls short, and why\n"]
    parts = {"throughput": why_throughput(rows, m, res), "loss": why_loss(rows, m, res),
             "egress": why_egress(rows, m, res), "failover": why_failover(res)}
    missed = [parts[k] for k, met in ok.items() if not met and parts.get(k)]
    text.append("\n".join(missed) if missed else "Every target was met in this run.\n")
    text.append("\n## Where it does well\n")
    text.append(well(rows, m, res) or "–\n")
    return why, "\n".join(text)


def targets(res, m):
    rows = []
    n, eg = res.get("s2_egress", (None, None))
    rows.append(("server egress with N clients", "≤ 1.15× image at N = 8",
                 f"{f(eg, 2)}× at N = {n}", eg is not None and eg <= 1.15, "egress"))
    d, b = res.get("s1_dnbd"), res.get("s1_nbd")
    rows.append(("single-client throughput", "≥ nbd-server's",
                 f"{f(d)} MB/s vs {f(b)} MB/s ({ratio(d, b)})",
                 d is not None and b is not None and d >= b, "throughput"))
    r5 = res.get("s3_rel5")
    rows.append(("throughput at 5 % loss", "≥ 60 % of no loss", f"{f(r5 * 100 if r5 else None, 0)} %",
                 r5 is not None and r5 >= 0.6, "loss"))
    fo = res.get("s4")
    rows.append(("failover", "< 1 s from kill to data again",
                 f"median {f(fo[0], 0)} ms, max {f(fo[1], 0)} ms" if fo else "–",
                 fo is not None and fo[1] < 1000, "failover"))
    return rows


def sec_targets(res, m, why):
    lines = []
    for name, goal, got, ok, key in targets(res, m):
        lines.append([name, goal, got, "met" if ok else "**not met**",
                      "" if ok else why.get(key, "")])
    return ("## Targets\n\nGoals of issue 6, not assertions: the benchmark reports, it does not "
            "fail on them.\n\n" + table(["target", "goal", "measured", "", "why (see below)"], lines, left=5))


def main():
    global RAW, OUT
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RAW OUT")
    RAW, OUT = sys.argv[1], sys.argv[2]
    m = meta()
    rows = tsv("results.tsv")
    res = {}
    s1, p1 = sec1(rows, m, res)
    s2, p2 = sec2(rows, m, res)
    s3, p3 = sec3(rows, m, res)
    s4 = sec4(m, res)
    s5 = sec5(m, res)
    s6, p6 = sec6(rows, m, res)
    plots(p1, p2, p3, p6)
    why, short = shortfalls(res, m, rows)
    parts = ["# dnbd benchmarks\n", machine(m), sec_targets(res, m, why), short,
             s1, s2, s3, s4, s5, s6, sec_profile(m),
             "## Raw figures\n\nbench/run.sh keeps them in `build/bench/` (`results.tsv`, one line "
             "per run; `failover.tsv`; `cpu.tsv`; `meta.tsv`; the perf tops and the gnuplot "
             "data). Run it again with `make bench`; the knobs are in bench/README.md.\n"]
    with open(os.path.join(OUT, "benchmarks.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


if __name__ == "__main__":
    main()
