"""The null orchestrator: it claims every area and does the least the contract demands.

The steps benchmark drives the area machines against it, with no checks enabled, to
measure the harness floor: what a step costs when the orchestrator costs nothing, so
that what is left is Hypothesis, the machine's rules and model, the fakes and the
world. Every check would fail against it (it never ends, lists or records anything);
it is for measuring, never for certifying.

What it must still do, or the harness refuses to go on (an ``AdapterError``): start
exactly one session on ``spawn``, and resume an ended session on ``resume``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance.contract import Capability, SessionHost, SessionView, SpawnRequest, World


class NullOrchestrator:
    """Starts and resumes sessions when told to, and nothing else."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.started: dict[str, tuple[SessionHost, str]] = {}

    def spawn(self, request: SpawnRequest) -> None:
        host = self.world.backend(request.backend)
        home = self.world.home / "agents" / request.agent_id
        session_id = host.start_session(prompt=request.prompt, home=home,
                                        cwd=self.world.workspace)
        self.started[request.agent_id] = (host, session_id)

    def send(self, agent_id: str, prompt: str) -> None:
        return None

    def resume(self, agent_id: str) -> None:
        started = self.started.get(agent_id)
        if started is not None:
            host, session_id = started
            host.resume_session(session_id)

    def close(self, agent_id: str) -> None:
        return None

    def export(self, agent_id: str, destination: Path) -> None:
        return None

    def tick(self) -> None:
        return None

    def session(self, agent_id: str) -> SessionView | None:
        return None

    def sessions(self) -> Sequence[SessionView]:
        return ()

    def shutdown(self) -> None:
        return None


class NullAdapter:
    """Claims every built-in area."""

    name = "null"
    version = "0"
    capabilities = frozenset(Capability)

    def start(self, world: World) -> NullOrchestrator:
        return NullOrchestrator(world)


conformance_adapter = NullAdapter()
