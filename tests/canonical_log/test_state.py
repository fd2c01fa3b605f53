"""state.json: complete, exclusive, never overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference_impl.canonical_log import CanonicalLog, CorruptStateError, Layout, SessionState
from reference_impl.canonical_log.state import create_state, read_state

GID = "0" * 31 + "1"


def test_state_records_the_session(store: CanonicalLog, acp_home: Path) -> None:
    gid = store.open_session("claude", "sess-9", cwd=Path("/repo"))
    obj = json.loads((acp_home / "sessions" / gid / "state.json").read_text())
    assert obj.pop("created").endswith("Z")
    assert obj == {
        "schema_version": 1,
        "gid": gid,
        "key": "claude:sess-9",
        "backend": "claude",
        "backend_session_id": "sess-9",
        "cwd": "/repo",
    }


def test_existing_state_is_read_not_overwritten(acp_home: Path) -> None:
    layout = Layout(acp_home)
    first, created = create_state(layout, SessionState.new(GID, "codex", "x", "/first"))
    assert created
    before = layout.state_path(GID).read_bytes()
    second, created = create_state(layout, SessionState.new(GID, "codex", "x", "/second"))
    assert not created
    assert second == first
    assert second.cwd == "/first"
    assert layout.state_path(GID).read_bytes() == before
    assert [p.name for p in layout.session_dir(GID).iterdir()] == ["state.json"]


def test_reopening_a_session_keeps_its_original_cwd(store: CanonicalLog, acp_home: Path) -> None:
    gid = store.open_session("codex", "x", cwd="/first")
    before = (acp_home / "sessions" / gid / "state.json").read_bytes()
    assert store.open_session("codex", "x", cwd="/second") == gid
    assert (acp_home / "sessions" / gid / "state.json").read_bytes() == before


def test_a_state_for_another_key_is_a_conflict_not_an_overwrite(acp_home: Path) -> None:
    layout = Layout(acp_home)
    create_state(layout, SessionState.new(GID, "codex", "x", "/"))
    with pytest.raises(CorruptStateError, match="expected 'codex:y'"):
        create_state(layout, SessionState.new(GID, "codex", "y", "/"))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'{"schema_version": 1}',
        json.dumps(
            {
                "schema_version": 1,
                "gid": "f" * 32,
                "key": "codex:x",
                "backend": "codex",
                "backend_session_id": "x",
                "cwd": "/",
                "created": "2026-01-01T00:00:00Z",
            }
        ).encode(),  # gid of another directory
        json.dumps(
            {
                "schema_version": 1,
                "gid": GID,
                "key": "codex:x",
                "backend": "claude",
                "backend_session_id": "x",
                "cwd": "/",
                "created": "2026-01-01T00:00:00Z",
            }
        ).encode(),  # key disagrees with backend
        json.dumps(
            {
                "schema_version": 1,
                "gid": GID,
                "key": "codex:x",
                "backend": "codex",
                "backend_session_id": "x",
                "cwd": "/",
                "created": "yesterday",
            }
        ).encode(),
    ],
)
def test_malformed_state_is_reported(acp_home: Path, content: bytes) -> None:
    layout = Layout(acp_home)
    layout.session_dir(GID).mkdir(parents=True)
    layout.state_path(GID).write_bytes(content)
    with pytest.raises(CorruptStateError):
        read_state(layout, GID)
