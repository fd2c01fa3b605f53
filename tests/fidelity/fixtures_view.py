"""The recorded fixtures (``fixtures/<cli>-<version>/``) as :class:`~compare.Observed`.

A fixture's ``timings.json`` holds what the recorder saw while the real CLI ran (line
kinds at first sight and added by each run, when each file first existed); its
``two_turn_json/home/`` holds the native file as it was at the end. Paths in the files
are scrubbed (``/WORKSPACE``, ``/HOME``), but names the CLIs derived from a path are
kept as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compare import Observed, layout_of
from fakerun import keys_of

from conformance.contract import BackendKind

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def versions_recorded() -> list[tuple[BackendKind, str]]:
    """Every ``(kind, version)`` with a fixture directory."""
    found = []
    for directory in sorted(FIXTURES.iterdir()):
        if directory.is_dir() and "-" in directory.name:
            kind, version = directory.name.split("-", 1)
            found.append((BackendKind(kind), version))
    return found


def timings(kind: BackendKind, version: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / f"{kind.value}-{version}" / "timings.json").read_text(encoding="utf-8"))
    return data


def _native(run: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The run's native session file: the one its run added lines to."""
    files = [(name, info) for name, info in run["native_files"].items()
             if info.get("kinds_added_by_run")]
    return max(files, key=lambda item: len(item[1]["kinds_added_by_run"]))


def home_file(kind: BackendKind, version: str, scenario: str, relative: str) -> Path:
    return FIXTURES / f"{kind.value}-{version}" / scenario / "home" / relative


def observe_fixture(kind: BackendKind, version: str) -> Observed:
    """The recorded two-turn session, with the first-file moments of every one-turn run."""
    data = timings(kind, version)
    two = data["sessions"]["two_turn_json"]
    turn1, turn2 = two["runs"][0], two["runs"][1]
    name, first = _native(turn1)
    _, second = _native(turn2)
    path = home_file(kind, version, "two_turn_json", name)
    session_id = _session_id(kind, path)
    claude_dir = path.parent.name if kind is BackendKind.CLAUDE else None
    gemini_name = path.parent.parent.name if kind is BackendKind.GEMINI else None
    moments = []
    for scenario in ("one_turn_text", "one_turn_tz_kiritimati", "two_turn_json"):
        run = data["sessions"][scenario]["runs"][0]
        moments.append(_native(run)[1]["first_seen_s"])
    for repeat in data["sessions"].get("one_turn_text_repeats", []):
        moments.extend(n["first_seen_s"] for n in repeat["native"] if n.get("first_seen_s"))
    return Observed(
        kind=kind.value, version=version, source="recorded",
        layout=layout_of(name, session_id, claude_dir=claude_dir, gemini_name=gemini_name),
        located=None,
        first_sight=tuple(first["kinds_at_first_sight"]),
        after_turn1=tuple(first["kinds_added_by_run"]),
        after_turn2=(*first["kinds_added_by_run"], *second["kinds_added_by_run"]),
        first_file_s=tuple(float(m) for m in moments if m is not None),
        keys=keys_of(kind, path),
        hooks=bool(two.get("hooks_configured")))


def _session_id(kind: BackendKind, path: Path) -> str:
    if kind is BackendKind.CODEX:
        return path.stem[-36:]
    if kind is BackendKind.CLAUDE:
        return path.stem
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0]) \
        if path.suffix == ".jsonl" else json.loads(path.read_text(encoding="utf-8"))
    return str(first["sessionId"])
