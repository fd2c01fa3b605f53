"""The main history and the audit log: what one invocation writes, and what it never
writes (streamed chunks, sub-agent log lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import planting
from conformance.areas.isolation.checks import main_history_records_each_invocation
from conformance.clock import HarnessClock
from conformance.contract import BackendKind
from conformance.fakes.profiles import claude, codex
from conformance.files import log_lines
from conformance.harness import Harness
from reference_impl import processes
from reference_impl.isolation import MainHistory, finish_status, summarize
from reference_impl.isolation.history import Invocation


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_summaries_are_one_short_line() -> None:
    assert summarize("  a\n b\tc ") == "a b c"
    long = summarize("word " * 100)
    assert len(long) <= 120 and long.endswith("...")
    assert summarize(None) == ""


def test_finish_status() -> None:
    assert finish_status("exit", 0) == "succeeded"
    assert finish_status("exit", 3) == "failed"
    assert finish_status("exit", None) == "succeeded"
    assert finish_status("close", None) == finish_status("shutdown", 0) == "closed"


def test_history_writes_a_start_and_a_finish_line(tmp_path: Path) -> None:
    history = MainHistory(tmp_path)
    invocation = Invocation("planner", "codex", "sid", 100.0, "do the thing")
    history.started(invocation)
    invocation.last_output = "done " + "x" * 500
    history.finished(invocation, 104.5, "succeeded")
    started, finished = _lines(tmp_path / "history.jsonl")
    assert started["event"] == "started" and started["status"] == "running"
    assert started["finished_at"] is None and started["output_summary"] is None
    assert finished["event"] == "finished" and finished["duration_s"] == 4.5
    assert finished["started_at"] == started["started_at"]
    assert isinstance(finished["output_summary"], str) and len(finished["output_summary"]) <= 120


def test_one_invocation_end_to_end(harness: Harness) -> None:
    harness.spawn("planner", BackendKind.CODEX, "summarize the README", codex())
    harness.advance(5.0)
    harness.tick()
    harness.close("planner")
    home = harness.world.home
    entries = [e for e in _lines(home / "history.jsonl") if e.get("type") ==
               "subagent_invocation"]
    assert [e["event"] for e in entries] == ["started", "finished"]
    assert entries[1]["status"] == "closed"
    assert str(entries[1]["output_summary"]).startswith("final-answer turn 0")
    history_text = (home / "history.jsonl").read_text()
    assert "intermediate" not in history_text  # chunks and thoughts never reach it
    audit = _lines(home / "log" / "multi-agent.log")
    assert [a["event"] for a in audit] == ["spawn", "finish", "cleanup"]
    # Codex logs into logs_2.sqlite (no log/ directory): every message it left.
    agent_log = [line for _, line in log_lines(home / "agents" / "planner")]
    assert agent_log
    audit_text = (home / "log" / "multi-agent.log").read_text()
    assert not any(line in audit_text for line in agent_log)


def test_resume_is_a_new_invocation_and_exit_status_is_kept(harness: Harness) -> None:
    harness.spawn("coder", BackendKind.CLAUDE, "fix the bug")
    harness.exit_process("coder", exit_code=2)
    harness.resume("coder")
    harness.close("coder")
    entries = [e for e in _lines(harness.world.home / "history.jsonl")
               if e.get("agent_id") == "coder"]
    assert [(e["event"], e["status"], e["resumed"]) for e in entries] == [
        ("started", "running", False), ("finished", "failed", False),
        ("started", "running", True), ("finished", "closed", True)]
    audit = [a["event"] for a in _lines(harness.world.home / "log" / "multi-agent.log")]
    assert audit.count("resume") == 1 and audit.count("finish") == 2


@pytest.mark.processes
def test_a_turn_told_with_the_resume_belongs_to_the_invocation_before(
        tmp_path: Path, clock: HarnessClock) -> None:
    """Regression: a ``claude -p`` whose turn completes, and which exits, at the very
    instant the user resumes it is told both at that resume, before it. The turn's
    answer is the first invocation's; the resumed one, closed with no turn, has none.
    ISO-004 compared times only and put the answer in both, so it failed the reference
    (found by a random run of the JavaScript driver)."""
    harness = Harness(processes.conformance_adapter, clock, tmp_path / "world")
    planting.plant(harness)  # the answer carries the agent's marker, as ISO-004 looks
    try:
        record = harness.spawn("coder", BackendKind.CLAUDE,
                               planting.prompt(harness, "coder", "fix the bug"),
                               profile=claude(turn_duration=1.0))
        turn = record.session.turns[0]
        while turn.completed_at is None:  # time stops at the instant it completes
            due = turn.due_at
            harness.advance(0.25 if due is None else max(due - harness.now(), 0.001))
        assert turn.completed_at == harness.now()
        harness.resume("coder")
        harness.close("coder")
        entries = [e for e in _lines(harness.world.home / "history.jsonl")
                   if e.get("agent_id") == "coder"]
        assert [(e["event"], e["status"]) for e in entries] == [
            ("started", "running"), ("finished", "succeeded"),
            ("started", "running"), ("finished", "closed")]
        assert entries[1]["output_summary"] and not entries[3]["output_summary"]
        main_history_records_each_invocation(harness)
    finally:
        harness.dispose()
