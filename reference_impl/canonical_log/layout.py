"""Where the canonical store lives on disk, and which names are allowed in it.

The store is a directory, ``ACP_HOME``::

    ACP_HOME/
      index.json                      backend session key -> global session id
      index.lock                      cross-process lock guarding index.json
      sessions/<gid>/state.json       metadata snapshot, written once
      sessions/<gid>/canonical.jsonl  append-only canonical events

Every path the store touches is derived here and nowhere else, so the layout can be
read in one place and no other module builds paths out of caller-supplied strings.

Names coming from outside (backend names, backend session ids, global ids) are
validated before use. Only the global id (``gid``) ever becomes a path component,
and it must be 32 lowercase hex digits; backend session ids are stored as data only,
but are still rejected when they contain path separators, NUL or other control
characters, are empty, or are overlong, because such ids are a sign of a confused
caller and would make the index and the CLI output ambiguous. Every rejection is a
:class:`InvalidNameError` whose message names the offending value and the rule.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reference_impl.canonical_log.errors import InvalidNameError

#: Backends whose sessions the store accepts, as they appear in session keys.
KNOWN_BACKENDS: tuple[str, ...] = ("codex", "claude", "gemini")

#: Longest accepted backend session id, in characters. Real ids are UUIDs (36).
MAX_BACKEND_SESSION_ID_CHARS = 256

#: Environment variable naming the store directory.
ACP_HOME_ENV = "ACP_HOME"

INDEX_FILE = "index.json"
INDEX_LOCK_FILE = "index.lock"
SESSIONS_DIR = "sessions"
STATE_FILE = "state.json"
LOG_FILE = "canonical.jsonl"

_GID_RE = re.compile(r"[0-9a-f]{32}")


# Path separators and every character of Unicode category Cc (C0, DEL, C1 controls).
_BAD_CHAR_RE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")


def _describe_bad_char(value: str) -> str | None:
    """Return why ``value`` contains a forbidden character, or None if it has none."""
    if _BAD_CHAR_RE.search(value) is None:  # the fast, common case (the index is big)
        return None
    for ch in value:
        if ch in ("/", "\\"):
            return f"must not contain path separators ('/' or '\\\\'), found {ch!r}"
        if ch == "\x00":
            return "must not contain NUL characters"
        if unicodedata.category(ch) == "Cc":
            return f"must not contain control characters, found {ch!r}"
    return None


def validate_backend(backend: object) -> str:
    """Return ``backend`` if it is one of :data:`KNOWN_BACKENDS`, else raise."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, got {type(backend).__name__}")
    if backend not in KNOWN_BACKENDS:
        raise InvalidNameError(
            f"backend {backend!r} is invalid: must be one of {', '.join(KNOWN_BACKENDS)}"
        )
    return backend


def validate_backend_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is a usable backend session id, else raise.

    Rules: a non-empty str of at most :data:`MAX_BACKEND_SESSION_ID_CHARS` characters,
    without '/', '\\', NUL or control characters, and not '.' or '..'.
    """
    if not isinstance(session_id, str):
        raise TypeError(f"backend session id must be a str, got {type(session_id).__name__}")
    if not session_id:
        raise InvalidNameError("backend session id '' is invalid: must not be empty")
    if len(session_id) > MAX_BACKEND_SESSION_ID_CHARS:
        raise InvalidNameError(
            f"backend session id {session_id[:40]!r}... ({len(session_id)} chars) is invalid: "
            f"must be at most {MAX_BACKEND_SESSION_ID_CHARS} characters"
        )
    problem = _describe_bad_char(session_id)
    if problem is not None:
        raise InvalidNameError(f"backend session id {session_id!r} is invalid: {problem}")
    if session_id in (".", ".."):
        raise InvalidNameError(
            f"backend session id {session_id!r} is invalid: must not be '.' or '..'"
        )
    return session_id


def session_key(backend: str, backend_session_id: str) -> str:
    """Build the index key ``<backend>:<backend session id>`` after validating both parts."""
    return f"{validate_backend(backend)}:{validate_backend_session_id(backend_session_id)}"


def parse_session_key(key: object) -> tuple[str, str]:
    """Split a session key into ``(backend, backend session id)``, validating both."""
    if not isinstance(key, str):
        raise TypeError(f"session key must be a str, got {type(key).__name__}")
    backend, sep, session_id = key.partition(":")
    if not sep:
        raise InvalidNameError(
            f"session key {key!r} is invalid: must have the form '<backend>:<session id>'"
        )
    return validate_backend(backend), validate_backend_session_id(session_id)


def validate_gid(gid: object) -> str:
    """Return ``gid`` if it is a global session id (32 lowercase hex digits), else raise."""
    if not isinstance(gid, str):
        raise TypeError(f"global session id must be a str, got {type(gid).__name__}")
    if not _GID_RE.fullmatch(gid):
        raise InvalidNameError(
            f"global session id {gid[:80]!r} is invalid: must be 32 lowercase hex digits"
        )
    return gid


def is_gid(value: object) -> bool:
    """True if ``value`` is a well-formed global session id."""
    return isinstance(value, str) and _GID_RE.fullmatch(value) is not None


def resolve_acp_home(
    acp_home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Decide the store directory: the argument, else ``$ACP_HOME``, else ``~/.acp``.

    ``~`` is expanded (using ``HOME`` from ``env`` when given) and the result is made
    absolute once, here, so a later ``chdir`` of the process cannot move the store.
    An empty ``ACP_HOME`` counts as unset.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    raw = os.fspath(acp_home) if acp_home is not None else environ.get(ACP_HOME_ENV, "") or "~/.acp"
    if not raw:
        raise InvalidNameError("ACP_HOME '' is invalid: must not be empty")
    if "\x00" in raw:
        raise InvalidNameError(f"ACP_HOME {raw!r} is invalid: must not contain NUL characters")
    if raw == "~" or raw.startswith("~/"):
        home = environ.get("HOME") or str(Path.home())
        raw = home + raw[1:]
    return Path(os.path.abspath(raw))


@dataclass(frozen=True)
class Layout:
    """The paths of one store. Pure: constructing it touches no file."""

    home: Path

    @property
    def index_path(self) -> Path:
        return self.home / INDEX_FILE

    @property
    def index_lock_path(self) -> Path:
        return self.home / INDEX_LOCK_FILE

    @property
    def sessions_dir(self) -> Path:
        return self.home / SESSIONS_DIR

    def session_dir(self, gid: str) -> Path:
        return self.sessions_dir / validate_gid(gid)

    def state_path(self, gid: str) -> Path:
        return self.session_dir(gid) / STATE_FILE

    def log_path(self, gid: str) -> Path:
        return self.session_dir(gid) / LOG_FILE
