"""OBS-004's idle rule: an orchestrator may end a worker whose every prompt's turn was
reported complete (a workflow ends a worker whose step is done).

The orchestrator here is the reference, ending each worker as soon as it is told a
turn is over. It must keep every invariant of observability, in-process and through
the fake executables; the known-bads that read a not-found as ended still fail
(``tests/test_known_bad.py``).
"""

from __future__ import annotations

from pathlib import Path

import hypothesis
import pytest

from conformance.api import as_loaded
from conformance.catalogue import load_catalogue
from conformance.contract import Capability, Notification, SpawnRequest, World
from conformance.profiles import suite_settings
from conformance.registry import RunContext, all_checks
from conformance.stateful import STEP_CHECKS, run_machine
from reference_impl.adapter import ReferenceAdapter
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from reference_impl.processes import ProcessAdapter, ProcessOrchestrator, components

pytestmark = pytest.mark.slow


class _EndsIdle:
    """Ends a worker the moment it is told the turn of its last prompt is over (every
    prompt it took answered), after looking up its session file (OBS-003: an ended
    session is still reported with its file)."""

    looks_before_ending = True

    def _idle_init(self) -> None:
        self.asked: dict[str, int] = {}
        self.answered: dict[str, int] = {}

    def spawn(self, request: SpawnRequest) -> None:
        super().spawn(request)  # type: ignore[misc]
        self.asked[request.agent_id] = self.asked.get(request.agent_id, 0) + 1

    def send(self, agent_id: str, prompt: str) -> None:
        super().send(agent_id, prompt)  # type: ignore[misc]
        self.asked[agent_id] = self.asked.get(agent_id, 0) + 1

    def _on_turn_complete(self, agent: Agent, note: Notification) -> None:
        super()._on_turn_complete(agent, note)  # type: ignore[misc]
        self.answered[agent.agent_id] = self.answered.get(agent.agent_id, 0) + 1
        if self.answered[agent.agent_id] >= self.asked.get(agent.agent_id, 1):
            self._end(agent, "close")  # type: ignore[attr-defined]


class EndsIdleWorkers(_EndsIdle, ReferenceOrchestrator):
    def __init__(self, world: World) -> None:
        self._idle_init()
        super().__init__(world)


class EndsIdleProcesses(_EndsIdle, ProcessOrchestrator):
    """The same, through the fake executables (it signals the worker's process)."""

    def __init__(self, world: World, **kwargs: object) -> None:
        self._idle_init()
        super().__init__(world, **kwargs)  # type: ignore[arg-type]


class InProcess(ReferenceAdapter):
    name = "ends-idle-workers"

    def start(self, world: World) -> ReferenceOrchestrator:
        return EndsIdleWorkers(world)


class ThroughProcesses(ProcessAdapter):
    name = "ends-idle-workers:processes"

    def start(self, world: World) -> ProcessOrchestrator:
        return EndsIdleProcesses(world, components=components(world))


@pytest.mark.parametrize("adapter", [InProcess(), pytest.param(
    ThroughProcesses(), marks=pytest.mark.processes)], ids=["in-process", "processes"])
def test_ending_idle_workers_keeps_observability(adapter: object, tmp_path: Path) -> None:
    catalogue = load_catalogue()
    ids = [i.id for i in catalogue.in_area(Capability.OBSERVABILITY)]
    machine = all_checks()[ids[0]].machine
    assert machine is not None
    settings = suite_settings("ci")
    if isinstance(adapter, ThroughProcesses):
        settings = hypothesis.settings(settings, max_examples=20)
    context = RunContext(as_loaded(adapter), catalogue.get(ids[0]), settings, tmp_path)
    run_machine(machine, context, [STEP_CHECKS[i] for i in ids])
