"""The pytest nodes of the suite: one collector, and one item per invariant.

Items are named ``"<id> <title>"`` so ``-k OBS-001`` selects one, and carry their
area as a marker (``-m observability``) and their id, level and area as JUnit
properties. Each item records an :class:`~conformance.reporting.outcomes.
InvariantResult` that travels with its report (also across xdist workers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from conformance import faults
from conformance.api import run_check
from conformance.baseline import BaselineError, ExpectedFailure
from conformance.catalogue import Catalogue, Invariant
from conformance.errors import AdapterError, HarnessError, InvariantViolation
from conformance.loader import LoadedAdapter
from conformance.reduce import reduce_steps
from conformance.registry import Check
from conformance.replay import FailureStore, replay_command, run_snippet, snippet
from conformance.reporting.outcomes import InvariantResult, Outcome
from conformance.shared_runs import SharedRuns, machine_of


@dataclass(frozen=True)
class SuiteState:
    """What the plugin resolved at configure time, shared by every item."""

    adapter: LoadedAdapter
    catalogue: Catalogue
    checks: dict[str, Check]
    settings: hypothesis.settings
    profile: str
    baseline: dict[str, ExpectedFailure] = field(default_factory=dict)
    store: FailureStore | None = None
    #: Verdicts of step-checked invariants, decided by shared machine runs.
    shared: SharedRuns | None = None


STATE = pytest.StashKey[SuiteState]()


class ConformanceSuite(pytest.Collector):
    """The collector holding one item per invariant of the catalogue."""

    def collect(self) -> list[pytest.Item]:
        state = self.config.stash[STATE]
        return [
            InvariantItem.from_parent(self, name=invariant.display_name, invariant=invariant,
                                      check=state.checks[invariant.id])
            for invariant in state.catalogue
        ]


class InvariantItem(pytest.Item):
    """Runs one invariant's check against the adapter."""

    def __init__(self, *, invariant: Invariant, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invariant = invariant
        self.check = check
        self.result: InvariantResult | None = None
        self.add_marker(invariant.marker)
        self.user_properties.append(("invariant_id", invariant.id))
        self.user_properties.append(("level", invariant.level.value))
        self.user_properties.append(("area", invariant.area.value))

    def runtest(self) -> None:
        state = self.config.stash[STATE]
        invariant_id = self.invariant.id
        if not state.adapter.claims(self.invariant.area):
            self.result = InvariantResult(invariant_id, Outcome.NOT_CLAIMED)
            pytest.skip(f"not claimed: adapter {state.adapter.name!r} does not claim "
                        f"'{self.invariant.area.value}'")
        observed = self.invariant.observed
        why = None if observed is None else observed.not_observable_with_processes
        if why is not None and getattr(state.adapter.adapter, "launches_processes", False):
            self.result = InvariantResult(invariant_id, Outcome.NOT_OBSERVABLE, message=why)
            pytest.skip(f"not observable for an orchestrator that launches processes: {why}")
        why = None if observed is None else observed.not_observable_out_of_process
        if why is not None and not faults.reach(state.adapter.adapter):
            self.result = InvariantResult(invariant_id, Outcome.NOT_OBSERVABLE, message=why)
            pytest.skip(f"not observable for an orchestrator in another process: {why}")
        expected = state.baseline.get(invariant_id)
        started = time.perf_counter()
        try:
            self._run(state)
        except InvariantViolation as error:
            self.result = self._failure(state, error, expected)
            self.result.duration_s = time.perf_counter() - started
            if expected is not None:
                pytest.xfail(f"baseline: {expected.reason} ({expected.link})")
            raise
        except Exception as error:
            self.result = InvariantResult(invariant_id, Outcome.ERRORED, message=str(error))
            raise
        if state.store is not None:
            state.store.forget(state.adapter.spec, invariant_id)
        if expected is not None:
            message = (f"{invariant_id} is listed in the baseline as expected to fail "
                       f"({expected.reason}) but it passed: remove it from the baseline, "
                       "so the list only shrinks")
            self.result = InvariantResult(invariant_id, Outcome.UNEXPECTED_PASS,
                                          message=message, baseline_reason=expected.reason,
                                          baseline_link=expected.link)
            raise BaselineError(message)
        self.result = InvariantResult(invariant_id, Outcome.PASSED,
                                      duration_s=time.perf_counter() - started)

    def _run(self, state: SuiteState) -> None:
        """Replay a stored counterexample first; generate only if it no longer fails."""
        stored = None if state.store is None else state.store.load(state.adapter.spec,
                                                                    self.invariant.id)
        if stored is not None:
            try:
                run_snippet(stored)
            except InvariantViolation as error:
                if error.invariant_id != self.invariant.id:
                    raise self._unreplayable(stored, error) from error
                error.add_note(f"(replayed from {stored})")
                if state.shared is not None:
                    state.shared.decide(self.invariant.id, error)
                raise
            except AdapterError as error:
                # The adapter broke the contract while replaying: that is its verdict.
                if state.shared is not None:
                    state.shared.decide(self.invariant.id, error)
                raise
            except Exception as error:
                # Never read as "no longer reproduces": the file is kept, and says why.
                raise self._unreplayable(stored, error) from error
            # It ran to its end without a violation: the bug is gone.
            assert state.store is not None
            state.store.forget(state.adapter.spec, self.invariant.id)
        machine = machine_of(self.check)
        if machine is None or state.shared is None:
            run_check(self.check, self.invariant, state.adapter, state.settings)
            return
        # Step checks of one machine share its runs (see conformance.shared_runs):
        # the first item of a machine decides its selected neighbours too.
        # Claimed ones only: a pack's invariant may share a built-in area's machine.
        members = [item.invariant for item in self.session.items
                   if isinstance(item, InvariantItem) and machine_of(item.check) is machine
                   and state.adapter.claims(item.invariant.area)]
        state.shared.verdict(self.invariant, machine, members)

    def _unreplayable(self, stored: Path, error: BaseException) -> HarnessError:
        return HarnessError(
            f"the stored counterexample {stored} of {self.invariant.id} could not be "
            f"replayed: {type(error).__name__}: {error}. It is kept, not taken as fixed: "
            "run it with python to see the error, then delete it (or pass "
            "--conformance-failures=none) to check the invariant afresh.")

    def _failure(
        self, state: SuiteState, error: InvariantViolation, expected: ExpectedFailure | None
    ) -> InvariantResult:
        steps = counterexample(error)
        if steps and self.check.machine is not None and not _replayed(error):
            # Cut to the steps that matter (see conformance.reduce).
            steps = reduce_steps(state.adapter.spec, self.invariant.id,
                                 self.check.machine.__name__, steps)
        text = path = None
        replayed = next((n for n in getattr(error, "__notes__", [])
                         if str(n).startswith("(replayed from ")), None)
        if replayed is not None:
            path = Path(str(replayed)[len("(replayed from "):-1])
            text = path.read_text(encoding="utf-8") if path.is_file() else None
        elif steps and self.check.machine is not None:
            text = snippet(state.adapter.spec, self.invariant.id, self.check.machine.__name__,
                           steps)
            if state.store is not None:
                path = state.store.save(state.adapter.spec, self.invariant.id, text)
        return InvariantResult(
            self.invariant.id,
            Outcome.EXPECTED_FAILURE if expected else Outcome.FAILED,
            message=error.detail, counterexample=steps, snippet=text,
            replay=replay_command(path) if path is not None else None,
            baseline_reason=expected.reason if expected else None,
            baseline_link=expected.link if expected else None,
        )

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        error = excinfo.value
        if isinstance(error, InvariantViolation | AdapterError | HarnessError | BaselineError):
            return format_failure(self.invariant, self.config.stash[STATE], error, self.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.invariant.display_name


def _replayed(error: BaseException) -> bool:
    return any(str(n).startswith("(replayed from ") for n in getattr(error, "__notes__", []))


def counterexample(error: BaseException) -> list[str]:
    """The shortest failing step sequence Hypothesis attached to ``error``."""
    lines = [line for note in getattr(error, "__notes__", []) for line in
             str(note).splitlines()]
    steps: list[str] = []
    for line in lines:
        if line.startswith(("Explanation:", "You can reproduce", "(replayed from")):
            break
        if line.startswith(("Falsifying", "Failing test case")) or not line.strip():
            continue
        steps.append(line)
    return steps


def format_failure(
    invariant: Invariant, state: SuiteState, error: BaseException,
    result: InvariantResult | None = None,
) -> str:
    """The report of one failing invariant: what it requires, what broke it, and how."""
    if isinstance(error, InvariantViolation):
        kind, detail = "VIOLATED", error.detail
    elif isinstance(error, BaselineError):
        kind, detail = "STALE BASELINE", str(error)
    elif isinstance(error, AdapterError):
        kind, detail = "ERROR (the adapter broke the contract)", str(error)
    else:
        kind, detail = "ERROR (a harness bug, not the adapter's fault)", str(error)
    lines = [
        f"{invariant.id} [{invariant.level.value}, {invariant.area.value}] {kind}",
        f"  {invariant.title}",
        f"  adapter: {state.adapter.name} {state.adapter.version}"
        f" (profile {state.profile})",
        f"  requirement: {invariant.statement}",
        f"  source: {invariant.source.seed}: \"{invariant.source.passage}\"",
        "",
        *("  " + line for line in detail.splitlines()),
    ]
    if result is not None and result.snippet:
        lines += ["", "  shortest failing sequence, as a runnable script:", "",
                  *("    " + s for s in result.snippet.splitlines())]
        if result.replay:
            lines += ["", f"  replay: {result.replay}"]
    else:
        steps = counterexample(error)
        if steps:
            lines += ["", "  shortest failing sequence:", *("    " + s for s in steps)]
    return "\n".join(lines)
