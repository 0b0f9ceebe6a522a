#!/usr/bin/env python3
"""bench/tsread.py - timestamps of a byte stream, for the failover scenario.

  dnbd-cat ... | tsread.py LOG       read stdin to its end in chunks; write
                                    one line "SECONDS BYTES" per chunk to
                                    LOG at EOF (time.time(), the clock of
                                    bash's $EPOCHREALTIME)
  tsread.py --gaps LOG KILL_TIME    print, as "key value" lines, what the
                                    stream did around KILL_TIME:
      bytes        bytes read in all
      first_ms     from the kill to the first data after it
      resume_ms    from the kill to the end of the longest pause that ends
                   after it (the stream is flowing again)
      stall_ms     the length of that pause
      max_gap_ms   the longest pause anywhere after the first byte
      base_gap_ms  the longest pause before the kill (for comparison)
"""
import os
import sys
import time


def record(path):
    """Read stdin to EOF, then write the arrival times of its chunks."""
    rows = []
    fd = sys.stdin.fileno()
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        rows.append((time.time(), len(chunk)))
    with open(path, "w", encoding="ascii") as f:
        for t, n in rows:
            f.write(f"{t:.6f} {n}\n")


def load(path):
    with open(path, encoding="ascii") as f:
        return [(float(t), int(n)) for t, n in (line.split() for line in f)]


def gaps(path, kill):
    """Pauses in the stream relative to the kill time."""
    rows = load(path)
    times = [t for t, _ in rows]
    out = {"bytes": sum(n for _, n in rows)}
    after = [t for t in times if t > kill]
    pairs = list(zip(times, times[1:]))
    ending_after = [(b - a, b) for a, b in pairs if b > kill]
    before = [b - a for a, b in pairs if b <= kill]
    out["first_ms"] = (after[0] - kill) * 1e3 if after else -1
    if ending_after:
        length, end = max(ending_after)
        out["resume_ms"] = (end - kill) * 1e3
        out["stall_ms"] = length * 1e3
    else:
        out["resume_ms"] = out["stall_ms"] = -1
    out["max_gap_ms"] = max((b - a for a, b in pairs), default=0) * 1e3
    out["base_gap_ms"] = max(before, default=0) * 1e3
    for k, v in out.items():
        print(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}")


def main():
    if len(sys.argv) == 2:
        record(sys.argv[1])
    elif len(sys.argv) == 4 and sys.argv[1] == "--gaps":
        gaps(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("usage: tsread.py LOG < stream | tsread.py --gaps LOG KILL_TIME")


if __name__ == "__main__":
    main()
