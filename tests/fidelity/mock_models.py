"""Mock model servers for running the real agent CLIs offline.

Three small threaded HTTP servers, one per model API, all on 127.0.0.1:

* :class:`OpenAIResponsesMock` -- ``POST /v1/responses`` (Server-Sent Events), for Codex CLI.
* :class:`AnthropicMessagesMock` -- ``POST /v1/messages`` (streaming or not) and
  ``POST /v1/messages/count_tokens``, for Claude Code.
* :class:`GeminiMock` -- ``POST /v1beta/models/<model>:generateContent``,
  ``:streamGenerateContent?alt=sse`` and ``:countTokens``, for Gemini CLI.

Every server answers each *model* request after ``delay`` seconds (default 4 s) with
``text`` (a string, or a callable ``(RecordedRequest) -> str``), and records every request
it sees -- path, query, headers with credentials redacted, parsed body -- in
``server.requests``.  Requests for endpoints the server does not know are recorded too and
answered ``404`` with a JSON error body, at once.

:class:`MockServers` starts all three and knows how to point each CLI at them::

    with MockServers(delay=0.5, text="hello from the mock") as servers:
        env = servers.prepare_home("codex", home)      # writes config, returns env
        subprocess.run(["codex", "exec", "--skip-git-repo-check", "hi"], env=env, ...)
        servers.codex.requests                        # what Codex sent

Stdlib only.  Run ``python mock_models.py`` to serve all three until interrupted.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_DELAY = 4.0
DEFAULT_TEXT = "Mock answer."
DUMMY_KEY = "dummy-mock-key-0000"

#: Header names whose values are replaced by "<redacted>" in the request log.
REDACTED_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "proxy-authorization"}
)
#: Query parameters redacted likewise (Gemini may send the key as ``?key=``).
REDACTED_QUERY = frozenset({"key", "api_key"})

TextSource = str | Callable[["RecordedRequest"], str]


@dataclass
class RecordedRequest:
    """One HTTP request as a mock server saw it."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names, credentials redacted
    body: Any  # parsed JSON, or the raw text when it is not JSON, or None when empty
    received_at: float  # time.time() on arrival
    status: int = 0  # status code answered (0 while the answer is pending)
    answered_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "received_at": self.received_at,
            "status": self.status,
            "answered_at": self.answered_at,
        }


@dataclass
class _Config:
    delay: float
    text: TextSource
    extra: dict[str, Any] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces the stderr log

    # -- plumbing ---------------------------------------------------------------------------

    def _record(self) -> RecordedRequest:
        split = urlsplit(self.path)
        query = {
            k: ("<redacted>" if k.lower() in REDACTED_QUERY else v)
            for k, v in parse_qsl(split.query, keep_blank_values=True)
        }
        headers = {
            k.lower(): ("<redacted>" if k.lower() in REDACTED_HEADERS else v)
            for k, v in self.headers.items()
        }
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else self._read_chunked()
        body: Any = None
        if raw:
            text = raw.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        rec = RecordedRequest(self.command, split.path, query, headers, body, time.time())
        with self.server.lock:
            self.server.log.append(rec)
        return rec

    def _read_chunked(self) -> bytes:
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            return b""
        out = bytearray()
        while True:
            size_line = self.rfile.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    def send_json(self, rec: RecordedRequest, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        rec.status, rec.answered_at = status, time.time()

    def send_sse(
        self, rec: RecordedRequest, events: list[tuple[str | None, Any]], *, done: bool = False
    ) -> None:
        """Stream ``events`` (``(event name or None, data object)``) as chunked SSE."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for name, data in events:
            frame = ""
            if name:
                frame += f"event: {name}\n"
            frame += f"data: {json.dumps(data)}\n\n"
            self._chunk(frame.encode())
        if done:
            self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        rec.status, rec.answered_at = 200, time.time()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def not_found(self, rec: RecordedRequest) -> None:
        self.send_json(
            rec, 404, {"error": {"type": "not_found", "message": f"mock: no route {rec.path}"}}
        )

    def model_wait(self) -> None:
        if self.server.config.delay > 0:
            time.sleep(self.server.config.delay)

    def answer_text(self, rec: RecordedRequest) -> str:
        src = self.server.config.text
        return src(rec) if callable(src) else src

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        rec = self._record()
        try:
            self.server.owner.handle(self, rec)
        except (BrokenPipeError, ConnectionResetError):
            rec.status = rec.status or -1

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: MockModelServer) -> None:
        self.owner = owner
        self.config = owner.config
        self.lock = owner._lock
        self.log = owner._log
        super().__init__((owner.host, owner.port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that drops its connection (e.g. Claude Code's HEAD probe) is not an error
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MockModelServer:
    """Base class: a threaded HTTP server on 127.0.0.1 that records every request."""

    kind = "base"

    def __init__(
        self,
        delay: float = DEFAULT_DELAY,
        text: TextSource = DEFAULT_TEXT,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = _Config(delay=delay, text=text)
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # lifecycle
    def start(self) -> MockModelServer:
        if self._httpd is None:
            self._httpd = _Server(self)
            self.port = self._httpd.server_address[1]
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"mock-{self.kind}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MockModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # knobs
    @property
    def delay(self) -> float:
        return self.config.delay

    @delay.setter
    def delay(self, value: float) -> None:
        self.config.delay = value

    @property
    def text(self) -> TextSource:
        return self.config.text

    @text.setter
    def text(self, value: TextSource) -> None:
        self.config.text = value

    # addresses
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash, no API prefix)."""
        return f"http://{self.host}:{self.port}"

    # request log
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def model_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if self.is_model_request(r)]

    def is_model_request(self, rec: RecordedRequest) -> bool:
        raise NotImplementedError

    def clear(self) -> None:
        with self._lock:
            self._log.clear()

    def wait_for(
        self, predicate: Callable[[RecordedRequest], bool], count: int = 1, timeout: float = 30
    ) -> list[RecordedRequest]:
        """Block until ``count`` recorded requests satisfy ``predicate`` (or time out)."""
        end = time.monotonic() + timeout
        while True:
            hits = [r for r in self.requests if predicate(r)]
            if len(hits) >= count or time.monotonic() > end:
                return hits
            time.sleep(0.02)

    def dump_log(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.requests]

    def next_id(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            n = self._counter
        return f"{prefix}{n:04d}{uuid.uuid4().hex[:16]}"

    def handle(self, h: _Handler, rec: RecordedRequest) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# OpenAI Responses API (Codex CLI)
# --------------------------------------------------------------------------------------------


def _approx_tokens(obj: Any) -> int:
    return max(1, len(json.dumps(obj, ensure_ascii=False)) // 4)


class OpenAIResponsesMock(MockModelServer):
    """``POST /v1/responses`` streaming SSE, as Codex's ``wire_api = "responses"`` expects.

    Events per answer: ``response.created``, ``response.in_progress``,
    ``response.output_item.added`` (assistant message), ``response.content_part.added``,
    ``response.output_text.delta``, ``response.output_text.done``,
    ``response.content_part.done``, ``response.output_item.done``, ``response.completed``
    (with ``usage``).  ``GET /v1/models`` answers an empty model list.
    """

    kind = "codex"

    @property
    def base_url(self) -> str:
        """The value for ``base_url`` in ``[model_providers.mock]``."""
        return f"{self.url}/v1"

    def is_model_request(self, rec: RecordedRequest) -> bool:
        return rec.method == "POST" and rec.path.rstrip("/").endswith("/responses")

    def handle(self, h: _Handler, rec: RecordedRequest) -> None:
        path = rec.path.rstrip("/")
        if rec.method == "GET" and path.endswith("/models"):
            h.send_json(rec, 200, {"object": "list", "data": [], "models": []})
            return
        if not self.is_model_request(rec):
            h.not_found(rec)
            return
        h.model_wait()
        body = rec.body if isinstance(rec.body, dict) else {}
        text = h.answer_text(rec)
        model = body.get("model", "mock-model")
        resp_id = self.next_id("resp_")
        msg_id = self.next_id("msg_")
        now = int(time.time())
        in_tok = _approx_tokens(body.get("input", ""))
        out_tok = max(1, len(text) // 4)
        base = {
            "id": resp_id,
            "object": "response",
            "created_at": now,
            "model": model,
            "output": [],
            "usage": None,
        }
        item_open = {
            "id": msg_id,
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        part = {"type": "output_text", "text": text, "annotations": []}
        item_done = {**item_open, "status": "completed", "content": [part]}
        usage = {
            "input_tokens": in_tok,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out_tok,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": in_tok + out_tok,
        }
        seq = iter(range(1_000_000))

        def ev(name: str, **data: Any) -> tuple[str, Any]:
            return name, {"type": name, "sequence_number": next(seq), **data}

        events = [
            ev("response.created", response={**base, "status": "in_progress"}),
            ev("response.in_progress", response={**base, "status": "in_progress"}),
            ev("response.output_item.added", output_index=0, item=item_open),
            ev(
                "response.content_part.added",
                item_id=msg_id,
                output_index=0,
                content_index=0,
                part={**part, "text": ""},
            ),
            ev(
                "response.output_text.delta",
                item_id=msg_id,
                output_index=0,
                content_index=0,
                delta=text,
            ),
            ev(
                "response.output_text.done",
                item_id=msg_id,
                output_index=0,
                content_index=0,
                text=text,
            ),
            ev("response.content_part.done", item_id=msg_id, output_index=0, content_index=0,
               part=part),
            ev("response.output_item.done", output_index=0, item=item_done),
            ev(
                "response.completed",
                response={**base, "status": "completed", "output": [item_done], "usage": usage},
            ),
        ]
        h.send_sse(rec, events)


# --------------------------------------------------------------------------------------------
# Anthropic Messages API (Claude Code)
# --------------------------------------------------------------------------------------------


class AnthropicMessagesMock(MockModelServer):
    """``POST /v1/messages`` (``stream: true`` -> SSE, else JSON) and ``count_tokens``.

    Any ``POST /v1/messages`` is a model request and waits ``delay`` seconds; so does a
    non-streaming one (Claude Code's side calls, e.g. a title or a quota probe).
    ``/v1/messages/count_tokens`` answers at once.  Everything else is 404.
    """

    kind = "claude"

    def is_model_request(self, rec: RecordedRequest) -> bool:
        return rec.method == "POST" and rec.path.rstrip("/") == "/v1/messages"

    def handle(self, h: _Handler, rec: RecordedRequest) -> None:
        path = rec.path.rstrip("/")
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.method == "POST" and path == "/v1/messages/count_tokens":
            h.send_json(rec, 200, {"input_tokens": _approx_tokens(body.get("messages", []))})
            return
        if rec.method == "GET" and path == "/v1/models":
            h.send_json(rec, 200, {"data": [], "has_more": False, "first_id": None,
                                   "last_id": None})
            return
        if not self.is_model_request(rec):
            h.not_found(rec)
            return
        h.model_wait()
        text = h.answer_text(rec)
        model = body.get("model", "claude-mock")
        msg_id = self.next_id("msg_mock")
        in_tok = _approx_tokens(body.get("messages", []))
        out_tok = max(1, len(text) // 4)
        usage_start = {
            "input_tokens": in_tok,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
            "service_tier": "standard",
        }
        message = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_start,
        }
        if not body.get("stream"):
            h.send_json(
                rec,
                200,
                {
                    **message,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "usage": {**usage_start, "output_tokens": out_tok},
                },
            )
            return
        events: list[tuple[str | None, Any]] = [
            ("message_start", {"type": "message_start", "message": message}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}},
            ),
            ("ping", {"type": "ping"}),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": text}},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": out_tok},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        h.send_sse(rec, events)


# --------------------------------------------------------------------------------------------
# Gemini API (Gemini CLI)
# --------------------------------------------------------------------------------------------


def _fill_schema(schema: Any, name: str = "") -> Any:
    """A plausible value for a JSON schema (enough for Gemini CLI's JSON side calls)."""
    if not isinstance(schema, dict):
        return "mock"
    if schema.get("enum"):
        options = schema["enum"]
        return "user" if "user" in options else options[0]
    typ = str(schema.get("type", "object")).lower()
    if typ == "object":
        props = schema.get("properties") or {}
        return {k: _fill_schema(v, k) for k, v in props.items()}
    if typ == "array":
        return []
    if typ in ("integer", "number"):
        return 1 if "score" not in name else 10
    if typ == "boolean":
        return False
    if name == "next_speaker":
        return "user"
    return "mock"


class GeminiMock(MockModelServer):
    """``/v1beta/models/<model>:generateContent`` / ``:streamGenerateContent`` / ``:countTokens``.

    A request whose ``generationConfig`` asks for JSON (``responseMimeType:
    application/json`` or a ``responseSchema`` / ``responseJsonSchema``) -- Gemini CLI's
    routing classifier and next-speaker check -- is answered at once with a JSON text built
    from the schema (routing: ``{"complexity_reasoning": ..., "complexity_score": ...}``).
    Every other generate call is a model request and waits ``delay`` seconds.
    """

    kind = "gemini"

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        # /v1beta/models/gemini-2.5-flash:streamGenerateContent -> (model, method)
        tail = path.rsplit("/models/", 1)[-1]
        model, _, method = tail.partition(":")
        return model, method

    @staticmethod
    def _wants_json(body: dict[str, Any]) -> dict[str, Any] | None:
        cfg = body.get("generationConfig") or body.get("generation_config") or {}
        schema = cfg.get("responseJsonSchema") or cfg.get("responseSchema")
        if schema is not None:
            return schema if isinstance(schema, dict) else {}
        if cfg.get("responseMimeType") == "application/json":
            return {}
        return None

    def is_model_request(self, rec: RecordedRequest) -> bool:
        if rec.method != "POST":
            return False
        _, method = self._split(rec.path)
        if method not in ("generateContent", "streamGenerateContent"):
            return False
        body = rec.body if isinstance(rec.body, dict) else {}
        return self._wants_json(body) is None

    def handle(self, h: _Handler, rec: RecordedRequest) -> None:
        model, method = self._split(rec.path)
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.method == "POST" and method == "countTokens":
            h.send_json(rec, 200, {"totalTokens": _approx_tokens(body.get("contents", []))})
            return
        if rec.method != "POST" or method not in ("generateContent", "streamGenerateContent"):
            h.not_found(rec)
            return
        schema = self._wants_json(body)
        if schema is None:
            h.model_wait()
            text = h.answer_text(rec)
        else:
            value = _fill_schema(schema) if schema else {}
            if "complexity_score" in json.dumps(body) and not value:
                value = {"complexity_reasoning": "mock", "complexity_score": 10}
            text = json.dumps(value)
        in_tok = _approx_tokens(body.get("contents", []))
        out_tok = max(1, len(text) // 4)
        payload = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": in_tok,
                "candidatesTokenCount": out_tok,
                "totalTokenCount": in_tok + out_tok,
            },
            "modelVersion": model,
            "responseId": self.next_id("resp"),
        }
        if method == "streamGenerateContent":
            if rec.query.get("alt") == "sse":
                h.send_sse(rec, [(None, payload)])
            else:  # JSON array stream
                h.send_json(rec, 200, [payload])
        else:
            h.send_json(rec, 200, payload)


# --------------------------------------------------------------------------------------------
# All three, and how to point each CLI at them
# --------------------------------------------------------------------------------------------

#: Environment variables removed from the base environment so that the host's own
#: credentials or settings never leak into a CLI run.
_SCRUB_PREFIXES = (
    "OPENAI_", "CODEX_", "ANTHROPIC_", "CLAUDE", "GEMINI_", "GOOGLE_", "VERTEX", "XDG_",
)

KINDS = ("codex", "claude", "gemini")


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


class MockServers:
    """Start the three mock servers; write per-home configs; build environments.

    ``delay`` / ``text`` apply to all three unless overridden per kind with
    ``delays={"claude": 1.0}`` / ``texts={...}``.
    """

    #: written as ``model`` in config.toml (a model in Codex's bundled catalogue)
    codex_model = "gpt-5.5"
    #: the ``-m`` to give Gemini CLI (without it, it sends a routing request first)
    gemini_model = "gemini-2.5-flash"
    # Claude Code is left on its default model (claude-opus-4-8 / claude-opus-5-5).

    def __init__(
        self,
        delay: float = DEFAULT_DELAY,
        text: TextSource = DEFAULT_TEXT,
        *,
        delays: Mapping[str, float] | None = None,
        texts: Mapping[str, TextSource] | None = None,
    ) -> None:
        delays = dict(delays or {})
        texts = dict(texts or {})
        self.codex = OpenAIResponsesMock(delays.get("codex", delay), texts.get("codex", text))
        self.claude = AnthropicMessagesMock(
            delays.get("claude", delay), texts.get("claude", text)
        )
        self.gemini = GeminiMock(delays.get("gemini", delay), texts.get("gemini", text))

    # lifecycle
    def start(self) -> MockServers:
        for s in self.all():
            s.start()
        return self

    def stop(self) -> None:
        for s in self.all():
            s.stop()

    def __enter__(self) -> MockServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def all(self) -> tuple[MockModelServer, MockModelServer, MockModelServer]:
        return (self.codex, self.claude, self.gemini)

    def server(self, kind: str) -> MockModelServer:
        return {"codex": self.codex, "claude": self.claude, "gemini": self.gemini}[kind]

    # addresses
    @property
    def codex_url(self) -> str:
        """Codex ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return self.codex.base_url

    @property
    def claude_url(self) -> str:
        """``ANTHROPIC_BASE_URL``: ``http://127.0.0.1:PORT``."""
        return self.claude.url

    @property
    def gemini_url(self) -> str:
        """``GOOGLE_GEMINI_BASE_URL``: ``http://127.0.0.1:PORT``."""
        return self.gemini.url

    # environments
    @staticmethod
    def base_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
        src = dict(os.environ if base is None else base)
        return {k: v for k, v in src.items() if not k.upper().startswith(_SCRUB_PREFIXES)}

    def env_for(
        self,
        kind: str,
        home: str | os.PathLike[str],
        *,
        base: Mapping[str, str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """A whole environment for running CLI ``kind`` with ``HOME=home``.

        Starts from ``base`` (default ``os.environ``) minus any OPENAI_/CODEX_/ANTHROPIC_/
        CLAUDE*/GEMINI_/GOOGLE_/XDG_ variables.  Does not write files: see
        :meth:`write_config` / :meth:`prepare_home`.
        """
        home = str(home)
        env = self.base_env(base)
        env["HOME"] = home
        env.setdefault("LANG", "C.UTF-8")
        env["NO_COLOR"] = "1"
        if kind == "codex":
            env["CODEX_HOME"] = str(Path(home) / ".codex")
            env["MOCK_API_KEY"] = DUMMY_KEY
        elif kind == "claude":
            env.update(
                {
                    "ANTHROPIC_BASE_URL": self.claude_url,
                    "ANTHROPIC_API_KEY": DUMMY_KEY,
                    # keep Claude Code off every other host: no statsig/telemetry/sentry,
                    # no auto-update, no feedback survey
                    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                    "DISABLE_AUTOUPDATER": "1",
                    "DISABLE_TELEMETRY": "1",
                    "DISABLE_ERROR_REPORTING": "1",
                    "DISABLE_BUG_COMMAND": "1",
                    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
                }
            )
        elif kind == "gemini":
            env.update(
                {
                    "GOOGLE_GEMINI_BASE_URL": self.gemini_url,
                    "GEMINI_API_KEY": DUMMY_KEY,
                    "GEMINI_CLI_TRUST_WORKSPACE": "true",
                }
            )
        else:
            raise ValueError(f"unknown kind {kind!r}")
        if extra:
            env.update(extra)
        return env

    # config files
    def write_config(
        self,
        kind: str,
        home: str | os.PathLike[str],
        *,
        notify: list[str] | None = None,
        hooks: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> list[Path]:
        """Write the config files CLI ``kind`` needs under ``home``; return their paths.

        * codex: ``home/.codex/config.toml`` (``notify`` = the notify argv, optional).
        * claude: ``home/.claude/settings.json``; ``hooks`` maps a hook event name
          (``SessionStart``, ``Stop``, ...) to a shell command.
        * gemini: ``home/.gemini/settings.json``.
        ``settings`` (claude/gemini) is merged over the generated settings object.
        """
        home_p = Path(home)
        if kind == "codex":
            codex_home = home_p / ".codex"
            codex_home.mkdir(parents=True, exist_ok=True)
            lines = [
                f"model = {_toml_str(self.codex_model)}",
                'model_provider = "mock"',
                'approval_policy = "never"',
                'sandbox_mode = "read-only"',
                "check_for_update_on_startup = false",
            ]
            if notify:
                lines.append("notify = [" + ", ".join(_toml_str(a) for a in notify) + "]")
            lines += [
                "",
                "[model_providers.mock]",
                'name = "mock"',
                f"base_url = {_toml_str(self.codex_url)}",
                'wire_api = "responses"',
                'env_key = "MOCK_API_KEY"',
                "request_max_retries = 0",
                "stream_max_retries = 0",
                "",
                "[analytics]",
                "enabled = false",
                "",
                "[feedback]",
                "enabled = false",
                "",
                "[otel]",
                'exporter = "none"',
                "log_user_prompt = false",
                "",
            ]
            cfg = codex_home / "config.toml"
            cfg.write_text("\n".join(lines), encoding="utf-8")
            return [cfg]
        if kind == "claude":
            d = home_p / ".claude"
            d.mkdir(parents=True, exist_ok=True)
            obj: dict[str, Any] = {}
            if hooks:
                obj["hooks"] = {
                    event: [{"hooks": [{"type": "command", "command": cmd}]}]
                    for event, cmd in hooks.items()
                }
            if settings:
                obj.update(settings)
            cfg = d / "settings.json"
            cfg.write_text(json.dumps(obj, indent=2), encoding="utf-8")
            return [cfg]
        if kind == "gemini":
            d = home_p / ".gemini"
            d.mkdir(parents=True, exist_ok=True)
            obj = {
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                "privacy": {"usageStatisticsEnabled": False},
                "telemetry": {"enabled": False},
                "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
            }
            if settings:
                obj.update(settings)
            cfg = d / "settings.json"
            cfg.write_text(json.dumps(obj, indent=2), encoding="utf-8")
            return [cfg]
        raise ValueError(f"unknown kind {kind!r}")

    def prepare_home(
        self,
        kind: str,
        home: str | os.PathLike[str],
        *,
        base: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        **config: Any,
    ) -> dict[str, str]:
        """:meth:`write_config` then :meth:`env_for`: the one call most tests need."""
        Path(home).mkdir(parents=True, exist_ok=True)
        self.write_config(kind, home, **config)
        return self.env_for(kind, home, base=base, extra=extra_env)


def main() -> None:  # pragma: no cover - manual use
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--delay", type=float, default=DEFAULT_DELAY)
    p.add_argument("--text", default=DEFAULT_TEXT)
    a = p.parse_args()
    with MockServers(delay=a.delay, text=a.text) as s:
        print(f"codex  base_url            {s.codex_url}")
        print(f"claude ANTHROPIC_BASE_URL  {s.claude_url}")
        print(f"gemini GOOGLE_GEMINI_BASE_URL {s.gemini_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
