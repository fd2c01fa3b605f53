"""Under ``pytest -n``, every invariant of one state machine goes to the same worker.

Invariants checked on the same machine share its runs (:mod:`conformance.shared_runs`),
within one process. xdist's default ``load`` scheduling deals items out one by one,
so each worker would repeat the run of every machine it got a single invariant of.
This scheduler is xdist's ``loadscope`` with one scope per machine: a machine's
invariants form one unit of work, and everything else (checks that are not step
checks, and any test of the project's own run alongside the suite) is a unit of its
own, as under ``load``.

It replaces only the default ``load`` mode, and only when the conformance suite is
running; an explicit ``--dist loadfile``, ``loadgroup``, ``each``, ... is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xdist.scheduler import LoadScopeScheduling

from conformance.catalogue import Catalogue
from conformance.registry import Check
from conformance.shared_runs import machine_of

#: The part of a node id that names the suite, before the invariant's display name.
SUITE_PREFIX = "::conformance::"


def scopes(catalogue: Catalogue, checks: Mapping[str, Check]) -> dict[str, str]:
    """The unit of work of each suite item, by the item's display name."""
    result = {}
    for invariant in catalogue:
        machine = machine_of(checks[invariant.id])
        result[invariant.display_name] = (
            invariant.id if machine is None else f"machine:{machine.__name__}")
    return result


class MachineScopeScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """``loadscope`` where a scope is the state machine an invariant runs on."""

    def __init__(self, config: Any, log: Any, units: Mapping[str, str]) -> None:
        super().__init__(config, log)
        self._units = dict(units)

    def _split_scope(self, nodeid: str) -> str:
        _, sep, name = nodeid.rpartition(SUITE_PREFIX)
        if sep and name in self._units:
            return self._units[name]
        # Anything else is its own unit, exactly as under the default ``load``.
        return nodeid
