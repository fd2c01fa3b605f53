"""The one exception hierarchy of the conformance suite.

Every error the suite raises on purpose derives from :class:`ConformanceError`, so a
caller can tell "the suite found a problem" from "the suite itself crashed". Messages
name what was expected and what was found.
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Root of every error raised on purpose by the conformance suite."""


class CatalogueError(ConformanceError):
    """The invariant catalogue under ``specs/`` is malformed or inconsistent.

    Raised when a TOML file cannot be parsed, an invariant lacks a required field,
    an id is duplicated, or an invariant has no registered check (and the reverse).
    """


class AdapterError(ConformanceError):
    """An adapter cannot be loaded, is incomplete, or broke the adapter contract.

    Raised for an unknown ``--orchestrator`` name, a module without the adapter
    attribute, missing methods, unknown capabilities, and for an orchestrator that
    misbehaves while driven (for example a spawn that starts no backend session).
    """


class DriverError(AdapterError):
    """A driver program (``--orchestrator-command``) broke the driver protocol.

    It crashed, hung past the bound, wrote a line that is no valid response, or
    answered another request than the one waiting. ``op`` names the operation;
    ``stderr`` holds the end of what the driver wrote to its stderr, when known.
    Never a verdict: the orchestrator behind it was not judged.
    """

    def __init__(self, op: str, message: str, stderr: str = "") -> None:
        text = f"driver {op}: {message}"
        if stderr.strip():
            text += "\n  the driver's stderr ended with:\n" + "\n".join(
                f"    {line}" for line in stderr.rstrip().splitlines()[-20:])
        super().__init__(text)
        self.op = op
        self.stderr = stderr


class InvariantViolation(ConformanceError):
    """An orchestrator broke an invariant of the catalogue.

    ``invariant_id`` names the invariant; the message says what the harness
    expected and what it observed, with the harness time of the evidence.
    """

    def __init__(self, invariant_id: str, message: str) -> None:
        super().__init__(f"{invariant_id}: {message}")
        self.invariant_id = invariant_id
        self.detail = message


class HarnessError(ConformanceError):
    """The harness itself is inconsistent (a bug in the suite, not in the adapter).

    For example a fake backend that claims a session exists while its native file
    is missing. Reported separately so a vendor is never blamed for it.
    """


class ScratchError(ConformanceError):
    """The directory named by ``CONFORMANCE_SCRATCH`` cannot hold the suite's worlds.

    It does not exist, is no directory, or the suite cannot create a directory in it.
    Raised before any invariant runs, so no verdict depends on a half-built world.
    """


class SessionNotFound(ConformanceError):
    """A fake backend has no observable session with this id (yet).

    For a Codex session before its first turn completes this is the expected
    answer and means "not yet", never "ended" (seed 002).
    """

    def __init__(self, backend: str, session_id: str) -> None:
        super().__init__(f"{backend} session {session_id!r} not found")
        self.backend = backend
        self.session_id = session_id


class InvalidAgentId(ConformanceError, ValueError):
    """An agent id was refused because it could escape its directory or is unusable.

    ``agent_id`` holds the refused id and ``rule`` the rule it broke.
    """

    def __init__(self, agent_id: str, rule: str) -> None:
        super().__init__(f"invalid agent id {agent_id!r}: {rule}")
        self.agent_id = agent_id
        self.rule = rule


class BackendError(ConformanceError):
    """A fake backend refused an operation (for example ``send`` to an exited process).

    The fakes raise it where a real CLI would fail; an orchestrator is expected to
    handle it, not crash on it.
    """
