"""The driver protocol: how the harness drives an orchestrator written in any language.

A *driver* is a program that wraps an orchestrator. The harness starts one driver
process per world and speaks JSON Lines with it: each request is one line on the
driver's stdin, each response one line on its stdout, one response per request, in
order. The driver never speaks unasked; whatever it writes to stderr is kept for the
failure report. At the end of its stdin it exits.

A request is ``{"id": N, "op": OP, "time": T, "args": {...}}``: ``id`` counts from 0,
``time`` is the harness's clock (Unix seconds), which is the driver's "now" while it
handles the request (see :data:`TIME_RULE`). A response is ``{"id": N, "ok": true,
"result": ...}`` or ``{"id": N, "ok": false, "error": {"kind": K, "message": M}}``.
The operations are those of :class:`~conformance.contract.Orchestrator`, plus
``hello`` (the first request of every driver process: the driver announces the
protocol version it speaks, its name, version and the areas it claims) and ``start``
(the world: its directories, the settings and the environment that puts the fake
CLIs first on ``PATH``). The JSON Schema of every message is
``driver-protocol.schema.json`` next to this module (:func:`schema_path`); the harness
validates every message in both directions against it.

Error kinds: ``invalid_agent_id`` (with ``agent_id`` and ``rule``: a refused agent id,
the :class:`~conformance.errors.InvalidAgentId` of an in-process adapter),
``value_error`` (another refusal of bad input), ``backend_error`` (a CLI refused, as a
send to a process that is gone) and ``failed`` (anything else: the orchestrator's
failure, reported as such).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from conformance.errors import DriverError

#: The protocol version this harness speaks; a driver must announce the same.
PROTOCOL_VERSION = 1
#: The longest line either side may write, in bytes (a prompt may be long, a world's
#: environment is not): a longer one is an error, not a hang.
MAX_LINE = 8 * 1024 * 1024
#: The operations, in the order a world uses them first.
OPERATIONS = ("hello", "start", "spawn", "send", "resume", "close", "export", "tick",
              "session", "sessions", "shutdown")
#: What a driver does with ``time``.
TIME_RULE = ("The 'time' of a request is the harness's clock, in Unix seconds: while "
             "handling it, the driver's 'now' is that time (for deadlines, timestamps "
             "and anything else that reads a clock), and the driver never waits on a "
             "clock of its own. The harness's clock only moves between requests.")
#: Which result schema each operation's result must match.
_RESULTS = {"hello": "hello_result", "session": "session_result",
            "sessions": "sessions_result"}
ERROR_KINDS = ("invalid_agent_id", "value_error", "backend_error", "failed")


def schema_path() -> Path:
    """The published JSON Schema of every message of the protocol."""
    return Path(__file__).with_name("driver-protocol.schema.json")


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return loaded


@cache
def _validator(definition: str) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    root = _schema()
    return Draft202012Validator({"$ref": f"#/$defs/{definition}", "$defs": root["$defs"]})


def problem(definition: str, message: object) -> str | None:
    """Why ``message`` is not a valid ``definition`` of the schema (the first error,
    with the field it is about), or ``None``."""
    errors = sorted(_validator(definition).iter_errors(message),
                    key=lambda e: (len(e.absolute_path), str(e.message)))
    if not errors:
        return None
    error = errors[0]
    where = "/".join(str(part) for part in error.absolute_path) or "(the message)"
    return f"field {where}: {error.message[:300]}"


def request(request_id: int, op: str, time: float, args: Mapping[str, Any]) -> bytes:
    """One request line; the harness's own requests are validated too, so a harness
    bug is never blamed on a driver."""
    message = {"id": request_id, "op": op, "time": time, "args": dict(args)}
    found = problem("request", message)
    if found is not None:
        raise AssertionError(f"the harness built an invalid {op} request: {found}")
    return (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode()


def response(line: bytes, request_id: int, op: str) -> dict[str, Any]:
    """The driver's response to request ``request_id`` (``op``), validated; a
    :class:`DriverError` naming the message and the field when it is not one."""
    shown = line[:200].decode("utf-8", "replace")
    try:
        message = json.loads(line)
    except ValueError as error:
        raise DriverError(op, f"wrote a line that is not JSON ({error}): {shown!r}") from None
    found = problem("response", message)
    if found is not None:
        raise DriverError(op, f"wrote an invalid response, {found}: {shown!r}")
    if message["id"] != request_id:
        raise DriverError(op, f"answered request {message['id']} while request "
                              f"{request_id} ({op}) was the one waiting: {shown!r}")
    if message["ok"]:
        definition = _RESULTS.get(op, "null_result")
        found = problem(definition, message["result"])
        if found is not None:
            raise DriverError(op, f"wrote an invalid result for {op} ({definition}), "
                                  f"{found}: {shown!r}")
    result: dict[str, Any] = message
    return result


__all__ = ["ERROR_KINDS", "MAX_LINE", "OPERATIONS", "PROTOCOL_VERSION", "TIME_RULE",
           "problem", "request", "response", "schema_path"]
