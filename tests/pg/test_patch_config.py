#!/usr/bin/env python3
"""The TLS move's PATCH /config script (pg/tls_move.cpp, k_patch_config), run against servers
on loopback: it falls back to plain HTTP only for a server that speaks plain HTTP, and never
sends the REST password in clear to a server that fails the TLS handshake another way (closes
the connection, presents a certificate of another CA).

    test_patch_config.py SOURCE_DIR
"""
import http.server
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

source = open(os.path.join(sys.argv[1], "pg", "tls_move.cpp")).read()
start = source.index('k_patch_config = R"PY(') + len('k_patch_config = R"PY(')
script = source[start:source.index(')PY"', start)]
# As python_tls_preamble (pg/tls.cpp) makes it, with a CA no test server is signed by.
PREAMBLE = "import ssl\nCTX = ssl.create_default_context()\n"
PASSWORD = "not-a-real-password"
failures = []


def run(port):
    return subprocess.run(["python3", "-c", PREAMBLE + script, "127.0.0.1:%d" % port,
                           '{"pause":true}'], input=PASSWORD + "\n", capture_output=True,
                          text=True, timeout=60)


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


# 1. A plain-HTTP server (a Patroni not moved yet): the PATCH arrives, with the password.
seen = []


class Plain(http.server.BaseHTTPRequestHandler):
    def do_PATCH(self):
        seen.append((self.path, self.headers.get("Authorization", "")))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


plain = http.server.HTTPServer(("127.0.0.1", 0), Plain)
threading.Thread(target=plain.serve_forever, daemon=True).start()
r = run(plain.server_address[1])
check("a plain-HTTP Patroni gets the PATCH (exit %d: %s)" % (r.returncode, r.stderr.strip()),
      r.returncode == 0 and len(seen) == 1 and seen[0][0] == "/config")

# 2. A server that closes every connection at once and records what it was sent: a TLS member
# that fails mid-handshake. The script must give up instead of retrying in clear.
received = []
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)


def closer():
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.settimeout(2)
        try:
            received.append(conn.recv(65536))
        except OSError:
            pass
        conn.close()


threading.Thread(target=closer, daemon=True).start()
r = run(listener.getsockname()[1])
leaked = any(PASSWORD.encode() in data or b"Authorization" in data for data in received)
check("a connection closed during the TLS handshake: exit 1, nothing sent in clear "
      "(exit %d, %d connections)" % (r.returncode, len(received)),
      r.returncode != 0 and not leaked)

# 3. A TLS server whose certificate the CA does not sign: refused, no retry in clear.
with tempfile.TemporaryDirectory() as d:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/key", "-out",
                    d + "/cert", "-subj", "/CN=127.0.0.1", "-days", "1"],
                   check=True, capture_output=True)
    tls_seen = []

    class Tls(Plain):
        def do_PATCH(self):
            tls_seen.append(self.path)
            Plain.do_PATCH(self)

    tls = http.server.HTTPServer(("127.0.0.1", 0), Tls)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d + "/cert", d + "/key")
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    threading.Thread(target=tls.serve_forever, daemon=True).start()
    r = run(tls.server_address[1])
    check("a certificate of another CA: exit 1 naming the TLS failure (%s)" % r.stderr.strip(),
          r.returncode != 0 and "over TLS" in r.stderr and not tls_seen)

sys.exit(1 if failures else 0)
