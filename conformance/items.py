"""The pytest nodes of the suite: one collector, and one item per invariant.

Items are named ``"<id> <title>"`` so ``-k OBS-001`` selects one, and carry their
area as a marker (``-m observability``) and their id and level as JUnit properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from conformance.api import run_check
from conformance.catalogue import Catalogue, Invariant
from conformance.errors import AdapterError, HarnessError, InvariantViolation
from conformance.loader import LoadedAdapter
from conformance.registry import Check


@dataclass(frozen=True)
class SuiteState:
    """What the plugin resolved at configure time, shared by every item."""

    adapter: LoadedAdapter
    catalogue: Catalogue
    checks: dict[str, Check]
    settings: hypothesis.settings
    profile: str


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
        self.add_marker(invariant.marker)
        self.user_properties.append(("invariant_id", invariant.id))
        self.user_properties.append(("level", invariant.level.value))
        self.user_properties.append(("area", invariant.area.value))

    def runtest(self) -> None:
        state = self.config.stash[STATE]
        if not state.adapter.claims(self.invariant.area):
            pytest.skip(f"not claimed: adapter {state.adapter.name!r} does not claim "
                        f"'{self.invariant.area.value}'")
        run_check(self.check, self.invariant, state.adapter, state.settings)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        error = excinfo.value
        if isinstance(error, InvariantViolation | AdapterError | HarnessError):
            return format_failure(self.invariant, self.config.stash[STATE], error)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.invariant.display_name


def counterexample(error: BaseException) -> list[str]:
    """The shortest failing step sequence Hypothesis attached to ``error``."""
    notes = [str(n) for n in getattr(error, "__notes__", [])]
    steps: list[str] = []
    for line in notes:
        if line.startswith("Explanation:") or line.startswith("You can reproduce"):
            break
        if line.startswith(("Falsifying", "Failing test case")):
            continue
        steps.extend(line.splitlines())
    return steps


def format_failure(invariant: Invariant, state: SuiteState, error: BaseException) -> str:
    """The report of one failing invariant: what it requires, what broke it, and how."""
    if isinstance(error, InvariantViolation):
        kind = "VIOLATED"
        detail = error.detail
    elif isinstance(error, AdapterError):
        kind = "ERROR (the adapter broke the contract)"
        detail = str(error)
    else:
        kind = "ERROR (a harness bug, not the adapter's fault)"
        detail = str(error)
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
    steps = counterexample(error)
    if steps:
        lines += ["", "  shortest failing sequence:", *("    " + s for s in steps)]
    return "\n".join(lines)
