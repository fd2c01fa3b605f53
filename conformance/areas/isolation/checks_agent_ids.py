"""ISO-007: hostile agent ids are refused, clearly, before anything exists (seed 000).

Not a state machine: each example builds a fresh world, asks the orchestrator to
spawn one agent under a hostile id (:mod:`conformance.areas.isolation.hostile_ids`), and compares
the whole world before and after.

How the harness recognises a refusal (see ``Orchestrator.spawn``): ``spawn`` raises
a :class:`ValueError`. :class:`~conformance.errors.InvalidAgentId` is one and is
preferred: its ``agent_id`` must be the id and its ``rule`` must say what is wrong.
Any other ``ValueError`` must quote the id (``repr``) and say more than the id. A
refusal must come before any file, directory or backend session is created.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from pathlib import Path

import hypothesis

from conformance.areas.isolation.hostile_ids import HostileId, hostile_agent_ids
from conformance.clock import HarnessClock
from conformance.contract import BackendKind, SpawnRequest
from conformance.errors import AdapterError, InvalidAgentId, InvariantViolation
from conformance.harness import Harness
from conformance.registry import RunContext, register
from conformance.strategies import backend_kinds

Listing = dict[str, bytes | None]


def listing(root: Path) -> Listing:
    """Every directory (``None``) and file (its bytes) under ``root``."""
    entries: Listing = {}
    for directory, dirs, files in os.walk(root):
        base = Path(directory)
        for name in dirs:
            entries[(base / name).relative_to(root).as_posix()] = None
        for name in files:
            path = base / name
            try:
                entries[path.relative_to(root).as_posix()] = path.read_bytes()
            except OSError:
                entries[path.relative_to(root).as_posix()] = b"<unreadable>"
    return entries


def _shown(agent_id: str) -> str:
    text = repr(agent_id)
    return text if len(text) <= 60 else text[:57] + "...'"


def refusal_problem(agent_id: str, error: BaseException | None) -> str | None:
    """Why ``error`` is not a clear refusal of ``agent_id`` (``None`` if it is one)."""
    if error is None:
        return "it was accepted"
    if isinstance(error, InvalidAgentId):
        if error.agent_id != agent_id:
            return (f"InvalidAgentId names the id {_shown(error.agent_id)}, not the id "
                    "that was refused")
        if not str(error.rule).strip():
            return "InvalidAgentId has an empty rule"
        return None
    if not isinstance(error, ValueError):
        return (f"spawn raised {type(error).__name__}: {str(error)[:120]!r}, which is not a "
                "ValueError (InvalidAgentId is one)")
    message = str(error)
    quoted = [repr(agent_id), json.dumps(agent_id)]
    hit = next((q for q in quoted if q in message), None)
    if hit is None:
        return (f"the ValueError does not quote the id: {message[:120]!r}")
    if len(message.replace(hit, "").strip(" :.-'\"")) < 8:
        return f"the ValueError names the id but no rule: {message[:120]!r}"
    return None


def _attempt(harness: Harness, agent_id: str, hostile: HostileId,
             backend: BackendKind) -> str | None:
    """Spawn under ``agent_id``; the violation message, or ``None`` if refused well."""
    root = harness.root
    before = listing(root)
    mark = len(harness.calls.calls)
    error: BaseException | None = None
    try:
        harness.orchestrator.spawn(SpawnRequest(agent_id, backend, "task"))
    except Exception as raised:
        error = raised
    after = listing(root)
    created = sorted(set(after) - set(before))
    changed = sorted(p for p, data in after.items() if p in before and before[p] != data)
    started = [c for c in harness.calls.calls[mark:] if c.op == "start_session"]
    problem = refusal_problem(agent_id, error)
    where = (f"spawn({_shown(agent_id)}, {backend.value}) (an id that breaks the rule "
             f"'{hostile.rule}')")
    expected = ("Expected: refuse it by raising InvalidAgentId(agent_id, rule) or another "
                "ValueError that quotes the id and names the rule, before creating any file "
                "or directory or starting a backend session.")
    if problem is not None:
        return f"{where}: {problem}. {expected}"
    if started or created or changed:
        found = ", ".join([*(f"started a {backend.value} session" for _ in started[:1]),
                           *(f"created {p!r}" for p in created[:5]),
                           *(f"changed {p!r}" for p in changed[:5])])
        return f"{where} was refused, but not before it {found}. {expected}"
    return None


@register("ISO-007")
def hostile_agent_ids_refused(context: RunContext) -> None:
    clock = HarnessClock()
    worlds = itertools.count(1)

    @hypothesis.settings(context.settings, report_multiple_bugs=False)
    @hypothesis.given(hostile=hostile_agent_ids(), backend=backend_kinds())
    def refuse(hostile: HostileId, backend: BackendKind) -> None:
        root = context.workdir / f"world-{next(worlds)}"
        harness = Harness(context.adapter.adapter, clock, root)
        try:
            message = _attempt(harness, hostile.materialize(root), hostile, backend)
        finally:
            # A broken orchestrator may fail to shut down after accepting a bad id;
            # the violation below is the finding, not the crash.
            with contextlib.suppress(AdapterError):
                harness.shutdown()
            harness.dispose()
        if message is not None:
            raise InvariantViolation("ISO-007", message)

    clock.start()
    try:
        refuse()
    finally:
        clock.stop()
