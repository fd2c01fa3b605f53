"""CLOG-012 and CLOG-013: real processes on canonical stores.

Threads would prove nothing here: the store's hazards (an index rewritten whole by
two writers, a line cut by a kill) are between processes. Each check forks worker
processes (``multiprocessing`` with the ``fork`` start method, so a worker inherits
the loaded adapter and starts in milliseconds; a warm-up world in the parent loads
whatever the adapter loads lazily, once). A worker builds its own world whose
``acp_home`` is a symlink to a shared store, starts the adapter's orchestrator in it
with ``Adapter.start``, and drives spawns, turns and follow-ups through the harness.
Two workers given the same world token get the same native session ids, so they
open the same backend session keys at the same time.

After every operation that returned, a worker reports to the parent, in one of two
ways (see :class:`Report`):

* ``OWED``: the canonical events the operation made owed (see
  :mod:`conformance.areas.canonical_log.journal`). Checked once every worker has finished: each must
  be in the store, as many times as owed (order is CLOG-006's business).
* ``SEEN``: the events of its sessions it can read in the store right now, through
  ``index.json``. Checked after the worker was killed: what was readable when an
  operation returned must stay readable, in the same order.

CLOG-012 releases eight workers together on one store (pairs share their keys), twice
(the second wave meets a non-empty store). CLOG-013 gives each of four workers a store
of its own, SIGKILLs it at an arbitrary point of its work, appends a torn line to its
logs (a write cut short), and lets a new worker reopen the same sessions there.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import multiprocessing
import os
import random
import select
import signal
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from conformance.areas.canonical_log.journal import (
    Ident,
    Journal,
    Owed,
    logged_ident,
    show,
    unmatched,
)
from conformance.areas.canonical_log.store import StoredSession, find_sessions, read_index
from conformance.clock import HarnessClock
from conformance.contract import Adapter, BackendKind, Settings
from conformance.errors import AdapterError, InvariantViolation
from conformance.fakes.permissions import with_permissions
from conformance.faults import corrupt_index, tear_last_lines
from conformance.harness import Harness
from conformance.registry import RunContext, register
from conformance.scratch_env import decoys, scratch_user_env

#: Real seconds a worker may take before the check gives up on it.
WORKER_TIMEOUT = 60.0
#: Rounds of a whole turn and a follow-up per agent in CLOG-012: about 150 events on
#: each shared log, enough for two writers to meet inside a line written in two calls.
ROUNDS = 6

KINDS = (BackendKind.CODEX, BackendKind.CLAUDE, BackendKind.GEMINI)


class Report(enum.Enum):
    """What a worker acknowledges after each operation (see the module docstring)."""

    OWED = "owed"
    SEEN = "seen"


@dataclass(frozen=True)
class Plan:
    """What one worker does: spawn one agent per backend kind, then ``rounds`` of a
    whole turn and a follow-up to each agent, a last turn, and shutdown."""

    name: str
    token: str
    store: Path
    rounds: int
    report: Report = Report.OWED
    #: Wait for the parent's go, so that all workers start writing together.
    wait_for_go: bool = False


@dataclass
class Worker:
    plan: Plan
    process: Any
    conn: Connection
    #: OWED: every event acknowledged, in order, as ``(key, ident, cause)``.
    owed: list[tuple[str, Ident, str]] = field(default_factory=list)
    #: SEEN: per key, the events last seen readable.
    seen: dict[str, list[Ident]] = field(default_factory=dict)
    #: Acknowledgements received (one per operation that returned).
    acks: int = 0
    ready: bool = False
    done: bool = False
    error: str | None = None


def readable(store: Path, key: str) -> tuple[StoredSession | None, str | None]:
    """The session ``index.json`` maps ``key`` to (found by its gid anywhere in the
    store), or ``(None, why not)``."""
    index, problem = read_index(store)
    if index is None:
        return None, f"index.json is {problem}"
    gid = index.get(key)
    if not isinstance(gid, str):
        return None, f"index.json has no entry for {key} (it holds {len(index)} keys)"
    for session in find_sessions(store):
        if session.gid == gid:
            return session, None
    return None, f"index.json maps {key} to {gid}, which has no session directory"


def _report(conn: Connection, plan: Plan, journal: Journal, keys: Sequence[str]) -> None:
    if plan.report is Report.OWED:
        conn.send(("owed", [(o.key, o.ident, o.cause) for o in journal.take_fresh()]))
        return
    seen: dict[str, list[Ident]] = {}
    for key in keys:
        session, _ = readable(plan.store, key)
        if session is not None:
            seen[key] = [logged_ident(line) for line in session.events()]
    conn.send(("seen", seen))


#: Real seconds a writer that left a line unfinished in an appended file waits for
#: another process to append to the same file (see :func:`_contend`).
MEET_WINDOW = 0.03


def _contend(store: Path) -> None:
    """Make this process linger after every write into ``store`` that leaves a line
    unfinished, as a process preempted there would, until another writer appends to
    the same file or :data:`MEET_WINDOW` passes.

    A line written in two ``write`` calls is torn only when another process appends
    between the two. Through the fake executables a worker spends most of its time
    waiting on its processes, so left to the scheduler two writers of one log meet
    there in one run of three; lingering makes them meet in nearly every run. It only
    makes an interleaving the kernel allows happen sooner; it creates none, and a
    writer that ends each write with its line's newline never lingers. A file not
    opened for appending (a temporary file renamed into place) only yields the
    processor: no other process writes into it."""
    top = os.path.realpath(store)
    write = os.write
    clock = time.perf_counter  # real time: the harness clock stands still

    def contended(fd: int, data: Any) -> int:
        written = write(fd, data)
        if not written or bytes(memoryview(data)[written - 1:written]) == b"\n":
            return written
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            appending = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND)
            size = os.fstat(fd).st_size
        except OSError:
            return written
        if not target.startswith(top + os.sep):
            return written
        if not appending:
            os.sched_yield()
            return written
        deadline = clock() + MEET_WINDOW
        with contextlib.suppress(OSError):
            while os.fstat(fd).st_size == size and clock() < deadline:
                select.select([], [], [], 0.0005)
        return written

    os.write = contended


def _work(conn: Connection, adapter: Adapter, root: Path, plan: Plan) -> None:
    """A worker's life (in the forked process)."""
    code = 0
    try:
        _contend(plan.store)
        clock = HarnessClock()
        clock.start()
        root.mkdir(parents=True)
        (root / "acp_home").symlink_to(plan.store, target_is_directory=True)
        harness = Harness(adapter, clock, root, token=plan.token)
        for host in harness.hosts.values():
            host.responder = with_permissions()
        journal = Journal()
        journal.follow(harness)
        conn.send(("ready", None))
        if plan.wait_for_go:
            conn.recv()
        agents: list[tuple[str, BackendKind, str]] = []
        keys: list[str] = []

        def step(action: Callable[[], None]) -> None:
            action()
            _report(conn, plan, journal, keys)

        for number, kind in enumerate(KINDS):
            agent, text = f"{plan.name}-{number}", f"{plan.name}: task {number}"
            blocks = [{"type": "text", "text": text}]
            record = harness.spawn(agent, kind, text, content=blocks)
            session_id = record.session.session_id
            agents.append((agent, kind, session_id))
            keys.append(f"{kind.value}:{session_id}")
            journal.prompt(kind, session_id, blocks, f"spawn of {agent}")
            _report(conn, plan, journal, keys)
        for round_number in range(plan.rounds):
            step(lambda: harness.advance(5.0))
            for agent, kind, session_id in agents:
                text = f"{plan.name}: round {round_number} for {agent}"
                if not harness.agents[agent].session.alive:
                    # A one-prompt CLI has exited after its turn: the user resumes
                    # the session to go on (seed 002).
                    harness.resume(agent)
                harness.send(agent, text)
                journal.prompt(kind, session_id, [{"type": "text", "text": text}],
                               f"follow-up {round_number} to {agent}")
                _report(conn, plan, journal, keys)
        step(lambda: harness.advance(5.0))
        step(harness.shutdown)
        conn.send(("done", None))
    except BaseException:
        code = 1
        with contextlib.suppress(BaseException):
            conn.send(("error", traceback.format_exc()))
    finally:
        # Never return into the parent's code (pytest, Hypothesis) in a forked child.
        os._exit(code)


def warm_up(adapter: Adapter, root: Path) -> None:
    """Run one small world in this process first, so whatever the adapter loads lazily
    (schemas, plugins) is loaded once here and inherited by every forked worker."""
    clock = HarnessClock()
    clock.start()
    try:
        harness = Harness(adapter, clock, root, token="warm-up")
        try:
            for number, kind in enumerate(KINDS):
                harness.spawn(f"warm-{number}", kind, "warm up",
                              content=[{"type": "text", "text": "warm up"}])
            harness.advance(5.0)
            harness.shutdown()
        finally:
            harness.dispose()
    finally:
        clock.stop()


def start_workers(adapter: Adapter, base: Path, plans: Sequence[Plan]) -> list[Worker]:
    context = multiprocessing.get_context("fork")
    workers = []
    for plan in plans:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_work, args=(child_end, adapter, base / plan.name,
                                                      plan), daemon=True)
        process.start()
        child_end.close()
        workers.append(Worker(plan, process, parent_end))
    return workers


def _receive(worker: Worker, message: Any) -> None:
    kind, payload = message
    if kind == "owed":
        worker.owed.extend(payload)
        worker.acks += 1
    elif kind == "seen":
        worker.seen.update(payload)
        worker.acks += 1
    elif kind == "ready":
        worker.ready = True
    elif kind == "done":
        worker.done = True
    elif kind == "error":
        worker.error = payload


def pump(
    workers: Sequence[Worker], until: Callable[[Sequence[Worker]], bool],
    kill_after: dict[str, int] | None = None,
) -> None:
    """Receive reports until ``until(workers)`` or every worker hung up; SIGKILL a
    worker as soon as it has sent ``kill_after[name]`` acknowledgements."""
    deadline = time.perf_counter() + WORKER_TIMEOUT
    by_conn = {w.conn: w for w in workers}
    kills = dict(kill_after or {})
    while by_conn and not until(workers):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            for worker in workers:
                worker.process.kill()
            raise AdapterError(f"worker processes did not finish within {WORKER_TIMEOUT:g}s")
        for ready in wait(list(by_conn), timeout=remaining):
            worker = by_conn[ready]  # type: ignore[index]
            try:
                _receive(worker, worker.conn.recv())
            except (EOFError, OSError, ValueError):
                del by_conn[worker.conn]
                continue
            if worker.plan.name in kills and worker.acks >= kills[worker.plan.name]:
                os.kill(worker.process.pid, signal.SIGKILL)
                del kills[worker.plan.name]
    for worker in workers:
        if worker.error is not None:
            raise AdapterError(f"worker {worker.plan.name} failed:\n{worker.error}")


def drain(worker: Worker) -> None:
    """Keep every report a killed worker sent before it died."""
    while True:
        try:
            if not worker.conn.poll(0):
                return
            _receive(worker, worker.conn.recv())
        except (EOFError, OSError, ValueError):
            return


def stop(workers: Sequence[Worker]) -> None:
    for worker in workers:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=10)
        worker.conn.close()


def unfinished(workers: Sequence[Worker]) -> None:
    gone = [w.plan.name for w in workers if not w.done]
    if gone:
        raise AdapterError(f"worker processes {gone} exited without finishing their work")


def missing_owed(store: Path, workers: Sequence[Worker]) -> str | None:
    """Which owed events the store lacks (counted per key, over every worker)."""
    per_key: dict[str, list[Owed]] = {}
    for worker in workers:
        for key, ident, cause in worker.owed:
            per_key.setdefault(key, []).append(Owed(key, ident, f"{cause} by {worker.plan.name}"))
    for key, owed in per_key.items():
        session, problem = readable(store, key)
        if session is None:
            return f"{problem}: the {len(owed)} events logged for it are out of reach"
        have = Counter(logged_ident(line) for line in session.events())
        for item in owed:
            if have[item.ident] > 0:
                have[item.ident] -= 1
                continue
            skipped = [line.number for line in session.lines() if line.problem]
            return (f"the log of {key} ({session.gid}: {len(session.events())} readable "
                    f"events, unreadable lines {skipped or 'none'}) lacks {item} (one of "
                    f"{len(owed)} events logged for the key)")
    return None


def missing_seen(store: Path, worker: Worker) -> str | None:
    """Which events the worker had seen readable are not readable any more."""
    for key, seen in worker.seen.items():
        session, problem = readable(store, key)
        if session is None:
            return f"{problem}, although {len(seen)} of its events were readable before"
        lost = unmatched([Owed(key, ident, "seen before the kill") for ident in seen],
                         [logged_ident(line) for line in session.events()])
        if lost:
            return (f"{len(lost)} of the {len(seen)} events of {key} readable before the kill "
                    f"are gone or out of order, from {show(lost[0].ident)} on")
    return None


@register("CLOG-012")
def concurrent_processes(context: RunContext) -> None:
    adapter = context.adapter.adapter
    with scratch_user_env(context.workdir, decoys(Settings())):
        warm_up(adapter, context.workdir / "warm-up")
        store = context.workdir / "shared-acp-home"
        store.mkdir()
        for wave in ("first", "second"):
            if wave == "second":
                # The second wave meets the first one's store with index.json left
                # corrupt, as a writer that crashed mid-rewrite leaves it.
                corrupt_index(store)
            plans = [Plan(f"{wave}-{n}", f"token-{n // 2}", store, rounds=ROUNDS,
                          wait_for_go=True) for n in range(8)]
            workers = start_workers(adapter, context.workdir / wave, plans)
            try:
                pump(workers, lambda ws: all(w.ready for w in ws))
                for worker in workers:
                    worker.conn.send("go")
                pump(workers, lambda ws: all(w.done for w in ws))
            finally:
                stop(workers)
            unfinished(workers)
            lost = missing_owed(store, workers)
            if lost is not None:
                met = ("; the wave began with index.json corrupt" if wave == "second"
                       else "")
                raise InvariantViolation("CLOG-012", (
                    f"8 processes wrote to one ACP_HOME at once ({wave} wave, in pairs on "
                    f"the same 3 backend session keys, {ROUNDS} rounds each{met}): {lost}. "
                    "Expected every key in index.json, mapped to the one session whose "
                    "canonical.jsonl holds every event each process logged, each on a "
                    "line of its own."))


@register("CLOG-013")
def kill_nine(context: RunContext) -> None:
    adapter = context.adapter.adapter
    rng = random.Random(13)
    with scratch_user_env(context.workdir, decoys(Settings())):
        warm_up(adapter, context.workdir / "warm-up")
        stores = [context.workdir / f"acp-home-{n}" for n in range(4)]
        for store in stores:
            store.mkdir()
        # Killed twice: a worker restarted on a store a killed one left (torn lines
        # included) is killed again, and a third one finishes the work.
        generations: list[list[Worker]] = []
        torn = 0
        for generation in ("killed", "killed-again"):
            plans = [Plan(f"{generation}-{n}", f"token-{n}", store, rounds=40,
                          report=Report.SEEN) for n, store in enumerate(stores)]
            kill_after = {plan.name: rng.randint(3, 30) for plan in plans}
            workers = start_workers(adapter, context.workdir / generation, plans)
            try:
                pump(workers, lambda ws: all(w.done for w in ws), kill_after)
                for worker in workers:
                    worker.process.join(timeout=10)
                    drain(worker)
            finally:
                stop(workers)
            generations.append(workers)
            torn += sum(tear_last_lines(store) for store in stores)
        again = [Plan(f"restarted-{n}", f"token-{n}", store, rounds=1)
                 for n, store in enumerate(stores)]
        restarted = start_workers(adapter, context.workdir / "after", again)
        try:
            pump(restarted, lambda ws: all(w.done for w in ws))
        finally:
            stop(restarted)
        unfinished(restarted)
        for n, after in enumerate(restarted):
            killed = [workers[n] for workers in generations]
            lost = None
            for before in killed:
                lost = missing_seen(before.plan.store, before)
                if lost is not None:
                    lost = f"after {before.plan.name} was killed, {lost}"
                    break
            if lost is None:
                lost = missing_owed(after.plan.store, [after])
                lost = None if lost is None else f"after the last restart, {lost}"
            if lost is not None:
                acks = " and ".join(f"{w.plan.name} after {w.acks} operations" for w in killed)
                raise InvariantViolation("CLOG-013", (
                    f"SIGKILL struck {acks}, a torn line was appended to the logs after each "
                    f"kill ({torn} in all), and {after.plan.name} reopened the same sessions "
                    f"in the same ACP_HOME: {lost}. Expected every event readable before a "
                    "kill to stay readable, and every event logged after it to be readable "
                    "(a new event never merges into a torn fragment)."))
