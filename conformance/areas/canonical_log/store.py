"""Reading an orchestrator's canonical store (seed 004) from the outside.

The checks never import an orchestrator's code: they read the files it wrote under
``world.acp_home``, tolerantly, and decide from what they find. The store format they
expect is the one seed 004 describes, made precise in ``specs/canonical_log.toml``:

* ``index.json``: a JSON object mapping ``<backend>:<native session id>`` to a global
  session id (gid);
* ``sessions/<gid>/state.json``: a JSON object naming at least ``backend``,
  ``backend_session_id``, ``cwd`` and ``created``;
* ``sessions/<gid>/canonical.jsonl``: one JSON object per line, each with a ``kind``
  among :data:`KINDS` and a ``data`` object (the reference also writes ``v``, ``seq``,
  ``ts`` and ``gid``).

Only the layout invariant insists on that exact layout. Every other check finds a
session as *any* directory under ``ACP_HOME`` holding a ``state.json`` or a
``canonical.jsonl``, and tells whose it is from its ``state.json``, so a layout
mistake is reported once, by the layout invariant, not again by every check that
happens to read the store.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.harness import Harness

INDEX = "index.json"
SESSIONS = "sessions"
STATE = "state.json"
LOG = "canonical.jsonl"

#: Every canonical event kind (seed 004, "What Gets Logged").
KINDS: frozenset[str] = frozenset({
    "acp.prompt",
    "backend.codex.submit",
    "acp.agent_message_chunk",
    "acp.agent_thought_chunk",
    "acp.tool_call",
    "acp.tool_call_update",
    "acp.plan",
    "acp.request_permission",
    "acp.request_permission_response",
})

#: The ACP content block types a prompt summary counts.
BLOCK_TYPES: tuple[str, ...] = ("text", "resource_link", "resource", "image", "audio")

#: The fields ``state.json`` must name (seed 004: "backend, ids, cwd, created time").
STATE_FIELDS: tuple[str, ...] = ("backend", "backend_session_id", "cwd", "created")


def key_of(backend: str, session_id: str) -> str:
    """The backend session key, ``<backend>:<native session id>``."""
    return f"{backend}:{session_id}"


def bad_component(name: object) -> str | None:
    """Why ``name`` cannot be a gid (one path component), or None if it can."""
    if not isinstance(name, str) or not name:
        return f"{name!r} is not a non-empty string"
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        return f"{name!r} is not a single path component"
    return None


@dataclass(frozen=True)
class LogLine:
    """One line of a ``canonical.jsonl``, parsed or not."""

    number: int
    raw: bytes
    #: Whether the line ended with a newline (a last line without one is torn).
    complete: bool
    #: The decoded JSON object, when the line is one.
    obj: Mapping[str, Any] | None
    #: Why the line is not a canonical event; None when it is one.
    problem: str | None

    @property
    def kind(self) -> str | None:
        return self.obj.get("kind") if self.obj is not None and self.problem is None else None

    @property
    def data(self) -> Mapping[str, Any]:
        data = self.obj.get("data") if self.obj is not None else None
        return data if isinstance(data, Mapping) else {}

    def excerpt(self, width: int = 160) -> str:
        text = self.raw.decode("utf-8", "replace")
        return text if len(text) <= width else text[:width] + "..."


def parse_line(number: int, raw: bytes, complete: bool) -> LogLine:
    """Decode one line and say what, if anything, makes it no canonical event."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return LogLine(number, raw, complete, None, f"not UTF-8 JSON ({error})")
    if not isinstance(obj, dict):
        return LogLine(number, raw, complete, None,
                       f"a JSON {type(obj).__name__}, not an object")
    kind = obj.get("kind")
    if kind not in KINDS:
        return LogLine(number, raw, complete, obj, f"unknown kind {kind!r}")
    if not isinstance(obj.get("data"), dict):
        return LogLine(number, raw, complete, obj, "no 'data' object")
    return LogLine(number, raw, complete, obj, None)


def parse_log(raw: bytes) -> list[LogLine]:
    """Every line of a log, in file order (a blank line is one too: not an event)."""
    pieces = raw.split(b"\n")
    torn = pieces.pop()  # after the last newline: b"" unless the last line is torn
    lines = [parse_line(n, piece, True) if piece.strip()
             else LogLine(n, piece, True, None, "blank (a line that is no event)")
             for n, piece in enumerate(pieces, 1)]
    if torn.strip():
        lines.append(parse_line(len(pieces) + 1, torn, False))
    return lines


@dataclass(frozen=True)
class StoredSession:
    """One session directory of a store, as found on disk."""

    directory: Path
    state: Mapping[str, Any] | None
    #: Why ``state.json`` is unusable (missing, not JSON, not an object).
    state_problem: str | None
    #: The bytes of ``canonical.jsonl``; None when there is none.
    log_bytes: bytes | None

    @property
    def gid(self) -> str:
        return self.directory.name

    @property
    def log_path(self) -> Path:
        return self.directory / LOG

    @property
    def key(self) -> str | None:
        """``<backend>:<backend_session_id>`` from ``state.json``, if it names both."""
        state = self.state or {}
        backend, session_id = state.get("backend"), state.get("backend_session_id")
        if isinstance(backend, str) and isinstance(session_id, str):
            return key_of(backend, session_id)
        return None

    @functools.cached_property
    def _lines(self) -> tuple[LogLine, ...]:
        # Parsed once: every check of a step reads the same sessions.
        return tuple(parse_log(self.log_bytes or b""))

    def lines(self) -> list[LogLine]:
        return list(self._lines)

    def events(self) -> list[LogLine]:
        """The lines that are canonical events (known kind, ``data`` object)."""
        return [line for line in self._lines if line.problem is None]


def read_json(path: Path) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why)`` when ``path`` is missing or not JSON."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, "missing"
    except OSError as error:
        return None, f"unreadable ({error})"
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as error:
        return None, f"not UTF-8 JSON ({error})"


def read_index(home: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The index as a dict, or ``(None, why)`` when it is missing or not a JSON object."""
    value, problem = read_json(home / INDEX)
    if problem is not None:
        return None, problem
    if not isinstance(value, dict):
        return None, f"a JSON {type(value).__name__}, not an object"
    return value, None


def _read_session(directory: Path) -> StoredSession:
    value, problem = read_json(directory / STATE)
    state: Mapping[str, Any] | None = None
    if problem is None and not isinstance(value, dict):
        problem = f"a JSON {type(value).__name__}, not an object"
    elif problem is None:
        state = value
    try:
        log_bytes: bytes | None = (directory / LOG).read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        log_bytes = None
    return StoredSession(directory, state, problem, log_bytes)


def sessions_of(harness: Harness, home: Path) -> list[StoredSession]:
    """:func:`find_sessions`, read once for every check of a step
    (:meth:`Harness.per_step`); a new list each call, of the same sessions."""
    return list(harness.per_step((find_sessions, home), lambda: find_sessions(home)))


def find_sessions(home: Path) -> list[StoredSession]:
    """Every directory under ``home`` holding a ``state.json`` or a ``canonical.jsonl``."""
    found: list[StoredSession] = []
    if not home.is_dir():
        return found
    for directory, _dirs, files in sorted(os.walk(home)):
        if STATE in files or LOG in files:
            found.append(_read_session(Path(directory)))
    return found


def sessions_by_key(sessions: list[StoredSession]) -> dict[str, list[StoredSession]]:
    """The sessions of each backend session key (by their ``state.json``)."""
    out: dict[str, list[StoredSession]] = {}
    for session in sessions:
        if session.key is not None:
            out.setdefault(session.key, []).append(session)
    return out


def files_under(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` (none if it does not exist)."""
    if not root.is_dir():
        return
    for directory, _dirs, files in os.walk(root):
        for name in files:
            yield Path(directory) / name
