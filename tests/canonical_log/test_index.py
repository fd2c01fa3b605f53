"""The index: stable key -> gid mapping, atomic writes, corruption set aside and rebuilt."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_impl.canonical_log import CanonicalLog, CorruptIndexWarning, IndexStore, Layout
from reference_impl.canonical_log import index as index_module
from reference_impl.canonical_log.index import (
    _SortedLines,
    encode_index,
    parse_index,
    rebuild_from_states,
)
from reference_impl.canonical_log.layout import is_gid

GID_A = "a" * 32
GID_B = "b" * 32

_ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)
_keys = st.tuples(st.sampled_from(["codex", "claude", "gemini"]), _ids)


@settings(max_examples=25, deadline=None)
@given(keys=st.lists(_keys, min_size=1, max_size=8))
def test_same_key_same_gid_across_store_objects(keys: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = CanonicalLog(tmp, env={}, fsync=False)
        gids = {key: first.open_session(*key, cwd="/w") for key in keys}
        again = CanonicalLog(tmp, env={}, fsync=False)  # a "restart"
        for key in keys:
            assert again.open_session(*key, cwd="/elsewhere") == gids[key]
        # Different keys, different ids; every id well-formed.
        assert len(set(gids.values())) == len(gids)
        assert all(is_gid(g) for g in gids.values())
        assert first.failures == again.failures == []
        on_disk = json.loads((Path(tmp) / "index.json").read_text())
        assert on_disk == {f"{b}:{i}": g for (b, i), g in gids.items()}


def test_index_file_is_sorted_json_and_no_temp_files_remain(store: CanonicalLog) -> None:
    store.open_session("gemini", "z", cwd="/")
    store.open_session("claude", "a", cwd="/")
    assert store.layout is not None
    home = store.layout.home
    text = (home / "index.json").read_text()
    assert list(json.loads(text)) == ["claude:a", "gemini:z"]
    assert not [p for p in home.rglob("*") if ".tmp-" in p.name]


CORRUPTIONS = {
    "not json": b"{this is not json",
    "truncated": b'{"codex:a": "' + GID_A.encode()[:10],
    "a list": b"[]",
    "a string": b'"codex:a"',
    "non-string value": b'{"codex:a": 7}',
    "bad gid": b'{"codex:a": "../../etc"}',
    "bad key": b'{"nobackend": "' + GID_A.encode() + b'"}',
    "shared gid": b'{"codex:a": "' + GID_A.encode() + b'", "codex:b": "' + GID_A.encode() + b'"}',
    "invalid utf-8": b'{"codex:\xff": "' + GID_A.encode() + b'"}',
    "empty file": b"",
}


@pytest.mark.parametrize("content", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_index_is_set_aside_and_rebuilt(acp_home: Path, content: bytes) -> None:
    log = CanonicalLog(acp_home, env={}, fsync=False)
    gid1 = log.open_session("codex", "one", cwd="/w")
    gid2 = log.open_session("claude", "two", cwd="/w")
    (acp_home / "index.json").write_bytes(content)

    fresh = CanonicalLog(acp_home, env={}, fsync=False)
    with pytest.warns(CorruptIndexWarning, match="moved it to"):
        gid3 = fresh.open_session("gemini", "three", cwd="/w")
    # Known keys keep their ids; the new key gets a new one.
    assert fresh.open_session("codex", "one", cwd="/w") == gid1
    assert fresh.open_session("claude", "two", cwd="/w") == gid2
    assert gid3 not in (gid1, gid2)
    assert fresh.failures == []
    # The corrupt bytes were kept aside, byte for byte, under the documented name.
    aside = [p for p in acp_home.iterdir() if p.name.startswith("index.json.corrupt-")]
    assert len(aside) == 1
    assert re.fullmatch(r"index\.json\.corrupt-\d{8}T\d{12}Z-[0-9a-f]+", aside[0].name)
    assert aside[0].read_bytes() == content
    assert parse_index((acp_home / "index.json").read_bytes()) == {
        "codex:one": gid1,
        "claude:two": gid2,
        "gemini:three": gid3,
    }


def test_lookups_never_repair_and_snapshot_rebuilds_in_memory(acp_home: Path) -> None:
    log = CanonicalLog(acp_home, env={}, fsync=False)
    gid = log.open_session("codex", "one", cwd="/w")
    (acp_home / "index.json").write_bytes(b"garbage")
    index = IndexStore(Layout(acp_home))
    assert index.lookup("codex:one") is None
    with pytest.warns(CorruptIndexWarning):
        assert index.snapshot() == {"codex:one": gid}
    assert (acp_home / "index.json").read_bytes() == b"garbage"  # untouched by readers


def test_missing_index_is_rebuilt_from_state_files(acp_home: Path) -> None:
    log = CanonicalLog(acp_home, env={}, fsync=False)
    gid = log.open_session("codex", "one", cwd="/w")
    (acp_home / "index.json").unlink()
    assert CanonicalLog(acp_home, env={}, fsync=False).open_session("codex", "one", cwd="/") == gid


def test_rebuild_skips_junk_and_prefers_the_oldest_duplicate(acp_home: Path) -> None:
    layout = Layout(acp_home)
    sessions = acp_home / "sessions"
    for gid, created in (
        (GID_A, "2026-01-02T00:00:00.000000Z"),
        (GID_B, "2026-01-01T00:00:00.000000Z"),
    ):
        (sessions / gid).mkdir(parents=True)
        state = {
            "schema_version": 1,
            "gid": gid,
            "key": "codex:dup",
            "backend": "codex",
            "backend_session_id": "dup",
            "cwd": "/",
            "created": created,
        }
        (sessions / gid / "state.json").write_text(json.dumps(state))
    (sessions / "not-a-gid").mkdir()
    (sessions / ("c" * 32)).mkdir()  # no state.json
    (sessions / ("d" * 32)).mkdir()
    (sessions / ("d" * 32) / "state.json").write_text("{broken")
    assert rebuild_from_states(layout) == {"codex:dup": GID_B}


_MAPPINGS = st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=20)


@given(_MAPPINGS, st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)),
                           max_size=5))
def test_the_index_is_encoded_as_json_dumps_would_and_grows_in_place(
        mapping: dict[str, str], added: list[tuple[str, str]]) -> None:
    # encode_index builds the bytes of json.dumps(indent=2, sort_keys=True) itself
    # (json's indenting encoder is pure Python); adding a mapping to what was written
    # re-encodes only the new line.
    def dumped(m: dict[str, str]) -> bytes:
        return (json.dumps(m, indent=2, sort_keys=True) + "\n").encode()

    assert encode_index(mapping) == dumped(mapping)
    lines = _SortedLines(mapping)
    for key, gid in added:
        if key in mapping:
            continue
        mapping[key] = gid
        assert lines.add(key, gid) == dumped(mapping)


def test_a_store_reparses_an_index_another_writer_changed(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    ours, theirs = IndexStore(layout, fsync=False), IndexStore(layout, fsync=False)
    mine, _ = ours.get_or_create("codex:00000000-0000-0000-0000-000000000001")
    other, _ = theirs.get_or_create("codex:00000000-0000-0000-0000-000000000002")
    third, _ = ours.get_or_create("codex:00000000-0000-0000-0000-000000000003")
    assert parse_index(layout.index_path.read_bytes()) == {
        "codex:00000000-0000-0000-0000-000000000001": mine,
        "codex:00000000-0000-0000-0000-000000000002": other,
        "codex:00000000-0000-0000-0000-000000000003": third}


def test_a_failed_write_leaves_the_store_knowing_nothing_of_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A new mapping is added to the store's cached mapping in place: when the write
    # fails, the key must leave it again, or a lookup would answer with an id that was
    # never acknowledged (and never written).
    layout = Layout(tmp_path)
    store = IndexStore(layout, fsync=False)
    first, _ = store.get_or_create("codex:00000000-0000-0000-0000-000000000001")
    key = "codex:00000000-0000-0000-0000-000000000002"

    def refuse(path: Path, data: bytes, *, durable: bool = True) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_module, "replace_file", refuse)
    with pytest.raises(OSError):
        store.get_or_create(key)
    assert store.lookup(key) is None
    monkeypatch.undo()
    gid, created = store.get_or_create(key)
    assert created and gid != first
    assert parse_index(layout.index_path.read_bytes()) == {
        "codex:00000000-0000-0000-0000-000000000001": first, key: gid}
    assert IndexStore(layout).lookup(key) == gid


def test_a_known_key_is_answered_from_what_the_store_knows(tmp_path: Path) -> None:
    # Ids never change once acknowledged, so a key this store has seen is answered
    # without reading index.json again (whatever its size); an unknown one is looked up.
    layout = Layout(tmp_path)
    store, other = IndexStore(layout, fsync=False), IndexStore(layout, fsync=False)
    gid, _ = store.get_or_create("gemini:known")
    layout.index_path.unlink()
    assert store.lookup("gemini:known") == gid
    assert store.get_or_create("gemini:known") == (gid, False)
    assert other.lookup("gemini:known") is None


def test_a_new_key_is_not_known_before_its_write_is_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A lock-free lookup (another thread's) made while the new index is being written
    # must not find the key: its id is not acknowledged until the write is done.
    layout = Layout(tmp_path)
    store = IndexStore(layout, fsync=False)
    store.get_or_create("codex:00000000-0000-0000-0000-000000000001")
    key = "codex:00000000-0000-0000-0000-000000000002"
    seen_during_write: list[str | None] = []
    write = index_module.replace_file

    def watched(path: Path, data: bytes, *, durable: bool = True) -> None:
        seen_during_write.append(store.lookup(key))
        write(path, data, durable=durable)

    monkeypatch.setattr(index_module, "replace_file", watched)
    gid, created = store.get_or_create(key)
    assert created and seen_during_write == [None]
    assert store.lookup(key) == gid
