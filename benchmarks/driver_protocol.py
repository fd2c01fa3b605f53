"""What the driver protocol costs: per operation, per world, and per machine step.

An orchestrator in another language is driven through a driver process
(:mod:`conformance.driver`): every call of the contract becomes a JSON line to the
driver and one back, each validated against the protocol's schema. This section
measures that cost, next to the same work in-process, in one run:

* **per operation**: one scripted world (a Codex, a Claude Code and a Gemini CLI agent
  spawned, time passed, ticks, views, a resume and a follow-up, a close, a shutdown)
  run :data:`WORLDS` times against the reference's process backend in-process, the
  same backend behind ``python -m reference_impl.driver``, and the JavaScript
  orchestrator behind ``node examples/js-orchestrator/driver.js``. Each call of the
  orchestrator is timed where the harness makes it (the harness's own waiting for the
  fake processes is outside it). The in-process and Python-driver orchestrators are the
  same code, so their difference is the protocol's cost: a round trip, the schema
  validation both ways, and the driver's clock moved to the request's time.
* **per world**: starting the driver (its process, ``hello``, ``start``) and stopping
  it, against building the orchestrator in-process.
* **steps per second**: the observability state machine with all its step checks,
  under the ``ci`` profile cut to :data:`STEP_EXAMPLES` examples (the same examples in
  every row), in-process, through the fake executables, and through both drivers.
"""

from __future__ import annotations

import shlex
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import hypothesis

from benchmarks.machine_steps import Measurement, machine_checks_of, measure
from benchmarks.report import Section, Table
from conformance.areas.observability.machine import ObservabilityMachine
from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Capability, Settings
from conformance.errors import BackendError
from conformance.harness import Harness
from conformance.loader import load_adapter
from conformance.profiles import suite_settings

#: Scripted worlds per orchestrator (the per-operation figures are their medians).
WORLDS = 3
#: Examples of the step measurement (a driver costs a process per world).
STEP_EXAMPLES = 12
ROOT = Path(__file__).resolve().parents[1]
PYTHON_DRIVER = f"{shlex.quote(sys.executable)} -m reference_impl.driver"
JS_DRIVER = f"node {shlex.quote(str(ROOT / 'examples' / 'js-orchestrator' / 'driver.js'))}"


class Timed:
    """An orchestrator whose every call is timed into ``samples`` by operation."""

    def __init__(self, inner: Any, samples: dict[str, list[float]]) -> None:
        self._inner = inner
        self._samples = samples

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self._samples.setdefault(name, []).append(time.perf_counter() - start)

        return timed


def scripted_world(spec: str, clock: HarnessClock, root: Path,
                   samples: dict[str, list[float]]) -> None:
    """One world of the per-operation measurement (module docstring)."""
    adapter = load_adapter(spec).adapter
    start = time.perf_counter()
    harness = Harness(adapter, clock, root, settings=Settings(first_turn_deadline=60.0))
    samples.setdefault("(world start)", []).append(time.perf_counter() - start)
    harness.orchestrator = Timed(harness.orchestrator, samples)
    try:
        names = [f"worker-{kind.value}" for kind in BackendKind]
        for name, kind in zip(names, BackendKind, strict=True):
            harness.spawn(name, kind, f"task for {name}")
        for _ in range(3):
            harness.advance(5.0)
            harness.tick()
            for name in names:
                harness.view(name)
            harness.views()
        for name in names:
            harness.resume(name)  # each exited after its turn: a new invocation
            with suppress(BackendError):
                harness.send(name, f"go on, {name}")
        harness.advance(5.0)
        harness.tick()
        harness.close(names[0])
        harness.shutdown()
    finally:
        start = time.perf_counter()
        harness.dispose()
        samples.setdefault("(world stop)", []).append(time.perf_counter() - start)


def per_operation(spec: str) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    with HarnessClock() as clock, tempfile.TemporaryDirectory(prefix="bench-driver-") as scratch:
        for number in range(WORLDS):
            scripted_world(spec, clock, Path(scratch) / f"world-{number}", samples)
    return samples


def _ms(values: list[float] | None) -> str:
    return "-" if not values else f"{statistics.median(values) * 1000:.2f}"


def _cost(driven: list[float] | None, inside: list[float] | None) -> str:
    if not driven or not inside:
        return "-"
    return f"{(statistics.median(driven) - statistics.median(inside)) * 1000:+.2f}"


def run() -> Section:
    section = Section("driver", "The driver protocol: cost per operation and steps per second")
    rows: list[tuple[str, str]] = [("in-process", "reference_impl.processes"),
                                   ("Python driver", f"command:{PYTHON_DRIVER}")]
    if shutil.which("node"):
        rows.append(("JavaScript driver", f"command:{JS_DRIVER}"))
    else:
        section.notes.append("node is not installed: the JavaScript driver is not measured")
    measured = {label: per_operation(spec) for label, spec in rows}
    inside, python = measured["in-process"], measured["Python driver"]
    js = measured.get("JavaScript driver", {})
    operations = [op for op in ("(world start)", "spawn", "send", "resume", "tick", "session",
                                "sessions", "close", "shutdown", "(world stop)")
                  if op in inside or op in python]
    section.tables.append(Table(
        f"median ms per call, {WORLDS} scripted worlds each (3 agents, ticks, views, a "
        "resume and follow-up each, a close, a shutdown); protocol = Python driver minus "
        "in-process (the same orchestrator)",
        ("operation", "calls/world", "in-process", "Python driver", "protocol",
         "Python driver max", "JavaScript driver"),
        tuple((op, str(len(python.get(op, [])) // WORLDS), _ms(inside.get(op)),
               _ms(python.get(op)), _cost(python.get(op), inside.get(op)),
               f"{max(python[op]) * 1000:.2f}" if python.get(op) else "-",
               _ms(js.get(op))) for op in operations),
    ))
    quick = [python.get(op, []) for op in ("session", "sessions")]
    quick_inside = [inside.get(op, []) for op in ("session", "sessions")]
    if all(quick) and all(quick_inside):
        trip = statistics.median([*quick[0], *quick[1]]) - statistics.median(
            [*quick_inside[0], *quick_inside[1]])
        section.notes.append(f"a round trip of the protocol (a view, which does no work in "
                             f"the orchestrator) costs {trip * 1000:.2f} ms")

    settings = hypothesis.settings(suite_settings("ci"), max_examples=STEP_EXAMPLES)
    _, checks = machine_checks_of(Capability.OBSERVABILITY)
    steps: list[Measurement] = [
        measure("in-process (reference_impl)", ObservabilityMachine, checks, settings),
        measure("processes, in-process orchestrator", ObservabilityMachine, checks, settings,
                adapter="reference_impl.processes"),
        measure("Python driver (reference_impl.driver)", ObservabilityMachine, checks,
                settings, adapter=f"command:{PYTHON_DRIVER}"),
    ]
    if shutil.which("node"):
        steps.append(measure("JavaScript driver (examples/js-orchestrator)",
                             ObservabilityMachine, checks, settings,
                             adapter=f"command:{JS_DRIVER}"))
    section.tables.append(Table(
        f"ObservabilityMachine, every OBS step check, ci profile cut to {STEP_EXAMPLES} "
        "examples (the same in every row)",
        ("run", "examples", "steps", "wall s", "steps/s", "s/example"),
        tuple((m.label, str(m.examples), str(m.steps), f"{m.seconds:.2f}",
               f"{m.steps_per_second:,.1f}",
               f"{m.seconds / m.examples:.2f}" if m.examples else "-") for m in steps),
    ))
    section.notes.append("a world through a driver starts a driver process; the fake CLIs "
                         "are processes in every row but the first")
    section.notes.append("the first spawn of a world through the Python driver imports the "
                         "ACP models of the canonical log (the max column); a driver "
                         "process lives one world, so every world pays it")
    section.data = {
        "worlds": WORLDS,
        "per_operation_ms": {label: {op: statistics.median(v) * 1000 for op, v in s.items()}
                             for label, s in measured.items()},
        "steps": [{"label": m.label, "examples": m.examples, "steps": m.steps,
                   "seconds": m.seconds, "steps_per_second": m.steps_per_second}
                  for m in steps],
    }
    return section

