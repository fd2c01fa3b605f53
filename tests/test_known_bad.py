"""The suite's own certification: it must fail every known-bad orchestrator, and only
for the invariant that orchestrator breaks, and it must pass the reference.

Each module of ``tests/known_bad/`` (except ``_base``) breaks one invariant, named by
its ``VIOLATES`` constant. Modules are discovered, not listed, so an area added by
another engineer is covered the moment its known-bads land. For every module:

* the failing direction runs its invariant under the full ``ci`` profile and expects
  an :class:`InvariantViolation` with exactly that id, whose shrunk counterexample is
  short enough for a person to read (at most :data:`MAX_STEPS` rule steps);
* the passing direction runs every *other* invariant of the same area and expects
  it to hold: a bad behaviour must be attributed to one invariant, not several.

Finally the reference implementation must pass every invariant of every area.

Invariants checked step by step on the same state machine are run together, in one
Hypothesis run with all their step checks enabled (:func:`run_machine` takes several).
That is exactly as strong as one run each: checks only observe, so the generated
sequences are the same, and the first check to fail names its invariant. It turns a
cost quadratic in the size of an area into a linear one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import hypothesis
import pytest

import reference_impl
import tests.known_bad as known_bad_package
from conformance import InvariantViolation, run_invariant
from conformance.api import as_loaded
from conformance.catalogue import Catalogue, builtin_catalogue
from conformance.errors import CatalogueError
from conformance.items import counterexample
from conformance.profiles import suite_settings
from conformance.reduce import reduce_steps
from conformance.registry import RunContext, all_checks
from conformance.stateful import STEP_CHECKS, run_machine

pytestmark = pytest.mark.slow

#: A counterexample longer than this is too long to be read as a bug report.
MAX_STEPS = 6

#: The failing direction: the full, derandomized CI profile, exactly as vendors run it.
FAILING = suite_settings("ci")
#: The passing direction runs every other invariant of the area for every module, so
#: it runs far fewer examples, still derandomized (the same verdict everywhere). It
#: guards against a second attribution, which shows on the same short sequences that
#: break the module's own invariant (at most :data:`MAX_STEPS` steps), not on rare ones.
PASSING = hypothesis.settings(FAILING, max_examples=10)
#: The reference runs each area once; it can afford more.
REFERENCE_RUNS = hypothesis.settings(FAILING, max_examples=30)

CATALOGUE: Catalogue = builtin_catalogue()
CHECKS = all_checks()
REFERENCE = as_loaded(reference_impl.conformance_adapter)


@dataclass(frozen=True)
class KnownBad:
    """One discovered module, or the reason it could not be used."""

    name: str
    module: ModuleType | None
    problem: str | None = None

    @property
    def violates(self) -> str:
        assert self.module is not None
        return str(self.module.VIOLATES)

    @property
    def usable(self) -> bool:
        if self.problem is not None:
            return False
        try:
            CATALOGUE.get(self.violates)
        except CatalogueError:
            return False
        return True


def discover() -> list[KnownBad]:
    """Every known-bad module; one that fails to import is kept, to fail loudly."""
    found = []
    for info in sorted(pkgutil.iter_modules(known_bad_package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        qualified = f"{known_bad_package.__name__}.{info.name}"
        try:
            module = importlib.import_module(qualified)
        except Exception as error:  # reported by the module's own test, not at collection
            found.append(KnownBad(info.name, None, f"{type(error).__name__}: {error}"))
            continue
        missing = [a for a in ("VIOLATES", "conformance_adapter") if not hasattr(module, a)]
        problem = f"defines no {' or '.join(missing)}" if missing else None
        found.append(KnownBad(info.name, module, problem))
    return found


KNOWN_BADS = discover()


def groups(ids: Sequence[str]) -> list[tuple[str, ...]]:
    """``ids`` split into runs: the step checks of one state machine together, every
    other check on its own."""
    by_machine: dict[type, list[str]] = {}
    alone: list[tuple[str, ...]] = []
    for invariant_id in ids:
        machine = getattr(CHECKS.get(invariant_id), "machine", None)
        if machine is not None and invariant_id in STEP_CHECKS:
            by_machine.setdefault(machine, []).append(invariant_id)
        else:
            alone.append((invariant_id,))
    return [tuple(group) for group in by_machine.values()] + alone


def run_together(
    adapter: Any, ids: tuple[str, ...], workdir: Path, settings: hypothesis.settings
) -> None:
    """Run the invariants ``ids``; raise on the first one broken."""
    if len(ids) == 1:
        run_invariant(adapter, ids[0], settings=settings, catalogue=CATALOGUE)
        return
    machine = CHECKS[ids[0]].machine
    assert machine is not None
    context = RunContext(as_loaded(adapter), CATALOGUE.get(ids[0]), settings, workdir)
    run_machine(machine, context, [STEP_CHECKS[i] for i in ids])


def _failing_cases() -> list[Any]:
    return [pytest.param(bad, id=f"{bad.name}-fails-{bad.violates if bad.usable else '?'}")
            for bad in KNOWN_BADS]


def _passing_cases() -> list[Any]:
    cases = []
    for bad in KNOWN_BADS:
        if not bad.usable:
            continue  # the failing-direction test reports why
        area = CATALOGUE.get(bad.violates).area
        others = [i.id for i in CATALOGUE.in_area(area) if i.id != bad.violates]
        for ids in groups(others):
            cases.append(pytest.param(bad, ids, id=f"{bad.name}-holds-{'+'.join(ids)}"))
    return cases


def _reference_cases() -> list[Any]:
    cases = []
    for area in dict.fromkeys(i.area for i in CATALOGUE):
        ids = [i.id for i in CATALOGUE.in_area(area)]
        if not REFERENCE.claims(area):
            cases.append(pytest.param((), id=f"{area.value}-not-claimed", marks=pytest.mark.skip(
                reason=f"reference_impl does not claim '{area.value}' yet "
                       "(see test_reference_claims_every_catalogued_area)")))
            continue
        cases += [pytest.param(group, id="+".join(group)) for group in groups(ids)]
    return cases


def rule_steps(steps: list[str]) -> list[str]:
    """The rule calls of a stateful counterexample (not checks, teardown or notes)."""
    calls = []
    for line in steps:
        text = line.strip()
        if not (text.startswith("state.") or " = state." in text):
            continue
        if text.startswith(("state.invariants_hold()", "state.teardown()")):
            continue
        calls.append(text)
    return calls


def test_rule_steps_counts_rules_only() -> None:
    steps = ["state = ObservabilityMachine()", "state.invariants_hold()",
             "agents_0 = state.spawn(profile=codex(", "    file_delay=0.26,", "))",
             "# agent-1 started", "state.tick()", "state.teardown()"]
    assert rule_steps(steps) == ["agents_0 = state.spawn(profile=codex(", "state.tick()"]


def test_known_bads_are_discovered() -> None:
    names = {bad.name for bad in KNOWN_BADS}
    assert "obs_002_polls_codex_at_once" in names
    assert not any(name.startswith("_") for name in names)


def test_every_invariant_has_a_known_bad() -> None:
    """A check that cannot fail is a defect: every invariant of the catalogue has at
    least one known-bad orchestrator here that breaks it (``conformance new`` scaffolds
    one with the invariant)."""
    broken = {bad.violates for bad in KNOWN_BADS if bad.usable}
    missing = sorted(set(CATALOGUE.ids()) - broken)
    assert not missing, f"no known-bad in tests/known_bad/ violates {missing}"


def test_each_area_has_its_step_checks_grouped() -> None:
    """Grouping never drops or duplicates an invariant."""
    ids = CATALOGUE.ids()
    grouped = [i for group in groups(ids) for i in group]
    assert sorted(grouped) == sorted(ids)


@pytest.mark.parametrize("bad", _failing_cases())
def test_known_bad_fails_its_invariant(bad: KnownBad) -> None:
    assert bad.problem is None, f"tests/known_bad/{bad.name}.py is unusable: {bad.problem}"
    assert bad.module is not None
    try:
        CATALOGUE.get(bad.violates)
    except CatalogueError as error:
        pytest.fail(f"{bad.name}: VIOLATES = {bad.violates!r} is not in the catalogue: {error}")
    with pytest.raises(InvariantViolation) as caught:
        run_invariant(bad.module.conformance_adapter, bad.violates, settings=FAILING)
    error = caught.value
    assert error.invariant_id == bad.violates, (
        f"{bad.name} should violate {bad.violates} but the check raised {error.invariant_id}")
    steps = counterexample(error)
    machine = getattr(CHECKS[bad.violates], "machine", None)
    if machine is not None:
        # What a failure report prints: the sequence cut to the steps that matter.
        steps = reduce_steps(f"tests.known_bad.{bad.name}", bad.violates, machine.__name__,
                             steps)
    calls = rule_steps(steps)
    if getattr(CHECKS[bad.violates], "machine", None) is not None:
        assert calls, "a stateful check must report the rule steps that broke it:\n" + \
            "\n".join(steps)
    assert len(calls) <= MAX_STEPS, (
        f"{bad.name}: the counterexample has {len(calls)} rule steps (at most {MAX_STEPS} "
        "expected; make the bad behaviour reachable in fewer steps):\n" + "\n".join(steps))


@pytest.mark.parametrize(("bad", "ids"), _passing_cases())
def test_known_bad_keeps_the_other_invariants_of_its_area(
    bad: KnownBad, ids: tuple[str, ...], tmp_path: Path
) -> None:
    assert bad.module is not None
    try:
        run_together(bad.module.conformance_adapter, ids, tmp_path, PASSING)
    except InvariantViolation as error:
        pytest.fail(f"{bad.name} is meant to break only {bad.violates}, but it also broke "
                    f"{error.invariant_id}: attribute each bad behaviour to one invariant.\n"
                    f"{error}\n" + "\n".join(counterexample(error)))


def test_reference_claims_every_catalogued_area() -> None:
    """The reference must certify every area of the catalogue.

    While another engineer is adding an area (its spec landed before the reference
    claims it), this is the one assertion expected to fail: the reference runs below
    skip the unclaimed area instead of failing.
    """
    areas = {invariant.area for invariant in CATALOGUE}
    unclaimed = sorted(a.value for a in areas if not REFERENCE.claims(a))
    assert not unclaimed, f"reference_impl does not claim the catalogued areas {unclaimed}"


@pytest.mark.parametrize("ids", _reference_cases())
def test_reference_keeps_invariants(ids: tuple[str, ...], tmp_path: Path) -> None:
    try:
        run_together(REFERENCE, ids, tmp_path, REFERENCE_RUNS)
    except InvariantViolation as error:
        pytest.fail(f"the reference breaks {error.invariant_id}:\n{error}\n"
                    + "\n".join(counterexample(error)))
