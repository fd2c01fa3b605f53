"""Invariants of one state machine share its runs, and give the verdicts of one run each.

The derandomized ``ci`` settings make the comparison exact: a machine generates the
same sequences whichever checks are enabled, so sharing must change how often a
machine runs, never a verdict.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis
import pytest

from conformance import InvariantViolation
from conformance.api import as_loaded, run_check
from conformance.areas.observability.machine import ObservabilityMachine
from conformance.catalogue import Catalogue, Invariant, load_catalogue
from conformance.errors import AdapterError
from conformance.profiles import suite_settings
from conformance.registry import all_checks
from conformance.scheduling import SUITE_PREFIX, MachineScopeScheduling, scopes
from conformance.shared_runs import SharedRuns, machine_of
from conformance.stateful import HarnessMachine

pytestmark = pytest.mark.slow

BAD = "tests.known_bad.obs_002_polls_codex_at_once"
#: Small, derandomized: the same sequences for a shared run and a run of one.
SETTINGS = hypothesis.settings(suite_settings("ci"), max_examples=15,
                               stateful_step_count=10)
CATALOGUE: Catalogue = load_catalogue()
CHECKS = all_checks()


def observability() -> list[Invariant]:
    return [i for i in CATALOGUE if machine_of(CHECKS[i.id]) is ObservabilityMachine]


def verdict(shared: SharedRuns, invariant: Invariant, members: list[Invariant]) -> str:
    machine = machine_of(CHECKS[invariant.id])
    assert machine is not None
    try:
        shared.verdict(invariant, machine, members)
    except InvariantViolation as error:
        return f"failed {error.invariant_id}"
    return "passed"


def alone(adapter: str, invariant: Invariant) -> str:
    try:
        run_check(CHECKS[invariant.id], invariant, as_loaded(adapter), SETTINGS)
    except InvariantViolation as error:
        return f"failed {error.invariant_id}"
    return "passed"


def test_step_checks_know_their_machine() -> None:
    assert machine_of(CHECKS["OBS-001"]) is ObservabilityMachine
    # Checks that are not step checks run on their own.
    assert machine_of(CHECKS["ISO-007"]) is None
    assert machine_of(CHECKS["CLOG-012"]) is None
    assert all(issubclass(m, HarnessMachine) for m in
               (machine_of(c) for c in CHECKS.values()) if m is not None)


def test_a_shared_run_gives_the_verdicts_of_one_run_each() -> None:
    members = observability()
    shared = SharedRuns(as_loaded(BAD), SETTINGS)
    together = {i.id: verdict(shared, i, members) for i in members}
    separately = {i.id: alone(BAD, i) for i in members}
    assert together == separately
    assert together["OBS-002"] == "failed OBS-002"
    assert [v for v in together.values() if v != "passed"] == ["failed OBS-002"]
    # One run found OBS-002, one more decided the other four: not five runs.
    assert shared.runs == 2


def test_the_reference_is_decided_in_one_run_per_machine() -> None:
    members = observability()
    shared = SharedRuns(as_loaded("reference_impl"), SETTINGS)
    assert {verdict(shared, i, members) for i in members} == {"passed"}
    assert shared.runs == 1


def test_a_verdict_reached_elsewhere_is_not_run_again() -> None:
    members = observability()
    shared = SharedRuns(as_loaded(BAD), SETTINGS)
    replayed = InvariantViolation("OBS-002", "from a stored counterexample")
    shared.decide("OBS-002", replayed)
    with pytest.raises(InvariantViolation) as caught:
        shared.verdict(CATALOGUE.get("OBS-002"), ObservabilityMachine, members)
    assert caught.value is replayed
    assert shared.runs == 0


def test_an_error_decides_every_invariant_it_ran_with(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken adapter breaks every invariant of the run; each item reports it."""
    members = observability()
    shared = SharedRuns(as_loaded("reference_impl"), SETTINGS)
    broken = AdapterError("the adapter broke the contract")

    def explode(*args: object, **kwargs: object) -> None:
        raise broken

    monkeypatch.setattr("conformance.shared_runs.run_machine", explode)
    for invariant in members:
        with pytest.raises(AdapterError):
            shared.verdict(invariant, ObservabilityMachine, members)
    assert shared.runs == 1


# -- scheduling under xdist --------------------------------------------------------


def scheduler() -> MachineScopeScheduling:
    """The scheduler without a live xdist session: only its grouping is tested."""
    sched = MachineScopeScheduling.__new__(MachineScopeScheduling)
    sched._units = scopes(CATALOGUE, CHECKS)
    return sched


def test_invariants_of_one_machine_are_one_unit_of_work() -> None:
    sched = scheduler()
    units: dict[str, set[str]] = {}
    for invariant in CATALOGUE:
        unit = sched._split_scope(f"{SUITE_PREFIX}{invariant.display_name}")
        units.setdefault(unit, set()).add(invariant.id)
    assert units["machine:ObservabilityMachine"] == {i.id for i in observability()}
    # Checks of their own are units of their own.
    assert units["ISO-007"] == {"ISO-007"}
    assert sum(len(ids) for ids in units.values()) == len(CATALOGUE)


def test_other_tests_are_scheduled_as_under_load() -> None:
    sched = scheduler()
    for nodeid in ("tests/test_mine.py::test_one", "tests/test_mine.py::Klass::test_two"):
        assert sched._split_scope(nodeid) == nodeid


def test_worlds_of_a_shared_run_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shared = SharedRuns(as_loaded("reference_impl"), SETTINGS)
    shared.verdict(CATALOGUE.get("OBS-001"), ObservabilityMachine, observability())
    assert shared.runs == 1
    assert list(tmp_path.iterdir()) == []


def test_every_invariant_has_a_unit_of_work() -> None:
    assert set(scopes(CATALOGUE, CHECKS)) == {i.display_name for i in CATALOGUE}
