"""canonical.jsonl: append-only, ordered, every line a known kind, torn lines contained."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_impl.canonical_log import KINDS, LogWriter, read_events
from reference_impl.canonical_log.events import EventKind
from reference_impl.canonical_log.log import parse_log

GID = "c" * 32


def _append(writer: LogWriter, i: int, kind: EventKind = "backend.codex.submit") -> int:
    return writer.append(kind, GID, {"submission_id": f"s{i}", "op_kind": "other"})


@settings(max_examples=30, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=15))
def test_append_only_ordered_and_known_kinds(kinds: list[EventKind]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "canonical.jsonl"
        writer = LogWriter(path, fsync=False)
        previous = b""
        for i, kind in enumerate(kinds):
            assert writer.append(kind, GID, {"i": i}) == i + 1
            now = path.read_bytes()
            assert now.startswith(previous)  # earlier bytes never change
            assert now.endswith(b"\n") and now[len(previous) :].count(b"\n") == 1
            previous = now
        writer.close()
        for number, raw in enumerate(previous.splitlines(), start=1):
            obj = json.loads(raw)
            assert set(obj) == {"v", "seq", "ts", "kind", "gid", "data"}
            assert obj["v"] == 1 and obj["kind"] in KINDS and obj["seq"] == number
            assert obj["ts"].endswith("Z") and obj["gid"] == GID
        result = read_events(path)
        assert result.skipped == []
        assert [e.kind for e in result.events] == kinds
        assert [e.data["i"] for e in result.events] == list(range(len(kinds)))


def test_seq_continues_across_writers(tmp_path: Path) -> None:
    path = tmp_path / "canonical.jsonl"
    first = LogWriter(path, fsync=False)
    second = LogWriter(path, fsync=False)
    assert [_append(first, 0), _append(first, 1)] == [1, 2]
    assert _append(second, 2) == 3  # a new writer (new process) continues
    assert _append(first, 3) == 4  # and the first notices it was not alone
    assert [e.seq for e in read_events(path).events] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "fragment",
    [b'{"v":1,"seq":3,"ts":"2026', b"\xff\xfe garbage", b'{"v":1', b"{"],
    ids=["cut json", "binary", "short", "brace"],
)
def test_torn_last_line_is_skipped_and_next_append_is_clean(
    tmp_path: Path, fragment: bytes
) -> None:
    path = tmp_path / "canonical.jsonl"
    writer = LogWriter(path, fsync=False)
    _append(writer, 0)
    _append(writer, 1)
    writer.close()
    with open(path, "ab") as f:  # what a crash mid-write leaves behind
        f.write(fragment)
    before = path.read_bytes()

    torn = read_events(path)
    assert [e.seq for e in torn.events] == [1, 2]
    assert torn.skipped == [3]

    fresh = LogWriter(path, fsync=False)  # the next process
    assert _append(fresh, 2) == 3
    assert _append(fresh, 3) == 4
    after = path.read_bytes()
    assert after.startswith(before)
    assert after[len(before) : len(before) + 1] == b"\n"  # the fragment stays isolated
    result = read_events(path)
    assert [e.seq for e in result.events] == [1, 2, 3, 4]
    assert result.skipped == [3]
    assert 3 in result.reasons


def test_seq_continues_from_the_last_parsable_line(tmp_path: Path) -> None:
    path = tmp_path / "canonical.jsonl"
    writer = LogWriter(path, fsync=False)
    for i in range(3):
        _append(writer, i)
    with open(path, "ab") as f:
        f.write(b"not json\n\n[1,2]\n")
    assert _append(LogWriter(path, fsync=False), 9) == 4


def test_tail_scan_crosses_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "canonical.jsonl"
    writer = LogWriter(path, fsync=False)
    big = "x" * 100_000  # one line longer than the 64 KiB scan chunk
    writer.append("acp.prompt", GID, {"big": big})
    writer.append("acp.prompt", GID, {"big": big})
    with open(path, "ab") as f:
        f.write(b"y" * 70_000)  # and a torn line longer than a chunk too
    assert _append(LogWriter(path, fsync=False), 0) == 3
    result = read_events(path)
    assert [e.seq for e in result.events] == [1, 2, 3] and result.skipped == [3]


def test_an_empty_file_starts_at_one(tmp_path: Path) -> None:
    path = tmp_path / "canonical.jsonl"
    path.touch()
    assert _append(LogWriter(path, fsync=False), 0) == 1
    assert not path.read_bytes().startswith(b"\n")


@given(content=st.binary(max_size=300))
def test_the_reader_never_raises_on_content(content: bytes) -> None:
    result = parse_log(content)
    assert all(e.kind in KINDS for e in result.events)
    assert len(result.events) + len(result.skipped) <= content.count(b"\n") + 1


def test_wrong_version_or_kind_is_skipped(tmp_path: Path) -> None:
    good = {"v": 1, "seq": 1, "ts": "t", "kind": "acp.plan", "gid": GID, "data": {}}
    lines = [
        good,
        {**good, "v": 2},
        {**good, "kind": "acp.unknown"},
        {**good, "seq": 0},
        {**good, "seq": True},
        {**good, "gid": "../x"},
        {**good, "data": []},
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(obj) + "\n" for obj in lines))
    result = read_events(path)
    assert len(result.events) == 1 and result.skipped == [2, 3, 4, 5, 6, 7]


def test_fsync_is_called_per_append_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    writer = LogWriter(tmp_path / "c.jsonl")
    _append(writer, 0)
    first = len(calls)
    assert first >= 2  # the log itself and, as it was created, its directory
    _append(writer, 1)
    assert len(calls) == first + 1
    unsynced = LogWriter(tmp_path / "d.jsonl", fsync=False)
    _append(unsynced, 0)
    assert len(calls) == first + 1


def test_each_line_is_one_write_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    writer = LogWriter(tmp_path / "c.jsonl", fsync=False)
    monkeypatch.setattr(os, "write", spy)
    for i in range(3):
        _append(writer, i)
    assert len(writes) == 3
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)


def test_a_complete_last_line_missing_only_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "canonical.jsonl"
    writer = LogWriter(path, fsync=False)
    _append(writer, 0)
    writer.close()
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # a write cut just before "\n"
    assert _append(LogWriter(path, fsync=False), 1) == 2
    result = read_events(path)
    assert [e.seq for e in result.events] == [1, 2] and result.skipped == []
