"""Outcomes of invariants and verdicts of areas.

A claimed area is **certified** only when every MUST invariant in it passed; a
SHOULD invariant that fails is a warning and does not deny certification. An
expected failure (listed in the baseline) still denies certification of a MUST, but
does not fail the run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.catalogue import Catalogue, Level
from conformance.contract import Area


class Outcome(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    NOT_CLAIMED = "not_claimed"
    EXPECTED_FAILURE = "expected_failure"
    #: Listed in the baseline as expected to fail, yet it passed: the baseline is stale.
    UNEXPECTED_PASS = "unexpected_pass"
    #: Selected out of this run (``-k``, ``-m``) or not run at all.
    NOT_RUN = "not_run"
    #: The harness cannot see it kept or broken for this kind of orchestrator (a
    #: process orchestrator, ``[invariant.observed]`` of the catalogue): not passed.
    NOT_OBSERVABLE = "not_observable"


class Verdict(str, enum.Enum):
    CERTIFIED = "certified"
    NOT_CERTIFIED = "not certified"
    NOT_CLAIMED = "not claimed"
    INCOMPLETE = "incomplete"


@dataclass
class InvariantResult:
    """What one item reported (built on the worker, carried to the controller)."""

    invariant_id: str
    outcome: Outcome
    duration_s: float = 0.0
    message: str | None = None
    counterexample: list[str] = field(default_factory=list)
    snippet: str | None = None
    replay: str | None = None
    baseline_reason: str | None = None
    baseline_link: str | None = None

    def to_wire(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> InvariantResult:
        values = dict(data)
        values["outcome"] = Outcome(values["outcome"])
        return cls(**values)


@dataclass(frozen=True)
class AreaSummary:
    area: Area
    claimed: bool
    passed: int
    failed: int
    errored: int
    warnings: int
    expected_failures: int
    not_run: int
    verdict: Verdict


#: What denies certification to a MUST (or warns, for a SHOULD).
_BAD = {Outcome.FAILED, Outcome.ERRORED, Outcome.EXPECTED_FAILURE, Outcome.UNEXPECTED_PASS}
#: What the ``failed`` and ``warnings`` columns count: the bad outcomes that fail the
#: run. An expected failure is counted once, in ``expected_failures``, never also here.
_FAILING = _BAD - {Outcome.EXPECTED_FAILURE}


def summarize(
    catalogue: Catalogue, claimed: Iterable[Area], results: Mapping[str, InvariantResult]
) -> list[AreaSummary]:
    """One summary per area of the catalogue, in a stable order."""
    claimed_set = set(claimed)
    summaries = []
    for area in catalogue.areas():
        invariants = catalogue.in_area(area)
        if not invariants:
            continue
        outcomes = {i.id: results.get(i.id, InvariantResult(i.id, Outcome.NOT_RUN)).outcome
                    for i in invariants}
        must_bad = [i for i in invariants if i.level is Level.MUST and outcomes[i.id] in _BAD]
        must_failing = [i for i in must_bad if outcomes[i.id] in _FAILING]
        should_bad = [i for i in invariants
                      if i.level is Level.SHOULD and outcomes[i.id] in _FAILING]
        not_run = sum(1 for o in outcomes.values()
                      if o in (Outcome.NOT_RUN, Outcome.NOT_OBSERVABLE))
        if area not in claimed_set:
            verdict = Verdict.NOT_CLAIMED
        elif must_bad:
            verdict = Verdict.NOT_CERTIFIED
        elif not_run:
            verdict = Verdict.INCOMPLETE
        else:
            verdict = Verdict.CERTIFIED
        summaries.append(AreaSummary(
            area=area,
            claimed=area in claimed_set,
            passed=sum(1 for o in outcomes.values() if o is Outcome.PASSED),
            failed=len(must_failing),
            errored=sum(1 for o in outcomes.values() if o is Outcome.ERRORED),
            warnings=len(should_bad),
            expected_failures=sum(1 for o in outcomes.values()
                                  if o is Outcome.EXPECTED_FAILURE),
            not_run=not_run,
            verdict=verdict,
        ))
    return summaries
