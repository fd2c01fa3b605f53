"""What a real CLI wrote next to what its fake writes, point by point.

An :class:`Observed` is one CLI version's session seen from outside: where its native
file is, whether :func:`conformance.native.locate` finds it by the real rule, the line
kinds on disk at first sight, after the first turn and after the second, the keys of
each kind of line, and when the file first existed. :func:`compare` lists every
:class:`Drift` between a real observation and a fake one, and says which ones the fake's
profile allows (:data:`ALLOWED`); :func:`drift_table` prints them.

The same comparison runs on the recorded fixtures (``test_fake_shapes.py``, always) and
on live runs of the real CLIs (``test_fidelity.py``, ``-m fidelity``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from conformance.contract import BackendKind
from conformance.fakes import profiles

#: How far past its window a live first-file moment may fall on a loaded machine
#: before it counts as drift (the windows were measured on a 2-core machine).
WINDOW_SLACK = 1.25

#: Keys compared per backend: Codex's envelope whole; for Claude Code which lines
#: carry the chain and the time; for Gemini CLI every key of its records.
STRUCTURAL_KEYS: dict[str, frozenset[str] | None] = {
    "codex": None,
    "claude": frozenset({"uuid", "parentUuid", "timestamp", "sessionId", "type"}),
    "gemini": None,
}


@dataclass
class Observed:
    """One session of one CLI version, as seen from outside."""

    kind: str
    version: str
    source: str
    #: The native file relative to the home, ids and times replaced by placeholders.
    layout: str
    #: Whether the real naming rule (``conformance.native.locate``) finds the file.
    located: bool | None
    first_sight: tuple[str, ...]
    after_turn1: tuple[str, ...]
    after_turn2: tuple[str, ...] | None = None
    #: Seconds from process start to the first file (every run measured).
    first_file_s: tuple[float, ...] = ()
    #: Top-level keys of the first line of each kind.
    keys: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Hooks ran (Claude Code writes a ``system/stop_hook_summary`` line for a Stop hook).
    hooks: bool = False
    #: The resumed turn wrote a second native file (Gemini CLI resumed in a later UTC
    #: minute than the session started in reopens it in a file named for that minute).
    resume_later_minute: bool = False


@dataclass(frozen=True)
class Drift:
    """One point where the fake and the real CLI differ."""

    kind: str
    version: str
    point: str
    real: str
    fake: str
    allowed: str | None = None

    @property
    def fails(self) -> bool:
        return self.allowed is None


#: Variations the real CLIs show from run to run, which a fake need not reproduce.
ALLOWED = {
    "stop-hook": "Claude Code 2.1.328 writes system/stop_hook_summary when a Stop hook ran; "
                 "the in-process fakes run no hooks",
    "claude-bookkeeping": "Claude Code 2.1.328 writes last-prompt and atis-latch whenever the "
                          "leaf of its chain moves: how many, and where between the content "
                          "entries, varies from run to run (one turn: 24, 25 or 27 lines)",
    "partial-first-sight": "the real CLI was caught between the staged and the full opening",
    "start-up": "how soon a CLI writes its first file depends on the machine and its load: "
                "the table reports a moment outside the profile's window so the window "
                "can be widened, but a wall-clock time is never a verdict",
}

#: Claude Code's bookkeeping lines (see ``ALLOWED["claude-bookkeeping"]``).
CLAUDE_BOOKKEEPING = frozenset({"last-prompt", "atis-latch", "system/stop_hook_summary"})


def normalize(kind: str, version: str, kinds: Iterable[str]) -> tuple[str, ...]:
    """Kinds with the run-to-run variations of :data:`ALLOWED` taken out: Claude Code's
    bookkeeping lines go (whether the fake writes them at all is compared apart, as
    "line kinds the fake never writes")."""
    if kind != "claude":
        return tuple(kinds)
    return tuple(k for k in kinds if k not in CLAUDE_BOOKKEEPING)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def layout_of(relative: str, session_id: str, *, claude_dir: str | None = None,
              gemini_name: str | None = None) -> str:
    """``relative`` with the session id, the derived directory name and digits replaced
    by placeholders, so two runs of one rule give the same layout."""
    text = relative.replace(session_id, "<id>").replace(session_id[:8], "<id-prefix>")
    if claude_dir:
        text = text.replace(f"/{claude_dir}/", "/<claude-dir>/")
    if gemini_name:
        text = text.replace(f"/{gemini_name}/", "/<short-name>/")
    text = _UUID.sub("<uuid>", text)
    return re.sub(r"\d", "#", text)


def _first_sight_ok(real: Sequence[str], fake_full: Sequence[str], staged: int) -> bool:
    """The real first sight is the fake's opening, or a prefix of it at least as long as
    a staged open's."""
    return list(real) == list(fake_full[:len(real)]) and len(real) >= min(staged, len(fake_full))


def compare(real: Observed, fake: Observed, staged: Observed | None = None) -> list[Drift]:
    """Every drift between ``real`` and ``fake`` (of the same kind and version).

    ``staged`` is the same fake with a staged open: a real first sight between its
    first sight and ``fake``'s full opening is allowed.
    """
    kind, version = real.kind, real.version
    drifts: list[Drift] = []

    def differ(point: str, a: object, b: object, allowed: str | None = None) -> None:
        drifts.append(Drift(kind, version, point, _show(a), _show(b), allowed))

    if real.layout != fake.layout:
        differ("layout and name", real.layout, fake.layout)
    if real.located is not None and fake.located is not None and real.located != fake.located:
        differ("found by the real rule", real.located, fake.located)
    real_first = normalize(kind, version, real.first_sight)
    fake_first = normalize(kind, version, fake.first_sight)
    if real_first != fake_first:
        least = len(normalize(kind, version, staged.first_sight)) if staged else len(fake_first)
        ok = _first_sight_ok(real_first, fake_first, least)
        differ("kinds at first sight", real_first, fake_first,
               ALLOWED["partial-first-sight"] if ok else None)
    for point, a, b in (("kinds after turn 1", real.after_turn1, fake.after_turn1),
                        ("kinds after turn 2", real.after_turn2, fake.after_turn2)):
        if a is None or b is None:
            continue
        raw_a, norm_a, norm_b = tuple(a), normalize(kind, version, a), normalize(kind, version, b)
        if norm_a != norm_b:
            differ(point, norm_a, norm_b)
        elif raw_a != tuple(b):
            differ(point, raw_a, tuple(b), ALLOWED["claude-bookkeeping"])
    wanted = STRUCTURAL_KEYS[kind]
    for name in sorted(set(real.keys) & set(fake.keys)):
        a_keys, b_keys = real.keys[name], fake.keys[name]
        if wanted is not None:
            a_keys, b_keys = a_keys & wanted, b_keys & wanted
        if a_keys != b_keys:
            differ(f"keys of {name}", sorted(a_keys), sorted(b_keys))
    missing = sorted(set(real.keys) - set(fake.keys))
    if missing and real.after_turn2 is not None and fake.after_turn2 is not None:
        allowed = ALLOWED["stop-hook"] if missing == ["system/stop_hook_summary"] else None
        differ("line kinds the fake never writes", missing, [], allowed)
    low, high = profiles.startup_window(BackendKind(kind), version)
    for moment in real.first_file_s:
        if not low / WINDOW_SLACK <= moment <= high * WINDOW_SLACK:
            differ("first file (s after start)", f"{moment:.2f}", f"window {low:g}-{high:g}",
                   ALLOWED["start-up"])
    return drifts


def _show(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "[]"
    return str(value)


def drift_table(drifts: Sequence[Drift], checked: Sequence[tuple[str, str]] = ()) -> str:
    """A Markdown table of ``drifts`` (``checked`` versions with none get a row too)."""
    rows = ["| CLI | version | point | real | fake | verdict |", "|---|---|---|---|---|---|"]
    for d in drifts:
        verdict = "FAIL" if d.fails else f"allowed: {d.allowed}"
        rows.append(f"| {d.kind} | {d.version} | {d.point} | {_cut(d.real)} | {_cut(d.fake)} "
                    f"| {verdict} |")
    for kind, version in checked:
        if not any(d.kind == kind and d.version == version for d in drifts):
            rows.append(f"| {kind} | {version} | every point | = | = | ok |")
    return "\n".join(rows)


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
