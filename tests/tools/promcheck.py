#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""promcheck.py FILE - parse a Prometheus text file the way Prometheus does.

Parses FILE with python3-prometheus-client's parser (Debian's package) and
checks the conventions dnbd's metrics promise: every family has a HELP and a
TYPE line, names are [a-z_][a-z0-9_]* with the dnbd_ prefix, counter samples
end in _total, values are finite and counters not negative.  Prints one
line per sample, "name{label="value",...} value" with labels sorted, for a
test to compare with what it expects.  Exit 1 with a message on stderr
when the file does not parse or breaks a convention.
"""
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^dnbd_[a-z0-9_]*[a-z0-9]$")


def fail(msg):
    print("promcheck: %s: %s" % (sys.argv[1], msg), file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        print("usage: promcheck.py FILE", file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    helps = set(re.findall(r"^# HELP (\S+) \S", text, re.M))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others
        fail("does not parse: %s" % e)
    seen = set()
    for fam in families:
        full = fam.name + ("_total" if fam.type == "counter" else "")
        if full not in helps or not fam.documentation:
            fail("%s has no HELP line" % full)
        if types.get(full) != fam.type:
            fail("%s has no TYPE line" % full)
        if full in seen:
            fail("%s appears twice" % full)
        seen.add(full)
        if not fam.samples:
            fail("%s has no samples" % full)
        for s in fam.samples:
            if not NAME.match(s.name):
                fail("bad metric name %r" % s.name)
            if fam.type == "counter" and not s.name.endswith("_total"):
                fail("counter sample %s does not end in _total" % s.name)
            if not math.isfinite(s.value):
                fail("%s is %r" % (s.name, s.value))
            if fam.type == "counter" and s.value < 0:
                fail("counter %s is negative" % s.name)
            labels = ",".join('%s="%s"' % (k, s.labels[k])
                              for k in sorted(s.labels))
            value = s.value
            if value == int(value):
                value = int(value)
            print("%s{%s} %s" % (s.name, labels, value))
    if not families:
        fail("no metrics")


main()
