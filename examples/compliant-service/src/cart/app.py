"""HTTP entry point: the API on :8080, health and Prometheus metrics on :9100."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cart.basket import InvalidItem, parse_item, total

REQUESTS = {"ok": 0, "error": 0}
LATENCY_SUM = [0.0]
_lock = threading.Lock()


class JsonFormatter(logging.Formatter):
    """One JSON object per line (guideline 5.b), ready for Fluent Bit."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record), "level": record.levelname.lower(),
                           "logger": record.name, "message": record.getMessage()})


log = logging.getLogger("cart")


class Api(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        started = time.monotonic()
        status, body = 404, {"error": "not found"}
        if self.path == "/v1/basket/total":
            try:
                length = min(int(self.headers.get("Content-Length", "0")), 64 * 1024)
                items = [parse_item(i) for i in json.loads(self.rfile.read(length) or b"[]")]
                status, body = 200, {"total": str(total(items))}
            except (InvalidItem, ValueError, TypeError) as exc:
                status, body = 400, {"error": str(exc)}
        self._reply(status, body)
        with _lock:
            REQUESTS["ok" if status < 500 else "error"] += 1
            LATENCY_SUM[0] += time.monotonic() - started

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        log.info(fmt % args)


class Ops(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path in ("/healthz", "/ready"):
            data, ctype = b"ok\n", "text/plain"
        elif self.path == "/metrics":
            data, ctype = metrics().encode(), "text/plain; version=0.0.4"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        pass


def metrics() -> str:
    with _lock:
        ok, err, latency = REQUESTS["ok"], REQUESTS["error"], LATENCY_SUM[0]
    return (
        "# TYPE cart_requests_total counter\n"
        f'cart_requests_total{{outcome="ok"}} {ok}\n'
        f'cart_requests_total{{outcome="error"}} {err}\n'
        "# TYPE cart_request_seconds_sum counter\n"
        f"cart_request_seconds_sum {latency}\n"
    )


def main() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), handlers=[handler])
    ops = ThreadingHTTPServer(("", 9100), Ops)
    threading.Thread(target=ops.serve_forever, daemon=True).start()
    log.info("listening on :8080, metrics on :9100")
    ThreadingHTTPServer(("", 8080), Api).serve_forever()


if __name__ == "__main__":
    main()
