"""The fault model (conformance.faults): injected I/O faults and the power cut."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest

from conformance.faults import At, Fault, PowerCut, exempt, injected, start, stop


def test_open_faults_refuse_writes_under_the_root_only(tmp_path: Path) -> None:
    inside, outside = tmp_path / "store", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (inside / "kept").write_text("old")
    with injected(Fault(inside, errno.ENOSPC, At.OPEN)):
        with pytest.raises(OSError) as caught:
            (inside / "new").write_text("x")
        assert caught.value.errno == errno.ENOSPC
        with pytest.raises(OSError):
            os.open(inside / "fd", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError):
            os.replace(outside / "a", inside / "b")
        assert (inside / "kept").read_text() == "old"  # reading works
        (outside / "fine").write_text("x")
    (inside / "new").write_text("x")  # the fault is over
    assert builtins.open is io.open


def test_write_faults_let_the_open_truncate_and_fail_the_write(tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text('{"a": 1}')
    with injected(Fault(tmp_path, errno.ENOSPC, At.WRITE)):
        handle = open(index, "w", encoding="utf-8")  # noqa: SIM115
        handle.write('{"a": 1, "b": 2}')
        with pytest.raises(OSError) as caught:
            handle.close()
        assert caught.value.errno == errno.ENOSPC
        assert isinstance(handle, io.TextIOWrapper)
    assert index.read_bytes() == b""  # what a full disk leaves: truncated, not written


def test_write_faults_reach_descriptors_opened_before_them(tmp_path: Path) -> None:
    log = tmp_path / "trace.jsonl"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"line 1\n")
        token = start(Fault(tmp_path, errno.EIO, At.WRITE))
        with pytest.raises(OSError):
            os.write(fd, b"line 2\n")
        stop(token)
        os.write(fd, b"line 3\n")
    finally:
        os.close(fd)
    assert log.read_bytes() == b"line 1\nline 3\n"


def test_partial_writes_store_half_a_line_then_fail(tmp_path: Path) -> None:
    log = tmp_path / "canonical.jsonl"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        with injected(Fault(tmp_path, errno.ENOSPC, At.PARTIAL)):
            assert os.write(fd, b'{"kind": "x"}\n') == 7
            with pytest.raises(OSError):
                os.write(fd, b'"kind"}\n')
    finally:
        os.close(fd)
    assert log.read_bytes() == b'{"kind"'


def test_the_harness_writes_through_any_fault(tmp_path: Path) -> None:
    with injected(Fault(tmp_path, errno.EACCES, At.OPEN)), exempt():
        (tmp_path / "rollout.jsonl").write_text("agent line\n")
    assert (tmp_path / "rollout.jsonl").read_text() == "agent line\n"


def test_a_power_cut_keeps_exactly_what_was_synced(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text("before the world")
    power = PowerCut(tmp_path)
    power.start()
    try:
        fd = os.open(tmp_path / "log.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, b"synced\n")
        os.fsync(fd)
        os.write(fd, b"lost\n")
        os.close(fd)
        (tmp_path / "never.json").write_text("never synced")
        temporary = tmp_path / "index.tmp"
        temporary.write_text('{"new": 1}')
        os.replace(temporary, tmp_path / "old.json")  # renamed, never synced
        lost = power.cut()
    finally:
        power.stop()
    assert (tmp_path / "log.jsonl").read_bytes() == b"synced\n"
    assert (tmp_path / "never.json").read_bytes() == b""
    assert (tmp_path / "old.json").read_bytes() == b""
    assert len(lost) == 3 and power.syncs == 1
    assert os.fsync is not None and "synced" not in getattr(os.fsync, "__name__", "")


def test_removals_through_a_directory_descriptor_meet_the_fault(tmp_path: Path) -> None:
    import shutil

    victim = tmp_path / "sessions" / "s1"
    victim.mkdir(parents=True)
    (victim / "rollout.jsonl").write_text("line\n")
    with injected(Fault(tmp_path / "sessions", errno.EACCES, At.OPEN)):
        shutil.rmtree(victim, ignore_errors=True)
    assert (victim / "rollout.jsonl").read_text() == "line\n"
