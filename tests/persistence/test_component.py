"""Persistence through the reference orchestrator, in a harness world: on, off, and
a session directory that cannot be created."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import planting
from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Settings
from conformance.fakes.profiles import codex
from conformance.harness import Harness
from reference_impl import conformance_adapter


@pytest.fixture(scope="module")
def clock() -> Iterator[HarnessClock]:
    """One frozen clock per module: starting one walks every loaded module (slow);
    each world rewinds it."""
    with HarnessClock() as running:
        yield running


def _world(tmp_path: Path, clock: HarnessClock, persist: bool) -> Harness:
    harness = Harness(conformance_adapter, clock, tmp_path / "world",
                      settings=Settings(persist_session=persist))
    planting.plant(harness)
    return harness


def test_persistence_on(tmp_path: Path, clock: HarnessClock) -> None:
    harness = _world(tmp_path, clock, persist=True)
    record = harness.spawn("a1", BackendKind.CODEX, planting.prompt(harness, "a1", "task"),
                           codex())
    harness.advance(5.0)
    harness.tick()
    harness.send("a1", "more")
    harness.close("a1")  # the follow-up turn is running: a cancellation
    harness.shutdown()
    session = record.session
    directory = harness.world.home / "agents" / "a1" / "sessions" / session.session_id
    moved = directory / session.path.name
    assert session.path.is_symlink() and moved.is_file() and not moved.is_symlink()
    assert moved.read_text().splitlines() == session.native_lines
    raw_text = (directory / "session_oai_raw.log").read_text()
    raw = [json.loads(x) for x in raw_text.splitlines()]
    assert raw[0]["request"]["headers"]["Authorization"] == "[REDACTED]"
    assert all(secret not in raw_text for secret in planting.planted_credentials(harness))
    assert raw[0]["request"]["body"] != {}
    meta_text = (directory / "session_meta.log").read_text()
    meta = [json.loads(x)["type"] for x in meta_text.splitlines()]
    assert meta.count("approval") == 2 and meta[-1] == "cancellation"
    assert "ended (close)" in (directory / "session.log").read_text()


def test_persistence_off_writes_nothing_extra(tmp_path: Path, clock: HarnessClock) -> None:
    harness = _world(tmp_path, clock, persist=False)
    record = harness.spawn("a1", BackendKind.CODEX, "task", codex())
    harness.advance(5.0)
    harness.tick()
    harness.shutdown()
    home = harness.world.home / "agents" / "a1"
    written = {path for path, _ in record.session.written}
    assert all(p.resolve() in written for p in home.rglob("*") if p.is_file())
    assert not (home / "sessions" / record.session.session_id).exists()
    assert not record.session.path.is_symlink()


def test_blocked_session_dir_falls_back(tmp_path: Path, clock: HarnessClock,
                                       caplog: pytest.LogCaptureFixture) -> None:
    harness = _world(tmp_path, clock, persist=True)
    sid = harness.hosts[BackendKind.CODEX].peek_session_id()
    blocker = harness.world.home / "agents" / "a1" / "sessions" / sid
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")
    record = harness.spawn("a1", BackendKind.CODEX, "task", codex())
    harness.advance(5.0)
    harness.tick()
    harness.shutdown()
    assert blocker.read_text() == "in the way"
    assert record.session.path.read_text().splitlines() == record.session.native_lines
    assert (harness.world.home / "agents" / "a1" / "log" / f"session-{sid}.log").is_file()
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and sid in r.getMessage()]
    assert len(warnings) == 1
