"""Where a persisted session's files go, and where they go when that fails (seed 001).

With persistence on, everything about one session lives in one directory of the
agent's home, ``sessions/<session_id>/``:

* the rollout (native session file), moved there and linked back (:mod:`.rollout`);
* ``session.log``: the orchestrator's debug log for the session; a relative
  ``debug_log`` setting resolves inside the directory, an absolute one is used as is;
* ``session_oai_raw.log``: raw model request and response bodies, redacted;
* ``session_meta.log``: approval and cancellation events.

Fallback (the directory cannot be created or written): the logs go to the agent's
existing log directory, ``log/<name>-<session_id><suffix>``, and the rollout stays
where the backend wrote it, so no line is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conformance.contract import Settings

SESSIONS_DIR = "sessions"
SESSION_LOG = "session.log"
RAW_LOG = "session_oai_raw.log"
META_LOG = "session_meta.log"
#: The agent's default log directory (``$CODEX_HOME/log``): the fallback location.
LOG_DIR = "log"

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class PersistenceConfig:
    """The persistence setting of the orchestrator's API (``--persist-session``)."""

    enabled: bool = False
    #: The debug log: relative paths resolve inside the session directory.
    debug_log: str = SESSION_LOG

    @classmethod
    def from_settings(cls, settings: Settings, debug_log: str | None = None) -> PersistenceConfig:
        return cls(enabled=settings.persist_session, debug_log=debug_log or SESSION_LOG)


def safe_session_id(session_id: str) -> bool:
    """Whether a backend's session id can name a directory (no separators, no '..')."""
    return bool(_SAFE_ID.fullmatch(session_id)) and ".." not in session_id


def session_dir(agent_home: Path, session_id: str) -> Path:
    return agent_home / SESSIONS_DIR / session_id


def debug_log_path(directory: Path, debug_log: str) -> Path:
    """``debug_log`` resolved against the session directory when relative."""
    path = Path(debug_log).expanduser()
    return path if path.is_absolute() else directory / path


def fallback_path(agent_home: Path, session_id: str, name: str) -> Path:
    """Where ``name`` goes when the session directory is unusable."""
    stem, dot, suffix = name.partition(".")
    return agent_home / LOG_DIR / f"{stem}-{session_id}{dot}{suffix}"
