"""Hypothesis strategies for the harness's inputs: backend profiles, durations, prompts.

Every ``sampled_from`` lists the ordinary case first, so shrinking moves a
counterexample towards the measured default behaviour of each CLI, and the shortest
failing sequence reads like a real run.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from conformance.contract import BackendKind
from conformance.fakes import profiles
from conformance.fakes.profiles import BackendProfile, FileAppears

#: Seconds a first turn may run in the worlds the state machines build.
FIRST_TURN_DEADLINE = 60.0

#: Steps of time: within a start-up window, past a typical turn, past the deadline.
ADVANCES = (0.5, 5.0, 1.0, 30.0, FIRST_TURN_DEADLINE + 5.0)


#: A long brief, past the 200-character summary limit of the main history, with the
#: characters that trip summarisers: accents, CJK, an astral emoji (two UTF-16 code
#: units, four UTF-8 bytes), a combining mark, quotes and a backslash.
LONG_BRIEF = ("Refactor the session store so that résumé files, 日本語 paths and emoji 🚀 "
              "names survive a round trip; keep \"quotes\" and back\\slashes; then write "
              "the migration notes for every caller of open_session, read_index and "
              "append_event, and make sure nothing e\u0301lse changes in the public API.")

#: Prompt texts, the ordinary case first (shrinking moves towards it).
PROMPT_TEXTS = (
    "summarize the README",
    "réécris la fonction — naïve café",
    "修复登录错误并添加测试",
    "ship it 🚀 then 👩\u200d💻 review",
    "line one\nline two\t\"quoted\" \\ back",
    "",
    LONG_BRIEF,
    LONG_BRIEF * 3,
)


def prompt_texts() -> st.SearchStrategy[str]:
    """What a user asks an agent: plain, non-ASCII, multi-line, empty, or long."""
    return st.sampled_from(PROMPT_TEXTS)


def rarely() -> st.SearchStrategy[bool]:
    """``True`` one time in four, ``False`` when shrunk: for the unusual turns of a
    profile (a hang, an exit, an empty answer), so that most generated agents behave
    ordinarily and the stories between them, not their quirks, fill the budget."""
    return st.integers(0, 3).map(lambda n: n == 3)


def backend_kinds() -> st.SearchStrategy[BackendKind]:
    return st.sampled_from([BackendKind.CODEX, BackendKind.CLAUDE, BackendKind.GEMINI])


def versions(kind: BackendKind) -> st.SearchStrategy[str]:
    """The CLI versions a fake of ``kind`` plays, newest first (shrinking moves to it)."""
    return st.sampled_from(profiles.VERSIONS[kind])


def _window(kind: BackendKind, version: str) -> list[float]:
    """First-file moments inside the measured start-up window: its start, middle, end."""
    low, high = profiles.startup_window(kind, version)
    return [low, round((low + high) / 2, 2), high]


def codex_profiles() -> st.SearchStrategy[BackendProfile]:
    """Every version, every moment a Codex rollout may first appear (the measured
    window of ``codex exec``, and long after it), with ordinary and hung turns."""
    def build(version: str) -> st.SearchStrategy[BackendProfile]:
        low, _, high = _window(BackendKind.CODEX, version)
        return st.builds(
            profiles.codex,
            st.sampled_from(list(FileAppears)),
            file_delay=st.sampled_from([low, high, 20.0]),
            turn_duration=st.sampled_from([4.2, 0.5, 45.0]),
            hang_first_turn=rarely(),
            exit_after_first_turn=rarely(),
            empty_final=rarely(),
            version=st.just(version),
            staged_open=rarely(),
        )
    return versions(BackendKind.CODEX).flatmap(build)


def _windowed_profiles(kind: BackendKind, factory: Callable[..., BackendProfile]
                       ) -> st.SearchStrategy[BackendProfile]:
    """Every version of ``kind``, its file appearing anywhere in the measured window
    (Claude Code and Gemini CLI write it at their first model request)."""
    def build(version: str) -> st.SearchStrategy[BackendProfile]:
        return st.builds(
            factory,
            file_delay=st.sampled_from(_window(kind, version)),
            turn_duration=st.sampled_from([4.0, 2.0, 45.0]),
            hang_first_turn=rarely(),
            exit_after_first_turn=rarely(),
            empty_final=rarely(),
            version=st.just(version),
            staged_open=rarely(),
        )
    return versions(kind).flatmap(build)


def claude_profiles() -> st.SearchStrategy[BackendProfile]:
    """Every version, the transcript appearing anywhere in its measured window."""
    return _windowed_profiles(BackendKind.CLAUDE, profiles.claude)


def gemini_profiles() -> st.SearchStrategy[BackendProfile]:
    """Every version (JSON Lines and the one-document format), the chat appearing
    anywhere in its measured window."""
    return _windowed_profiles(BackendKind.GEMINI, profiles.gemini)


def backend_profiles() -> st.SearchStrategy[BackendProfile]:
    """A profile of any backend kind."""
    return st.one_of(codex_profiles(), claude_profiles(), gemini_profiles())


def advances() -> st.SearchStrategy[float]:
    return st.sampled_from(ADVANCES)
