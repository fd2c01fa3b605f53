"""The fakes hold up against the recorded real files, without the CLIs installed.

Each recorded CLI version (``fixtures/<cli>-<version>/``) is compared point by point
with its fake run through the same scenario (:mod:`compare`): layout and name, line
kinds at first sight and after each turn, the keys of each kind of line, and the
first-file moments against the profile's window. The naming rules of
:mod:`conformance.native` are checked on the recorded names, and a deliberately wrong
fake must be caught with the point and both values.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from compare import Drift, compare, drift_table
from fakerun import observe_fake
from fixtures_view import FIXTURES, home_file, observe_fixture, timings, versions_recorded

from conformance import native
from conformance.contract import BackendKind
from conformance.fakes import claude as fake_claude
from conformance.fakes import gemini as fake_gemini

RECORDED = versions_recorded()


def drifts_of(kind: BackendKind, version: str) -> list[Drift]:
    real = observe_fixture(kind, version)
    fake = observe_fake(kind, version)
    staged = observe_fake(kind, version, staged=True)
    return compare(real, fake, staged)


@pytest.mark.parametrize(("kind", "version"), RECORDED, ids=[f"{k.value}-{v}" for k, v in RECORDED])
def test_the_fake_writes_what_the_real_cli_wrote(kind: BackendKind, version: str) -> None:
    drifts = drifts_of(kind, version)
    table = drift_table(drifts, [(kind.value, version)])
    print(table)
    assert not [d for d in drifts if d.fails], table


def test_every_version_profile_has_a_recording() -> None:
    from conformance.fakes.profiles import VERSIONS

    played = {(kind, version) for kind, versions in VERSIONS.items() for version in versions}
    assert played == set(RECORDED)


@pytest.mark.parametrize("wrong", ["claude-old-rule", "gemini-hash-dir"])
def test_a_wrong_fake_fails_naming_the_point_and_both_values(
    wrong: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if wrong == "claude-old-rule":
        kind, version = BackendKind.CLAUDE, "2.1.328"

        def old_rule(home: Path, cwd: str | Path, session_id: str) -> Path:
            name = str(cwd).replace("/", "-").replace(".", "-")
            return home / ".claude" / "projects" / name / f"{session_id}.jsonl"

        monkeypatch.setattr(fake_claude.native, "claude_transcript_path", old_rule)
    else:
        kind, version = BackendKind.GEMINI, "0.61.0"
        monkeypatch.setattr(fake_gemini.native, "gemini_register_project",
                            lambda home, cwd: native.gemini_project_hash(cwd))
    failing = [d for d in drifts_of(kind, version) if d.fails]
    assert [d.point for d in failing] == ["layout and name"], drift_table(failing)
    (drift,) = failing
    assert drift.real.startswith((".claude/projects/<claude-dir>/", ".gemini/tmp/<short-name>/"))
    assert "<claude-dir>" not in drift.fake and "<short-name>" not in drift.fake
    assert ("wörk_sp ace" in drift.fake) or len(drift.fake.split("/")[2]) == 64


# -- the naming rules against the recorded names -------------------------------------------


def naming(kind: BackendKind, version: str) -> dict[str, object]:
    data: dict[str, object] = timings(kind, version)["sessions"]["naming"]["naming"]
    return data


CLAUDES = [(k, v) for k, v in RECORDED if k is BackendKind.CLAUDE]
GEMINIS = [(k, v) for k, v in RECORDED if k is BackendKind.GEMINI]


@pytest.mark.parametrize(("kind", "version"), CLAUDES, ids=[v for _, v in CLAUDES])
def test_claude_project_directories_are_the_recorded_ones(kind: BackendKind, version: str
                                                          ) -> None:
    recorded = naming(kind, version)
    cwds = recorded["cwds"]
    assert isinstance(cwds, list)
    assert sorted({native.claude_project_dir(cwd) for cwd in cwds}) == \
        sorted(recorded["claude_project_dirs"])  # type: ignore[call-overload]
    long = [d for d in recorded["claude_project_dirs"] if len(d) > 200]  # type: ignore[attr-defined]
    assert long and all(len(d) > native.CLAUDE_DIR_LIMIT for d in long)


@pytest.mark.parametrize(("kind", "version"), GEMINIS, ids=[v for _, v in GEMINIS])
def test_gemini_registers_the_recorded_short_names(kind: BackendKind, version: str,
                                                   tmp_path: Path) -> None:
    recorded = naming(kind, version)
    registry = recorded["projects_json"]
    assert isinstance(registry, dict)
    projects = registry["projects"]
    # Registering the same cwds in the recorded order gives the recorded names,
    # collisions (-1) included; the registry file reads back the same.
    for cwd in projects:
        native.gemini_register_project(tmp_path, cwd)
    written = json.loads((tmp_path / ".gemini" / "projects.json").read_text(encoding="utf-8"))
    assert written == registry
    for cwd, name in projects.items():
        assert native.gemini_project_name(tmp_path, cwd) == name
        assert (tmp_path / ".gemini" / "tmp" / name / ".project_root").read_text() == cwd


@contextmanager
def time_zone(name: str) -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def _iso(text: str) -> float:
    import datetime

    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


CODEXES = [(k, v) for k, v in RECORDED if k is BackendKind.CODEX]


@pytest.mark.parametrize(("kind", "version"), CODEXES, ids=[v for _, v in CODEXES])
@pytest.mark.parametrize(("scenario", "zone"), [("one_turn_text", "Pacific/Honolulu"),
                                                ("one_turn_tz_kiritimati", "Pacific/Kiritimati")])
def test_codex_rollouts_are_named_in_local_time(kind: BackendKind, version: str, scenario: str,
                                                zone: str) -> None:
    home = FIXTURES / f"{kind.value}-{version}" / scenario / "home" / ".codex"
    (recorded,) = sorted(home.glob("sessions/*/*/*/rollout-*.jsonl"))
    meta = json.loads(recorded.read_text(encoding="utf-8").splitlines()[0])["payload"]
    with time_zone(zone):
        expected = native.codex_rollout_path(home, _iso(meta["timestamp"]), meta["id"])
    assert expected == recorded
    assert native.locate("codex", home, "/WORKSPACE", meta["id"]) == recorded


@pytest.mark.parametrize(("kind", "version"), GEMINIS, ids=[v for _, v in GEMINIS])
def test_gemini_chats_are_named_in_utc(kind: BackendKind, version: str) -> None:
    home = FIXTURES / f"{kind.value}-{version}" / "one_turn_tz_kiritimati" / "home"
    (recorded,) = sorted(home.glob(".gemini/tmp/*/chats/session-*"))
    view = native.read("gemini", recorded)
    assert view.session_id is not None
    first = recorded.read_text(encoding="utf-8")
    start = json.loads(first.splitlines()[0] if recorded.suffix == ".jsonl" else first)
    with time_zone("Pacific/Kiritimati"):
        expected = native.gemini_chat_path(home, recorded.parent.parent.name,
                                           _iso(start["startTime"]), view.session_id,
                                           document=recorded.suffix == ".json")
    assert expected == recorded
    assert native.locate("gemini", home, "/WORKSPACE", view.session_id) == recorded


def test_the_recorded_files_are_where_the_timings_say() -> None:
    for kind, version in RECORDED:
        two = timings(kind, version)["sessions"]["two_turn_json"]["runs"][0]
        for name in two["native_files"]:
            assert home_file(kind, version, "two_turn_json", name).is_file(), name


@pytest.mark.parametrize("scenario", ["resume_same_minute", "resume_next_minute"])
def test_a_gemini_resume_writes_what_the_real_cli_wrote_in_its_minute(scenario: str) -> None:
    """A live run whose two turns straddle a UTC minute is compared with a fake resumed in
    the next minute: Gemini CLI then reopens the chat in a second file, and the first
    file lacks the reopening lines (this made the live comparison fail now and then)."""
    version = "0.61.0"
    recorded = timings(BackendKind.GEMINI, version)["gemini_resume_minute"][scenario]
    first, second = recorded["runs"]
    grown = [info["kinds_added_by_run"] for info in second["native_files"].values()
             if info.get("kinds_added_by_run")]
    later = len(grown) > 1
    assert later is (scenario == "resume_next_minute")
    (name, one), = [(n, i) for n, i in first["native_files"].items() if i["kinds_added_by_run"]]
    real_after_two = (*one["kinds_added_by_run"],
                      *second["native_files"][name]["kinds_added_by_run"])
    fake = observe_fake(BackendKind.GEMINI, version, resume_later_minute=later)
    assert fake.after_turn2 == real_after_two
