"""Per-agent temporary directories and export: each touches exactly one agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.contract import BackendKind
from conformance.errors import InvalidAgentId
from conformance.files import snapshot
from conformance.harness import Harness
from reference_impl.isolation import ExportError, TempDirs, export_agent


def test_cleanup_removes_only_that_agents_directory(tmp_path: Path) -> None:
    dirs = TempDirs(lambda agent_id: tmp_path / "agents" / agent_id)
    for agent_id in ("worker", "worker-2", "worker.b"):
        (dirs.allocate(agent_id) / "scratch.txt").write_text(agent_id)
    before = snapshot(tmp_path / "agents" / "worker-2")
    assert dirs.cleanup("worker") == tmp_path / "agents" / "worker" / "tmp"
    assert not (tmp_path / "agents" / "worker" / "tmp").exists()
    assert snapshot(tmp_path / "agents" / "worker-2") == before
    assert (tmp_path / "agents" / "worker.b" / "tmp" / "scratch.txt").exists()
    assert dirs.cleanup("worker") is None  # already gone: nothing to do


def test_environment_points_at_the_agents_own_tmp(tmp_path: Path) -> None:
    dirs = TempDirs(lambda agent_id: tmp_path / agent_id)
    env = dirs.environment("a1")
    assert env["TMPDIR"] == env["TMP"] == env["TEMP"] == str(tmp_path / "a1" / "tmp")
    with pytest.raises(InvalidAgentId):
        dirs.environment("../a1")


def test_a_linked_tmp_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (tmp_path / "agents" / "a1").mkdir(parents=True)
    (tmp_path / "agents" / "a1" / "tmp").symlink_to(outside)
    dirs = TempDirs(lambda agent_id: tmp_path / "agents" / agent_id)
    assert dirs.cleanup("a1") is None
    assert (outside / "keep.txt").read_text() == "keep"


def test_export_copies_exactly_one_home(tmp_path: Path) -> None:
    home = tmp_path / "agents" / "a1"
    (home / "log").mkdir(parents=True)
    (home / "log" / "codex.log").write_text("line\n")
    (home / "history.jsonl").write_text("{}\n")
    (tmp_path / "agents" / "a2").mkdir()
    (tmp_path / "agents" / "a2" / "secret").write_text("not exported")
    target = export_agent(home, tmp_path / "out")
    assert snapshot(target) == snapshot(home)


def test_export_refuses_a_used_destination_or_its_own_home(tmp_path: Path) -> None:
    home = tmp_path / "a1"
    home.mkdir()
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    with pytest.raises(ExportError):
        export_agent(home, used)
    with pytest.raises(ExportError):
        export_agent(home, home / "inside")


def test_export_through_the_orchestrator_is_audited(harness: Harness) -> None:
    harness.spawn("planner", BackendKind.CODEX, "task")
    harness.advance(5.0)
    destination = harness.root / "exports" / "planner"
    harness.export("planner", destination)
    assert snapshot(destination) == snapshot(harness.world.home / "agents" / "planner")
    audit = [json.loads(line) for line in
             (harness.world.home / "log" / "multi-agent.log").read_text().splitlines()]
    assert {"event": "export", "agent_id": "planner",
            "destination": str(destination)}.items() <= audit[-1].items()
