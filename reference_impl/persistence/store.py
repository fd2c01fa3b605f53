"""One persisted session: its directory, its three logs, its rollout, its fallback.

A :class:`SessionStore` never raises into the orchestrator for a file-system
problem. If the session directory cannot be created or a write into it fails
(permission denied, disk full, a file where the directory should be), it switches
to the fallback locations of :mod:`.layout` for the rest of the session, warns once,
and retries the write there; if that fails too, the line is counted as dropped. The
agent's session is never affected: the rollout is the backend's file and stays
readable at its legacy path whatever happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reference_impl.isolation.jsonl import append_jsonl, append_line, iso_utc
from reference_impl.persistence.layout import (
    META_LOG,
    RAW_LOG,
    SESSION_LOG,
    PersistenceConfig,
    debug_log_path,
    fallback_path,
    safe_session_id,
    session_dir,
)
from reference_impl.persistence.rollout import adopt_rollout

log = logging.getLogger(__name__)


class SessionStore:
    """See the module docstring."""

    def __init__(
        self, agent_home: Path, session_id: str, config: PersistenceConfig,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.agent_home = agent_home
        self.session_id = session_id
        self.config = config
        self.directory = session_dir(agent_home, session_id)
        self.fallback = False
        self.warnings: list[str] = []
        self.dropped = 0
        self.rollout: Path | None = None
        self._warn = warn or log.warning

    # -- set-up ----------------------------------------------------------------

    def open(self) -> bool:
        """Create the session directory; on failure fall back. True if it is usable."""
        if self.fallback:
            return False
        if not safe_session_id(self.session_id):
            self._fall_back(f"session id {self.session_id!r} cannot name a directory")
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self._fall_back(f"cannot create {self.directory}: {error}")
            return False
        return True

    # -- writing ---------------------------------------------------------------

    def path(self, name: str) -> Path:
        """Where ``name`` (one of the three logs) is written now."""
        if self.fallback:
            return fallback_path(self.agent_home, self.session_id, name)
        if name == SESSION_LOG:
            return debug_log_path(self.directory, self.config.debug_log)
        return self.directory / name

    def debug(self, time: float, message: str, level: str = "INFO") -> None:
        """A line of the session's debug log."""
        self._append(SESSION_LOG, lambda p: append_line(
            p, f"{iso_utc(time)} {level} session {self.session_id}: {message}"))

    def raw_exchange(self, record: Mapping[str, Any]) -> None:
        """A redacted model exchange (the caller redacts)."""
        self._append(RAW_LOG, lambda p: append_jsonl(p, record))

    def meta(self, record: Mapping[str, Any]) -> None:
        """An approval or cancellation event."""
        self._append(META_LOG, lambda p: append_jsonl(p, record))

    def adopt(self, legacy: Path) -> Path | None:
        """Move the rollout into the session directory and link it back (best effort)."""
        if self.fallback or not self.directory.is_dir():
            return None
        try:
            self.rollout = adopt_rollout(legacy, self.directory)
        except OSError as error:
            self._warn_once(f"rollout {legacy} stays where it is: {error}")
            return None
        return self.rollout

    # -- internals -------------------------------------------------------------

    def _append(self, name: str, write: Callable[[Path], None]) -> None:
        try:
            write(self.path(name))
            return
        except OSError as error:
            if self.fallback:
                self.dropped += 1
                return
            self._fall_back(f"cannot write {self.path(name)}: {error}")
        try:
            write(self.path(name))
        except OSError:
            self.dropped += 1

    def _fall_back(self, why: str) -> None:
        self.fallback = True
        self._warn_once(f"session {self.session_id}: {why}; falling back to "
                        f"{self.agent_home / 'log'} (the session goes on)")

    def _warn_once(self, message: str) -> None:
        self.warnings.append(message)
        if len(self.warnings) == 1:
            self._warn(message)
