"""Hostile OpenAPI inputs through the real CLI (shared/hostile/CASES.tsv, rows openapi/*).

No `$ref` is ever fetched or read outside the scanned tree: each one is a GC902
finding at its own line ("external $ref not followed", "escapes the scanned
tree"); a `$ref` loop is reported without a RecursionError; the GC403 companion
next to each case is still checked; each case takes well under 2 s of CPU.
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

from hostile_support import HOSTILE, assert_companion_reported, case_dir, no_traceback, pwned_markers, rel, scan_json

OPENAPI_DIR = HOSTILE / "openapi"
SELECT = "GC001,GC403,GC902"


def run_case(tmp_path, name: str, source: Path | None = None):
    base = case_dir(tmp_path, source or OPENAPI_DIR / name)
    r = scan_json(base, "--select", SELECT, timeout=120)  # a hang guard; the bound is on CPU time below
    no_traceback(r)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert_companion_reported(r, base)
    assert r.cpu < 2 and r.maxrss_mb < 200, (r.cpu, r.maxrss_mb)
    return r, base


def gc902(r, base) -> list[tuple[str, int, str]]:
    return sorted((rel(f, base), f["line"], f["message"]) for f in r.findings("GC902"))


def test_circular_ref(tmp_path):
    r, base = run_case(tmp_path, "circular_ref.yaml")
    [(path, line, msg)] = gc902(r, base)
    # Self -> Self only (line 22); A <-> B (lines 17 and 21) is legal
    assert (path, line) == ("circular_ref.yaml", 22) and "unresolvable circular $ref" in msg
    assert "RecursionError" not in r.stdout + r.stderr


def test_remote_refs_ssrf(tmp_path):
    started = time.time()
    r, base = run_case(tmp_path, "remote_ref_ssrf.yaml")
    got = [(line, msg.split(":")[0]) for _, line, msg in gc902(r, base)]
    assert got == [
        (11, "external $ref not followed (never fetched or read)"),
        (19, "external $ref not followed (never fetched or read)"),
        (27, "absolute-path $ref not followed (never read)"),
    ]
    assert "root:" not in r.stdout  # /etc/passwd was not read (its content would start with root:x:0:0)
    assert pwned_markers(started) == []


def test_relative_traversal_ref(tmp_path):
    r, base = run_case(tmp_path, "relative_traversal_ref.yaml")
    [(path, line, msg)] = gc902(r, base)
    assert line == 11 and msg.startswith("$ref escapes the scanned tree (not read)")


class _Canary(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for a delayed ACK

    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "string"}')

    def log_message(self, *args):
        pass


def test_remote_ref_loopback_gets_zero_requests(tmp_path):
    # the case names http://127.0.0.1:8765/canary.json: serve a canary as the harness of CASES.tsv does, on a
    # free port (tests run in parallel) written into a copy of the case
    _Canary.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    port = server.server_address[1]
    text = (OPENAPI_DIR / "remote_ref_loopback.yaml").read_text(encoding="utf-8")
    assert "127.0.0.1:8765/" in text
    src = tmp_path / "src" / "remote_ref_loopback.yaml"
    src.parent.mkdir()
    src.write_text(text.replace("127.0.0.1:8765/", f"127.0.0.1:{port}/"), encoding="utf-8")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r, base = run_case(tmp_path, "remote_ref_loopback.yaml", src)
    finally:
        server.shutdown()
        server.server_close()
    [(path, line, msg)] = gc902(r, base)
    assert line == 11 and f"http://127.0.0.1:{port}/canary.json" in msg
    assert _Canary.hits == []
