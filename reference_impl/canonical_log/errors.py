"""The exceptions and warnings of the canonical log, in one hierarchy.

Every error raised on purpose derives from :class:`CanonicalLogError` and every
warning from :class:`CanonicalLogWarning`, so a caller (or a ``warnings`` filter) can
tell "the log refused or repaired something" from an unrelated failure. The value
errors also derive from :class:`ValueError`, because that is what they are.
"""

from __future__ import annotations


class CanonicalLogError(Exception):
    """Root of every error the canonical log raises on purpose."""


class InvalidNameError(CanonicalLogError, ValueError):
    """A backend name, backend session id, session key or global id is not acceptable."""


class CorruptStateError(CanonicalLogError, ValueError):
    """A ``state.json`` exists but is unreadable, malformed, or disagrees with its location."""


class CorruptIndexError(CanonicalLogError, ValueError):
    """``index.json`` is not a JSON object mapping valid session keys to valid global ids."""


class InvalidEventInputError(CanonicalLogError, ValueError):
    """A dict given in place of an ACP model does not validate against the ACP schema."""


class ShortWriteError(CanonicalLogError, OSError):
    """``os.write`` wrote only part of a canonical line (typically: the disk is full)."""


class CanonicalLogWarning(UserWarning):
    """Root of every warning the canonical log emits."""


class CorruptIndexWarning(CanonicalLogWarning):
    """A corrupt ``index.json`` was set aside and the index rebuilt from ``state.json`` files."""


class ConfigWarning(CanonicalLogWarning):
    """A configuration value (argument or environment variable) was invalid and ignored."""


class LoggingFailureWarning(CanonicalLogWarning):
    """A best-effort logging operation failed; the failure was recorded, not raised."""
