#!/usr/bin/env python3
"""Opens pages of a generated ksurf site in headless Chromium, driven over
the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
network), and prints what the pages show as JSON:

  chromium_check.py SITE_DIR FUNCTION QUERY

- status: the group headings and the first status summaries of FUNCTION's page
- details: whether the first <details> is closed, and open after a click on
  its summary (with the height of its prototype block)
- matrix: the first rows of FUNCTION's attach matrix (cell texts), the
  background colours of the second row's status, kprobe and fentry cells,
  and a screenshot of the table (PNG signature, and its IHDR size equal to
  the table's box; the image is left as SITE_DIR/matrix.png)
- search: the result links of typing QUERY into the index page's search box
"""
import base64
import json
import os
import struct
import shutil
import subprocess
import sys
import tempfile
import time

site, function, query = sys.argv[1:4]
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if browser is None:
    sys.exit("chromium is not installed (Debian package `chromium`)")

profile = tempfile.mkdtemp(prefix="ksurf-chromium-")
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()


def child_fds():
    # Chromium reads commands on fd 3 and writes replies on fd 4; move the
    # pipe ends out of the way first so that neither clobbers the other.
    read_end = os.dup2(to_chrome_r, 100)
    write_end = os.dup2(from_chrome_w, 101)
    os.dup2(read_end, 3)
    os.dup2(write_end, 4)


proc = subprocess.Popen(
    [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
        "--remote-debugging-pipe",
        "about:blank",
    ],
    close_fds=False,
    preexec_fn=child_fds,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
os.close(to_chrome_r)
os.close(from_chrome_w)
reader = os.fdopen(from_chrome_r, "rb")
writer = os.fdopen(to_chrome_w, "wb")
next_id = 0
pending = b""


def send(method, params=None, session=None):
    global next_id, pending
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    writer.write(json.dumps(msg).encode() + b"\0")
    writer.flush()
    while True:
        while b"\0" not in pending:
            chunk = os.read(from_chrome_r, 65536)
            if not chunk:
                raise SystemExit("chromium closed the pipe")
            pending += chunk
        raw, pending = pending.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply:
                raise SystemExit(f"{method}: {reply['error']}")
            return reply["result"]


def open_page(path):
    url = "file://" + os.path.abspath(os.path.join(site, path))
    target = send("Target.createTarget", {"url": url})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    deadline = time.time() + 20
    loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
    while not evaluate(session, loaded):
        if time.time() > deadline:
            raise SystemExit(f"{url} did not load")
        time.sleep(0.05)
    return session


def evaluate(session, expression):
    result = send(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        session,
    )
    if "exceptionDetails" in result:
        raise SystemExit(f"{expression}: {result['exceptionDetails']}")
    return result["result"].get("value")


try:
    out = {}
    page = open_page(f"f/{function[0]}/{function}.html")
    out["status"] = evaluate(
        page,
        "[...document.querySelectorAll('body > p > b, body > b')].map(b => b.textContent)"
        ".concat([...document.querySelectorAll('summary')].slice(0, 3).map(s => s.textContent))",
    )
    out["details"] = evaluate(
        page,
        """(async () => {
            const d = document.querySelector('details');
            const before = d.open;
            d.querySelector('summary').click();
            await new Promise(r => requestAnimationFrame(() => r()));
            const pre = d.querySelector('pre');
            return {before: before, after: d.open, prototype: pre.textContent.trim(),
                    visible: pre.getBoundingClientRect().height > 0};
        })()""",
    )
    matrix = evaluate(
        page,
        """(() => {
            const t = document.querySelector('table.matrix');
            const trs = [...t.querySelectorAll('tr')];
            const r = t.getBoundingClientRect();
            return {rows: trs.slice(0, 4).map(tr => [...tr.cells].map(c => c.textContent)),
                    colours: [...trs[2].cells].slice(2).map(c => getComputedStyle(c).backgroundColor),
                    box: [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]};
        })()""",
    )
    x, y, width, height = matrix.pop("box")
    shot = send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True,
         "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}},
        page,
    )
    png = base64.b64decode(shot["data"])
    with open(os.path.join(site, "matrix.png"), "wb") as f:
        f.write(png)
    png_width, png_height = struct.unpack(">II", png[16:24])
    matrix["screenshot"] = {
        "png": png[:8] == b"\x89PNG\r\n\x1a\n",
        "size_matches": (png_width, png_height) == (round(width), round(height)),
        "nonempty": width > 100 and height > 50,
    }
    out["matrix"] = matrix
    index = open_page("index.html")
    out["search"] = evaluate(
        index,
        f"""(async () => {{
            const box = document.getElementById('search');
            box.value = {json.dumps(query)};
            box.dispatchEvent(new Event('input'));
            return [...document.querySelectorAll('#results a')].map(a => [a.textContent, a.getAttribute('href')]);
        }})()""",
    )
    print(json.dumps(out, ensure_ascii=False))
finally:
    try:
        send("Browser.close")
    except BaseException:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(profile, ignore_errors=True)
