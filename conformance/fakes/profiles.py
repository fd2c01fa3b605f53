"""Version and timing profiles of the fake backends, from ``shared/REAL_BACKENDS.md``.

A profile says which CLI version a fake plays (its file format and line kinds), when
the native session file first exists, how long turns take, whether the first turn
hangs, and whether the process exits after a turn. The defaults are the measured
behaviour of the real CLIs; the alternatives exist because an orchestrator must be
correct for every one of them (seed 002: from the orchestrator's point of view a Codex
session is unobservable for an unbounded time).

The versions (:data:`VERSIONS`, newest first) are those measured on 2026-12-01: Codex
CLI 0.171.0 and 0.169.0, Claude Code 2.1.328 and 2.1.197, Gemini CLI 0.61.0 (JSON Lines)
and 0.36.0, the last release that wrote a chat as one JSON document (the format
orchestrators in the wild still parse). :data:`STARTUP_WINDOWS` holds, per version, the
seconds between process start and the first file: the union of what
``REAL_BACKENDS.md`` reports and what ``tests/fidelity`` measured on this project's
machine, so a profile inside the window is one a real run can show.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.contract import BackendKind, CodeEnum


class FileAppears(CodeEnum):
    """When a fake backend first writes its native session file."""

    #: Only when the first turn completes (seed 002; Codex's notify-hook world).
    FIRST_TURN_COMPLETE = "first-turn-complete"
    #: When the first user message is recorded (``codex exec``: just before the first
    #: model request, 0.3-1.6 s after start).
    FIRST_USER_MESSAGE = "first-user-message"
    #: A delay after start: the first model request (Claude Code, Gemini CLI).
    AFTER_DELAY = "after-delay"


#: The CLI versions each fake plays, newest first (the default is the first).
VERSIONS: dict[BackendKind, tuple[str, ...]] = {
    BackendKind.CODEX: ("0.171.0", "0.169.0"),
    BackendKind.CLAUDE: ("2.1.328", "2.1.197"),
    BackendKind.GEMINI: ("0.61.0", "0.36.0"),
}

#: Seconds from process start to the first native file, per ``(kind, version)``:
#: ``REAL_BACKENDS.md``'s figures joined with the fidelity fixtures' (see the module
#: docstring). Codex's is the ``FIRST_USER_MESSAGE`` moment of ``codex exec``.
STARTUP_WINDOWS: dict[tuple[BackendKind, str], tuple[float, float]] = {
    (BackendKind.CODEX, "0.171.0"): (0.3, 1.6),
    (BackendKind.CODEX, "0.169.0"): (0.4, 1.6),
    (BackendKind.CLAUDE, "2.1.328"): (0.8, 2.0),
    (BackendKind.CLAUDE, "2.1.197"): (1.0, 3.5),
    (BackendKind.GEMINI, "0.61.0"): (3.0, 4.8),
    (BackendKind.GEMINI, "0.36.0"): (3.0, 5.6),
}

#: How long a partial first sight lasts (seconds) when a profile stages its opening:
#: Codex 0.06-0.3 s with 2 of its 9 lines, Claude Code 2.1.328 0.1 s with 13 of 19,
#: Gemini CLI 0.1 s with 2 of 4.
STAGE_GAP = 0.1

#: The legacy Gemini CLI version: one JSON document per chat, rewritten whole.
GEMINI_DOCUMENT_VERSIONS = frozenset({"0.36.0"})


def startup_window(kind: BackendKind, version: str) -> tuple[float, float]:
    """The measured window of the first file for ``kind`` at ``version``."""
    try:
        return STARTUP_WINDOWS[(kind, version)]
    except KeyError:
        raise ValueError(f"no {kind.value} version {version!r}; the fakes play "
                         f"{', '.join(VERSIONS[kind])}") from None


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
    #: The CLI version played (one of :data:`VERSIONS`); ``""`` is the newest.
    version: str = ""
    #: The file is first seen with only part of its opening lines, the rest
    #: :data:`STAGE_GAP` seconds later (a Codex rollout with 2 lines, a Gemini chat with
    #: its metadata only).
    staged_open: bool = False

    def __post_init__(self) -> None:
        if self.file_delay < 0 or self.turn_duration <= 0:
            raise ValueError(
                f"profile delays must be positive, got file_delay={self.file_delay}, "
                f"turn_duration={self.turn_duration}"
            )
        if not self.version:
            object.__setattr__(self, "version", VERSIONS[self.kind][0])
        elif self.version not in VERSIONS[self.kind]:
            raise ValueError(f"no {self.kind.value} version {self.version!r}; the fakes "
                             f"play {', '.join(VERSIONS[self.kind])}")

    @property
    def document_format(self) -> bool:
        """Whether the native file is one JSON document rewritten whole (Gemini 0.36)."""
        return self.kind is BackendKind.GEMINI and self.version in GEMINI_DOCUMENT_VERSIONS

    def __repr__(self) -> str:
        # Short on purpose: profiles appear in every step of a counterexample.
        when = self.file_appears.value
        if self.file_appears is not FileAppears.FIRST_TURN_COMPLETE:
            when = f"{when}@{self.file_delay:g}s"
        parts = [self.version, f"file={when}", f"turn={self.turn_duration:g}s"]
        if self.staged_open:
            parts.append("staged")
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
    file_delay: float = 0.4,
    turn_duration: float = 4.2,
    hang_first_turn: bool = False,
    exit_after_first_turn: bool = False,
    empty_final: bool = False,
    version: str = "",
    staged_open: bool = False,
) -> BackendProfile:
    """A Codex profile; the default is seed 002's: no file until the first turn completes."""
    return BackendProfile(
        BackendKind.CODEX, file_appears, file_delay, turn_duration,
        hang_first_turn, exit_after_first_turn, empty_final, version, staged_open,
    )


def claude(
    *, file_delay: float | None = None, turn_duration: float = 4.0,
    hang_first_turn: bool = False, exit_after_first_turn: bool = False,
    empty_final: bool = False, version: str = "", staged_open: bool = False,
) -> BackendProfile:
    """A Claude Code profile: the transcript appears at the first model request, by
    default at the start of the version's window."""
    version = version or VERSIONS[BackendKind.CLAUDE][0]
    delay = startup_window(BackendKind.CLAUDE, version)[0] if file_delay is None else file_delay
    return BackendProfile(
        BackendKind.CLAUDE, FileAppears.AFTER_DELAY, delay, turn_duration,
        hang_first_turn, exit_after_first_turn, empty_final, version, staged_open,
    )


def gemini(
    *, file_delay: float | None = None, turn_duration: float = 4.0,
    hang_first_turn: bool = False, exit_after_first_turn: bool = False,
    empty_final: bool = False, version: str = "", staged_open: bool = False,
) -> BackendProfile:
    """A Gemini CLI profile: the chat file appears at the first model request, by
    default at the start of the version's window."""
    version = version or VERSIONS[BackendKind.GEMINI][0]
    delay = startup_window(BackendKind.GEMINI, version)[0] if file_delay is None else file_delay
    return BackendProfile(
        BackendKind.GEMINI, FileAppears.AFTER_DELAY, delay, turn_duration,
        hang_first_turn, exit_after_first_turn, empty_final, version, staged_open,
    )


def for_version(kind: BackendKind, version: str | int) -> BackendProfile:
    """The default profile of ``kind`` at ``version`` (a version string, or an index
    into :data:`VERSIONS`, wrapping around)."""
    if isinstance(version, int):
        known = VERSIONS[kind]
        version = known[version % len(known)]
    if kind is BackendKind.CODEX:
        return codex(version=version)
    if kind is BackendKind.CLAUDE:
        return claude(version=version)
    return gemini(version=version)


def default_profile(kind: BackendKind) -> BackendProfile:
    """The measured default for each backend kind (its newest version)."""
    return for_version(kind, 0)
