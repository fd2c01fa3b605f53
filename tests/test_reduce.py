"""Counterexamples cut to the steps that matter (conformance.reduce)."""

from __future__ import annotations

import pytest

from conformance.reduce import parse, reduce_steps

BAD = "tests.known_bad.obs_005_never_reports_hung"

PADDED = """state = ObservabilityMachine()
state.invariants_hold()
agent-1: codex session 205d2a3e started at t=0.00s
agents_0 = state.first_spawn(profile=codex(
    FileAppears.FIRST_TURN_COMPLETE,
    file_delay=0.26,
    turn_duration=4.2,
    hang_first_turn=False,
    exit_after_first_turn=False,
))
state.invariants_hold()
agent-2: claude session 320bc169 started at t=0.00s
agents_1 = state.spawn(profile=claude(
    file_delay=0.75,
    turn_duration=4.0,
    hang_first_turn=True,
    exit_after_first_turn=False,
))
state.invariants_hold()
state.advance(seconds=30.0)
state.invariants_hold()
state.tick()
state.invariants_hold()
state.advance(seconds=30.0)
state.invariants_hold()
state.advance(seconds=5.0)
state.invariants_hold()
state.tick()
state.invariants_hold()
state.teardown()
shutdown at t=65.00s""".splitlines()


def test_parse_keeps_notes_with_their_steps() -> None:
    parsed = parse(PADDED)
    assert parsed is not None
    assert [s.code[0] for s in parsed.steps][:2] == [
        "agents_0 = state.first_spawn(profile=codex(", "agents_1 = state.spawn(profile=claude("]
    assert parsed.steps[1].notes == ("agent-2: claude session 320bc169 started at t=0.00s",)
    assert parsed.steps[2].advance == 30.0 and parsed.steps[3].advance is None
    assert parsed.epilogue == ("state.teardown()", "shutdown at t=65.00s")


@pytest.mark.slow
def test_no_op_steps_are_dropped_and_waits_merged() -> None:
    reduced = reduce_steps(BAD, "OBS-005", "ObservabilityMachine", PADDED)
    parsed = parse(reduced)
    assert parsed is not None
    assert [s.code[0] for s in parsed.steps] == [
        "agents_1 = state.spawn(profile=claude(", "state.advance(seconds=65)", "state.tick()"]
    # The notes come from the reduced run: agent-2's spawn is now the first session.
    assert parsed.steps[0].notes[0].startswith("agent-1: claude session ")


def test_a_sequence_that_does_not_fail_is_left_alone() -> None:
    lines = ["state = ObservabilityMachine()", "state.invariants_hold()", "state.tick()",
             "state.invariants_hold()", "state.teardown()"]
    assert reduce_steps("reference_impl", "OBS-005", "ObservabilityMachine", lines) == lines
