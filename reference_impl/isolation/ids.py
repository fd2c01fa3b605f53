"""Agent ids become directory names, so an id is validated before anything exists.

Every sub-agent lives in ``<home>/agents/<agent_id>/`` (seed 000). An id that could
name anything else (another directory, a parent, an absolute path, a device) is
refused with :class:`~conformance.errors.InvalidAgentId` naming the id and the rule
it broke, before a directory is created or a backend is started.

The rules are an allow-list, not a list of known-bad patterns: 1 to
:data:`MAX_LENGTH` characters from ``[A-Za-z0-9._-]``, starting with a letter or a
digit, and not a name Windows reserves for a device. An allow-list cannot miss a
separator nobody thought of (``\\``, a Unicode slash) or a control character.
"""

from __future__ import annotations

import re

from conformance.errors import InvalidAgentId

#: Longest accepted id. Far below any file system's name limit (255 bytes), so an
#: id with a suffix (``<id>.tmp``) still fits.
MAX_LENGTH = 64

_ALLOWED = re.compile(r"[A-Za-z0-9._-]+")
_FIRST = re.compile(r"[A-Za-z0-9]")
#: Device names Windows resolves anywhere, with or without an extension.
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                       *(f"lpt{i}" for i in range(10))})


def check_agent_id(agent_id: object) -> str | None:
    """The first rule ``agent_id`` breaks, or ``None`` when it is a valid id."""
    if not isinstance(agent_id, str):
        return f"must be a string, not {type(agent_id).__name__}"
    if agent_id == "":
        return "must not be empty"
    if len(agent_id) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long (it has {len(agent_id)})"
    if "\0" in agent_id or any(ord(c) < 32 or ord(c) == 127 for c in agent_id):
        return "must not contain NUL or control characters"
    if "/" in agent_id or "\\" in agent_id:
        return "must not contain a path separator ('/' or '\\\\')"
    if agent_id in (".", ".."):
        return "must not be '.' or '..' (they name the agents directory or its parent)"
    if ".." in agent_id:
        return "must not contain '..' (it could name a parent directory)"
    if not _ALLOWED.fullmatch(agent_id):
        bad = sorted({c for c in agent_id if not _ALLOWED.fullmatch(c)})
        return (f"may only use letters, digits, '.', '_' and '-' (found "
                f"{', '.join(repr(c) for c in bad)})")
    if not _FIRST.match(agent_id):
        return "must start with a letter or a digit"
    if agent_id.split(".", 1)[0].lower() in _RESERVED:
        return "is a reserved device name on Windows"
    return None


def validate_agent_id(agent_id: str) -> str:
    """Return ``agent_id`` if valid, else raise :class:`InvalidAgentId`."""
    rule = check_agent_id(agent_id)
    if rule is not None:
        raise InvalidAgentId(agent_id, rule)
    return agent_id
