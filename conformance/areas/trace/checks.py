"""Rollout-trace invariants TRC-001..TRC-007 (seed 003, ``shared/REAL_BACKENDS.md``).

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

import hashlib
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conformance.areas.trace.machine import TraceMachine
from conformance.areas.trace.observed import Life, Observed, Relationship, observe
from conformance.clock import since_start
from conformance.errors import InvariantViolation
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
from conformance.trace_format.events import AgentResultDelivered, EventType
from conformance.trace_format.reducer import EdgeKind, TraceGraph
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


@dataclass
class View:
    """One look at a world: what the harness observed and every bundle on disk."""

    harness: Harness
    observed: Observed
    scans: list[BundleScan]
    #: Root agent id -> the bundles whose root thread is its session.
    root_bundles: dict[str, list[BundleScan]] = field(default_factory=dict)
    #: Agents with a ``thread_started`` in a bundle that is not their root's.
    misplaced: dict[str, BundleScan] = field(default_factory=dict)

    def root_agent(self, scan: BundleScan) -> str | None:
        return self.observed.agent_of(scan.root_thread_id)

    def who(self, thread_id: str | None) -> str:
        agent = self.observed.agent_of(thread_id)
        return f"{agent} (thread {thread_id})" if agent else f"thread {thread_id}"


def look(harness: Harness) -> View:
    """Observe the world and scan its trace directory; note early rollout ends."""
    trace_dir = harness.world.trace_dir
    scans = [scan_bundle(p) for p in bundle_dirs(trace_dir)]
    view = View(harness, observe(harness), scans)
    for scan in scans:
        root = view.root_agent(scan)
        if root is not None:
            view.root_bundles.setdefault(root, []).append(scan)
    for scan in scans:
        owner = view.root_agent(scan)
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
            if root in observed.rollout_over and not scan.of_type(EventType.ROLLOUT_ENDED):
                stopped = observed.root_stopped_at.get(root, harness.now())
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
    for edge in graph.edges:
        source = observed.agent_of(edge.source_thread_id)
        target = observed.agent_of(edge.target_thread_id)
        if source is None or target is None:  # a spawned thread that never started
            raise unknown(edge.target_thread_id if source else edge.source_thread_id)
        if judged(source) and judged(target):
            actual[Relationship(edge.kind, source, target)] += 1
    keys = {r for r in (*actual, *observed.required, *observed.allowed)
            if judged(r.source) and judged(r.target)}
    missing: list[str] = []
    extra: list[str] = []
    for relationship in sorted(keys):
        found = actual[relationship]
        required = observed.required[relationship]
        allowed = observed.allowed[relationship]
        evidence = "; ".join(observed.evidence.get(relationship, [])) or "nothing"
        if found < required:
            missing.append(f"{relationship}: {found} in the trace, {required} required "
                           f"(observed: {evidence})")
        elif found > allowed and relationship.kind is not EdgeKind.RESULT:
            extra.append(f"{relationship}: {found} in the trace, at most {allowed} "
                         f"happened (observed: {evidence})")
    if missing or extra:
        lines = [f"missing   {m}" for m in missing] + [f"invented  {e}" for e in extra]
        raise InvariantViolation("TRC-004", (
            f"the relationships the reducer rebuilds from {_located(scan)} alone differ "
            "from what the harness observed:\n"
            + "\n".join(f"    {line}" for line in lines)
            + "\n  Expected: every spawn, message to a child, delivered result, close and "
            "resume as a durable edge, and no edge for anything that did not happen.\n"
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
        if not bundles:
            fail(f"the root agent {root} (session "
                 f"{observed.agents[root].session.session_id}) has no bundle")
        if len(bundles) > 1:
            fail(f"the root agent {root} has {len(bundles)} bundles: "
                 f"{', '.join(s.name for s in bundles)}")
    for agent, scan in sorted(view.misplaced.items()):
        fail(f"{agent}'s thread is started in bundle {scan.name}, but its root is "
             f"{observed.root_of[agent]}")


