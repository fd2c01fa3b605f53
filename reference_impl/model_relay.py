"""A model relay: how an orchestrator that runs the CLIs as processes sees their model
exchanges (seed 001's ``session_oai_raw.log``).

A CLI process cannot hand its raw requests to the orchestrator that launched it, but it
sends them to the base URL its environment names (``OPENAI_BASE_URL``,
``ANTHROPIC_BASE_URL``, ``GOOGLE_GEMINI_BASE_URL``). The process backend launches each
CLI with its base URL pointing here, under a route of its own (``/<route>/...``), and
the relay forwards every request to the base URL the CLI would have used, reads the
answer, hands the pair to the orchestrator, and only then answers the CLI: once the
CLI has its answer, the exchange is on record.

The relay forwards bodies and headers as they are; what reaches the disk is the
persistence component's to redact. An upstream that cannot be reached is answered with
``502`` and a JSON error, and nothing is recorded (no exchange took place).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import secrets
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Headers that belong to one hop, not to the request.
_HOP = frozenset({"host", "content-length", "connection", "accept-encoding",
                  "transfer-encoding", "keep-alive"})
#: Real seconds to wait for the upstream model.
TIMEOUT = 60.0

#: ``(route, request, response)``: the request as ``{"method", "url", "headers",
#: "body"}`` (``url`` is the upstream one), the response body (parsed JSON when it is).
Recorder = Callable[[str, dict[str, Any], Any], None]


@dataclass(frozen=True)
class _Route:
    upstream: str


class ModelRelay:
    """Forwards model requests to their upstream and records each exchange."""

    def __init__(self, record: Recorder) -> None:
        self._record = record
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                relay._relay(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._http.timeout = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="reference-model-relay",
                                        daemon=True)
        self._thread.start()

    def route(self, upstream: str) -> str:
        """A new route to ``upstream``; the base URL to give the CLI."""
        name = secrets.token_hex(8)
        with self._lock:
            self._routes[name] = _Route(upstream.rstrip("/"))
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/{name}"

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

    def _relay(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        name, _, rest = handler.path.lstrip("/").partition("/")
        with self._lock:
            route = self._routes.get(name)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if route is None:
            self._reply(handler, 404, {"error": f"no route {name!r}"})
            return
        url = route.upstream + ("/" + rest if rest and not rest.startswith("?") else rest)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        request = urllib.request.Request(url, data=raw or None, method=handler.command)
        for key, value in headers.items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                status, data = answer.status, answer.read()
                kind = answer.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
            kind = error.headers.get("Content-Type", "application/json")
        except (OSError, ValueError) as error:
            self._reply(handler, 502, {"error": f"the model at {url} cannot be reached: "
                                                f"{error}"})
            return
        self._record(name, {"method": handler.command, "url": url, "headers": headers,
                            "body": _parsed(raw)}, _parsed(data))
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _reply(handler: http.server.BaseHTTPRequestHandler, status: int,
               body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _parsed(data: bytes) -> Any:
    if not data:
        return None
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
