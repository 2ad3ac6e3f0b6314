#!/usr/bin/env python3
"""A target for `gauth invoke` tests: answers every request with 503 for the
first FAIL requests, then 200. Appends one line per request to LOG:
"MONOTONIC_SECONDS METHOD PATH", and the request's headers to LOG.headers
(the last request's, replaced each time). Prints its port to PORT_FILE once
it listens on 127.0.0.1 (port 0: the kernel's choice).

Usage: invoke-server.py FAIL PORT_FILE LOG
"""
import http.server
import os
import sys
import time

FAIL = int(sys.argv[1])
PORT_FILE, LOG = sys.argv[2], sys.argv[3]
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        global seen
        seen += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with open(LOG, "a") as f:
            f.write("%.6f %s %s\n" % (time.monotonic(), self.command, self.path))
        with open(LOG + ".headers", "w") as f:
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k, v))
            f.write("body-bytes: %d\n" % len(body))
        status = 503 if seen <= FAIL else 200
        reply = b"busy" if status == 503 else b"done"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = answer
    do_OPTIONS = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
