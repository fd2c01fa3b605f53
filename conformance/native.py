"""The agents' native session files: where the real CLIs put them, and what they say.

One place for the rules that Codex CLI, Claude Code and Gemini CLI follow (measured
on the real CLIs, ``../shared/REAL_BACKENDS.md`` and ``tests/fidelity/fixtures``), for
every orchestrator that must find a session's file on disk and read it: the fake
backends write where these functions say, the reference orchestrator finds its
transcripts with them, and the fidelity test holds them against the real CLIs.

Finding (:func:`locate`), from the backend's home (``CODEX_HOME`` for Codex, ``HOME``
for the others), the session's working directory and its native session id:

* Codex: ``sessions/YYYY/MM/DD/rollout-<local time>-<id>.jsonl``, the date and time
  of the process's *local* time zone. A reader globs ``rollout-*-<id>.jsonl`` over
  every date directory (a date computed in UTC, or from the wrong moment, misses it).
* Claude Code: ``.claude/projects/<dir>/<id>.jsonl``, ``<dir>`` being the cwd with every
  character that is not an ASCII letter or digit replaced by ``-``
  (:func:`claude_project_dir`; names longer than 200 characters are cut and get a hash).
* Gemini CLI: ``.gemini/tmp/<short name>/chats/session-<UTC minute>-<id[:8]>.jsonl``
  (``.json`` for the older one-document format), the short name being the one
  ``.gemini/projects.json`` registers for the cwd (:func:`gemini_project_name`): a slug
  of the cwd's base name, ``-1``, ``-2`` on collisions. Never a hash of the cwd.

Reading (:func:`read`) gives a small typed view of a file: the line kinds in order,
turns started and completed, the last answer. It tolerates what real files do:
unknown line types, missing keys, a torn last line, the older Gemini format.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Backend",
    "NativeView",
    "claude_project_dir",
    "codex_rollouts",
    "gemini_project_name",
    "gemini_slug",
    "locate",
    "read",
]


class Backend(str, enum.Enum):
    """The CLIs whose files this module knows (the values of ``BackendKind``)."""

    CODEX = "codex"
    CLAUDE = "claude"
    GEMINI = "gemini"


# -- where --------------------------------------------------------------------------------

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
#: Claude Code cuts a project directory name past this many characters.
CLAUDE_DIR_LIMIT = 200


def _java_hash(text: str) -> int:
    """The 32-bit ``String.hashCode`` of ``text`` (UTF-16 code units), as signed."""
    value = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        value = (31 * value + int(unit, 16)) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    number = abs(number)
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def claude_project_dir(cwd: str | Path) -> str:
    """Claude Code's project directory name for ``cwd``: every character that is not an
    ASCII letter or digit becomes ``-`` (``/a/b_c/x.y`` -> ``-a-b-c-x-y``); a name
    longer than 200 characters keeps its first 200 and gets ``-`` and a hash of the
    cwd. Different cwds can share one name (``x/a_b`` and ``x/a.b``)."""
    name = _NOT_ALNUM.sub("-", str(cwd))
    if len(name) <= CLAUDE_DIR_LIMIT:
        return name
    return f"{name[:CLAUDE_DIR_LIMIT]}-{_base36(_java_hash(str(cwd)))}"


def gemini_slug(cwd: str | Path) -> str:
    """The short name Gemini CLI proposes for a project: the cwd's base name, lower
    case, each run of characters outside ``[a-z0-9]`` one ``-``, no ``-`` at the ends."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(str(cwd)).name.lower()).strip("-")
    return slug or "project"


def gemini_project_name(home: Path, cwd: str | Path) -> str | None:
    """The short name ``~/.gemini/projects.json`` registers for ``cwd`` (``None`` if it
    registers none, or cannot be read)."""
    try:
        registry = json.loads((home / ".gemini" / "projects.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    projects = registry.get("projects") if isinstance(registry, dict) else None
    if not isinstance(projects, dict):
        return None
    name = projects.get(str(cwd))
    return name if isinstance(name, str) and name else None


def codex_rollouts(codex_home: Path, session_id: str) -> list[Path]:
    """Every rollout of ``session_id`` under ``sessions/`` (any date directory), oldest
    name first."""
    sessions = codex_home / "sessions"
    if not sessions.is_dir():
        return []
    return sorted(sessions.glob(f"*/*/*/rollout-*-{session_id}.jsonl"))


def locate(kind: Backend | str, home: Path, cwd: str | Path, session_id: str) -> Path | None:
    """The native session file of ``session_id``, found the way the real CLI names it;
    ``None`` when it does not exist (yet). See the module docstring."""
    backend = Backend(getattr(kind, "value", kind))
    if backend is Backend.CODEX:
        found = codex_rollouts(home, session_id)
        return found[0] if found else None
    if backend is Backend.CLAUDE:
        path = home / ".claude" / "projects" / claude_project_dir(cwd) / f"{session_id}.jsonl"
        return path if path.is_file() else None
    name = gemini_project_name(home, cwd)
    if name is None:
        return None
    chats = home / ".gemini" / "tmp" / name / "chats"
    candidates = sorted(chats.glob(f"session-*-{session_id[:8]}.json*")) if chats.is_dir() else []
    # A resume in a later minute starts a second, nearly empty file for the same session;
    # the conversation goes on in the first one, whose metadata names the session.
    for path in candidates:
        if _gemini_session_id(path) == session_id:
            return path
    return None


def _gemini_session_id(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            first = handle.readline() if path.suffix == ".jsonl" else handle.read()
        value = json.loads(first)
    except (OSError, ValueError):
        return None
    found = value.get("sessionId") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


# -- what ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NativeView:
    """What a native session file says, as far as an orchestrator needs it."""

    kind: Backend
    path: Path
    #: The native session id the file names (``None`` if it names none yet).
    session_id: str | None
    #: The kind of each line, in order (``event_msg/task_started``, ``user``,
    #: ``$set``...); a line that is not JSON is ``"?"``.
    line_kinds: tuple[str, ...]
    turns_started: int
    turns_completed: int
    #: The final answer of the last completed turn (``""`` for an empty one).
    last_answer: str | None
    #: Whether the last line is torn (no newline, not JSON): a write in progress.
    torn: bool = False

    @property
    def lines(self) -> int:
        return len(self.line_kinds)


def _get(value: object, *path: str) -> Any:
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _texts(content: object) -> str:
    """The text of a message's content: a string, or a list of parts with ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(_get(part, "text") or "") for part in content
                       if isinstance(part, Mapping))
    return ""


def _records(path: Path) -> tuple[list[object], bool]:
    """The JSON records of a JSON Lines file, and whether its last line is torn."""
    try:
        data = path.read_bytes()
    except OSError:
        return [], False
    records: list[object] = []
    lines = data.split(b"\n")
    torn = bool(lines and lines[-1].strip())
    for number, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except ValueError:
            if number != len(lines) - 1:
                records.append(None)  # a bad line in the middle: kept as unknown
    return records, torn


def _codex(path: Path, records: Iterable[object]) -> tuple[list[str], str | None, int, int,
                                                          str | None]:
    kinds, session_id, started, completed, answer = [], None, 0, 0, None
    for record in records:
        kind = _get(record, "type")
        inner = _get(record, "payload", "type")
        kinds.append(f"{kind}/{inner}" if kind in ("event_msg", "response_item") and inner
                     else str(kind) if kind else "?")
        if kind == "session_meta":
            found = _get(record, "payload", "id") or _get(record, "payload", "session_id")
            session_id = session_id or (found if isinstance(found, str) else None)
        elif kind == "event_msg" and inner == "task_started":
            started += 1
        elif kind == "event_msg" and inner == "task_complete":
            completed += 1
            last = _get(record, "payload", "last_agent_message")
            answer = last if isinstance(last, str) else ""
    return kinds, session_id, started, completed, answer


def _claude(path: Path, records: Iterable[object]) -> tuple[list[str], str | None, int, int,
                                                           str | None]:
    kinds, session_id, started, completed, answer = [], None, 0, 0, None
    current: list[str] = []
    for record in records:
        kind = _get(record, "type")
        kinds.append(str(kind) if kind else "?")
        found = _get(record, "sessionId")
        session_id = session_id or (found if isinstance(found, str) else None)
        if kind == "user" and not _is_tool_result(record):
            started += 1
            current = []
        elif kind == "assistant":
            # One entry per content block; the turn is over with a block whose message
            # stopped for good (not to run a tool).
            text = _texts(_get(record, "message", "content"))
            if text:
                current.append(text)
            if _get(record, "message", "stop_reason") in _FINAL_STOPS and started > completed:
                completed += 1
                answer = "".join(current)
    return kinds, session_id or path.stem, started, completed, answer


_FINAL_STOPS = frozenset({"end_turn", "stop_sequence", "max_tokens"})


def _is_tool_result(record: object) -> bool:
    content = _get(record, "message", "content")
    return isinstance(content, list) and any(_get(c, "type") == "tool_result" for c in content)


def _gemini(path: Path, records: list[object]) -> tuple[list[str], str | None, int, int,
                                                       str | None]:
    if path.suffix == ".json" and len(records) == 1 and isinstance(records[0], Mapping):
        document = records[0]
        messages = document.get("messages")
        records = list(messages) if isinstance(messages, list) else []
        session_id = document.get("sessionId")
        kinds = ["document"]
    else:
        session_id, kinds = None, []
    started, completed, answer = 0, 0, None
    for record in records:
        if not isinstance(record, Mapping):
            kinds.append("?")
            continue
        if "$set" in record:
            kinds.append("$set")
            continue
        if "sessionId" in record and "type" not in record:
            kinds.append("metadata")
            found = record.get("sessionId")
            session_id = session_id or (found if isinstance(found, str) else None)
            continue
        kind = record.get("type")
        kinds.append(str(kind) if kind else "?")
        if kind == "user":
            started += 1
        elif kind == "gemini":
            completed += 1
            answer = _texts(record.get("content"))
    return kinds, session_id if isinstance(session_id, str) else None, started, completed, answer


def read(kind: Backend | str, path: Path) -> NativeView:
    """The view of one native session file (an empty one if it cannot be read)."""
    backend = Backend(getattr(kind, "value", kind))
    records, torn = _records(path) if path.suffix == ".jsonl" else _document(path)
    reader = {Backend.CODEX: _codex, Backend.CLAUDE: _claude, Backend.GEMINI: _gemini}[backend]
    kinds, session_id, started, completed, answer = reader(path, records)
    return NativeView(backend, path, session_id, tuple(kinds), started, completed, answer, torn)


def _document(path: Path) -> tuple[list[object], bool]:
    """The older Gemini format: one JSON document (a torn one reads as nothing yet)."""
    try:
        return [json.loads(path.read_bytes())], False
    except (OSError, ValueError):
        return [], True
