"""Time to first failure and counterexample length for each known-bad orchestrator.

Every module of ``tests/known_bad/`` (``VIOLATES`` + ``conformance_adapter``) is
discovered, whatever areas exist when this runs. Each is run twice on its own
invariant under the ``ci`` profile, which is derandomized, so both runs generate
the same examples:

* without the shrink phase: the time until Hypothesis first sees the violation;
* as certification runs it (shrinking included): the time until ``run_invariant``
  raises, and the counterexample it reports.

The difference is the time spent shrinking. The counterexample's length is the
number of rule steps in ``conformance.items.counterexample(error)``: lines
``state.rule(...)`` or ``x = state.rule(...)``, not the constructor, the
``invariants_hold`` checks or the teardown.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from dataclasses import dataclass
from types import ModuleType

import hypothesis
from hypothesis import Phase

from benchmarks.report import Section, Table, Target
from conformance.api import run_invariant
from conformance.errors import InvariantViolation
from conformance.items import counterexample
from conformance.profiles import suite_settings

PACKAGE = "tests.known_bad"
PROFILE = "ci"
MAX_STEPS = 6
_STEP = re.compile(r"^\s*(?:[\w, ]+ = )?state\.(\w+)\(")
_NOT_STEPS = frozenset({"invariants_hold", "teardown"})


def rule_steps(lines: list[str]) -> list[str]:
    """The rule names of a counterexample's steps, in order."""
    steps: list[str] = []
    for line in lines:
        match = _STEP.match(line)
        if match and match.group(1) not in _NOT_STEPS:
            steps.append(match.group(1))
    return steps


def known_bad_modules() -> tuple[list[ModuleType], dict[str, str]]:
    """Every module of :data:`PACKAGE` that declares ``VIOLATES``, and, by name, why
    each module that could not be imported failed (it is reported, not skipped)."""
    package = importlib.import_module(PACKAGE)
    modules: list[ModuleType] = []
    broken: dict[str, str] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{PACKAGE}.{info.name}")
        except Exception as error:
            broken[info.name] = f"import failed: {type(error).__name__}: {error}"[:120]
            continue
        if hasattr(module, "VIOLATES") and hasattr(module, "conformance_adapter"):
            modules.append(module)
    return modules, broken


@dataclass(frozen=True)
class Outcome:
    module: str
    invariant: str
    #: Seconds until the violation without shrinking; None if none was found.
    first_failure: float | None
    #: Seconds until ``run_invariant`` raised (shrinking included), or returned.
    total: float
    steps: list[str] | None
    #: Not caught, or caught as something other than this module's invariant.
    problem: str | None = None

    @property
    def caught(self) -> bool:
        return self.steps is not None and self.problem is None


def _timed_run(module: ModuleType, settings: hypothesis.settings
               ) -> tuple[float, BaseException | None]:
    start = time.perf_counter()
    try:
        run_invariant(module.conformance_adapter, module.VIOLATES, settings=settings)
    except Exception as error:
        return time.perf_counter() - start, error
    return time.perf_counter() - start, None


def measure(module: ModuleType, *, warm_up: bool = False) -> Outcome:
    """Run ``module`` without and with shrinking; ``warm_up`` runs the first one twice.

    The first run of an area imports its checks' lazy dependencies (the ACP schema,
    the fakes of that area); a warm-up keeps that out of "time to first failure".
    """
    name = module.__name__.rpartition(".")[2]
    invariant = str(module.VIOLATES)
    base = suite_settings(PROFILE)
    no_shrink = hypothesis.settings(base, phases=[p for p in base.phases
                                                  if p not in (Phase.shrink, Phase.explain)])
    if warm_up:
        _timed_run(module, no_shrink)
    first, first_error = _timed_run(module, no_shrink)
    total, error = _timed_run(module, base)
    if not isinstance(error, InvariantViolation):
        problem = ("not caught: the invariant held" if error is None
                   else f"raised {type(error).__name__}: {str(error).splitlines()[0][:80]}")
        return Outcome(name, invariant, None, total, None, problem)
    wrong_id = error.invariant_id != invariant
    return Outcome(
        name, invariant,
        first if isinstance(first_error, InvariantViolation) else None,
        total, rule_steps(counterexample(error)),
        f"failed {error.invariant_id}, not {invariant}" if wrong_id else None,
    )


def run() -> Section:
    section = Section("known-bad", f"Known-bad orchestrators under the {PROFILE} profile")
    modules, broken = known_bad_modules()
    outcomes: list[Outcome] = []
    areas: set[str] = set()
    for module in modules:
        area = str(module.VIOLATES).partition("-")[0]
        outcomes.append(measure(module, warm_up=area not in areas))
        areas.add(area)
    outcomes += [Outcome(name, "?", None, 0.0, None, why) for name, why in broken.items()]
    section.tables.append(Table(
        f"Each known-bad module of {PACKAGE} on its own invariant",
        ("module", "invariant", "caught", "first failure s", "with shrinking s",
         "shrinking s", "steps", "counterexample"),
        tuple((
            o.module, o.invariant, "yes" if o.caught else f"NO ({o.problem})",
            f"{o.first_failure:.2f}" if o.first_failure is not None else "-",
            f"{o.total:.2f}",
            f"{o.total - o.first_failure:.2f}" if o.first_failure is not None else "-",
            str(len(o.steps)) if o.steps is not None else "-",
            ", ".join(o.steps) if o.steps else
            ("(no rule steps: not a state machine)" if o.steps is not None else "-"),
        ) for o in outcomes),
    ))
    section.targets += [
        Target(f"{o.module}: caught, counterexample steps", float(len(o.steps))
               if o.caught and o.steps is not None else None, MAX_STEPS, "steps", "max",
               inclusive=True, digits=0, missing=o.problem or "not caught")
        for o in outcomes
    ]
    if not outcomes:
        section.notes.append(f"no known-bad modules found in {PACKAGE}")
    section.notes.append(
        "first failure = the same derandomized run without the shrink phase (after one "
        "warm-up run per area). shrinking = the difference: shrinking proper, plus the "
        "search Hypothesis goes on with after a first bug (report_multiple_bugs), plus "
        "timing noise")
    section.data = {
        "profile": PROFILE,
        "outcomes": [
            {"module": o.module, "invariant": o.invariant, "caught": o.caught,
             "first_failure_seconds": o.first_failure, "total_seconds": o.total,
             "steps": o.steps, "problem": o.problem}
            for o in outcomes
        ],
    }
    return section
