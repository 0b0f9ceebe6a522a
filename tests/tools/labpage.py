#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""labpage.py URL [options] - watch the appliance's live lab page in headless
Chromium (Debian's chromium and chromium-driver, python3-selenium).

  --expect MAC        a client that must reach the stage "running" (repeat)
  --until FILE        once they all run, go on watching until FILE exists;
                      they must all show "running" then (or within 90 s)
  --timeout S         give up after S seconds (default 120)
  --screenshot FILE   a PNG of the page at the end
  --dom FILE          the page's HTML at the end

Opens URL once and lets the page update itself.  Prints every stage change
of every client as the page shows it ("12.0 s 52:54:00:..: iPXE"), so a test
log tells how a boot went.  Exit 0 when every expected client shows
"running" and the browser logged no console error; 1 otherwise (with the
reason); 2 on usage errors.  Run it inside the test's network namespace.
"""
import argparse
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def browser(tmp):
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1280,900",
              "--user-data-dir=" + tmp, "--no-first-run",
              "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=opts)


def stages(drv):
    """{mac or ip: (stage, READs)} of the rows the page shows now."""
    out = {}
    for row in drv.find_elements(By.CSS_SELECTOR, "#clients tbody tr[data-stage]"):
        key = row.get_attribute("data-mac") or row.get_attribute("data-ip")
        cells = row.find_elements(By.TAG_NAME, "td")
        reads = cells[5].text if len(cells) > 5 else ""
        out[key] = (row.get_attribute("data-stage"), reads)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--until")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--screenshot")
    ap.add_argument("--dom")
    args = ap.parse_args()
    want = [m.lower() for m in args.expect]
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        drv = browser(tmp)
        try:
            t0 = time.monotonic()
            drv.get(args.url)
            last = {}
            done = False
            until_t = None
            reads_now = {}
            while time.monotonic() - t0 < args.timeout:
                try:
                    now = stages(drv)
                except Exception:  # the page replaced the row meanwhile
                    time.sleep(0.5)
                    continue
                for k, (v, reads) in sorted(now.items()):
                    if last.get(k) != v:
                        print("%6.1f s %s: %s (%s READs)"
                              % (time.monotonic() - t0, k, v, reads or 0),
                              flush=True)
                last = {k: v for k, (v, _) in now.items()}
                reads_now = {k: r for k, (_, r) in now.items()}
                running = (all(last.get(m) == "running" for m in want)
                           if want else bool(now))
                if running and not done:
                    print("%6.1f s all expected clients run" %
                          (time.monotonic() - t0), flush=True)
                done = running
                told = not args.until or os.path.exists(args.until)
                if told and until_t is None:
                    until_t = time.monotonic()
                if told and (done or time.monotonic() - until_t > 90):
                    break
                time.sleep(1)
            time.sleep(2.5)  # one more update, for the picture
            if args.screenshot:
                drv.save_screenshot(args.screenshot)
            if args.dom:
                with open(args.dom, "w", encoding="utf-8") as f:
                    f.write(drv.page_source)
            for entry in drv.get_log("browser"):
                print("console %s: %s" % (entry["level"], entry["message"]))
                if entry["level"] == "SEVERE":
                    errors.append(entry["message"])
            status = drv.find_element(By.ID, "status").text
            print("page status: %s" % status)
            for k in sorted(last):
                print("at the end %s: %s (%s READs)"
                      % (k, last[k], reads_now.get(k) or 0))
        finally:
            drv.quit()
    if errors:
        print("labpage: %d console error(s)" % len(errors), file=sys.stderr)
        return 1
    if not done:
        missing = [m for m in want if last.get(m) != "running"]
        print("labpage: not running after %.0f s: %s (page shows %s)"
              % (args.timeout, " ".join(missing) or "no client", last),
              file=sys.stderr)
        return 1
    return 0


sys.exit(main())
