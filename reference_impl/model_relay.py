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

import http.server
import json
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.processes.local_http import LocalHttpServer, body_of, json_or_text, reply

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
        self._http = LocalHttpServer(self._relay, "reference-model-relay")

    def route(self, upstream: str) -> str:
        """A new route to ``upstream``; the base URL to give the CLI."""
        name = secrets.token_hex(8)
        with self._lock:
            self._routes[name] = _Route(upstream.rstrip("/"))
        return f"{self._http.url}/{name}"

    def close(self) -> None:
        self._http.close()

    def _relay(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        name, _, rest = handler.path.lstrip("/").partition("/")
        with self._lock:
            route = self._routes.get(name)
        raw = body_of(handler)
        if route is None:
            reply(handler, 404, json.dumps({"error": f"no route {name!r}"}).encode())
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
            reply(handler, 502, json.dumps({
                "error": f"the model at {url} cannot be reached: {error}"}).encode())
            return
        self._record(name, {"method": handler.command, "url": url, "headers": headers,
                            "body": json_or_text(raw)}, json_or_text(data))
        reply(handler, status, data, kind)

