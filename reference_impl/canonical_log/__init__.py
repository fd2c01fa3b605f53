"""The reference canonical-log store: a backend-agnostic record of ACP sessions.

Layout under ``ACP_HOME`` (default ``~/.acp``): ``index.json`` maps backend session keys
(``codex:<id>``, ``claude:<id>``, ``gemini:<id>``) to global session ids;
``sessions/<gid>/state.json`` is a write-once metadata snapshot and
``sessions/<gid>/canonical.jsonl`` the append-only timeline of canonical events.

Most callers need only :class:`CanonicalLog` (best effort: logging never raises into
the agent) and, to read, :func:`read_events`. The modules are documented one concern
each: ``layout``, ``index``, ``state``, ``events``, ``log``, ``store``, ``cli``.
"""

from reference_impl.canonical_log.errors import (
    CanonicalLogError,
    CanonicalLogWarning,
    ConfigWarning,
    CorruptIndexError,
    CorruptIndexWarning,
    CorruptStateError,
    InvalidEventInputError,
    InvalidNameError,
    LoggingFailureWarning,
    ShortWriteError,
)
from reference_impl.canonical_log.events import (
    DEFAULT_MAX_TEXT_CHARS,
    EVENT_VERSION,
    KINDS,
    OP_KINDS,
    TRUNCATION_MARKER,
    CanonicalEvent,
    EventKind,
    SummaryPolicy,
)
from reference_impl.canonical_log.index import IndexStore
from reference_impl.canonical_log.layout import (
    KNOWN_BACKENDS,
    Layout,
    resolve_acp_home,
    session_key,
)
from reference_impl.canonical_log.log import LogWriter, ReadResult, read_events
from reference_impl.canonical_log.state import STATE_SCHEMA_VERSION, SessionState
from reference_impl.canonical_log.store import (
    CanonicalLog,
    LogFailure,
    SessionSummary,
    list_sessions,
)

__all__ = [
    "DEFAULT_MAX_TEXT_CHARS",
    "EVENT_VERSION",
    "KINDS",
    "KNOWN_BACKENDS",
    "OP_KINDS",
    "STATE_SCHEMA_VERSION",
    "TRUNCATION_MARKER",
    "CanonicalEvent",
    "CanonicalLog",
    "CanonicalLogError",
    "CanonicalLogWarning",
    "ConfigWarning",
    "CorruptIndexError",
    "CorruptIndexWarning",
    "CorruptStateError",
    "EventKind",
    "IndexStore",
    "InvalidEventInputError",
    "InvalidNameError",
    "Layout",
    "LogFailure",
    "LogWriter",
    "LoggingFailureWarning",
    "ReadResult",
    "SessionState",
    "SessionSummary",
    "ShortWriteError",
    "SummaryPolicy",
    "list_sessions",
    "read_events",
    "resolve_acp_home",
    "session_key",
]
