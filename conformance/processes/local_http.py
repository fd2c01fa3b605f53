"""A small HTTP server on 127.0.0.1 that stops at once: the harness's model server
and the reference orchestrator's model relay are each one.

``ThreadingHTTPServer.serve_forever`` notices ``shutdown()`` only at its next
half-second poll, and a world opens several of these servers: a loop of
``handle_request`` with no timeout, woken by shutting the listening socket down,
stops as soon as it is asked.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

#: What answers one request (any method).
Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


class LocalHttpServer:
    """Serves every request with ``answer``, each on a thread of its own."""

    def __init__(self, answer: Answer, name: str) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                answer(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._http.timeout = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop at once (module docstring)."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._http.socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5.0)
        self._http.server_close()

    def _serve(self) -> None:
        while not self._closed:
            self._http.handle_request()


def body_of(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    """The request's body (its ``Content-Length`` bytes)."""
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def json_or_text(data: bytes) -> Any:
    """A body as JSON when it is, else as text; ``None`` when empty."""
    if not data:
        return None
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def reply(handler: http.server.BaseHTTPRequestHandler, status: int, data: bytes,
          content_type: str = "application/json") -> None:
    """Answer with ``status`` and ``data``."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
