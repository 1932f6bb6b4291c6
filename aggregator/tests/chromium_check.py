#!/usr/bin/env python3
"""Opens pages of a generated ksurf site in headless Chromium, driven over
the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
network), and prints what the pages show as JSON:

  chromium_check.py SITE_DIR FUNCTION QUERY LISTED FIRST SECOND

- status: the group headings and the first status summaries of FUNCTION's page
- details: whether the first <details> is closed, and open after a click on
  its summary (with the height of its prototype block)
- matrix: the first rows of FUNCTION's attach matrix (cell texts), the
  background colours of the second row's status, kprobe and fentry cells,
  and a screenshot of the table (PNG signature, and its IHDR size equal to
  the table's box; the image is left as SITE_DIR/matrix.png)
- search: the result links of typing QUERY into the index page's search box
- index: the page of LISTED's letter that lists it: the two head rows, the
  row count, LISTED's row (cell texts and colours), the filter buttons; then
  the rows left after pressing the FIRST symbol, the count line and the URL
  fragment; after also pressing the SECOND;
  the pager and its links (which carry the fragment); and a screenshot of the filtered
  table (left as SITE_DIR/index.png)
- other_page: another page of that letter opened with the fragment of its
  link: the buttons pressed, the count line and the rows left
- has_full: the names listed by the site-wide list of F (has-full.html)
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

site, function, query, listed, first, second = sys.argv[1:7]
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


def screenshot(session, box, name, min_height):
    """Captures the page area `box` ([x, y, width, height]) as SITE_DIR/name
    and says whether it is a PNG of the box's size, at least 100 pixels wide
    and `min_height` high."""
    x, y, width, height = box
    shot = send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True,
         "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}},
        session,
    )
    png = base64.b64decode(shot["data"])
    with open(os.path.join(site, name), "wb") as f:
        f.write(png)
    png_width, png_height = struct.unpack(">II", png[16:24])
    return {
        "png": png[:8] == b"\x89PNG\r\n\x1a\n",
        "size_matches": (png_width, png_height) == (round(width), round(height)),
        "nonempty": width > 100 and height > min_height,
    }


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
    matrix["screenshot"] = screenshot(page, matrix.pop("box"), "matrix.png", 50)
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
    # The letter page listing LISTED (the letter's pages in turn).
    k = 1
    while True:
        stem = f"{listed[0]}.html" if k == 1 else f"{listed[0]}.{k}.html"
        if not os.path.exists(os.path.join(site, stem)):
            raise SystemExit(f"{listed} is on no page of its letter")
        letter_page = open_page(stem)
        if evaluate(letter_page, f"[...document.querySelectorAll('#index tbody td:first-child')]"
                    f".some(c => c.textContent === {json.dumps(listed)})"):
            break
        k += 1
    index = evaluate(
        letter_page,
        f"""(async () => {{
            const t = document.getElementById('index');
            const names = () => [...t.tBodies[0].rows].filter(r => !r.hidden)
                .map(r => r.cells[0].textContent);
            const press = async (s) => {{
                document.querySelector(`#filter button[data-s="${{s}}"]`).click();
                await new Promise(r => requestAnimationFrame(() => r()));
            }};
            const row = [...t.tBodies[0].rows].find(r => r.cells[0].textContent === {json.dumps(listed)});
            const out = {{
                head: [...t.tHead.rows].map(tr => [...tr.cells].map(c => c.textContent)),
                rows: t.tBodies[0].rows.length,
                row: [...row.cells].map(c => c.textContent),
                row_colours: [...row.cells].slice(1, 4).map(c => getComputedStyle(c).backgroundColor),
                buttons: [...document.querySelectorAll('#filter button')].map(b => b.textContent),
            }};
            await press({json.dumps(first)});
            out.first = names();
            out.shown = document.getElementById('shown').textContent;
            out.hash = decodeURIComponent(location.hash);
            await press({json.dumps(second)});
            out.both = names();
            out.hash_both = decodeURIComponent(location.hash);
            out.pager = [...document.querySelectorAll('nav.pager')][0].textContent;
            out.page_links = [...new Set([...document.querySelectorAll('a.page')]
                .map(a => decodeURIComponent(a.getAttribute('href'))))];
            const r = t.getBoundingClientRect();
            out.box = [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
            return out;
        }})()""",
    )
    index["screenshot"] = screenshot(letter_page, index.pop("box"), "index.png", 20)
    out["index"] = index
    # Another page of the letter, opened by its link with the fragment: the
    # same filter is on there.
    link = index["page_links"][0]
    other = open_page(link.split("#")[0])
    send("Runtime.evaluate", {"expression": f"location.hash = {json.dumps('#' + link.split('#')[1])}; location.reload()"}, other)
    time.sleep(0.5)
    deadline = time.time() + 20
    while not evaluate(other, "document.readyState === 'complete' && !!document.getElementById('shown')"):
        if time.time() > deadline:
            raise SystemExit("the other page did not reload")
        time.sleep(0.05)
    out["other_page"] = evaluate(
        other,
        """({pressed: [...document.querySelectorAll('#filter button[aria-pressed=true]')].map(b => b.textContent),
            shown: document.getElementById('shown').textContent,
            visible: [...document.getElementById('index').tBodies[0].rows].filter(r => !r.hidden)
                .map(r => r.cells[0].textContent)})""",
    )
    has_full = open_page("has-full.html")
    out["has_full"] = evaluate(
        has_full,
        "[...document.getElementById('index').tBodies[0].rows].map(r => r.cells[0].textContent)",
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
