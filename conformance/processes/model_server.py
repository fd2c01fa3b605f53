"""The harness's model server: the model every fake CLI of one world asks.

See :mod:`conformance.processes.models` for where the fakes send their requests. The
server answers each request with the response of the exchange its
:data:`~conformance.processes.models.EXCHANGE_HEADER` names (or, when a relay dropped
the header, of the one exchange waited for), and keeps what arrived.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Mapping
from typing import Any

from conformance.processes.models import BASES, EXCHANGE_HEADER


class ModelServer:
    """The model of every fake CLI in one world: answers each exchange the harness
    expects with its response (module docstring), on 127.0.0.1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: dict[str, Mapping[str, Any]] = {}
        #: What arrived for each exchange: method, path, headers, body.
        self.arrived: dict[str, dict[str, Any]] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server._answer(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._http.timeout = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="conformance-model-server",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """The base URL variables of every CLI, pointing here."""
        return {variable: self.url + ("/v1" if kind == "codex" else "")
                for kind, (variable, _) in BASES.items()}

    def expect(self, exchange: str, response: Mapping[str, Any]) -> None:
        with self._lock:
            self._expected[exchange] = response

    def forget(self, exchange: str) -> None:
        with self._lock:
            self._expected.pop(exchange, None)

    def close(self) -> None:
        """Stop at once: shutting the listening socket down wakes the loop (the
        library's ``shutdown()`` would wait up to its half-second poll)."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._http.socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5.0)
        self._http.server_close()

    def _serve(self) -> None:
        while not self._closed:
            self._http.handle_request()

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        exchange = handler.headers.get(EXCHANGE_HEADER)
        with self._lock:
            if exchange not in self._expected and len(self._expected) == 1:
                exchange = next(iter(self._expected))
            response = self._expected.pop(exchange, None) if exchange else None
            if exchange and response is not None:
                try:
                    body: object = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                self.arrived[exchange] = {"method": handler.command, "path": handler.path,
                                          "headers": dict(handler.headers.items()),
                                          "body": body}
        if response is None:
            payload = json.dumps({"error": {"message": "no model exchange is expected "
                                            f"for this request ({handler.path})"}})
            status = 404
        else:
            payload, status = json.dumps(response), 200
        data = payload.encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
