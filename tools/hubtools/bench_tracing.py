"""Tracing's cost on intake: permit-ingest with OTEL_EXPORTER_OTLP_ENDPOINT set (spans
exported over OTLP/HTTP to a sink in this process that only answers 200), under the same
closed loop as without; the overhead is the drop in requests per second."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that accepts and drops every export; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def overhead(off: dict[str, Any], on: dict[str, Any]) -> dict[str, Any]:
    """Tracing's cost from two closed-loop figures (off, on)."""
    drop = 1 - on["req_per_s"] / off["req_per_s"] if off["req_per_s"] else 0.0
    return {
        "off_req_per_s": off["req_per_s"],
        "on_req_per_s": on["req_per_s"],
        "off_p99_ms": off["p99_ms"],
        "on_p99_ms": on["p99_ms"],
        "overhead_pct": 100 * drop,
    }
