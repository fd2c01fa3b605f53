"""Where a state-machine step's time goes: world, fakes, checks, orchestrator, the rest.

:func:`attributed` patches, for the duration of one measurement, the functions that
mark a boundary between the parts of a step, so that a stopwatch knows which part is
running. Time is exclusive: a part entered from inside another (a fake's
notification calling the orchestrator back, the orchestrator calling a fake) pauses
the outer part, so the shares add up to the whole.

* **world set-up and teardown**: building a world (``Harness.__init__``, less the
  orchestrator's start) and removing it (``Harness.retire`` and ``dispose``);
* **fakes**: every public operation of a fake session host and the scheduler's
  advance (the fake CLIs writing their files, logs and notifications);
* **orchestrator**: every call the harness makes into it (``Harness._call``), and
  every notification callback it subscribed on a host;
* **checks**: the step checks and the harness's own observation after each step;
* **Hypothesis and the machine**: what is left, drawing rules and arguments and the
  machine's rule bodies and model.

The patching costs a few microseconds per boundary, which is why the shares are
measured in a run of their own and the steps per second without it.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from conformance.fakes.host import FakeSessionHost
from conformance.fakes.scheduler import Scheduler
from conformance.harness import Harness
from conformance.stateful import StepCheck

WORLD = "world set-up and teardown"
FAKES = "fakes"
ORCHESTRATOR = "orchestrator"
CHECKS = "checks"
REST = "Hypothesis and the machine"
PARTS = (WORLD, FAKES, ORCHESTRATOR, CHECKS, REST)

_HOST_OPERATIONS = ("prepare", "start_session", "get_session_data", "list_sessions",
                    "end_session", "send", "resume_session", "exit_process",
                    "refuse_sends")


class Stopwatch:
    """Exclusive time per part; the part at the bottom of the stack is :data:`REST`."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys(PARTS, 0.0)
        self._stack: list[list[Any]] = [[REST, time.perf_counter()]]

    def enter(self, part: str) -> None:
        now = time.perf_counter()
        top = self._stack[-1]
        self.totals[top[0]] += now - top[1]
        self._stack.append([part, now])

    def leave(self) -> None:
        now = time.perf_counter()
        part, since = self._stack.pop()
        self.totals[part] += now - since
        self._stack[-1][1] = now

    def close(self) -> dict[str, float]:
        """The totals, with the time since the last boundary given to the bottom."""
        now = time.perf_counter()
        bottom = self._stack[0]
        self.totals[bottom[0]] += now - bottom[1]
        bottom[1] = now
        return dict(self.totals)

    def timed(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            self.enter(part)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        return run


@contextlib.contextmanager
def attributed(checks: Sequence[StepCheck]) -> Iterator[tuple[Stopwatch, list[StepCheck]]]:
    """Patch the boundaries for one measurement; yields the stopwatch and ``checks``
    wrapped to count as :data:`CHECKS`. Everything is restored on exit."""
    watch = Stopwatch()
    patched: list[tuple[type, str, Any]] = []

    def patch(owner: type, name: str, wrap: Callable[[Any], Any]) -> None:
        original = owner.__dict__[name]
        patched.append((owner, name, original))
        setattr(owner, name, wrap(original))

    def subscribe(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def run(host: FakeSessionHost, callback: Callable[..., Any]) -> Any:
            return original(host, watch.timed(ORCHESTRATOR, callback))

        return run

    for owner, names, part in (
        (Harness, ("__init__", "retire", "dispose"), WORLD),
        (Harness, ("_call",), ORCHESTRATOR),
        (Harness, ("observe",), CHECKS),
        (FakeSessionHost, _HOST_OPERATIONS, FAKES),
        (Scheduler, ("advance",), FAKES),
    ):
        for name in names:
            patch(owner, name, functools.partial(watch.timed, part))
    patch(FakeSessionHost, "subscribe", subscribe)
    try:
        yield watch, [watch.timed(CHECKS, check) for check in checks]
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def shares(totals: dict[str, float]) -> dict[str, float]:
    """Each part's fraction of the whole."""
    whole = sum(totals.values())
    return {part: (totals[part] / whole if whole else 0.0) for part in PARTS}
