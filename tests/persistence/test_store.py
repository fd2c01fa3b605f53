"""The session store under faults (pyfakefs): permission denied, disk full, a file in
the way. The session goes on, one warning, lines land in the fallback location."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyfakefs.fake_filesystem import FakeFilesystem
from pyfakefs.fake_filesystem_unittest import Patcher

from reference_impl.persistence import (
    META_LOG,
    RAW_LOG,
    SESSION_LOG,
    PersistenceConfig,
    SessionStore,
)

HOME = Path("/codex/agents/a1")
SID = "0f9a8b7c-1111-4222-8333-944445555666"


@pytest.fixture
def fake_fs() -> Iterator[FakeFilesystem]:
    """A fake file system that enforces permissions although the suite runs as root."""
    with Patcher(allow_root_user=False) as patcher:
        assert patcher.fs is not None
        yield patcher.fs


def _store(warnings: list[str], debug_log: str = SESSION_LOG) -> SessionStore:
    return SessionStore(HOME, SID, PersistenceConfig(True, debug_log), warn=warnings.append)


def test_normal_layout(fake_fs: FakeFilesystem) -> None:
    warnings: list[str] = []
    store = _store(warnings)
    assert store.open()
    store.debug(0.0, "started")
    store.raw_exchange({"request": {}, "response": {"id": "r"}})
    store.meta({"type": "approval", "event": {}})
    directory = HOME / "sessions" / SID
    assert sorted(p.name for p in directory.iterdir()) == [SESSION_LOG, META_LOG, RAW_LOG]
    assert "session " + SID + ": started" in (directory / SESSION_LOG).read_text()
    assert warnings == []


def test_relative_and_absolute_debug_log(fake_fs: FakeFilesystem) -> None:
    relative = _store([], "debug/custom.log")
    relative.open()
    assert relative.path(SESSION_LOG) == HOME / "sessions" / SID / "debug" / "custom.log"
    absolute = _store([], "/var/log/codex.log")
    assert absolute.path(SESSION_LOG) == Path("/var/log/codex.log")


def test_permission_denied_falls_back_with_one_warning(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_dir(HOME / "log")
    fake_fs.create_dir(HOME / "sessions")
    os.chmod(HOME / "sessions", 0o555)  # read-only: the session directory cannot be made
    warnings: list[str] = []
    store = _store(warnings)
    assert not store.open()
    store.debug(0.0, "started")
    store.raw_exchange({"request": {}, "response": {}})
    store.meta({"type": "approval"})
    assert store.fallback and len(warnings) == 1 and "Permission denied" in warnings[0]
    names = sorted(p.name for p in (HOME / "log").iterdir())
    assert names == [f"session-{SID}.log", f"session_meta-{SID}.log",
                     f"session_oai_raw-{SID}.log"]
    assert not (HOME / "sessions" / SID).exists()


def test_disk_full_mid_session_falls_back_and_never_raises(fake_fs: FakeFilesystem) -> None:
    warnings: list[str] = []
    store = _store(warnings)
    assert store.open()
    store.debug(0.0, "started")
    fake_fs.set_disk_usage(fake_fs.get_disk_usage()[1] + 40)  # total = used + 40
    store.raw_exchange({"request": {"body": "x" * 200}, "response": {}})  # no space
    assert store.fallback and len(warnings) == 1
    assert "No space left" in warnings[0] or "28" in warnings[0]
    assert store.dropped == 1  # the fallback is on the same full disk
    store.meta({"type": "approval"})  # still no exception
    assert len(warnings) == 1


def test_a_file_in_the_way(fake_fs: FakeFilesystem) -> None:
    fake_fs.create_file(HOME / "sessions" / SID, contents="in the way")
    warnings: list[str] = []
    store = _store(warnings)
    assert not store.open()
    store.debug(0.0, "started")
    assert (HOME / "sessions" / SID).read_text() == "in the way"
    assert (HOME / "log" / f"session-{SID}.log").exists()
    assert store.adopt(HOME / "whatever.jsonl") is None
    assert len(warnings) == 1


def test_an_unusable_session_id_falls_back(fake_fs: FakeFilesystem) -> None:
    warnings: list[str] = []
    store = SessionStore(HOME, "../escape", PersistenceConfig(True), warn=warnings.append)
    assert not store.open()
    assert not Path("/codex/agents/escape").exists()
    assert len(warnings) == 1


def test_records_are_json_lines(fake_fs: FakeFilesystem) -> None:
    store = _store([])
    store.open()
    store.meta({"type": "cancellation", "reason": "close"})
    line = (HOME / "sessions" / SID / META_LOG).read_text().splitlines()[0]
    assert json.loads(line) == {"type": "cancellation", "reason": "close"}
