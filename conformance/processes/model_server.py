"""The harness's model server: the model every fake CLI of one world asks.

See :mod:`conformance.processes.models` for where the fakes send their requests. The
server answers each request with the response of the exchange its
:data:`~conformance.processes.models.EXCHANGE_HEADER` names (or, when a relay dropped
the header, of the one exchange waited for), and keeps what arrived.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from conformance.processes.local_http import LocalHttpServer, body_of, json_or_text, reply
from conformance.processes.models import BASES, EXCHANGE_HEADER


class ModelServer:
    """The model of every fake CLI in one world: answers each exchange the harness
    expects with its response (module docstring), on 127.0.0.1."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: dict[str, Mapping[str, Any]] = {}
        #: What arrived for each exchange: method, path, headers, body.
        self.arrived: dict[str, dict[str, Any]] = {}
        self._http = LocalHttpServer(self._answer, "conformance-model-server")

    @property
    def url(self) -> str:
        return self._http.url

    def env(self) -> dict[str, str]:
        """The base URL variables of every CLI, pointing here (with the path of the
        real service's base: Codex's ends in ``/v1``)."""
        return {variable: self.url + urlsplit(default).path
                for variable, default in BASES.values()}

    def expect(self, exchange: str, response: Mapping[str, Any]) -> None:
        with self._lock:
            self._expected[exchange] = response

    def forget(self, exchange: str) -> None:
        with self._lock:
            self._expected.pop(exchange, None)

    def close(self) -> None:
        self._http.close()

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        raw = body_of(handler)
        exchange = handler.headers.get(EXCHANGE_HEADER)
        with self._lock:
            if exchange not in self._expected and len(self._expected) == 1:
                exchange = next(iter(self._expected))
            response = self._expected.pop(exchange, None) if exchange else None
            if exchange and response is not None:
                self.arrived[exchange] = {"method": handler.command, "path": handler.path,
                                          "headers": dict(handler.headers.items()),
                                          "body": json_or_text(raw)}
        if response is None:
            payload = json.dumps({"error": {"message": "no model exchange is expected "
                                            f"for this request ({handler.path})"}})
            status = 404
        else:
            payload, status = json.dumps(response), 200
        reply(handler, status, payload.encode("utf-8"))
