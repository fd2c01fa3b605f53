"""CLOG-011 (seed 004, "Best-effort (logging must not break the agent)").

Each example is a short scenario (spawns with rich prompts, time, follow-ups,
ticks, exits, closes, resumes) played twice on the same adapter, in two worlds with
the same token, so the fakes hand out the same session ids at the same instants:
once as is, and once with a fault injected into the canonical store from one step
on. A store fault may cost log lines, nothing else: the faulty run must raise
nothing, and its observable outcome (every backend call with its time and result,
every notification delivered, every turn and its completion, and the
orchestrator's views after each step) must equal the clean run's.

The faults (:mod:`conformance.faults`): ``ACP_HOME`` unwritable (``EACCES``), the disk
full (``ENOSPC``) when files are opened, the disk full at write time (files open and
truncate, writes fail), partial writes (half of a line is stored, then the disk is
full), ``index.json`` corrupted, and a torn last line in every ``canonical.jsonl``.
"""

from __future__ import annotations

import contextlib
import errno
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from conformance import faults
from conformance.areas.canonical_log.machine import ADVANCES, EXTRAS, extra_block
from conformance.clock import HarnessClock
from conformance.contract import Adapter, BackendKind, NotificationKind, Settings
from conformance.errors import AdapterError, InvariantViolation
from conformance.fakes.permissions import with_permissions
from conformance.faults import corrupt_index, failing_writes, tear_last_lines
from conformance.harness import Harness
from conformance.registry import RunContext, register
from conformance.scratch_env import decoys, scratch_user_env
from conformance.strategies import backend_kinds

FAULTS = ("disk full", "ACP_HOME unwritable", "corrupt index.json", "torn last line",
          "disk full at write", "partial writes")
#: The faults done on disk, which reach an orchestrator in any process; the others act
#: on writes made in the harness's process only (:func:`conformance.faults.reach`).
ON_DISK = ("corrupt index.json", "torn last line")

Op = tuple[Any, ...]


def operations() -> st.SearchStrategy[Op]:
    agent = st.integers(0, 2)
    return st.one_of(
        st.tuples(st.just("advance"), st.sampled_from(ADVANCES)),
        st.tuples(st.just("spawn"), backend_kinds(),
                  st.lists(st.sampled_from(EXTRAS), max_size=2)),
        st.tuples(st.just("send"), agent),
        st.tuples(st.just("tick")),
        st.tuples(st.just("exit"), agent),
        st.tuples(st.just("close"), agent),
        st.tuples(st.just("resume"), agent),
    )


@dataclass
class Run:
    """What one play of a scenario showed the outside world."""

    steps: list[tuple[str, Any]]
    #: The operation that raised, and what it raised (faulty runs only).
    error: tuple[str, str] | None = None


@contextlib.contextmanager
def injected(fault: str, acp_home: Path) -> Iterator[None]:
    if fault == "disk full":
        with failing_writes(acp_home, errno.ENOSPC):
            yield
    elif fault == "ACP_HOME unwritable":
        with failing_writes(acp_home, errno.EACCES):
            yield
    elif fault == "disk full at write":
        with faults.injected(faults.Fault(acp_home, errno.ENOSPC, faults.At.WRITE)):
            yield
    elif fault == "partial writes":
        with faults.injected(faults.Fault(acp_home, errno.ENOSPC, faults.At.PARTIAL)):
            yield
    else:
        if fault == "corrupt index.json":
            corrupt_index(acp_home)
        else:
            tear_last_lines(acp_home)
        yield


def _views(harness: Harness) -> list[tuple[Any, ...]]:
    out = []
    for view in harness.views():
        transcript = view.transcript
        if transcript is not None:
            with contextlib.suppress(ValueError):
                transcript = transcript.resolve().relative_to(harness.root.resolve())
        out.append((view.agent_id, view.backend.value, view.state.value, view.session_id,
                    None if transcript is None else str(transcript)))
    return sorted(out)


def _world(harness: Harness) -> dict[str, Any]:
    """The backends' side of a run: calls, notifications, sessions and turns. Through
    processes, when a process's exit was seen is left out (see :func:`_calls`)."""
    timed = harness.puppets is None
    notes = [(n.kind.value, n.backend.value, n.session_id,
              n.time if timed or n.kind is not NotificationKind.PROCESS_EXITED else None,
              n.turn_id, json.dumps(n.data, sort_keys=True, default=str))
             for host in harness.hosts.values() for n in host.delivered]
    sessions = [(s.session_id, s.alive, s.exits, s.ended_at if timed else None, s.resumed_at,
                 [(t.turn_id, t.prompt, t.started_at, t.completed_at) for t in s.turns])
                for host in harness.hosts.values() for s in host.sessions.values()]
    if not timed:
        notes.sort(key=repr)
    return {"calls": _calls(harness), "notifications": notes, "sessions": sessions}


def _calls(harness: Harness) -> list[tuple[Any, ...]]:
    """The timeline in order. Through processes it is compared as a multiset without
    times: processes exit, and hosts see it, on the processes' schedule (two signalled
    at once exit in either order, and a one-prompt CLI's exit after its turn may land
    before or after the harness's next operation), so only what happened is the run's,
    not when among the harness's operations it was recorded."""
    if harness.puppets is None:
        return [(c.time, c.backend, c.op, c.session_id, c.outcome, c.agent_id)
                for c in harness.calls.calls]
    return sorted(((c.backend, c.op, c.session_id, c.outcome, c.agent_id)
                   for c in harness.calls.calls), key=repr)


def _apply(harness: Harness, op: Op, spawned: list[str]) -> str:
    """Run one operation; return its description."""
    name = op[0]
    if name == "spawn":
        kind: BackendKind = op[1]
        n = len(spawned) + 1
        agent = f"agent-{n}"
        text = f"task {n}"
        blocks: list[Mapping[str, Any]] = [{"type": "text", "text": text}]
        blocks += [extra_block(extra, n, i) for i, extra in enumerate(op[2])]
        harness.spawn(agent, kind, text, content=blocks)
        spawned.append(agent)
        return f"spawn {agent} ({kind.value}{', ' + ', '.join(op[2]) if op[2] else ''})"
    if name == "advance":
        harness.advance(op[1])
        return f"advance {op[1]:g}s"
    if name == "tick":
        harness.tick()
        return "tick"
    if not spawned:
        return f"{name} (no agent yet)"
    agent = spawned[op[1] % len(spawned)]
    session = harness.agents[agent].session
    if name == "send" and session.alive:
        harness.send(agent, f"more for {agent}")
    elif name == "exit" and session.alive:
        harness.exit_process(agent)
    elif name == "close":
        harness.close(agent)
    elif name == "resume" and not session.alive:
        harness.resume(agent)
    else:
        return f"{name} {agent} (skipped)"
    return f"{name} {agent}"


def play(
    adapter: Adapter, clock: HarnessClock, root: Path, ops: list[Op],
    fault: tuple[str, int] | None,
) -> Run:
    """Play ``ops`` in a fresh world; inject ``fault`` (kind, from step) if given."""
    harness = Harness(adapter, clock, root, token="clog-faults")
    for host in harness.hosts.values():
        host.responder = with_permissions()
    run = Run(steps=[])
    spawned: list[str] = []
    try:
        with contextlib.ExitStack() as faults:
            try:
                for number, op in enumerate([*ops, ("shutdown",)]):
                    if fault is not None and number == fault[1]:
                        faults.enter_context(injected(fault[0], harness.world.acp_home))
                    try:
                        if op[0] == "shutdown":
                            harness.shutdown()
                            what = "shutdown"
                        else:
                            what = _apply(harness, op, spawned)
                        run.steps.append((what, _views(harness)))
                    except AdapterError as error:
                        if fault is None:
                            raise
                        run.error = (" ".join(str(part) for part in op), str(error))
                        return run
                run.steps.append(("the backends' record", _world(harness)))
            finally:
                with contextlib.suppress(AdapterError):
                    harness.shutdown()
    finally:
        run.steps[:] = _renamed(run.steps, _session_names(harness))
        if harness.puppets is not None:
            # Multisets are compared in their order once the ids are names: sorted by
            # the random ids a process orchestrator chose, they came out in any order.
            run.steps[:] = [(what, _sorted_record(value)) for what, value in run.steps]
        harness.dispose()
    return run


def _sorted_record(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {key: sorted(items, key=repr) if key in ("calls", "notifications") else items
            for key, items in value.items()}


def _session_names(harness: Harness) -> dict[str, str]:
    """A name for each session (and turn) of the run, by the order it started in: an id the
    orchestrator chose (a process orchestrator picks Claude's with ``--session-id``)
    may be random, and two runs that differ only in their random ids are the same run."""
    sessions = [s for host in harness.hosts.values() for s in host.sessions.values()]
    names = {}
    for n, session in enumerate(sessions, 1):
        names[session.session_id] = f"<session {n}>"
        # The fakes' ids of tool calls and responses carry a session id's first 8.
        names.setdefault(session.session_id[:8], f"<session {n}>")
        for t, turn in enumerate(session.turns, 1):
            names[turn.turn_id] = f"<session {n} turn {t}>"
    return names


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every session id in its strings replaced by its name (the
    longest ids first: Codex's ids of one run share their first 8 characters)."""
    if isinstance(value, str):
        for session_id in sorted(names, key=len, reverse=True):
            value = value.replace(session_id, names[session_id])
        return value
    if isinstance(value, tuple):
        return tuple(_renamed(v, names) for v in value)
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    return value


def _difference(clean: Run, faulty: Run) -> str:
    for (what, expected), (_, found) in zip(clean.steps, faulty.steps, strict=False):
        if expected == found:
            continue
        if isinstance(expected, dict):
            for part in expected:
                left, right = expected[part], found[part]
                at = next((i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
                          min(len(left), len(right)))
                if left != right:
                    return (f"{part} differ at entry {at + 1}: without the fault "
                            f"{left[at] if at < len(left) else 'nothing'}, with it "
                            f"{right[at] if at < len(right) else 'nothing'}")
        return f"after '{what}' the views were {expected} without the fault, {found} with it"
    return f"the runs took {len(clean.steps)} and {len(faulty.steps)} steps"


@register("CLOG-011")
def best_effort(context: RunContext) -> None:
    adapter = context.adapter.adapter
    clock = HarnessClock()
    runs = iter(range(1_000_000))
    # Behind a driver, a failing write would miss the orchestrator and the run would
    # pass on a fault that never happened: only the damage done on disk is drawn.
    drawn = FAULTS if faults.reach(adapter) else ON_DISK

    @settings(context.settings, report_multiple_bugs=False)
    @given(first=st.tuples(backend_kinds(), st.lists(st.sampled_from(EXTRAS), max_size=2)),
           ops=st.lists(operations(), max_size=6), fault=st.sampled_from(drawn),
           at=st.integers(0, 7))
    def scenario(first: tuple[BackendKind, list[str]], ops: list[Op], fault: str,
                 at: int) -> None:
        plan = [("spawn", *first), *ops]
        start = min(at, len(plan))
        note(f"fault '{fault}' from step {start + 1} (of {len(plan)} and shutdown)")
        # The same path for both plays (one after the other): native file names derive
        # from the working directory, so any other path would differ by itself.
        root = context.workdir / f"scenario-{next(runs)}"
        clean = play(adapter, clock, root, plan, None)
        faulty = play(adapter, clock, root, plan, (fault, start))
        for number, (what, _) in enumerate(faulty.steps, 1):
            note(f"step {number}: {what}")
        if faulty.error is not None:
            raise InvariantViolation("CLOG-011", (
                f"with '{fault}' injected from step {start + 1}, '{faulty.error[0]}' failed: "
                f"{faulty.error[1]}. Expected the canonical log to be best effort: a store "
                "that cannot be written or is damaged never makes an operation fail."))
        if faulty.steps != clean.steps:
            raise InvariantViolation("CLOG-011", (
                f"with '{fault}' injected from step {start + 1}, the run differs from the "
                f"same run without it: {_difference(clean, faulty)}. Expected every turn to "
                "complete with the same result, the same backend calls and the same views "
                "(logging must not break the agent)."))

    with scratch_user_env(context.workdir, decoys(Settings())):
        clock.start()
        try:
            scenario()
        finally:
            clock.stop()

