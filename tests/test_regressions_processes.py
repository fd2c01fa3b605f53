"""Regressions of the harness through processes: sequences that once failed the
reference's process backend for the harness's own reasons, replayed as printed.

* TRC-004: a follow-up to a child, while the child's result is owed to a parent whose
  process exited unnoticed, was consumed by the result's delivery in the trace model,
  and the trace's account of the follow-up was called invented.
* CLOG-011: two runs of one story through processes differed when two Claude sessions
  had ids the orchestrator drew at random (a multiset sorted by those ids).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from conformance.areas.canonical_log.checks_faults import play
from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Settings
from conformance.replay import run_snippet, snippet
from conformance.scratch_env import decoys, scratch_user_env
from reference_impl import processes

pytestmark = [pytest.mark.processes, pytest.mark.slow]

TRC_004_STEPS = [
    "state = TraceMachine()",
    "agents_0, agents_1 = state.spawn_root_and_child(root=codex(exit_after_first_turn="
    "False, turn_duration=4.2, version='0.171.0'), child=codex(exit_after_first_turn=False,"
    " turn_duration=4.2, version='0.171.0'), long_task=False, grandchild=False)",
    "state.invariants_hold()",
    "state.process_exits(agent=agents_0, noticed_after=30.0)",
    "state.invariants_hold()",
    "state.send(agent=agents_1, long_text=False)",
    "state.invariants_hold()",
    "state.advance(seconds=5.0)",
    "state.invariants_hold()",
    "state.send(agent=agents_1, long_text=False)",
    "state.invariants_hold()",
    "state.teardown()",
]


def test_a_follow_up_waits_for_its_own_send_in_the_trace_model(tmp_path: Path) -> None:
    script = tmp_path / "TRC-004.py"
    script.write_text(snippet("reference_impl.processes", "TRC-004", "TraceMachine",
                              TRC_004_STEPS), encoding="utf-8")
    run_snippet(script)  # raised InvariantViolation: TRC-004 (invented message)


def test_two_runs_of_one_story_through_processes_are_the_same() -> None:
    plan = [("spawn", BackendKind.CLAUDE, ["resource_link"]), ("send", 2),
            ("spawn", BackendKind.CLAUDE, ["resource", "resource"])]
    with tempfile.TemporaryDirectory(prefix="regression-clog-011-") as scratch, \
            scratch_user_env(Path(scratch), decoys(Settings())), HarnessClock() as clock:
        runs = [play(processes.conformance_adapter, clock, Path(scratch) / "story", plan,
                     None) for _ in range(3)]
    assert runs[0].steps == runs[1].steps == runs[2].steps
