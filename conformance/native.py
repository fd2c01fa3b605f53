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
  of the cwd's base name, ``-1``, ``-2`` on collisions. A path computed from a hash of
  the cwd does not exist (only releases before 0.30, which had no registry, named the
  directory so; :func:`locate` falls back to it when no registry names the cwd).

The same rules name the files the fakes write (:func:`codex_rollout_path`,
:func:`claude_transcript_path`, :func:`gemini_chat_path` and
:func:`gemini_register_project`), so a rule has one definition here, held against the
real CLIs by ``tests/fidelity``.

Reading (:func:`read`) gives a small typed view of a file: the line kinds in order,
turns started and completed, the last answer. It tolerates what real files do:
unknown line types, missing keys, a torn last line, the older Gemini format.
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
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
    "claude_transcript_path",
    "codex_rollout_path",
    "codex_rollouts",
    "gemini_chat_path",
    "gemini_project_hash",
    "gemini_project_name",
    "gemini_register_project",
    "gemini_slug",
    "line_kind",
    "locate",
    "read",
    "settings_files",
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


def codex_rollout_path(codex_home: Path, started_at: float, session_id: str) -> Path:
    """Where Codex writes the rollout of a session created at ``started_at`` (a Unix
    time): the date directories and the name's time are the process's *local* time."""
    local = _dt.datetime.fromtimestamp(started_at)
    day = codex_home / "sessions" / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
    return day / f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{session_id}.jsonl"


def claude_transcript_path(home: Path, cwd: str | Path, session_id: str) -> Path:
    """Where Claude Code writes the transcript of ``session_id`` run in ``cwd``."""
    return home / ".claude" / "projects" / claude_project_dir(cwd) / f"{session_id}.jsonl"


def gemini_chat_path(home: Path, project: str, started_at: float, session_id: str, *,
                     document: bool = False) -> Path:
    """Where Gemini CLI writes a chat started at ``started_at`` in the project whose
    short name is ``project``: the name's minute is UTC whatever the time zone;
    ``document`` for the older one-JSON-document format (``.json``)."""
    moment = _dt.datetime.fromtimestamp(started_at, tz=_dt.timezone.utc)
    suffix = ".json" if document else ".jsonl"
    name = f"session-{moment:%Y-%m-%dT%H-%M}-{session_id[:8]}{suffix}"
    return home / ".gemini" / "tmp" / project / "chats" / name


def gemini_project_hash(cwd: str | Path) -> str:
    """The ``projectHash`` of a Gemini chat (sha256 of the cwd), which also named the
    chat directory before Gemini CLI had a project registry."""
    return hashlib.sha256(str(cwd).encode()).hexdigest()


def gemini_register_project(home: Path, cwd: str | Path) -> str:
    """Register ``cwd`` in ``~/.gemini/projects.json`` the way Gemini CLI does, and
    return its short name: the one already registered, else :func:`gemini_slug` with
    ``-1``, ``-2``... while another project owns the name (in the registry, or by the
    ``.project_root`` marker of ``tmp/<name>/`` or ``history/<name>/``)."""
    gemini = home / ".gemini"
    registry_path = gemini / "projects.json"
    try:
        registry = json.loads(registry_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        registry = {}
    projects = registry.get("projects") if isinstance(registry, dict) else None
    if not isinstance(projects, dict):
        projects = {}
    key = str(cwd)
    known = projects.get(key)
    if isinstance(known, str) and known:
        return known
    taken = {v for k, v in projects.items() if k != key}
    base = gemini_slug(cwd)
    counter = 0
    while True:
        name = base if counter == 0 else f"{base}-{counter}"
        owners = {_marker_owner(gemini / top / name) for top in ("tmp", "history")}
        if name not in taken and owners <= {None, key}:
            break
        counter += 1
    projects[key] = name
    gemini.mkdir(parents=True, exist_ok=True)
    registry_path.write_text(json.dumps({"projects": projects}, indent=2, ensure_ascii=False),
                             encoding="utf-8")
    for top in ("tmp", "history"):
        marker = gemini / top / name / ".project_root"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(key, encoding="utf-8")
    return name


def _marker_owner(directory: Path) -> str | None:
    try:
        return (directory / ".project_root").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def codex_rollouts(codex_home: Path, session_id: str) -> list[Path]:
    """Every rollout of ``session_id`` under ``sessions/`` (any date directory), oldest
    name first."""
    sessions = codex_home / "sessions"
    if not sessions.is_dir():
        return []
    return sorted(sessions.glob(f"*/*/*/rollout-*-{session_id}.jsonl"))


def settings_files(kind: Backend | str, home: Path) -> tuple[Path, ...]:
    """The CLI's own configuration files in its ``home``: where an orchestrator that
    launches it configures its hooks and model (Codex's ``config.toml``, Claude Code's
    ``.claude/settings.json``, Gemini CLI's ``.gemini/settings.json``). Writing them
    is how the CLI is run, not an artifact of the orchestrator's."""
    backend = Backend(getattr(kind, "value", kind))
    if backend is Backend.CODEX:
        return (home / "config.toml",)
    if backend is Backend.CLAUDE:
        return (home / ".claude" / "settings.json",)
    return (home / ".gemini" / "settings.json",)


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
    # Gemini CLI 0.30 and later: the short name of the registry; before it had one,
    # the sha256 of the cwd named the directory.
    name = gemini_project_name(home, cwd) or gemini_project_hash(cwd)
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
    #: The kind of each line, in order (see :func:`line_kind`); a line that is not a
    #: JSON object is ``"?"``. The older Gemini format is one ``"document"`` followed by
    #: the kinds of its messages.
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


def line_kind(kind: Backend | str, record: object) -> str:
    """The kind of one record, as the fidelity fixtures name them.

    Codex: ``type``, or ``type/payload.type`` for ``event_msg`` and ``response_item``,
    with ``(role)`` for messages and ``(item.type)`` for ``item_completed``
    (``event_msg/item_completed(UserMessage)``). Claude Code: ``type``, with the
    attachment's type, the queue operation or the system subtype
    (``attachment/skill_listing``). Gemini CLI: ``metadata`` for the session record,
    ``$set{<keys>}``, or the message ``type``.
    """
    backend = Backend(getattr(kind, "value", kind))
    if not isinstance(record, Mapping):
        return "?"
    kind_ = record.get("type")
    if backend is Backend.CODEX:
        payload = record.get("payload")
        inner = _get(payload, "type")
        if kind_ in ("event_msg", "response_item") and isinstance(inner, str):
            name = f"{kind_}/{inner}"
            role, item = _get(payload, "role"), _get(payload, "item", "type")
            if inner == "message" and isinstance(role, str):
                name += f"({role})"
            if isinstance(item, str):
                name += f"({item})"
            return name
        return str(kind_) if kind_ else "?"
    if backend is Backend.CLAUDE:
        detail = {"attachment": _get(record, "attachment", "type"),
                  "queue-operation": record.get("operation"),
                  "system": record.get("subtype")}.get(str(kind_))
        if isinstance(detail, str):
            return f"{kind_}/{detail}"
        return str(kind_) if kind_ else "?"
    update = record.get("$set")
    if isinstance(update, Mapping):
        return "$set{" + ",".join(str(k) for k in update) + "}"
    if "sessionId" in record and "type" not in record:
        return "metadata"
    return str(kind_) if kind_ else "?"


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
            continue
        if number == len(lines) - 1:
            torn = False  # a complete last record whose newline is still to come
    return records, torn


_Summary = tuple[str | None, int, int, str | None]


def _codex(records: Iterable[object]) -> _Summary:
    session_id, started, completed, answer = None, 0, 0, None
    for record in records:
        kind = _get(record, "type")
        inner = _get(record, "payload", "type")
        if kind == "session_meta":
            found = _get(record, "payload", "id") or _get(record, "payload", "session_id")
            session_id = session_id or (found if isinstance(found, str) else None)
        elif kind == "event_msg" and inner == "task_started":
            started += 1
        elif kind == "event_msg" and inner == "task_complete":
            completed += 1
            last = _get(record, "payload", "last_agent_message")
            answer = last if isinstance(last, str) else ""
    return session_id, started, completed, answer


_FINAL_STOPS = frozenset({"end_turn", "stop_sequence", "max_tokens"})


def _is_tool_result(record: object) -> bool:
    content = _get(record, "message", "content")
    return isinstance(content, list) and any(_get(c, "type") == "tool_result" for c in content)


def _claude(records: Iterable[object]) -> _Summary:
    session_id, started, completed, answer = None, 0, 0, None
    current: list[str] = []
    for record in records:
        kind = _get(record, "type")
        found = _get(record, "sessionId")
        session_id = session_id or (found if isinstance(found, str) else None)
        if kind == "user" and not _is_tool_result(record):
            started += 1
            current = []
        elif kind == "assistant":
            # One entry per content block; the turn is over with the block whose
            # message stopped for good (not to run a tool).
            text = _texts(_get(record, "message", "content"))
            if text:
                current.append(text)
            if _get(record, "message", "stop_reason") in _FINAL_STOPS and started > completed:
                completed += 1
                answer = "".join(current)
    return session_id, started, completed, answer


def _gemini(records: Iterable[object]) -> _Summary:
    session_id, started, completed, answer = None, 0, 0, None
    for record in records:
        if not isinstance(record, Mapping) or "$set" in record:
            continue
        if "sessionId" in record and "type" not in record:
            found = record.get("sessionId")
            session_id = session_id or (found if isinstance(found, str) else None)
            continue
        kind = record.get("type")
        if kind == "user":
            started += 1
        elif kind == "gemini":
            completed += 1
            answer = _texts(record.get("content"))
    return session_id, started, completed, answer


def read(kind: Backend | str, path: Path) -> NativeView:
    """The view of one native session file (an empty one if it cannot be read)."""
    backend = Backend(getattr(kind, "value", kind))
    if path.suffix == ".json":
        records, torn, kinds, session_id = _document(path)
    else:
        records, torn = _records(path)
        kinds = [line_kind(backend, record) for record in records]
        session_id = None
    reader = {Backend.CODEX: _codex, Backend.CLAUDE: _claude, Backend.GEMINI: _gemini}[backend]
    found, started, completed, answer = reader(records)
    if backend is Backend.CLAUDE and found is None and records:
        found = path.stem  # every Claude line's sessionId is the file's stem
    return NativeView(backend, path, session_id or found, tuple(kinds), started, completed,
                      answer, torn)


def _document(path: Path) -> tuple[list[object], bool, list[str], str | None]:
    """The older Gemini format: one JSON document whose ``messages`` are the records
    (a torn document, mid-rewrite, reads as nothing yet)."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return [], True, [], None
    if not isinstance(document, Mapping):
        return [], False, ["?"], None
    messages = document.get("messages")
    records = list(messages) if isinstance(messages, list) else []
    found = document.get("sessionId")
    kinds = ["document", *(line_kind(Backend.GEMINI, r) for r in records)]
    return records, False, kinds, found if isinstance(found, str) else None
