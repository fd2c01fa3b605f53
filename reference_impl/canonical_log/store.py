"""``CanonicalLog``: the best-effort facade an ACP bridge calls while serving an agent.

The canonical log is a by-product of the agent's work, never a precondition of it.
So every ``open_session`` / ``log_*`` call catches what can go wrong with logging (an
unwritable or missing directory, a full disk, ``OSError`` from any system call, a
corrupt index or state file, an invalid name or ``ACP_HOME``, an ACP dict that does not
validate) and, instead of raising, appends a :class:`LogFailure` to
:attr:`CanonicalLog.failures` and emits one :class:`LoggingFailureWarning` per kind of
failure (operation + exception type). The agent's result is unaffected.

Where the line is drawn: an argument of the wrong *Python type* (a gid that is not a
``str``, a prompt that is an ``int``, a notification that is neither an ACP model nor a
dict) is a programming error in the caller and raises :class:`TypeError` at once, so it
is found in development rather than silently dropped. Everything else is recorded.

``open_session`` always returns a global id. If the session could not be persisted,
the id is provisional: the next ``log_*`` call for it retries persisting the session
(index entry, then ``state.json``) and, once that succeeds, logs under the id the index
assigned, so a transient failure (a full disk that was cleaned up) loses only the
events logged while it lasted.

Configuration: ``acp_home`` (else ``ACP_HOME``, else ``~/.acp``), ``max_text_chars``
(else ``ACP_LOG_MAX_TEXT_CHARS``, default 16384), ``embedded_context`` (else
``ACP_LOG_EMBEDDED_CONTEXT=1``), ``fsync`` (else off only when ``ACP_LOG_FSYNC=0``;
default on). ``fsync`` applies to every file of the store (index, state, logs): on,
whatever a call reported done survives a power loss; off, it survives a kill -9 of
the process but not an OS crash (see :mod:`reference_impl.canonical_log.log`).
``env`` replaces ``os.environ`` for all of them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from reference_impl.canonical_log._fsutil import utc_now_iso
from reference_impl.canonical_log.errors import (
    CorruptStateError,
    InvalidNameError,
    LoggingFailureWarning,
)
from reference_impl.canonical_log.events import (
    CanonicalEvent,
    EventKind,
    SummaryPolicy,
    permission_request_data,
    permission_response_data,
    prompt_data,
    submit_data,
    update_event,
)
from reference_impl.canonical_log.index import IndexStore
from reference_impl.canonical_log.layout import (
    Layout,
    is_gid,
    parse_session_key,
    resolve_acp_home,
    session_key,
    validate_gid,
)
from reference_impl.canonical_log.log import LogWriter, ReadResult, read_events
from reference_impl.canonical_log.state import SessionState, create_state, read_state

ENV_FSYNC = "ACP_LOG_FSYNC"

#: At most this many failure records are kept (the oldest are dropped first).
MAX_FAILURE_RECORDS = 1000

_Built = tuple[EventKind, dict[str, Any]] | None


@dataclass(frozen=True)
class LogFailure:
    """One logging failure that was caught instead of raised."""

    operation: str
    error: BaseException
    time: str
    gid: str | None = None

    @property
    def kind(self) -> str:
        """What is warned about once: ``<operation>:<exception type>``."""
        return f"{self.operation}:{type(self.error).__name__}"


@dataclass(frozen=True)
class SessionSummary:
    """One session as listed by :func:`list_sessions`.

    ``created``/``cwd`` are None when ``state.json`` is missing or corrupt (then
    ``state_error`` says why); ``backend``/``backend_session_id`` then come from the
    index, or are None if the index does not know the gid either.
    """

    gid: str
    backend: str | None
    backend_session_id: str | None
    cwd: str | None
    created: str | None
    event_count: int
    skipped_lines: int
    state_error: str | None = None

    @property
    def key(self) -> str | None:
        if self.backend is None or self.backend_session_id is None:
            return None
        return f"{self.backend}:{self.backend_session_id}"


def list_sessions(layout: Layout) -> list[SessionSummary]:
    """Every session of the store (state snapshots and index entries), oldest first.

    Read-only: a corrupt index is not repaired here (see ``IndexStore.snapshot``).
    Raises ``OSError`` if the store cannot be read at all.
    """
    mapping = IndexStore(layout).snapshot()
    by_gid = {gid: key for key, gid in mapping.items()}
    gids = set(by_gid)
    with contextlib.suppress(FileNotFoundError):
        gids.update(name for name in os.listdir(layout.sessions_dir) if is_gid(name))
    out: list[SessionSummary] = []
    for gid in gids:
        backend: str | None = None
        session_id: str | None = None
        cwd: str | None = None
        created: str | None = None
        state_error: str | None = None
        try:
            state = read_state(layout, gid)
            backend, session_id = state.backend, state.backend_session_id
            cwd, created = state.cwd, state.created
        except FileNotFoundError:
            state_error = "state.json is missing"
        except (CorruptStateError, OSError) as exc:
            state_error = str(exc)
        if backend is None and gid in by_gid:
            backend, session_id = parse_session_key(by_gid[gid])
        try:
            result = read_events(layout.log_path(gid))
        except FileNotFoundError:
            result = ReadResult()
        out.append(
            SessionSummary(
                gid=gid,
                backend=backend,
                backend_session_id=session_id,
                cwd=cwd,
                created=created,
                event_count=len(result.events),
                skipped_lines=len(result.skipped),
                state_error=state_error,
            )
        )
    out.sort(key=lambda s: (s.created is None, s.created or "", s.gid))
    return out


def resolve_session(layout: Layout, gid_or_key: str) -> str | None:
    """The gid named by a gid, a ``<backend>:<id>`` key, or a unique gid prefix (>= 4)."""
    mapping = IndexStore(layout).snapshot()
    if is_gid(gid_or_key):
        known = gid_or_key in mapping.values() or layout.session_dir(gid_or_key).is_dir()
        return gid_or_key if known else None
    if ":" in gid_or_key:
        return mapping.get(gid_or_key)
    prefix = gid_or_key.lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        return None
    candidates = set(mapping.values())
    with contextlib.suppress(FileNotFoundError):
        candidates.update(n for n in os.listdir(layout.sessions_dir) if is_gid(n))
    matches = [g for g in candidates if g.startswith(prefix)]
    return matches[0] if len(matches) == 1 else None


class CanonicalLog:
    """Best-effort writer and reader of the canonical store (see the module docstring)."""

    #: The writer of one ``canonical.jsonl`` (seam: known-bads swap in a broken one).
    writer_type: type[LogWriter] = LogWriter

    def __init__(
        self,
        acp_home: str | os.PathLike[str] | None = None,
        *,
        max_text_chars: int | None = None,
        embedded_context: bool | None = None,
        env: Mapping[str, str] | None = None,
        fsync: bool | None = None,
    ) -> None:
        environ: Mapping[str, str] = os.environ if env is None else env
        self.failures: list[LogFailure] = []
        #: Total failures ever recorded (``failures`` keeps only the latest ones).
        self.failure_count = 0
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._writers: dict[str, LogWriter] = {}
        self._pending: dict[str, tuple[str, str, str]] = {}  # provisional gid -> session
        self._alias: dict[str, str] = {}  # provisional gid -> persisted gid
        self.policy = SummaryPolicy.from_config(max_text_chars, embedded_context, environ)
        if fsync is not None and not isinstance(fsync, bool):
            raise TypeError(f"fsync must be a bool or None, got {type(fsync).__name__}")
        self.fsync = fsync if fsync is not None else environ.get(ENV_FSYNC) != "0"
        self.layout: Layout | None = None
        try:
            self.layout = Layout(resolve_acp_home(acp_home, environ))
        except Exception as exc:  # invalid ACP_HOME, no home directory...
            self._record("init", exc)
        self._index = IndexStore(self.layout, fsync=self.fsync) if self.layout is not None else None

    # -- failure bookkeeping ---------------------------------------------------------------

    def _record(self, operation: str, exc: BaseException, gid: str | None = None) -> None:
        failure = LogFailure(operation=operation, error=exc, time=utc_now_iso(), gid=gid)
        with self._lock:
            self.failures.append(failure)
            self.failure_count += 1
            if len(self.failures) > MAX_FAILURE_RECORDS:
                del self.failures[: len(self.failures) - MAX_FAILURE_RECORDS]
            first = failure.kind not in self._warned
            self._warned.add(failure.kind)
        if first:
            # A warnings filter set to "error" must not carry the failure into the agent.
            with contextlib.suppress(Exception):
                warnings.warn(
                    f"canonical log: {operation} failed ({type(exc).__name__}: {exc}); "
                    "recorded in CanonicalLog.failures, further failures of this kind "
                    "are not warned about",
                    LoggingFailureWarning,
                    stacklevel=4,
                )

    def _require_layout(self) -> tuple[Layout, IndexStore]:
        if self.layout is None or self._index is None:
            raise InvalidNameError("the canonical store has no usable ACP_HOME (see failures)")
        return self.layout, self._index

    # -- sessions --------------------------------------------------------------------------

    def _persist(self, backend: str, backend_session_id: str, cwd: str) -> str:
        layout, index = self._require_layout()
        gid, _ = index.get_or_create(session_key(backend, backend_session_id))
        state = SessionState.new(gid, backend, backend_session_id, cwd)
        create_state(layout, state, fsync=self.fsync)
        return gid

    def open_session(
        self, backend: str, backend_session_id: str, *, cwd: str | os.PathLike[str]
    ) -> str:
        """The global id of a backend session, creating its index entry and state.

        The same ``(backend, backend_session_id)`` always yields the same id, from any
        process or store object. Never raises for logging failures (see module doc).
        """
        for name, value in (("backend", backend), ("backend_session_id", backend_session_id)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if not isinstance(cwd, str | os.PathLike):
            raise TypeError(f"cwd must be a str or os.PathLike, got {type(cwd).__name__}")
        cwd_text = os.fspath(cwd)
        if not isinstance(cwd_text, str):
            raise TypeError("cwd must be a text path, not bytes")
        try:
            return self._persist(backend, backend_session_id, cwd_text)
        except Exception as exc:
            provisional = uuid.uuid4().hex
            self._record("open_session", exc, provisional)
            with self._lock:
                self._pending[provisional] = (backend, backend_session_id, cwd_text)
            return provisional

    def _target(self, gid: str) -> str:
        """The persisted gid to log ``gid``'s events under (retrying a failed open)."""
        with self._lock:
            if gid in self._alias:
                return self._alias[gid]
            pending = self._pending.get(gid)
        if pending is None:
            return validate_gid(gid)
        real = self._persist(*pending)
        with self._lock:
            self._alias[gid] = real
            self._pending.pop(gid, None)
        return real

    def _writer(self, gid: str) -> LogWriter:
        layout, _ = self._require_layout()
        with self._lock:
            writer = self._writers.get(gid)
            if writer is None:
                writer = self.writer_type(layout.log_path(gid), fsync=self.fsync)
                self._writers[gid] = writer
            return writer

    # -- logging ---------------------------------------------------------------------------

    def _log(self, operation: str, gid: str, build: Callable[[], _Built]) -> int | None:
        if not isinstance(gid, str):
            raise TypeError(f"gid must be a str, got {type(gid).__name__}")
        try:
            built = build()
        except TypeError:
            raise  # the caller passed the wrong kind of object: a programming error
        except Exception as exc:
            self._record(operation, exc, gid)
            return None
        if built is None:
            return None
        kind, data = built
        try:
            target = self._target(gid)
            return self._writer(target).append(kind, target, data)
        except Exception as exc:
            self._record(operation, exc, gid)
            return None

    def log_prompt(self, gid: str, blocks: object) -> int | None:
        """Log an ``acp.prompt``: a ``PromptRequest`` (or dict) or a list of content blocks.

        Returns the event's ``seq``, or None if it was not logged (see ``failures``).
        """
        return self._log(
            "log_prompt", gid, lambda: ("acp.prompt", prompt_data(blocks, self.policy))
        )

    def log_submit(self, gid: str, submission_id: str, op_kind: str) -> int | None:
        """Log a ``backend.codex.submit`` (submission id + coarse op kind)."""
        return self._log(
            "log_submit", gid, lambda: ("backend.codex.submit", submit_data(submission_id, op_kind))
        )

    def log_update(self, gid: str, notification: object) -> int | None:
        """Log a ``session/update`` (``SessionNotification``, its dict, or an update model).

        Updates outside the canonical kinds (user message chunks, usage, modes...) are
        ignored and return None without a failure.
        """
        return self._log("log_update", gid, lambda: update_event(notification, self.policy))

    def log_permission_request(self, gid: str, request: object) -> int | None:
        """Log an ``acp.request_permission`` (``RequestPermissionRequest`` or its dict)."""
        return self._log(
            "log_permission_request",
            gid,
            lambda: ("acp.request_permission", permission_request_data(request, self.policy)),
        )

    def log_permission_response(
        self, gid: str, response: object, *, tool_call_id: str | None = None
    ) -> int | None:
        """Log an ``acp.request_permission_response`` (``RequestPermissionResponse`` or dict)."""
        return self._log(
            "log_permission_response",
            gid,
            lambda: (
                "acp.request_permission_response",
                permission_response_data(response, tool_call_id),
            ),
        )

    # -- reading ---------------------------------------------------------------------------

    def sessions(self) -> list[SessionSummary]:
        """All sessions of the store; [] (and a recorded failure) if it cannot be read."""
        try:
            layout, _ = self._require_layout()
            return list_sessions(layout)
        except Exception as exc:
            self._record("sessions", exc)
            return []

    def read(self, gid: str) -> ReadResult:
        """Events and skipped lines of one session; empty if it has no log yet."""
        if not isinstance(gid, str):
            raise TypeError(f"gid must be a str, got {type(gid).__name__}")
        try:
            layout, _ = self._require_layout()
            with self._lock:
                target = self._alias.get(gid, gid)
            return read_events(layout.log_path(target))
        except FileNotFoundError:
            return ReadResult()
        except Exception as exc:
            self._record("read", exc, gid)
            return ReadResult()

    def events(self, gid: str) -> list[CanonicalEvent]:
        """The parsable events of one session, in file order."""
        return self.read(gid).events

    def resolve(self, gid_or_key: str) -> str | None:
        """The gid for a gid, ``<backend>:<id>`` key or unique gid prefix; else None."""
        try:
            layout, _ = self._require_layout()
            return resolve_session(layout, gid_or_key)
        except Exception as exc:
            self._record("resolve", exc)
            return None

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the log files this object keeps open."""
        with self._lock:
            writers = list(self._writers.values())
            self._writers.clear()
        for writer in writers:
            writer.close()

    def __enter__(self) -> CanonicalLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
