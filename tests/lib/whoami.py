#!/usr/bin/python3
"""whoami HTTP server of the test bed: every GET is answered with one line, the
client's source address as this server sees it.

usage: whoami.py [--ready FILE] ADDR:PORT [ADDR:PORT ...]

It binds every ADDR:PORT before it writes FILE, so a test waits for FILE (an
event) instead of sleeping.
"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        body = (self.client_address[0] + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % args))
        sys.stderr.flush()


def main(argv):
    ready = None
    if len(argv) > 2 and argv[1] == "--ready":
        ready = argv[2]
        argv = argv[2:]
    binds = argv[1:]
    if not binds:
        sys.exit("usage: whoami.py [--ready FILE] ADDR:PORT...")

    servers = []
    for bind in binds:
        addr, _, port = bind.rpartition(":")
        ThreadingHTTPServer.daemon_threads = True
        servers.append(ThreadingHTTPServer((addr, int(port)), Handler))

    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    if ready:
        with open(ready, "w") as f:
            f.write("ready\n")
    servers[0].serve_forever()


if __name__ == "__main__":
    main(sys.argv)
