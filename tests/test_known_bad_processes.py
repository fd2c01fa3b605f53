"""The known-bads again, as orchestrators that launch the CLIs as processes.

Each known-bad is the reference orchestrator with one seam broken
(``tests/known_bad/``). Its process twin is the same broken class on the reference's
process backend (:mod:`reference_impl.processes`): it launches the fake executables
the harness put on ``PATH``, learns session ids from their stdout and hooks, finds the
files on disk and ends a worker by signalling it. The harness judges it through the
processes: its polls are the reads it makes below the homes (inotify), its ends the
signals it sends. Every twin must fail with its known-bad's invariant id, which shows
that each check of the areas the process backend claims can fail through processes,
not only in-process.

The run is the ``ci`` profile's derandomized examples without the shrink phase: the
verdict is what is asserted here (the shrunk counterexample is asserted in-process by
``tests/test_known_bad.py``, and shrinking through processes costs minutes). The same
seed draws other stories for a process world than for an in-process one (a one-prompt
CLI exits after every turn, so the rules that need a running agent are rarer), so a
twin those examples miss is then run through the story that fails its in-process
known-bad, replayed exactly as a vendor replays a stored counterexample: the same
sequence of operations must fail the twin with the same id.
"""

from __future__ import annotations

import hypothesis
import pytest

from conformance import InvariantViolation, run_invariant
from conformance.contract import Capability, World
from conformance.items import counterexample
from conformance.replay import snippet
from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.processes import (
    AcpProcessOrchestrator,
    ProcessAdapter,
    ProcessOrchestrator,
)
from tests.test_known_bad import CATALOGUE, CHECKS, FAILING, KNOWN_BADS, KnownBad

pytestmark = [pytest.mark.slow, pytest.mark.processes]

#: The verdict without the shrink phase (module docstring).
VERDICT = hypothesis.settings(FAILING, phases=[hypothesis.Phase.explicit,
                                               hypothesis.Phase.reuse,
                                               hypothesis.Phase.generate])
#: The areas the process backend claims: their known-bads must have twins.
AREAS = ProcessAdapter.capabilities
#: Known-bads whose twin runs Gemini CLI as an ACP agent (``gemini --acp``, the
#: reference's :class:`AcpProcessOrchestrator`): each needs a parent whose process
#: still runs after its own turn when its child's result comes, and a one-prompt CLI
#: has exited by then. An ACP agent takes every prompt of its session in one process.
NEEDS_A_RUNNING_PARENT = {
    "iso_002_forwards_child_stream",  # the child's stream goes with its result
    "trc_003_result_before_delivery",  # a delivery the running parent refuses
    "trc_004_refused_send_ends_parent",  # the same refusal, taken for an end
}


#: For those, the ``ci`` examples and four times as many: only one parent in three
#: is a Gemini agent that runs on after its turn, and fewer of the first examples
#: than that have a refusal or a stream meet it.
VERDICT_RUNNING_PARENT = hypothesis.settings(VERDICT, max_examples=4 * VERDICT.max_examples)


def twin_of(bad: KnownBad) -> ProcessAdapter:
    """The process twin of ``bad``: its broken orchestrator on the process backend,
    claiming only the area of the invariant it breaks."""
    assert bad.module is not None
    broken: type[ReferenceOrchestrator] = bad.module.conformance_adapter.orchestrator_type
    base = (AcpProcessOrchestrator if bad.name in NEEDS_A_RUNNING_PARENT
            else ProcessOrchestrator)
    twin = type(f"{broken.__name__}On{base.__name__}", (broken, base), {})
    area = Capability(CATALOGUE.get(bad.violates).area.value)

    class TwinAdapter(ProcessAdapter):
        capabilities = frozenset({area})

        def start(self, world: World) -> ProcessOrchestrator:
            orchestrator = twin(world)
            assert isinstance(orchestrator, ProcessOrchestrator)
            return orchestrator

    adapter = TwinAdapter()
    adapter.name = f"{bad.name}-on-processes"
    return adapter


def _cases() -> list[object]:
    cases = []
    for bad in KNOWN_BADS:
        if not bad.usable:
            continue  # tests/test_known_bad.py reports why
        area = Capability(CATALOGUE.get(bad.violates).area.value)
        if area in AREAS:
            cases.append(pytest.param(bad, id=f"{bad.name}-fails-{bad.violates}"))
    return cases


def test_every_claimed_area_has_twins() -> None:
    """The process backend claims areas; each of them has known-bads to twin."""
    areas = {Capability(CATALOGUE.get(bad.violates).area.value)
             for bad in KNOWN_BADS if bad.usable}
    assert areas >= AREAS


def in_process_story(bad: KnownBad) -> str:
    """The shortest sequence that fails ``bad`` in-process, as a script that replays
    it against the adapter named ``__twin__``."""
    assert bad.module is not None
    with pytest.raises(InvariantViolation) as caught:
        run_invariant(bad.module.conformance_adapter, bad.violates, settings=FAILING,
                      catalogue=CATALOGUE)
    check = CHECKS[bad.violates]
    assert check.machine is not None, f"{bad.violates} has no story to replay"
    script = snippet("__twin__", bad.violates, check.machine.__name__,
                     counterexample(caught.value))
    return script.replace("machine_for('__twin__'", "machine_for(__twin__")


@pytest.mark.parametrize("bad", _cases())
def test_the_process_twin_fails_its_invariant(bad: KnownBad) -> None:
    twin = twin_of(bad)
    verdict = VERDICT_RUNNING_PARENT if bad.name in NEEDS_A_RUNNING_PARENT else VERDICT
    try:
        run_invariant(twin, bad.violates, settings=verdict, catalogue=CATALOGUE)
    except InvariantViolation as violation:
        assert violation.invariant_id == bad.violates
        return
    story = in_process_story(bad)
    try:
        exec(compile(story, f"<{bad.name} story>", "exec"), {"__twin__": twin})
    except InvariantViolation as violation:
        assert violation.invariant_id == bad.violates, story
        return
    pytest.fail(f"the process twin of {bad.name} passed the ci examples and the story "
                f"that fails it in-process:\n{story}")
