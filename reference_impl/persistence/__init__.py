"""Session persistence (seed 001): one directory per session with every artifact.

Opt-in through :class:`PersistenceConfig` (``Settings.persist_session`` in the
harness, ``--persist-session`` on the command line). See :mod:`.layout` for where
things go, :mod:`.rollout` for how a live rollout is moved without losing a line,
:mod:`.store` for the fallback, and :mod:`.redact` for what never reaches a raw log.
"""

from reference_impl.persistence.component import PersistenceComponent
from reference_impl.persistence.layout import (
    META_LOG,
    RAW_LOG,
    SESSION_LOG,
    PersistenceConfig,
    debug_log_path,
    fallback_path,
    session_dir,
)
from reference_impl.persistence.redact import REDACTED, is_secret_name, redact, redact_text
from reference_impl.persistence.rollout import adopt_rollout, is_adopted
from reference_impl.persistence.store import SessionStore

__all__ = [
    "META_LOG",
    "RAW_LOG",
    "REDACTED",
    "SESSION_LOG",
    "PersistenceComponent",
    "PersistenceConfig",
    "SessionStore",
    "adopt_rollout",
    "debug_log_path",
    "fallback_path",
    "is_adopted",
    "is_secret_name",
    "redact",
    "redact_text",
    "session_dir",
]
