#!/usr/bin/python3
"""page.py - drive the --html page in headless Chromium for tests/check_page.c.

Usage: page.py PAGE.html COMMAND...

Commands, run in order; each prints a section "== NAME ARG" followed by its
result and a line "== end", so the Check test can find and assert on it:

  open FRAGMENT   load file://PAGE.html#FRAGMENT ("step=1", "step=last", "-"
                  for none) and wait until the page says it is ready; prints
                  ms=<milliseconds from navigation start to ready> rows=<N>
                  row=<selected row> wall_ms=<the driver's own measure>
  tables          the text of the element with id "tables"
  detail          the text of the element with id "detail"
  hash            location.hash
  key KEY         presses KEY on the page (ArrowRight, ArrowLeft, Home, End,
                  n, p, c, ...); prints the new location.hash
  type ID TEXT    types TEXT into the input with id ID, then Enter
  ladder          the text of the ladder's visible rows, one per line
  shot PNG        saves a screenshot to PNG; prints its size and how far it
                  is from blank (distinct colours in a grid of samples, and
                  the share of samples that are not the background)

Chromium runs as the tests run (root in CI): headless, no sandbox, no GPU,
no network features, a fresh profile in a temporary directory. Exit status
0, or 1 with a message on stderr when the browser or the page fails.
"""
import os
import shutil
import struct
import sys
import tempfile
import time
import zlib

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

READY_TIMEOUT = 60  # seconds; the tests assert their own, tighter limits on ms=

KEYS = {
    "ArrowRight": Keys.ARROW_RIGHT, "ArrowLeft": Keys.ARROW_LEFT, "ArrowUp": Keys.ARROW_UP,
    "ArrowDown": Keys.ARROW_DOWN, "Home": Keys.HOME, "End": Keys.END, "Enter": Keys.ENTER,
    "Escape": Keys.ESCAPE, "Space": Keys.SPACE,
}


def browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1600,900", "--user-data-dir=" + profile):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)


def png_pixels(data):
    """Width, height, unfiltered rows and bytes per pixel of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("PNG colour type %d depth %d not handled" % (ctype, depth))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows, bpp


def shot_stats(path):
    with open(path, "rb") as f:
        data = f.read()
    w, h, rows, bpp = png_pixels(data)
    samples = [tuple(r[x * bpp:x * bpp + 3]) for r in rows[::8] for x in range(0, w, 8)]
    colours = set(samples)
    background = max(colours, key=samples.count)
    ink = sum(1 for s in samples if s != background)
    return "bytes=%d width=%d height=%d colours=%d ink=%.3f" % (len(data), w, h, len(colours),
                                                               ink / max(1, len(samples)))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    page = os.path.abspath(argv[1])
    if not os.path.isfile(page):
        sys.stderr.write("page.py: %s: no such file\n" % page)
        return 1
    profile = tempfile.mkdtemp(prefix="tcpdemux-chromium-")
    drv = None
    try:
        drv = browser(profile)
        drv.set_page_load_timeout(READY_TIMEOUT)
        args = argv[2:]
        while args:
            cmd = args.pop(0)
            if cmd == "open":
                frag = args.pop(0)
                url = "file://" + page + ("" if frag == "-" else "#" + frag)
                t0 = time.monotonic()
                drv.get("about:blank")
                drv.get(url)
                WebDriverWait(drv, READY_TIMEOUT, poll_frequency=0.05).until(
                    lambda d: d.execute_script("return document.body && document.body.dataset.ready === '1'"))
                wall = (time.monotonic() - t0) * 1000
                ms = drv.execute_script("return Math.round(+document.body.dataset.readyAt)")
                rows = drv.execute_script("return document.body.dataset.rows")
                row = drv.execute_script("return document.body.dataset.row")
                print("== open %s\nms=%s rows=%s row=%s wall_ms=%d\n== end" % (frag, ms, rows, row, wall))
            elif cmd in ("tables", "detail"):
                # Read in one script: the page redraws its elements as it moves.
                text = drv.execute_script("return document.getElementById(arguments[0]).innerText.trim()", cmd)
                print("== %s\n%s\n== end" % (cmd, text))
            elif cmd == "hash":
                print("== hash\n%s\n== end" % drv.execute_script("return location.hash"))
            elif cmd == "key":
                k = args.pop(0)
                drv.find_element(By.TAG_NAME, "body").send_keys(KEYS.get(k, k))
                print("== key %s\n%s\n== end" % (k, drv.execute_script("return location.hash")))
            elif cmd == "type":
                field, text = args.pop(0), args.pop(0)
                e = drv.find_element(By.ID, field)
                e.clear()
                e.send_keys(text + Keys.ENTER)
                print("== type %s\n%s\n== end" % (field, drv.execute_script("return location.hash")))
            elif cmd == "ladder":
                text = drv.execute_script(
                    "return Array.from(document.querySelectorAll('#ladder .row'))"
                    ".map(function (r) { return r.innerText.replace(/\\n/g, ' '); }).join('\\n')")
                print("== ladder\n%s\n== end" % text)
            elif cmd == "shot":
                path = args.pop(0)
                drv.save_screenshot(path)
                print("== shot %s\n%s\n== end" % (path, shot_stats(path)))
            else:
                sys.stderr.write("page.py: unknown command %r\n" % cmd)
                return 2
            sys.stdout.flush()
        return 0
    except Exception as e:  # the browser or the page failed: say which, for the test's message
        sys.stderr.write("page.py: %s: %s\n" % (type(e).__name__, e))
        if drv:
            try:
                for entry in drv.get_log("browser"):
                    sys.stderr.write("page.py: console: %s\n" % entry.get("message"))
            except Exception:
                pass
        return 1
    finally:
        if drv:
            drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
