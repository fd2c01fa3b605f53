"""The base of every area's state machine, meant for third-party orchestrators.

A :class:`HarnessMachine` builds one :class:`~conformance.harness.Harness` per
example, runs the enabled step checks after every rule (``@invariant``) and once
more after shutdown, and removes the world afterwards. An area's machine adds rules;
:func:`run_machine` runs it for one invariant against one adapter.

``note()`` calls in rules make a counterexample readable: each step says what the
backends did in answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import ClassVar

from hypothesis import note, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, run_state_machine_as_test

from conformance import faults
from conformance.clock import HarnessClock
from conformance.contract import Settings
from conformance.harness import Harness, workspace_name
from conformance.registry import RunContext, add

StepCheck = Callable[[Harness], None]

#: Step checks by invariant id, so a replay can enable exactly the failing one.
STEP_CHECKS: dict[str, StepCheck] = {}

_worlds = itertools.count(1)

#: The note :meth:`HarnessMachine.mark_step` leaves: it tells a replay's notes apart by
#: step (see :mod:`conformance.reduce`).
STEP_MARK = "\x1fconformance-step "


class HarnessMachine(RuleBasedStateMachine):
    """Shared set-up, checking and teardown; subclasses add the rules of an area."""

    context: ClassVar[RunContext]
    step_checks: ClassVar[tuple[StepCheck, ...]] = ()
    clock: ClassVar[HarnessClock]

    def __init__(self) -> None:
        super().__init__()
        root = self.context.workdir / f"world-{next(_worlds)}"
        self.harness = Harness(self.context.adapter.adapter, self.clock, root,
                               settings=self.world_settings(),
                               workspace=workspace_name(root.name))

    def world_settings(self) -> Settings:
        """The settings of each world; areas override to exercise theirs."""
        return Settings()


    @invariant()
    def invariants_hold(self) -> None:
        self.harness.observe()
        for check in self.step_checks:
            check(self.harness)

    def mark_step(self, number: int) -> None:
        """Leave a marker among the notes (not a rule: only replays call it)."""
        note(f"{STEP_MARK}{number}")

    def teardown(self) -> None:
        try:
            self.harness.shutdown()
            note(f"shutdown at {self.harness.describe(self.harness.now())}")
            self.invariants_hold()
        finally:
            # No fault outlives its world, whatever a machine forgot to stop.
            faults.stop_all()
            self.harness.dispose()


def run_machine(
    machine: type[HarnessMachine], context: RunContext, checks: Sequence[StepCheck]
) -> None:
    """Run ``machine`` with ``checks`` enabled under ``context.settings``.

    The subclass keeps the machine's name so a counterexample reads
    ``state = ObservabilityMachine()``.
    """
    clock = HarnessClock()
    bound = bind_machine(machine, context, checks, clock)
    clock.start()
    try:
        # One invariant per run: a second failure (say, found again at teardown) is
        # the same violation, and must surface as one InvariantViolation, not a group.
        run_state_machine_as_test(bound, settings=settings(context.settings,
                                                           report_multiple_bugs=False))
    finally:
        faults.stop_all()
        clock.stop()


#: The rules of each machine that inject failing writes or power cuts
#: (:func:`fault_rules`).
FAULT_RULES: dict[type, tuple[str, ...]] = {}


def fault_rules(machine: type[HarnessMachine], *names: str) -> None:
    """Declare the rules of ``machine`` that inject failing writes or power cuts:
    they act in this process only (:func:`conformance.faults.reach`), so a run whose
    orchestrator is another process (behind a driver) does not draw them. A fault that
    silently missed the orchestrator would let a check pass, or fail, on a story that
    did not happen.

    Declared beside the class, not in it: Hypothesis derives a derandomized run's
    seed from the machine class's source, so a marker inside it would change every
    ``ci`` example the machine draws for every adapter."""
    FAULT_RULES[machine] = names


def bind_machine(
    machine: type[HarnessMachine], context: RunContext, checks: Sequence[StepCheck],
    clock: HarnessClock,
) -> type[HarnessMachine]:
    """A subclass of ``machine`` bound to one run (its adapter, checks and clock),
    without its fault rules when faults cannot reach the orchestrator."""
    namespace: dict[str, object] = {
        "context": context, "step_checks": tuple(checks), "clock": clock,
        "__module__": machine.__module__,
    }
    if not faults.reach(context.adapter.adapter):
        for owner in machine.__mro__:
            namespace.update(dict.fromkeys(FAULT_RULES.get(owner, ()), None))
    return type(machine.__name__, (machine,), namespace)


def step_check(
    invariant_id: str, machine: type[HarnessMachine]
) -> Callable[[StepCheck], StepCheck]:
    """Register the decorated step check as the check of ``invariant_id``, run on
    ``machine`` after every step."""

    def decorate(function: StepCheck) -> StepCheck:
        def run(context: RunContext) -> None:
            run_machine(machine, context, [function])

        # Registered first: a second check of the same id is refused before it could
        # replace the first one's step function.
        add(invariant_id, run, f"{function.__module__}.{function.__qualname__}", machine)
        STEP_CHECKS[invariant_id] = function
        return function

    return decorate
