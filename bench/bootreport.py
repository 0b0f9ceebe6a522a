"""bench/bootreport.py - section 10 of the report (bench/report.py): the
boot storm of bench/bootstorm.sh.

Reads RAW/boot.tsv (one line per replaying client), RAW/bootruns.tsv (one
line per run) and the boot_* keys of meta.tsv.  For each link and system:
the lone boot (the reference), then N clients together and spread: time
until all are done, each client's time against the lone boot (median and
max), server egress against one boot's bytes, server CPU.  Goals of issue
15 (32 clients together at 1 Gbit/s: egress <= 1.3x one boot, slowest <=
1.3x a lone boot; spread: egress <= 2x), judged from the same run, with
the server's counters saying why when dnbd falls short.
"""
import csv
import os
import statistics

SYSTEMS = [("dnbd", "dnbd"), ("nbd-server", "nbd-server")]
LINKS = {"lan": "the LAN as it is", "gbit": "1 Gbit/s (tbf on the server's port)"}


def _tsv(raw, name):
    path = os.path.join(raw, name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _f(v, digits=2, unit=""):
    return "–" if v is None else f"{v:,.{digits}f}{unit}"


def _note(row):
    out = {}
    for kv in (row.get("note") or "").split(";"):
        if "=" in kv:
            k, v = kv.split("=", 1)
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def figures(raw, m):
    """{(system, link, mode, n): {...}} from the raw files."""
    clients = _tsv(raw, "boot.tsv")
    runs = _tsv(raw, "bootruns.tsv")
    boot_bytes = float(m.get("boot_bytes") or 0)
    res = {}
    for r in runs:
        key = (r["system"], r["link"], r["mode"], int(r["clients"]))
        secs = [float(c["seconds"]) for c in clients
                if (c["system"], c["link"], c["mode"], int(c["clients"])) == key]
        res[key] = {"wall": float(r["wall_s"]), "egress": float(r["egress_bytes"]),
                    "cpu": float(r["srv_cpu_s"]), "secs": secs, "note": _note(r),
                    "egress_x": float(r["egress_bytes"]) / boot_bytes if boot_bytes else None}
    for (sys_, link, mode, n), v in res.items():
        lone = res.get((sys_, link, "lone", 1))
        ref = lone["secs"][0] if lone and lone["secs"] else None
        v["median_x"] = statistics.median(v["secs"]) / ref if ref and v["secs"] else None
        v["max_x"] = max(v["secs"]) / ref if ref and v["secs"] else None
    return res


def _why(v, m):
    """What dnbd-server's counters say about a run that missed a goal."""
    c = v["note"]
    if not c:
        return ""
    seg = float(m.get("boot_bytes") or 0) / 1400.0
    parts = []
    if seg and c.get("segments_sent") is not None:
        parts.append(f"{c['segments_sent']:,.0f} datagrams sent for {seg:,.0f} segments of one "
                     f"boot ({c['segments_sent'] / seg:.2f}×)")
    if c.get("requests"):
        first = c["requests"] - c.get("requests_retry", 0)
        reads = float(m.get("boot_reads") or 0)
        parts.append(f"{c['requests']:,.0f} READs, {c.get('requests_retry', 0):,.0f} of them "
                     f"retries ({c.get('segments_rerequested', 0):,.0f} segments asked again)")
        if reads and first > 2 * reads:
            parts.append(f"the first asks alone are {first / reads:.1f} boots' worth of READs: "
                         "clients that started later asked for what had been multicast before "
                         "they listened (a client keeps only what it overhears while bound)")
    if c.get("duplicates_suppressed"):
        parts.append(f"{c['duplicates_suppressed']:,.0f} segments held back as just multicast")
    if c.get("queue_full") or c.get("requests_ratelimited"):
        parts.append(f"{c.get('queue_full', 0):,.0f} requests dropped on a full queue, "
                     f"{c.get('requests_ratelimited', 0):,.0f} rate-limited")
    return "; ".join(parts)


def goals(res, m):
    """Issue 15's goals: [{name, goal, measured, status, why}]."""
    out = []
    ns = [int(x) for x in str(m.get("boot_n", "")).split()] or [32]
    n = 32 if 32 in ns else max(ns)
    link = "gbit" if "gbit" in str(m.get("boot_links", "")).split() else "lan"
    where = f"{n} clients, {LINKS[link].split(' (')[0]}"
    t = res.get(("dnbd", link, "together", n))
    s = res.get(("dnbd", link, "spread", n))

    def goal(name, bar, v, ok, why):
        if v is None or ok is None:
            return {"name": name, "goal": bar, "measured": "–", "status": "not run", "why": ""}
        return {"name": name, "goal": bar, "measured": v, "status": "met" if ok else "not met",
                "why": "" if ok else why}

    out.append(goal(f"boot storm: {where}, together (scenario 10)", "egress ≤ 1.3× one boot",
                    t and f"{_f(t['egress_x'])}×", t and t["egress_x"] is not None and
                    t["egress_x"] <= 1.3, t and _why(t, m)))
    out.append(goal(f"boot storm: {where}, together (scenario 10)",
                    "slowest client ≤ 1.3× a lone boot", t and f"{_f(t['max_x'])}×",
                    t and t["max_x"] is not None and t["max_x"] <= 1.3, t and _why(t, m)))
    spread = m.get("boot_spread", "30")
    out.append(goal(f"boot storm: {where}, spread over {spread} s (scenario 10)",
                    "egress ≤ 2× one boot", s and f"{_f(s['egress_x'])}×",
                    s and s["egress_x"] is not None and s["egress_x"] <= 2.0, s and _why(s, m)))
    return out


def section(res, m, table, png_dir, plots_rel, write_data):
    """(markdown, gnuplot commands, PNG names) of section 10, from
    figures()."""
    title = "## 10. Boot storm: a real boot replayed by many clients at once\n"
    if not res:
        return title + "\nNot run (BENCH_ONLY).\n", "", []
    ns = sorted({k[3] for k in res if k[2] != "lone"})
    think = float(m.get("boot_think") or 0)
    out = [title,
           f"The trace `bench/traces/{m.get('boot_trace', '?')}` ({m.get('boot_booted') or 'a boot'}): "
           f"{int(float(m.get('boot_reads', 0))):,} READs, "
           f"{float(m.get('boot_bytes', 0)) / 1e6:,.1f} MB, recorded in "
           f"{float(m.get('boot_duration_s', 0)):,.0f} s under QEMU TCG by bench/record-trace.sh "
           "(`dnbd-server --trace`). Each client is one `dnbd-replay` process: the boot's READs in "
           "order, each after the read it depended on, with the recorded think time × "
           f"{think:g} (TCG is slow; the network's share of the boot is what is measured). dnbd "
           "replays through the client core from dnbd-server; the peer replays the same trace "
           "over NBD (libnbd, one connection per client) from nbd-server. "
           f"{m.get('boot_hosts', '?')} client hosts, the replays spread round-robin over them; "
           f"*spread*: starts evenly over {m.get('boot_spread', '?')} s. *× lone*: a client's "
           "time against one boot alone on the same link (median, max); *egress*: the server's "
           "bridge-port bytes against one boot's bytes.\n"]
    for link in [x for x in ("lan", "gbit") if any(k[1] == x for k in res)]:
        rows = []
        for sys_, label in SYSTEMS:
            lone = res.get((sys_, link, "lone", 1))
            if lone:
                rows.append([label, "1 (lone)", _f(lone["wall"]), "1.00×", "1.00×",
                             f"{_f(lone['egress_x'])}×", _f(lone["cpu"])])
        for n in ns:
            for mode in ("together", "spread"):
                for sys_, label in SYSTEMS:
                    v = res.get((sys_, link, mode, n))
                    if not v:
                        continue
                    rows.append([label, f"{n} {mode}", _f(v["wall"]), f"{_f(v['median_x'])}×",
                                 f"{_f(v['max_x'])}×", f"{_f(v['egress_x'])}×", _f(v["cpu"])])
        out.append(f"\n### {LINKS[link]}\n")
        out.append(table(["server", "clients", "all done, s", "client × lone (median)",
                          "client × lone (max)", "egress × one boot", "server CPU s"], rows,
                         left=2))
    # The plots: completion per client against N; egress against N.
    link = "gbit" if any(k[1] == "gbit" for k in res) else "lan"
    lines_t, lines_e = [], []
    for n in [1] + ns:
        row_t, row_e = [str(n)], [str(n)]
        for sys_, _ in SYSTEMS:
            v = res.get((sys_, link, "lone" if n == 1 else "together", n))
            med = statistics.median(v["secs"]) if v and v["secs"] else None
            mx = max(v["secs"]) if v and v["secs"] else None
            row_t += ["NaN" if med is None else f"{med:.3f}", "NaN" if mx is None else f"{mx:.3f}"]
            for mode in ("together", "spread"):
                w = res.get((sys_, link, "lone" if n == 1 else mode, n))
                row_e.append("NaN" if not w or w["egress_x"] is None else f"{w['egress_x']:.3f}")
        lines_t.append(" ".join(row_t))
        lines_e.append(" ".join(row_e))
    dt, de = write_data("s10-time.dat", lines_t), write_data("s10-egress.dat", lines_e)
    lname = LINKS[link].split(" (")[0]
    gp = f"""set style data linespoints
set key top left
set xlabel "clients"
set logscale x 2
set output "{os.path.join(png_dir, 's10-time.png')}"
set title "10: boot storm ({lname}), each client's boot time, all starting together"
set ylabel "seconds"
set yrange [0:*]
plot "{dt}" using 1:2 title "dnbd median" lw 2 pt 7 lc rgb "#4477aa", \\
     "" using 1:3 title "dnbd slowest" lw 2 pt 6 dt 2 lc rgb "#4477aa", \\
     "" using 1:4 title "nbd-server median" lw 2 pt 5 lc rgb "#cc6677", \\
     "" using 1:5 title "nbd-server slowest" lw 2 pt 4 dt 2 lc rgb "#cc6677"
set output "{os.path.join(png_dir, 's10-egress.png')}"
set title "10: boot storm ({lname}), server egress / one boot's bytes"
set ylabel "egress / one boot"
plot "{de}" using 1:2 title "dnbd, together" lw 2 pt 7 lc rgb "#4477aa", \\
     "" using 1:3 title "dnbd, spread" lw 2 pt 6 dt 2 lc rgb "#4477aa", \\
     "" using 1:4 title "nbd-server, together" lw 2 pt 5 lc rgb "#cc6677", \\
     "" using 1:5 title "nbd-server, spread" lw 2 pt 4 dt 2 lc rgb "#cc6677"
unset logscale x
unset xlabel
set yrange [*:*]
"""
    out.append(f"\n![boot time]({plots_rel}/s10-time.png) ![egress]({plots_rel}/s10-egress.png)\n")
    return "\n".join(out), gp, ["s10-time.png", "s10-egress.png"]
