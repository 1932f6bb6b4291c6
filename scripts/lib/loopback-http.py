#!/usr/bin/env python3
"""Serves a directory over HTTP on 127.0.0.1, as `python3 -m http.server`
does (one thread per connection), optionally with the total bandwidth of all
responses capped: a stand-in for a remote archive reached over a link of
that speed, for benchmarks that must not leave the machine.

    loopback-http.py DIRECTORY PORT [RATE]

RATE is in bytes per second (0 or absent: no cap). Every 64 KiB chunk a
response sends reserves its slot on one timeline shared by all
connections, and is sent when its slot ends, so the bytes sent by time t
never exceed RATE * t plus one chunk per connection.
"""

import functools
import http.server
import sys
import threading
import time

CHUNK = 64 << 10


class Link:
    """The shared timeline of a capped link."""

    def __init__(self, rate):
        self.rate = rate
        self.lock = threading.Lock()
        self.free_at = time.monotonic()

    def send(self, n):
        """Blocks until n more bytes fit under the cap."""
        with self.lock:
            now = time.monotonic()
            self.free_at = max(self.free_at, now) + n / self.rate
            due = self.free_at
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class Handler(http.server.SimpleHTTPRequestHandler):
    link = None

    def copyfile(self, source, outputfile):
        if self.link is None:
            return super().copyfile(source, outputfile)
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                return
            self.link.send(len(chunk))
            outputfile.write(chunk)


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    if rate > 0:
        Handler.link = Link(rate)
    handler = functools.partial(Handler, directory=directory)
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
