"""State-machine steps per second of the observability machine against reference_impl.

The machine runs in this process through the suite's own ``run_machine`` under one
fixed settings object (the ``ci`` profile: derandomized, so every run executes the
same steps), with every OBS step check enabled, exactly as certification runs it.
The figure covers everything a step costs: Hypothesis drawing the rule and its
arguments, the rule itself, the orchestrator's reaction, and the checks after it;
world set-up and teardown per example are included too, since a run pays for them.

Steps are counted without touching Hypothesis internals: Hypothesis runs the
machine's ``@invariant`` once after the constructor and once after every rule, and
``HarnessMachine.teardown`` runs it once more. A generated subclass re-declares the
invariant to count those calls, minus the first of each example and the teardown's.
The same machine with no checks enabled is measured alongside, to show what the
checks cost, and the same machine with every check against the reference's process
backend (``reference_impl.processes``), whose agents are the fake executables: the
cost of a step when every spawn, follow-up and end is a process the harness plays.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis.stateful import invariant

from benchmarks import step_shares
from benchmarks.report import Section, Table, Target
from conformance import packs
from conformance.areas.observability.machine import ObservabilityMachine
from conformance.catalogue import load_catalogue
from conformance.contract import Capability
from conformance.loader import load_adapter
from conformance.profiles import suite_settings
from conformance.registry import RunContext, verify
from conformance.scratch import scratch_root
from conformance.stateful import STEP_CHECKS, HarnessMachine, StepCheck, run_machine

PROFILE = "ci"
#: Issue 14's bound (issue 6 had set 1,000).
STEPS_MIN = 2000.0
#: The harness floor's orchestrator (:mod:`benchmarks.null_orchestrator`).
NULL = "benchmarks.null_orchestrator"


@dataclass
class Counter:
    examples: int = 0
    steps: int = 0


def counting(machine: type[HarnessMachine], counter: Counter) -> type[HarnessMachine]:
    """``machine`` with its rule executions counted into ``counter`` (module docstring)."""

    def __init__(self: Any) -> None:
        machine.__init__(self)
        self._bench_checks = 0
        self._bench_teardown = False
        counter.examples += 1

    def invariants_hold(self: Any) -> None:
        if not self._bench_teardown:
            if self._bench_checks:
                counter.steps += 1
            self._bench_checks += 1
        machine.invariants_hold(self)

    def teardown(self: Any) -> None:
        self._bench_teardown = True
        machine.teardown(self)

    namespace: dict[str, Any] = {
        "__init__": __init__,
        "invariants_hold": invariant()(invariants_hold),
        "teardown": teardown,
        "__module__": machine.__module__,
    }
    return type(machine.__name__, (machine,), namespace)


def machine_checks_of(area: Capability) -> tuple[type[HarnessMachine], list[StepCheck]]:
    """The area's machine and the step checks that run on it (its variants' checks,
    such as persistence switched off, run on another machine and are left out)."""
    machine = packs.machine(area.value)
    catalogue = load_catalogue()
    checks = verify(catalogue)
    return machine, [STEP_CHECKS[inv.id] for inv in catalogue.in_area(area)
                     if checks[inv.id].machine is machine and inv.id in STEP_CHECKS]


@dataclass(frozen=True)
class Measurement:
    label: str
    checks: int
    examples: int
    steps: int
    seconds: float
    #: Seconds by part of a step (:mod:`benchmarks.step_shares`), when attributed.
    parts: dict[str, float] | None = None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0


def measure(label: str, machine: type[HarnessMachine], checks: Sequence[StepCheck],
            settings: hypothesis.settings, adapter: str = "reference_impl", *,
            area: Capability = Capability.OBSERVABILITY, attribute: bool = False
            ) -> Measurement:
    """Run ``machine`` once; with ``attribute``, also split its time by part."""
    some_invariant = load_catalogue().in_area(area)[0]
    counter = Counter()
    parts: dict[str, float] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-steps-", dir=scratch_root()) as scratch:
        context = RunContext(load_adapter(adapter), some_invariant, settings,
                             Path(scratch))
        with contextlib.ExitStack() as stack:
            if attribute:
                watch, checks = stack.enter_context(step_shares.attributed(checks))
            start = time.perf_counter()
            run_machine(counting(machine, counter), context, checks)
            seconds = time.perf_counter() - start
            if attribute:
                parts = watch.close()
    return Measurement(label, len(checks), counter.examples, counter.steps, seconds, parts)


def _rate(steps: int, seconds: float) -> str:
    return f"{steps / seconds:,.0f}" if seconds else "-"


def per_area(settings: hypothesis.settings) -> list[tuple[Capability, str, Measurement,
                                                           Measurement, Measurement]]:
    """For each area: its machine's name, the machine with its step checks against
    reference_impl, the same run attributed by part, and the harness floor (the null
    orchestrator, no checks)."""
    found = []
    for area in Capability:
        machine, checks = machine_checks_of(area)
        warm = hypothesis.settings(settings, max_examples=3)
        measure("warm-up", machine, checks, warm, area=area)
        measure("warm-up", machine, [], warm, NULL, area=area)
        found.append((
            area, machine.__name__,
            measure(area.value, machine, checks, settings, area=area),
            measure(area.value, machine, checks, settings, area=area, attribute=True),
            measure(area.value, machine, [], settings, NULL, area=area),
        ))
    return found


def run() -> Section:
    section = Section("steps", "State-machine steps per second (ObservabilityMachine)")
    settings = suite_settings(PROFILE)
    _, checks = machine_checks_of(Capability.OBSERVABILITY)
    # Warm-up: the first run imports the fakes and pays one-off costs.
    measure("warm-up", ObservabilityMachine, checks,
            hypothesis.settings(settings, max_examples=3))
    results = [
        measure("all OBS step checks", ObservabilityMachine, checks, settings),
        measure("no checks (machine only)", ObservabilityMachine, [], settings),
        measure("all OBS step checks, through processes", ObservabilityMachine, checks,
                settings, adapter="reference_impl.processes"),
    ]
    section.tables.append(Table(
        f"{PROFILE} profile ({settings.max_examples} examples x up to "
        f"{settings.stateful_step_count} steps): reference_impl in-process, and "
        "reference_impl.processes through the fake executables",
        ("run", "checks", "examples", "steps", "wall s", "steps/s", "steps/example"),
        tuple((m.label, str(m.checks), str(m.examples), str(m.steps), f"{m.seconds:.2f}",
               f"{m.steps_per_second:,.0f}",
               f"{m.steps / m.examples:.1f}" if m.examples else "-") for m in results),
    ))
    areas = per_area(settings)
    section.tables.append(Table(
        f"Every area's machine, {PROFILE} profile: reference_impl with the area's step "
        "checks, and the harness floor (the null orchestrator, no checks)",
        ("machine", "checks", "steps", "reference s", "reference steps/s", "floor steps",
         "floor s", "floor steps/s", "floor ms/step"),
        tuple((name, str(ref.checks), str(ref.steps),
               f"{ref.seconds:.2f}", _rate(ref.steps, ref.seconds), str(null.steps),
               f"{null.seconds:.2f}", _rate(null.steps, null.seconds),
               f"{1000 * null.seconds / null.steps:.2f}" if null.steps else "-")
              for _, name, ref, _, null in areas),
    ))
    section.tables.append(Table(
        "Share of a step by part, reference_impl with the area's step checks (a run of "
        "its own, timed at every boundary: see benchmarks/step_shares.py)",
        ("machine", "ms/step", *step_shares.PARTS),
        tuple((name,
               f"{1000 * sum(shared.parts.values()) / shared.steps:.2f}" if shared.steps
               else "-",
               *(f"{share:.0%}" for share in step_shares.shares(shared.parts).values()))
              for _, name, _, shared, _ in areas if shared.parts is not None),
    ))
    all_steps = sum(ref.steps for _, _, ref, _, _ in areas)
    all_seconds = sum(ref.seconds for _, _, ref, _, _ in areas)
    floor_steps = sum(null.steps for *_, null in areas)
    floor_seconds = sum(null.seconds for *_, null in areas)
    section.targets += [
        Target("state-machine steps per second (ObservabilityMachine, all checks)",
               results[0].steps_per_second, STEPS_MIN, "steps/s", "min", digits=0),
        Target("state-machine steps per second (every area's machine and checks)",
               all_steps / all_seconds if all_seconds else None, STEPS_MIN, "steps/s",
               "min", digits=0),
    ]
    if floor_seconds and all_seconds:
        section.notes.append(
            f"harness floor: {floor_steps / floor_seconds:,.0f} steps/s over every machine "
            f"against the null orchestrator ({1000 * floor_seconds / floor_steps:.2f} "
            f"ms/step, against {1000 * all_seconds / all_steps:.2f} ms/step with "
            "reference_impl and every check): the most any orchestrator can get")
    section.notes.append("a step = one rule execution; wall time includes rule drawing, "
                         "world set-up/teardown per example and the step checks")
    inside, through = results[0], results[2]
    if through.steps_per_second:
        ratio = inside.steps_per_second / through.steps_per_second
        section.notes.append(
            f"through processes a step costs {ratio:.1f}x an in-process one (every "
            "spawn, follow-up and delivery launches a fake CLI, and the harness waits for "
            "each process it set in motion)"
            + ("" if through.steps == inside.steps else
               f"; the two worlds drew {inside.steps} and {through.steps} steps"))
    section.data = {
        "profile": PROFILE,
        "measurements": [
            {"label": m.label, "checks": m.checks, "examples": m.examples, "steps": m.steps,
             "seconds": m.seconds, "steps_per_second": m.steps_per_second}
            for m in results
        ],
        "areas": [
            {"area": area.value, "machine": name,
             "reference": {"checks": ref.checks, "examples": ref.examples,
                           "steps": ref.steps, "seconds": ref.seconds},
             "floor": {"examples": null.examples, "steps": null.steps,
                       "seconds": null.seconds},
             "parts_seconds": shared.parts, "parts_steps": shared.steps}
            for area, name, ref, shared, null in areas
        ],
    }
    return section
