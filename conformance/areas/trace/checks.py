"""Rollout-trace invariants TRC-001..TRC-009 (seed 003, ``shared/REAL_BACKENDS.md``).

The checks read what the orchestrator wrote under ``world.trace_dir`` through the
format alone (:mod:`conformance.trace_format`), never through the orchestrator, and
hold it against what the harness observed (:mod:`conformance.areas.trace.observed`). A
thread id is the agent's native session id (see the contract).

Each fault is attributed to exactly one invariant, so most checks read the lines
themselves rather than replaying: a duplicate ``thread_started`` is TRC-002's, a gap in
``seq`` or a missing payload file TRC-006's, a bundle in the wrong place (or a
malformed manifest) TRC-007's; TRC-005 reports every other reason a bundle does not
replay, and TRC-004 compares relationships only in bundles that replay, in the right
place, whose rollout did not end early (TRC-001's). Result edges without a successful
delivery are TRC-003's; TRC-004 only requires the delivered ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conformance.areas.trace.machine import TraceMachine, bundle_files, record_of
from conformance.areas.trace.observed import Life, Observed, Relationship, observe
from conformance.clock import since_start
from conformance.errors import InvariantViolation
from conformance.fakes.calls import Call
from conformance.harness import Harness
from conformance.stateful import step_check
from conformance.trace_format.bundle import MANIFEST_NAME, TRACE_NAME
from conformance.trace_format.errors import (
    BundleError,
    DuplicateStartError,
    PayloadFileError,
    SequenceGapError,
    TraceError,
)
from conformance.trace_format.events import (
    AgentResultDelivered,
    Body,
    BodyRef,
    EventType,
    RunStatus,
)
from conformance.trace_format.reducer import Edge, EdgeKind, TraceGraph
from conformance.trace_format.scan import (
    BundleScan,
    bundle_dirs,
    payload_refs,
    replay,
    scan_bundle,
    stray_entries,
)

#: Bundles whose rollout was seen ending while their root still ran (TRC-001's), per
#: world: TRC-004 stops comparing them from then on.
_PREMATURE: weakref.WeakKeyDictionary[Harness, set[Path]] = weakref.WeakKeyDictionary()
#: The manifest of each bundle as first seen valid, per world.
_MANIFESTS: weakref.WeakKeyDictionary[Harness, dict[Path, bytes]] = (
    weakref.WeakKeyDictionary())


@dataclass
class View:
    """One look at a world: what the harness observed and every bundle on disk."""

    harness: Harness
    observed: Observed
    scans: list[BundleScan]
    #: Root agent id -> the bundles whose root thread is its session.
    root_bundles: dict[str, list[BundleScan]] = field(default_factory=dict)
    #: Agents with a ``thread_started`` in a bundle that is not their root's (a nested
    #: bundle included).
    misplaced: dict[str, BundleScan] = field(default_factory=dict)
    #: Bundles whose manifest changed after it was first seen valid (TRC-008's).
    rewritten: set[Path] = field(default_factory=set)
    #: The root thread each bundle's manifest named when first seen valid.
    first_roots: dict[Path, str] = field(default_factory=dict)

    def root_agent(self, scan: BundleScan) -> str | None:
        thread = scan.root_thread_id or self.first_roots.get(scan.path)
        return self.observed.agent_of(thread)

    def who(self, thread_id: str | None) -> str:
        agent = self.observed.agent_of(thread_id)
        return f"{agent} (thread {thread_id})" if agent else f"thread {thread_id}"


def look(harness: Harness) -> View:
    """Observe the world and scan its trace directory; note early rollout ends.

    Bundles an earlier orchestrator of the world left (before a restart) are not this
    orchestrator's: only TRC-008 looks at them, to see that they stay as they were.
    Every check of a step shares one look (:meth:`Harness.per_step`): read it, do not
    change it.
    """
    return harness.per_step(look, lambda: _look(harness))


def _look(harness: Harness) -> View:
    trace_dir = harness.world.trace_dir
    previous = record_of(harness).previous
    scans = [scan_bundle(p) for p in bundle_dirs(trace_dir) if p not in previous]
    view = View(harness, observe(harness), scans)
    manifests = _MANIFESTS.setdefault(harness, {})
    for scan in scans:
        path = scan.path / MANIFEST_NAME
        if scan.manifest is not None and scan.path not in manifests:
            manifests[scan.path] = path.read_bytes()
        first = manifests.get(scan.path)
        if first is None:
            continue
        with contextlib.suppress(ValueError, AttributeError):
            view.first_roots[scan.path] = str(json.loads(first)["root_thread_id"])
        if not path.is_file() or path.read_bytes() != first:
            view.rewritten.add(scan.path)
    for scan in scans:
        root = view.root_agent(scan)
        if root is not None:
            view.root_bundles.setdefault(root, []).append(scan)
    nested = [scan_bundle(p.parent) for scan in scans
              for p in nested_bundle_files(scan.path) if p.name == TRACE_NAME]
    for scan in [*scans, *nested]:
        owner = None if scan in nested else view.root_agent(scan)
        for thread_id in scan.started_threads():
            agent = view.observed.agent_of(thread_id)
            if agent is not None and view.observed.root_of[agent] != owner:
                view.misplaced.setdefault(agent, scan)
    seen = _PREMATURE.setdefault(harness, set())
    for root, bundles in view.root_bundles.items():
        for scan in bundles:
            if premature_end(view, root, scan) is not None:
                seen.add(scan.path)
    return view


def premature_end(view: View, root: str, scan: BundleScan) -> str | None:
    """Why ``scan``'s rollout ended before its root did, or ``None`` if it did not."""
    ended = scan.of_type(EventType.ROLLOUT_ENDED)
    if not ended:
        return None
    observed = view.observed
    life = observed.life(root)
    if life.state is Life.RUNNING and root not in observed.rollout_over:
        return f"the root {root} is still running"
    stopped = observed.root_stopped_at.get(root)
    if stopped is not None and ended[0].wall_time_unix_ms < round(stopped * 1000):
        return (f"it ended at t={since_start(ended[0].wall_time_unix_ms / 1000):.2f}s, "
                f"before the root {root} stopped at t={since_start(stopped):.2f}s")
    return None


def nested_bundle_files(bundle: Path) -> list[Path]:
    """Bundle files (a manifest or a trace) in a bundle's subdirectories."""
    names = (MANIFEST_NAME, TRACE_NAME)
    return sorted(p for p in bundle.rglob("*") if p.name in names and p.parent != bundle)


def _located(scan: BundleScan, seq: int | None = None) -> str:
    where = f"{scan.path.name}/{TRACE_NAME}"
    return f"{where} seq {seq}" if seq is not None else where


# --------------------------------------------------------------------------- TRC-001


@step_check("TRC-001", TraceMachine)
def only_root_end_ends_rollout(harness: Harness) -> None:
    view = look(harness)
    observed = view.observed
    for root in observed.roots:
        for scan in view.root_bundles.get(root, []):
            why = premature_end(view, root, scan)
            if why is not None:
                event = scan.of_type(EventType.ROLLOUT_ENDED)[0]
                ended = [a for a in observed.tree(root)
                         if a != root and observed.life(a).state is not Life.RUNNING]
                raise InvariantViolation("TRC-001", (
                    f"{_located(scan, event.seq)} is rollout_ended, but {why}. Agents of "
                    f"its tree that had ended or stopped: {', '.join(ended) or 'none'}. "
                    "Expected: only the root thread's end emits rollout_ended; a child's "
                    "end ends only the child's thread and leaves the rollout running.\n"
                    f"  timeline:\n{harness.timeline()}"))
            told = observed.rollout_over_at.get(root, harness.now())
            if (root in observed.rollout_over and not scan.of_type(EventType.ROLLOUT_ENDED)
                    and not degraded(harness, told)):
                stopped = observed.root_stopped_at.get(root, told)
                raise InvariantViolation("TRC-001", (
                    f"the root {root} ended (stopped at t={since_start(stopped):.2f}s, and "
                    f"the orchestrator was told), but {_located(scan)} has no rollout_ended. "
                    "Expected: the root thread's end emits rollout_ended.\n"
                    f"  timeline:\n{harness.timeline()}"))


# --------------------------------------------------------------------------- TRC-002


@step_check("TRC-002", TraceMachine)
def resumed_thread_not_started_again(harness: Harness) -> None:
    view = look(harness)
    for scan in view.scans:
        counts = Counter(scan.started_threads())
        for thread_id, count in counts.items():
            if count < 2:
                continue
            seqs = [e.seq for e in scan.of_type(EventType.THREAD_STARTED)
                    if e.thread_id == thread_id]
            agent = view.observed.agent_of(thread_id)
            resumes = ([] if agent is None
                       else view.harness.agents[agent].session.resumed_at)
            when = ", ".join(f"t={since_start(t):.2f}s" for t in resumes) or "never"
            raise InvariantViolation("TRC-002", (
                f"{_located(scan)} starts {view.who(thread_id)} {count} times (thread_started "
                f"at seq {', '.join(map(str, seqs))}); the agent was resumed: {when}. "
                "Expected: one thread_started per thread id; a resumed thread keeps its id "
                "and is recorded as thread_resumed (a duplicate start makes the trace "
                "unreplayable).\n"
                f"  timeline:\n{harness.timeline()}"))


# --------------------------------------------------------------------------- TRC-003


@step_check("TRC-003", TraceMachine)
def result_edge_only_after_delivery(harness: Harness) -> None:
    view = look(harness)
    observed = view.observed
    recorded: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], list[str]] = {}
    for scan in view.scans:
        for event in scan.of_type(EventType.AGENT_RESULT_DELIVERED):
            payload = event.payload
            assert isinstance(payload, AgentResultDelivered)
            child = observed.agent_of(event.thread_id)
            parent = observed.agent_of(payload.parent_thread_id)
            if child is None or parent is None:
                continue  # a thread no agent has: TRC-004's
            recorded[(child, parent)] += 1
            where.setdefault((child, parent), []).append(_located(scan, event.seq))
    for (child, parent), count in sorted(recorded.items()):
        delivered = observed.deliveries[(child, parent)]
        if count <= delivered:
            continue
        failed = observed.failed_sends.get(parent, [])
        failures = "; ".join(str(call) for call in failed) or "none"
        raise InvariantViolation("TRC-003", (
            f"the trace records {count} result edge(s) {child} -> {parent} "
            f"({', '.join(where[(child, parent)])}), but only {delivered} result(s) of "
            f"{child} reached {parent}'s session; sends to {parent} that failed: "
            f"{failures}. Expected: agent_result_delivered only after the send to the "
            "parent succeeded; a failed delivery (the parent already gone) records no "
            "edge.\n"
            f"  timeline:\n{harness.timeline()}"))


# --------------------------------------------------------------------------- TRC-004


@step_check("TRC-004", TraceMachine)
def relationships_rebuilt_from_trace(harness: Harness) -> None:
    view = look(harness)
    observed = view.observed
    skipped = _PREMATURE.get(harness, set())
    for root in observed.roots:
        bundles = view.root_bundles.get(root, [])
        if len(bundles) != 1 or bundles[0].path in skipped:
            continue  # no single bundle: TRC-007's; an early end: TRC-001's
        scan = bundles[0]
        try:
            graph = replay(scan)
        except TraceError:
            continue  # TRC-002, TRC-005, TRC-006 or TRC-007 says why
        _compare(view, root, scan, graph)


def degraded(harness: Harness, at: float) -> bool:
    """Whether a write fault had struck the trace directory by ``at``: from then on a
    trace may be incomplete (an orchestrator may stop recording), never wrong."""
    since = record_of(harness).fault_since
    return since is not None and since <= at


def body_texts(scan: BundleScan, body: Body | None) -> list[str]:
    """The strings an edge's body holds (a payload file is read from the bundle)."""
    if body is None:
        return []
    if isinstance(body, BodyRef):
        try:
            value: object = json.loads((scan.path / body.path).read_bytes())
        except (OSError, ValueError):
            return []  # a missing or bad payload file is TRC-006's
    else:
        value = body.value
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _body_problem(scan: BundleScan, edge: Edge, expected: list[str]) -> str | None:
    """Why the edge's body is not one of the texts that relationship carried."""
    if edge.kind not in (EdgeKind.SPAWN, EdgeKind.MESSAGE, EdgeKind.RESULT) or not expected:
        return None
    texts = body_texts(scan, edge.body)
    if any(want in text for want in expected for text in texts):
        return None
    shown = texts[0][:80] if texts else "nothing"
    what = {EdgeKind.SPAWN: "the task it was spawned with",
            EdgeKind.MESSAGE: "the message the user sent",
            EdgeKind.RESULT: "the child's final answer"}[edge.kind]
    return f"its body holds {shown!r}, not {what} ({expected[-1][:80]!r})"


def _lifetime_problems(view: View, tree: set[str], graph: TraceGraph) -> list[str]:
    """Threads whose run in the trace disagrees with the agent's life."""
    observed, harness = view.observed, view.harness
    problems: list[str] = []
    if graph.ended:
        return problems  # the root's end ended every thread with the rollout
    for agent in sorted(tree):
        record = observed.agents[agent]
        if record.parent is None or agent in view.misplaced:
            continue  # the root's end is the rollout's (TRC-001)
        thread_id = record.session.session_id
        if not graph.has_thread(thread_id):
            continue  # a missing spawn edge says it
        running = graph.thread(thread_id).running
        life = observed.life(agent)
        if life.state is Life.ENDED and running and not degraded(
                harness, life.ended_at or harness.now()):
            problems.append(f"thread of {agent} is still running in the trace, but the "
                            f"agent ended at t={since_start(life.stopped_at or 0):.2f}s "
                            "(closed, exited or shut down)")
        elif (life.state is Life.RUNNING and not running and life.traced
              and not degraded(harness, life.started_at)):
            problems.append(f"thread of {agent} has ended in the trace, but the agent is "
                            "running (its process is alive and it was never closed)")
    return problems


def _turn_problems(view: View, tree: set[str], graph: TraceGraph) -> list[str]:
    """Threads with more completed turns in the trace than their agent completed."""
    problems = []
    for agent in sorted(tree):
        session = view.observed.agents[agent].session
        if not graph.has_thread(session.session_id):
            continue
        recorded = [t for t in graph.turns_of(session.session_id)
                    if t.status is RunStatus.COMPLETED]
        completed = [t for t in session.turns if t.completed_at is not None]
        if len(recorded) > len(completed):
            problems.append(f"thread of {agent} has {len(recorded)} completed turns in the "
                            f"trace; the agent completed {len(completed)}")
    return problems


def _compare(view: View, root: str, scan: BundleScan, graph: TraceGraph) -> None:
    observed = view.observed
    tree = set(observed.tree(root))

    def judged(agent: str) -> bool:
        return agent in tree and agent not in view.misplaced

    def unknown(thread_id: str) -> InvariantViolation:
        return InvariantViolation("TRC-004", (
            f"{_located(scan)} has thread {thread_id}, which is no session the harness "
            f"started (sessions: {', '.join(sorted(observed.by_session))}). Expected: a "
            "thread id is the agent's native session id."))

    for thread in graph.threads:
        if observed.agent_of(thread.thread_id) is None:
            raise unknown(thread.thread_id)
    actual: Counter[Relationship] = Counter()
    wrong: list[str] = []
    for edge in graph.edges:
        source = observed.agent_of(edge.source_thread_id)
        target = observed.agent_of(edge.target_thread_id)
        if source is None or target is None:  # a spawned thread that never started
            raise unknown(edge.target_thread_id if source else edge.source_thread_id)
        if judged(source) and judged(target):
            relationship = Relationship(edge.kind, source, target)
            actual[relationship] += 1
            problem = _body_problem(scan, edge, observed.texts.get(relationship, []))
            if problem is not None:
                wrong.append(f"{relationship} @{edge.seq}: {problem}")
    keys = {r for r in (*actual, *observed.required, *observed.allowed)
            if judged(r.source) and judged(r.target)}
    missing: list[str] = []
    extra: list[str] = []
    for relationship in sorted(keys):
        found = actual[relationship]
        required = sum(1 for at in observed.required_at.get(relationship, [])
                       if not degraded(view.harness, at))
        allowed = observed.allowed[relationship]
        evidence = "; ".join(observed.evidence.get(relationship, [])) or "nothing"
        if found < required:
            missing.append(f"{relationship}: {found} in the trace, {required} required "
                           f"(observed: {evidence})")
        elif found > allowed and relationship.kind is not EdgeKind.RESULT:
            extra.append(f"{relationship}: {found} in the trace, at most {allowed} "
                         f"happened (observed: {evidence})")
    lifetimes = _lifetime_problems(view, {a for a in tree if judged(a)}, graph)
    turns = _turn_problems(view, {a for a in tree if judged(a)}, graph)
    if missing or extra or wrong or lifetimes or turns:
        lines = ([f"missing   {m}" for m in missing] + [f"invented  {e}" for e in extra]
                 + [f"wrong     {w}" for w in wrong] + [f"lifetime  {x}" for x in lifetimes]
                 + [f"turns     {t}" for t in turns])
        raise InvariantViolation("TRC-004", (
            f"the relationships the reducer rebuilds from {_located(scan)} alone differ "
            "from what the harness observed:\n"
            + "\n".join(f"    {line}" for line in lines)
            + "\n  Expected: every spawn, message to a child, delivered result, close and "
            "resume as a durable edge with what it carried (the task, the message, the "
            "final answer), each thread running exactly while its agent runs, no turn "
            "completed that did not, and no edge for anything that did not happen.\n"
            f"  timeline:\n{view.harness.timeline()}"))


# --------------------------------------------------------------------------- TRC-005


def _attributed_elsewhere(error: TraceError) -> bool:
    """Replay errors another invariant reports (see the module docstring)."""
    if isinstance(error, SequenceGapError | PayloadFileError | BundleError):
        return True
    return isinstance(error, DuplicateStartError) and (error.event or "").startswith(
        EventType.THREAD_STARTED.value)


@step_check("TRC-005", TraceMachine)
def every_trace_replays(harness: Harness) -> None:
    view = look(harness)
    for scan in view.scans:
        if scan.manifest is None or not scan.has_trace:
            continue  # TRC-007's
        try:
            replay(scan)
        except TraceError as error:
            if _attributed_elsewhere(error):
                continue
            raise InvariantViolation("TRC-005", (
                f"{scan.path.name} does not replay: {type(error).__name__}: {error}. "
                "Expected: the strict reducer explains every event of every trace the "
                "orchestrator writes (rollout-trace reduce shows the same error).\n"
                f"  timeline:\n{harness.timeline()}")) from error


# --------------------------------------------------------------------------- TRC-006


@step_check("TRC-006", TraceMachine)
def contiguous_seq_and_payload_files(harness: Harness) -> None:
    for scan in look(harness).scans:
        for line in scan.lines:
            if line.obj is None:
                continue  # not JSON: TRC-005's
            seq = line.obj.get("seq")
            if seq != line.number:
                raise InvariantViolation("TRC-006", (
                    f"{_located(scan)} line {line.number} has seq {seq!r}. Expected: seq "
                    "contiguous from 1, so line N has seq N (no line lost, repeated or "
                    "reordered)."))
            for ref in payload_refs(line.obj):
                problem = _payload_problem(scan.path, ref)
                if problem is not None:
                    raise InvariantViolation("TRC-006", (
                        f"{_located(scan, line.number)} refers to payload file "
                        f"{ref.get('payload_ref')!r}: {problem}. Expected: every payload "
                        "file an event names exists, written before the event, with the "
                        "size and sha256 the event records.\n"
                        f"  timeline:\n{harness.timeline()}"))


def _payload_problem(bundle: Path, ref: dict[str, object]) -> str | None:
    name = ref.get("payload_ref")
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in name:
        return "not a path inside the bundle"
    path = bundle / name
    if not path.is_file():
        return "it does not exist"
    data = path.read_bytes()
    if len(data) != ref.get("size_bytes"):
        return f"it has {len(data)} bytes, the event says {ref.get('size_bytes')!r}"
    digest = hashlib.sha256(data).hexdigest()
    if digest != ref.get("sha256"):
        return f"its sha256 is {digest[:12]}..., the event says {str(ref.get('sha256'))[:12]}..."
    return None


# --------------------------------------------------------------------------- TRC-007


@step_check("TRC-007", TraceMachine)
def one_bundle_per_root_rollout(harness: Harness) -> None:
    view = look(harness)
    observed = view.observed
    trace_dir = harness.world.trace_dir

    def fail(found: str) -> None:
        raise InvariantViolation("TRC-007", (
            f"{found}. Expected: one bundle per root agent at trace_dir/<rollout_id>/ "
            f"({MANIFEST_NAME} naming the rollout and the root's session id as its root "
            f"thread, and {TRACE_NAME}); every agent spawned under the root, at any depth, "
            "appends to the root's bundle.\n"
            f"  timeline:\n{harness.timeline()}"))

    for entry in stray_entries(trace_dir):
        fail(f"{trace_dir} holds {entry.name}, which is not a bundle directory")
    for scan in view.scans:
        for nested in nested_bundle_files(scan.path):
            fail(f"bundle {scan.name} holds {nested.relative_to(trace_dir)}: a bundle "
                 "nested inside another one")
    for scan in view.scans:
        if scan.path in view.rewritten:
            continue  # a manifest changed after it was written: TRC-008's
        if scan.manifest is None:
            fail(f"bundle {scan.name}: {scan.manifest_error}")
            continue
        if not scan.has_trace:
            fail(f"bundle {scan.name} has a manifest but no {TRACE_NAME}")
        if scan.manifest.rollout_id != scan.name:
            fail(f"bundle {scan.name}'s manifest names rollout {scan.manifest.rollout_id!r}; "
                 "the directory must be named after the rollout id")
        root = view.root_agent(scan)
        if root is None:
            fail(f"bundle {scan.name}'s root thread {scan.manifest.root_thread_id} is no "
                 "session the harness started")
            continue
        parent = observed.agents[root].parent
        if parent is not None:
            fail(f"bundle {scan.name} is a rollout of its own for {root}, which "
                 f"{parent} spawned: it belongs in its root "
                 f"{observed.root_of[root]}'s bundle")
    for root in observed.roots:
        bundles = view.root_bundles.get(root, [])
        session = observed.agents[root].session
        if not bundles and not degraded(harness, session.started_at):
            fail(f"the root agent {root} (session {session.session_id}) has no bundle"
                 + (f" (trace_dir also holds {len(record_of(harness).previous)} bundle(s) "
                    "of an earlier orchestrator: a new rollout needs a bundle of its own)"
                    if record_of(harness).previous else ""))
        if len(bundles) > 1:
            fail(f"the root agent {root} has {len(bundles)} bundles: "
                 f"{', '.join(s.name for s in bundles)}")
    for agent, scan in sorted(view.misplaced.items()):
        fail(f"{agent}'s thread is started in bundle {scan.name}, but its root is "
             f"{observed.root_of[agent]}")




# --------------------------------------------------------------------------- TRC-008


@dataclass
class _Seen:
    trace: bytes = b""
    manifest: bytes | None = None


_SEEN: weakref.WeakKeyDictionary[Harness, dict[Path, _Seen]] = weakref.WeakKeyDictionary()


def _contiguous(scan: BundleScan) -> bool:
    return all(line.obj is None or line.obj.get("seq") == line.number for line in scan.lines)


@step_check("TRC-008", TraceMachine)
def traces_only_grow(harness: Harness) -> None:
    record = record_of(harness)
    trace_dir = harness.world.trace_dir

    def fail(found: str) -> None:
        raise InvariantViolation("TRC-008", (
            f"{found}. Expected: a bundle only grows: trace.jsonl keeps every earlier line "
            "as a prefix, manifest.json never changes once written, and no orchestrator "
            "changes another rollout's bundle (an earlier orchestrator's included).\n"
            f"  timeline:\n{harness.timeline()}"))

    for bundle, before in sorted(record.previous.items()):
        now = bundle_files(bundle) if bundle.is_dir() else {}
        if now != before:
            changed = sorted(k for k in {*now, *before} if now.get(k) != before.get(k))
            fail(f"bundle {bundle.name}, left by an earlier orchestrator of this trace "
                 f"directory, changed: {', '.join(changed[:4])}")
    seen = _SEEN.setdefault(harness, {})
    present = set()
    for scan in look(harness).scans:
        present.add(scan.path)
        trace = scan.path / TRACE_NAME
        manifest = scan.path / MANIFEST_NAME
        data = trace.read_bytes() if trace.is_file() else b""
        head = manifest.read_bytes() if manifest.is_file() else None
        last = seen.get(scan.path)
        if last is not None:
            if not data.startswith(last.trace) and _contiguous(scan):
                fail(f"{_located(scan)} no longer begins with the {len(last.trace)} bytes "
                     f"it held (it now has {len(data)}): earlier lines were rewritten")
            if last.manifest is not None and head != last.manifest:
                fail(f"{scan.name}/{MANIFEST_NAME} changed after it was written"
                     + ("" if head is not None else " (it is gone)"))
        seen[scan.path] = _Seen(data, head)
    for gone in sorted(set(seen) - present):
        if not (gone / TRACE_NAME).exists():
            fail(f"bundle {gone.relative_to(trace_dir)} was deleted")


# --------------------------------------------------------------------------- TRC-009


@step_check("TRC-009", TraceMachine)
def results_reach_parents(harness: Harness) -> None:
    observed = observe(harness)
    for child, parent, final, completed in observed.owed_results:
        ticked = harness.ticks_since(completed.time, completed.seq)
        if not ticked:
            continue  # it may wait for the next monitor tick
        raise InvariantViolation("TRC-009", (
            f"{child}'s turn completed ({_show_call(completed)}) while it and its parent "
            f"{parent} ran, and the monitor ticked since, but no send to {parent}'s session "
            f"carried its final answer {final[:80]!r}. Expected: a child's result is "
            "forwarded to its parent (a send whose prompt holds the final answer "
            "verbatim), at once or at the next tick.\n"
            f"  timeline:\n{harness.timeline()}"))


def _show_call(call: Call) -> str:
    return f"#{call.seq} t={since_start(call.time):.2f}s"
