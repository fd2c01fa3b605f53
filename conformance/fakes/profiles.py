"""Timing profiles of the fake backends, from ``shared/REAL_BACKENDS.md``.

A profile says when the native session file first exists, how long turns take,
whether the first turn hangs, and whether the process exits after a turn. The
defaults are the measured behaviour of the real CLIs; the alternatives exist
because an orchestrator must be correct for every one of them (seed 002: from the
orchestrator's point of view a Codex session is unobservable for an unbounded time).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.contract import BackendKind, CodeEnum


class FileAppears(CodeEnum):
    """When a fake backend first writes its native session file."""

    #: Only when the first turn completes (seed 002; Codex's notify-hook world).
    FIRST_TURN_COMPLETE = "first-turn-complete"
    #: When the first user message is recorded (Codex CLI 0.169: 0.26 s after submit).
    FIRST_USER_MESSAGE = "first-user-message"
    #: A fixed delay after start (Claude Code ~0.75 s, Gemini CLI ~1.05 s).
    AFTER_DELAY = "after-delay"


@dataclass(frozen=True)
class BackendProfile:
    """How one fake session behaves in time. Immutable, so it can be shared."""

    kind: BackendKind
    file_appears: FileAppears
    #: Seconds after start for ``FIRST_USER_MESSAGE`` and ``AFTER_DELAY``.
    file_delay: float
    #: Seconds each turn takes.
    turn_duration: float
    #: The first turn never completes (a hung worker).
    hang_first_turn: bool = False
    #: The process exits right after its first turn (``codex exec``, ``claude -p``).
    exit_after_first_turn: bool = False
    #: Turns end with an empty final answer (the agent only ran tools): the
    #: turn-complete notification's ``last-assistant-message`` is ``""``.
    empty_final: bool = False

    def __post_init__(self) -> None:
        if self.file_delay < 0 or self.turn_duration <= 0:
            raise ValueError(
                f"profile delays must be positive, got file_delay={self.file_delay}, "
                f"turn_duration={self.turn_duration}"
            )

    def __repr__(self) -> str:
        # Short on purpose: profiles appear in every step of a counterexample.
        when = self.file_appears.value
        if self.file_appears is not FileAppears.FIRST_TURN_COMPLETE:
            when = f"{when}@{self.file_delay:g}s"
        parts = [f"file={when}", f"turn={self.turn_duration:g}s"]
        if self.hang_first_turn:
            parts.append("hangs")
        if self.exit_after_first_turn:
            parts.append("exits-after-turn")
        if self.empty_final:
            parts.append("empty-final")
        return f"{self.kind.value}({', '.join(parts)})"


def codex(
    file_appears: FileAppears = FileAppears.FIRST_TURN_COMPLETE,
    *,
    file_delay: float = 0.26,
    turn_duration: float = 4.2,
    hang_first_turn: bool = False,
    exit_after_first_turn: bool = False,
    empty_final: bool = False,
) -> BackendProfile:
    """A Codex profile; the default is seed 002's: no file until the first turn completes."""
    return BackendProfile(
        BackendKind.CODEX, file_appears, file_delay, turn_duration,
        hang_first_turn, exit_after_first_turn, empty_final,
    )


def claude(
    *, file_delay: float = 0.75, turn_duration: float = 4.0, hang_first_turn: bool = False,
    exit_after_first_turn: bool = False, empty_final: bool = False,
) -> BackendProfile:
    """A Claude Code profile: the transcript appears 0.6-0.9 s after start."""
    return BackendProfile(
        BackendKind.CLAUDE, FileAppears.AFTER_DELAY, file_delay, turn_duration,
        hang_first_turn, exit_after_first_turn, empty_final,
    )


def gemini(
    *, file_delay: float = 1.05, turn_duration: float = 4.0, hang_first_turn: bool = False,
    exit_after_first_turn: bool = False, empty_final: bool = False,
) -> BackendProfile:
    """A Gemini CLI profile: the chat file appears 0.9-1.2 s after start."""
    return BackendProfile(
        BackendKind.GEMINI, FileAppears.AFTER_DELAY, file_delay, turn_duration,
        hang_first_turn, exit_after_first_turn, empty_final,
    )


def default_profile(kind: BackendKind) -> BackendProfile:
    """The measured default for each backend kind."""
    return {BackendKind.CODEX: codex, BackendKind.CLAUDE: claude, BackendKind.GEMINI: gemini}[
        kind
    ]()
