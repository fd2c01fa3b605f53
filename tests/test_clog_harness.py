"""The canonical-log side of the harness: reading a store from the outside, the
journal's identities, fault injection, the scratch user environment, and the prompt
content a spawn carries to the orchestrator."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.areas.canonical_log.journal import (
    Journal,
    Owed,
    logged_ident,
    unmatched,
    update_ident,
)
from conformance.areas.canonical_log.store import (
    find_sessions,
    parse_log,
    read_index,
    sessions_by_key,
)
from conformance.clock import HarnessClock
from conformance.contract import BackendKind, SpawnRequest, World
from conformance.fakes.permissions import with_permissions
from conformance.faults import corrupt_index, failing_writes, tear_last_lines
from conformance.harness import Harness
from conformance.scratch_env import scratch_user_env
from reference_impl.adapter import conformance_adapter
from reference_impl.orchestrator import ReferenceOrchestrator


@pytest.fixture
def clock() -> Iterator[HarnessClock]:
    with HarnessClock() as running:
        yield running


def test_parse_log_tells_events_from_everything_else() -> None:
    raw = (b'{"kind":"acp.plan","data":{"entries":[]}}\n'
           b'{"kind":"acp.turn_complete","data":{}}\n'
           b'\n'
           b'{"kind":"acp.prompt","data":[]}\n'
           b'[1,2]\n'
           b'{"kind":"acp.prompt","da')
    lines = parse_log(raw)
    assert [line.number for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0].problem is None and lines[0].kind == "acp.plan"
    assert "unknown kind" in str(lines[1].problem)
    assert "blank" in str(lines[2].problem)  # a blank line is no event either
    assert "data" in str(lines[3].problem)
    assert "not an object" in str(lines[4].problem)
    assert not lines[5].complete and lines[5].problem is not None


def test_a_spawn_carries_its_content_to_the_orchestrator(
    clock: HarnessClock, tmp_path: Path
) -> None:
    seen: list[SpawnRequest] = []

    class Recording(ReferenceOrchestrator):
        def spawn(self, request: SpawnRequest) -> None:
            seen.append(request)
            super().spawn(request)

    class Adapter:
        name, version = "recording", "0"
        capabilities = conformance_adapter.capabilities

        def start(self, world: World) -> Recording:
            return Recording(world)

    harness = Harness(Adapter(), clock, tmp_path / "world")
    blocks = [{"type": "text", "text": "look"},
              {"type": "resource_link", "uri": "file:///a.py", "name": "a.py"}]
    record = harness.spawn("agent-1", BackendKind.CLAUDE, "look", content=blocks)
    harness.spawn("agent-2", BackendKind.GEMINI, "plain")
    harness.shutdown()
    assert seen[0].content == tuple(blocks) and record.content == tuple(blocks)
    assert seen[1].content == ()


def test_the_reference_logs_what_the_journal_owes(clock: HarnessClock, tmp_path: Path) -> None:
    """The journal's identities and the reference's log agree event for event."""
    harness = Harness(conformance_adapter, clock, tmp_path / "world")
    for host in harness.hosts.values():
        host.responder = with_permissions()
    journal = Journal()
    journal.watch(harness.hosts)
    blocks: list[dict[str, Any]] = [{"type": "text", "text": "fix it"}]
    record = harness.spawn("agent-1", BackendKind.CODEX, "fix it", content=blocks)
    journal.prompt(BackendKind.CODEX, record.session.session_id, blocks, "spawn")
    harness.advance(5.0)
    harness.shutdown()
    (session,) = find_sessions(harness.world.acp_home)
    index, problem = read_index(harness.world.acp_home)
    assert problem is None and index is not None
    key = f"codex:{record.session.session_id}"
    assert index[key] == session.gid and sessions_by_key([session]) == {key: [session]}
    owed = journal.owed[key]
    assert [logged_ident(line) for line in session.events()] == [o.ident for o in owed]
    kinds = [o.ident[0] for o in owed]
    assert kinds[:2] == ["acp.prompt", "backend.codex.submit"]
    assert {"acp.request_permission", "acp.request_permission_response"} <= set(kinds)


def test_updates_outside_the_canonical_kinds_owe_nothing() -> None:
    assert update_ident({"sessionUpdate": "user_message_chunk",
                         "content": {"type": "text", "text": "x"}}) is None
    assert update_ident({"sessionUpdate": "tool_call", "toolCallId": "c1"}) == (
        "acp.tool_call", ("c1",))


def test_unmatched_finds_what_is_missing_in_order() -> None:
    owed = [Owed("k", ("a", (1,)), "x"), Owed("k", ("b", (2,)), "y")]
    assert unmatched(owed, [("a", (1,)), ("z", ()), ("b", (2,))]) == []
    assert unmatched(owed, [("b", (2,)), ("a", (1,))]) == owed[1:]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_failing_writes_fail_under_the_root_only(tmp_path: Path, code: int) -> None:
    store, elsewhere = tmp_path / "store", tmp_path / "elsewhere"
    store.mkdir()
    (store / "log").write_text("kept\n")
    with failing_writes(store, code):
        for attempt in (lambda: (store / "new").write_text("x"),
                        lambda: os.open(store / "log", os.O_WRONLY | os.O_APPEND),
                        lambda: (store / "dir").mkdir(),
                        lambda: os.replace(store / "log", store / "moved")):
            with pytest.raises(OSError) as caught:
                attempt()
            assert caught.value.errno == code
        assert (store / "log").read_text() == "kept\n"  # reading still works
        elsewhere.write_text("fine")
    (store / "new").write_text("x")  # restored
    assert elsewhere.read_text() == "fine"


def test_damage_helpers(tmp_path: Path) -> None:
    assert not corrupt_index(tmp_path)
    (tmp_path / "index.json").write_text("{}")
    assert corrupt_index(tmp_path)
    assert read_index(tmp_path)[0] is None
    log = tmp_path / "sessions" / "g" / "canonical.jsonl"
    log.parent.mkdir(parents=True)
    log.write_bytes(b'{"kind":"acp.plan","data":{}}\n')
    assert tear_last_lines(tmp_path) == 1
    assert not parse_log(log.read_bytes())[-1].complete


def test_scratch_user_env_is_restored(tmp_path: Path) -> None:
    before = {name: os.environ.get(name) for name in ("HOME", "ACP_HOME")}
    with scratch_user_env(tmp_path) as env:
        assert os.environ["HOME"] == str(env.home) and env.home.is_dir()
        assert os.environ["ACP_HOME"] == str(env.acp_home) and not env.acp_home.exists()
    assert {name: os.environ.get(name) for name in ("HOME", "ACP_HOME")} == before
