"""Where the fake CLIs send their model requests, and the harness's model server.

A real CLI talks to its model over HTTP, at a base URL an orchestrator may change:
that is how an orchestrator records the raw exchanges of seed 001
(``session_oai_raw.log``): it points the CLI at a relay of its own, which records each
request and response on their way. The fakes do the same. When the fake host makes a
model exchange (``MODEL_EXCHANGE``, on the harness clock), the harness orders the
process that runs the turn to make it: the puppet sends the exchange's request (its
method, headers and JSON body, at the path of its URL under the CLI's base URL) and
reads the answer. The harness's model server (:mod:`.model_server`) answers with the exchange's
response, wherever the request passed on its way.

=========  ============================  ==============================================
CLI        base URL variable             default (the real service)
=========  ============================  ==============================================
Codex      ``OPENAI_BASE_URL``           ``https://api.openai.com/v1``; or the
                                         ``base_url`` of ``[model_providers.<name>]``
                                         in ``config.toml`` when ``model_provider``
                                         names one (``-c`` overrides either)
Claude     ``ANTHROPIC_BASE_URL``        ``https://api.anthropic.com``
Gemini     ``GOOGLE_GEMINI_BASE_URL``    ``https://generativelanguage.googleapis.com``
=========  ============================  ==============================================

The harness sets all three to its model server in :attr:`World.env
<conformance.contract.World.env>`. Each request carries the header
:data:`EXCHANGE_HEADER` naming its exchange, so the server answers the right one even
when several processes ask at once; a relay that drops the header still gets the
answer when a single exchange is waited for.

Standard library only, like :mod:`~conformance.processes.wire`: the puppet imports
this module as a plain file. The facts are the real CLIs', so an orchestrator that
relays them reads them here too (the reference's process backend does).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Per CLI: the variable naming its base URL, and the real service's.
BASES: dict[str, tuple[str, str]] = {
    "codex": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "claude": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
    "gemini": ("GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
}
#: The request header naming the exchange a fake's request belongs to.
EXCHANGE_HEADER = "X-Conformance-Exchange"
#: Real seconds a fake waits for its model's answer.
TIMEOUT = 30.0


def _toml() -> Any:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    return tomllib


def _override(text: str) -> tuple[str, object]:
    """One ``-c key=value``: the value is TOML, else the text itself (as Codex reads it)."""
    key, _, raw = text.partition("=")
    try:
        value: object = _toml().loads(f"v = {raw}")["v"]
    except ValueError:
        value = raw
    return key.strip(), value


def codex_setting(codex_home: Path, overrides: Sequence[str], dotted: str) -> object:
    """The value of ``dotted`` (``tools.update_plan.enabled``) in Codex's
    ``config.toml``, a ``-c`` of the command line first; ``None`` when unset."""
    given = dict(_override(text) for text in overrides)
    if dotted in given:
        return given[dotted]
    try:
        value: object = _toml().loads((codex_home / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for name in dotted.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value


def codex_provider(codex_home: Path, overrides: Sequence[str] = ()) -> tuple[str, str] | None:
    """The model provider Codex asks, named by ``model_provider`` in ``config.toml``
    (or a ``-c``), and its ``base_url``; ``None`` when none is named with a URL (Codex
    then asks ``OPENAI_BASE_URL``, which it ignores for a named one)."""
    name = codex_setting(codex_home, overrides, "model_provider")
    if not isinstance(name, str):
        return None
    url = codex_setting(codex_home, overrides, f"model_providers.{name}.base_url")
    return (name, url) if isinstance(url, str) else None


def base_url(kind: str, env: Mapping[str, str], codex_home: Path | None = None,
             overrides: Sequence[str] = ()) -> str:
    """The base URL the CLI ``kind`` sends its model requests to, in ``env`` (for
    Codex: its configured provider's, with the command line's ``-c`` overrides)."""
    variable, default = BASES[kind]
    if kind == "codex" and codex_home is not None:
        configured = codex_provider(codex_home, overrides)
        if configured and configured[1]:
            return configured[1].rstrip("/")
    return (env.get(variable) or default).rstrip("/")


def request_url(kind: str, url: str, base: str) -> str:
    """``url`` (a request to the real service) under ``base`` instead: the same path
    below the service's base, and the same query."""
    prefix = urlsplit(BASES[kind][1]).path  # Codex's base ends in /v1, the others bare
    parts = urlsplit(url)
    path = parts.path[len(prefix):] if parts.path.startswith(prefix + "/") else parts.path
    return base + path + (f"?{parts.query}" if parts.query else "")


def send(url: str, method: str, headers: Mapping[str, str], body: object,
         exchange: str) -> dict[str, Any]:
    """Make one model request; what came back (``status``, ``body`` or ``error``).

    HTTP/1.1 over a plain socket, one request per connection: ``http.client`` would
    cost a fake CLI more to import than the whole exchange takes. The harness gives
    ``http://`` base URLs only; an ``https://`` one (the real service) is an error,
    as a CLI offline meets one."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return {"status": None, "error": f"cannot reach {url} (only http:// is played)"}
    data = json.dumps(body).encode("utf-8") if body is not None else b""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method or 'POST'} {target} HTTP/1.1", f"Host: {parts.netloc}",
             f"Content-Length: {len(data)}", "Connection: close",
             f"{EXCHANGE_HEADER}: {exchange}"]
    lines += [f"{name}: {value}" for name, value in headers.items()
              if str(name).lower() not in ("host", "content-length", "connection")]
    try:
        with socket.create_connection((parts.hostname, parts.port or 80),
                                      timeout=TIMEOUT) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + data)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    except OSError as error:
        return {"status": None, "error": f"{type(error).__name__}: {error}"}
    return _response(answer)


def _response(answer: bytes) -> dict[str, Any]:
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError):
        return {"status": None, "error": f"not an HTTP answer: {answer[:80]!r}"}
    fields = {k.strip().lower(): v.strip() for k, _, v in
              (line.partition(":") for line in header_lines)}
    if fields.get("transfer-encoding", "").lower() == "chunked":
        content = _unchunked(content)
    elif "content-length" in fields:
        content = content[:int(fields["content-length"])]
    return {"status": status, "body": content.decode("utf-8", "replace")}


def _unchunked(content: bytes) -> bytes:
    out = b""
    while content:
        size_line, _, rest = content.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, content = out + rest[:size], rest[size + 2:]
    return out
