"""The harness blames the adapter precisely, and its clock is the only time there is.

A vendor's crash must surface as an :class:`AdapterError` naming the operation, never
as a pass or as an invariant violation; a spawn must start exactly one backend
session; and the frozen clock must move only when the harness moves it.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.clock import EPOCH, HarnessClock, since_start
from conformance.contract import (
    BackendKind,
    Capability,
    SessionView,
    SpawnRequest,
    World,
)
from conformance.errors import AdapterError, BackendError
from conformance.harness import Harness


class ScriptedOrchestrator:
    """A minimal orchestrator whose spawn starts ``starts`` sessions and whose other
    operations raise ``error`` when it is set."""

    def __init__(self, world: World, starts: int = 1, error: Exception | None = None) -> None:
        self.world = world
        self.starts = starts
        self.error = error
        self.ids: dict[str, tuple[BackendKind, str]] = {}

    def _maybe_raise(self) -> None:
        if self.error is not None:
            raise self.error

    def spawn(self, request: SpawnRequest) -> None:
        host = self.world.backend(request.backend)
        home = self.world.home / request.agent_id
        for _ in range(self.starts):
            self.ids[request.agent_id] = (request.backend, host.start_session(
                prompt=request.prompt, home=home, cwd=self.world.workspace))

    def send(self, agent_id: str, prompt: str) -> None:
        self._maybe_raise()

    def resume(self, agent_id: str) -> None:
        self._maybe_raise()

    def close(self, agent_id: str) -> None:
        self._maybe_raise()

    def export(self, agent_id: str, destination: Path) -> None:
        self._maybe_raise()

    def tick(self) -> None:
        self._maybe_raise()

    def session(self, agent_id: str) -> SessionView | None:
        self._maybe_raise()
        return None

    def sessions(self) -> Sequence[SessionView]:
        self._maybe_raise()
        return []

    def shutdown(self) -> None:
        self._maybe_raise()


class Adapter:
    name = "scripted"
    version = "1"
    capabilities = frozenset({Capability.OBSERVABILITY})

    def __init__(self, make: Callable[[World], Any]) -> None:
        self.make = make

    def start(self, world: World) -> Any:
        return self.make(world)


def harness(clock: HarnessClock, root: Path, **options: Any) -> Harness:
    return Harness(Adapter(lambda world: ScriptedOrchestrator(world, **options)), clock, root)


# -- spawning -----------------------------------------------------------------------


def test_a_spawn_that_starts_one_session_is_recorded(tmp_path: Path) -> None:
    with HarnessClock() as clock:
        h = harness(clock, tmp_path)
        record = h.spawn("a", BackendKind.CLAUDE, "hello")
        assert record.session.agent_id == "a"
        assert record.session.kind is BackendKind.CLAUDE
        ops = [c.op for c in h.calls.calls]
        assert ops.index("harness:spawn") < ops.index("start_session")


@pytest.mark.parametrize("starts", [0, 2])
def test_a_spawn_must_start_exactly_one_session(tmp_path: Path, starts: int) -> None:
    with HarnessClock() as clock:
        h = harness(clock, tmp_path, starts=starts)
        with pytest.raises(AdapterError, match=f"exactly once.*started {starts} sessions"):
            h.spawn("a", BackendKind.CODEX, "hello")


# -- the orchestrator's errors are the adapter's --------------------------------------


OPERATIONS: dict[str, tuple[str, Callable[[Harness], object]]] = {
    "send": ("send('a')", lambda h: h.send("a", "more")),
    "tick": ("tick()", lambda h: h.tick()),
    "close": ("close('a')", lambda h: h.close("a")),
    "resume": ("resume('a')", lambda h: h.resume("a")),
    "export": ("export('a')", lambda h: h.export("a", h.root / "out")),
    "session": ("session('a')", lambda h: h.view("a")),
    "sessions": ("sessions()", lambda h: h.views()),
    "shutdown": ("shutdown()", lambda h: h.shutdown()),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_orchestrator_crash_is_an_adapter_error_naming_the_operation(
    tmp_path: Path, operation: str,
) -> None:
    with HarnessClock() as clock:
        orchestrators: list[ScriptedOrchestrator] = []

        def make(world: World) -> ScriptedOrchestrator:
            orchestrators.append(ScriptedOrchestrator(world))
            return orchestrators[-1]

        h = Harness(Adapter(make), clock, tmp_path)
        h.spawn("a", BackendKind.CODEX, "hello")
        orchestrators[0].error = RuntimeError("boom")
        what, action = OPERATIONS[operation]
        with pytest.raises(AdapterError) as caught:
            action(h)
        assert f"raised RuntimeError in {what}: boom" in str(caught.value)
        assert isinstance(caught.value.__cause__, RuntimeError)


def test_the_suites_own_errors_pass_through_unchanged(tmp_path: Path) -> None:
    with HarnessClock() as clock:
        h = harness(clock, tmp_path, error=BackendError("no process"))
        with pytest.raises(BackendError, match="no process"):
            h.tick()


def test_a_crashing_start_is_an_adapter_error(tmp_path: Path) -> None:
    with HarnessClock() as clock:
        def make(world: World) -> None:
            raise OSError("no license")

        with pytest.raises(AdapterError, match=r"OSError in adapter\.start\(world\): no license"):
            Harness(Adapter(make), clock, tmp_path)


def test_start_must_return_an_orchestrator(tmp_path: Path) -> None:
    with HarnessClock() as clock:
        class HalfDone:
            def spawn(self, request: SpawnRequest) -> None: ...

            def tick(self) -> None: ...

        with pytest.raises(AdapterError) as caught:
            Harness(Adapter(lambda world: HalfDone()), clock, tmp_path)
        message = str(caught.value)
        assert "HalfDone" in message
        for missing in ("send", "resume", "close", "export", "session", "sessions", "shutdown"):
            assert missing in message
        assert "spawn" not in message.split("methods:")[1]


def test_the_world_is_fresh_and_owned_by_the_harness(tmp_path: Path) -> None:
    with HarnessClock() as clock:
        h = harness(clock, tmp_path / "world")
        world = h.world
        for directory in (world.home, world.acp_home, world.trace_dir, world.workspace):
            assert directory.is_dir() and directory.is_relative_to(tmp_path / "world")
        assert set(world.backends) == set(BackendKind)
        assert world.clock is clock and h.now() == EPOCH.timestamp()
        h.shutdown()
        h.dispose()
        assert not (tmp_path / "world").exists()


# -- the clock ------------------------------------------------------------------------


def test_the_clock_freezes_moves_on_demand_and_restores() -> None:
    real_time, real_monotonic = time.time, time.monotonic
    real_datetime, real_perf_counter = datetime.datetime, time.perf_counter
    clock = HarnessClock()
    clock.start()
    try:
        start = EPOCH.timestamp()
        assert time.time() == start
        assert datetime.datetime.now(datetime.timezone.utc) == EPOCH
        monotonic = time.monotonic()
        # Real work happens, yet no harness time passes.
        sum(range(100_000))
        assert time.time() == start and time.monotonic() == monotonic

        clock.advance(90.5)
        assert time.time() == start + 90.5
        assert time.monotonic() - monotonic == pytest.approx(90.5)
        assert datetime.datetime.now(datetime.timezone.utc) == \
            EPOCH + datetime.timedelta(seconds=90.5)
        assert clock.elapsed() == pytest.approx(90.5) and since_start(clock.now()) == 90.5

        # perf_counter stays real: it keeps running while the frozen clock stands still.
        assert time.perf_counter is real_perf_counter
        first = time.perf_counter()
        assert any(time.perf_counter() != first for _ in range(1_000_000))
        assert time.time() == start + 90.5

        clock.move_to(start + 100)
        assert time.time() == start + 100
        clock.reset()
        assert time.time() == start
        with pytest.raises(ValueError, match="only moves forward"):
            clock.advance(-1)
    finally:
        clock.stop()
    assert time.time is real_time and time.monotonic is real_monotonic
    assert datetime.datetime is real_datetime and time.perf_counter is real_perf_counter


def test_the_clock_must_be_started_and_stops_idempotently() -> None:
    clock = HarnessClock()
    with pytest.raises(RuntimeError, match="not running"):
        clock.advance(1)
    with clock:
        clock.start()  # idempotent
        assert time.time() == EPOCH.timestamp()
    clock.stop()
    assert time.time() != EPOCH.timestamp()
