"""Persistence invariants PER-001..PER-007 (seed 001).

With persistence on, the suite expects in ``<agent home>/sessions/<session id>/``
(``D``): ``session.log`` from the spawn on; the rollout (native session file, under
its native name) once the orchestrator has seen it, holding every line the backend
wrote, while the legacy path keeps reading the same lines; ``session_oai_raw.log``
with a JSON line ``{"request": ..., "response": ...}`` per model exchange, redacted;
``session_meta.log`` with a JSON line ``{"type": "approval", "event": ...}`` per
approval event and ``{"type": "cancellation", ...}`` per close or shutdown that
interrupted a running turn.

Attribution: agents whose session directory the harness made fail (before the spawn
or mid-session) are judged by PER-007 only; the others by PER-001..PER-005; PER-006
runs with persistence off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance import native, planting
from conformance.areas.isolation.machine import agent_dir
from conformance.areas.persistence.machine import (
    BLOCKER,
    Blocked,
    PersistenceMachine,
    PersistenceOffMachine,
    record_of,
    session_dir,
)
from conformance.contract import NotificationKind
from conformance.errors import InvariantViolation
from conformance.fakes.markers import MARKER_PATTERN, PROMPT
from conformance.harness import AgentRecord, Harness
from conformance.stateful import step_check

SESSION_LOG = "session.log"
RAW_LOG = "session_oai_raw.log"
META_LOG = "session_meta.log"
ARTIFACTS = (SESSION_LOG, RAW_LOG, META_LOG)


def _unblocked(harness: Harness) -> list[AgentRecord]:
    blocked = record_of(harness).blocked
    return [r for a, r in harness.agents.items() if a not in blocked]


def _rel(harness: Harness, path: Path) -> str:
    try:
        return str(path.relative_to(harness.root))
    except ValueError:
        return str(path)


def _at_tick_after_rollout(harness: Harness, record: AgentRecord) -> bool:
    """Whether this step is a monitor tick after the rollout exists and the first turn
    was notified: the orchestrator has had its chance to see the file."""
    marks = [c for c in harness.calls.calls if c.op.startswith("harness:")]
    if not marks or marks[-1].op != "harness:tick":
        return False
    tick = marks[-1]
    session = record.session
    notified = next((c.seq for c in harness.calls.for_session(session.session_id)
                     if c.op == "notify:turn_complete"), None)
    return (session.materialized_at is not None and session.materialized_at <= tick.time
            and notified is not None and notified < tick.seq)


def _lines_problem(found: list[str], expected: list[str]) -> str | None:
    if found == expected:
        return None
    for index, (a, b) in enumerate(zip(found, expected, strict=False)):
        if a != b:
            return f"line {index + 1} differs: {a[:100]!r} instead of {b[:100]!r}"
    return f"{len(found)} lines instead of the {len(expected)} the backend wrote"


def _json_lines(harness: Harness, path: Path) -> list[dict[str, Any]]:
    records = []
    for line in harness.disk().lines(path):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


@step_check("PER-001", PersistenceMachine)
def session_artifacts_in_session_dir(harness: Harness) -> None:
    for record in _unblocked(harness):
        directory = session_dir(harness, record)
        where = (f"{record.agent_id}'s {record.backend.value} session "
                 f"{record.session.session_id} (persistence on)")
        if not (directory / SESSION_LOG).is_file():
            raise InvariantViolation("PER-001", (
                f"{where} has no {_rel(harness, directory / SESSION_LOG)}. Expected from the "
                "spawn on: the session directory sessions/<session id>/ in the agent's "
                "home, holding the session's debug log session.log."))
        if not _at_tick_after_rollout(harness, record):
            continue
        session = record.session
        moved = directory / session.path.name
        if moved.is_symlink() or not moved.is_file():
            state = "a link" if moved.is_symlink() else "absent"
            raise InvariantViolation("PER-001", (
                f"{where}: its rollout {_rel(harness, session.path)} exists and the "
                f"orchestrator has ticked since its first turn was notified, but "
                f"{_rel(harness, moved)} is {state}. Expected the rollout itself moved "
                "into the session directory (the legacy path may link to it)."))
        problem = _lines_problem(harness.disk().lines(moved), session.native_lines)
        if problem:
            raise InvariantViolation("PER-001", (
                f"{where}: the rollout in the session directory {_rel(harness, moved)} is "
                f"not the backend's rollout: {problem}. Expected one rollout that keeps "
                "receiving every line the backend appends (move it and link it, do not "
                "copy it)."))


@step_check("PER-002", PersistenceMachine)
def legacy_rollout_path_reads_same_lines(harness: Harness) -> None:
    for record in _unblocked(harness):
        session = record.session
        if session.materialized_at is None:
            continue
        found = harness.disk().lines(session.path) if session.path.is_file() else None
        problem = ("it does not exist" if found is None
                   else _lines_problem(found, session.native_lines))
        if problem:
            raise InvariantViolation("PER-002", (
                f"{record.agent_id}'s rollout at its legacy path "
                f"{_rel(harness, session.path)} no longer reads what the backend wrote: "
                f"{problem}. Expected: moved into the session directory and linked, so the "
                "legacy path keeps reading every line, in order."))


def _markers(value: Any) -> set[str]:
    text = json.dumps(value, ensure_ascii=False)
    return {m.group(0) for m in MARKER_PATTERN.finditer(text) if m.group(1) == PROMPT}


@step_check("PER-003", PersistenceMachine)
def raw_exchanges_recorded(harness: Harness) -> None:
    for record in _unblocked(harness):
        session = record.session
        host = harness.hosts[record.backend]
        exchanges = [n for n in host.delivered if n.session_id == session.session_id
                     and n.kind is NotificationKind.MODEL_EXCHANGE]
        if not exchanges:
            continue
        path = session_dir(harness, record) / RAW_LOG
        logged = _json_lines(harness, path)
        for note in exchanges:
            response, request = note.data.get("response"), note.data.get("request")
            if not any(r.get("response") == response
                       and _markers(request) <= _markers(r.get("request")) for r in logged):
                raise InvariantViolation("PER-003", (
                    f"{record.agent_id}'s model exchange of turn {note.turn_id} (response "
                    f"{str(response)[:80]}) is not in {_rel(harness, path)} "
                    f"({len(logged)} records). Expected a JSON line per exchange with the raw "
                    "\"request\" (credentials redacted) and \"response\" bodies."))


@step_check("PER-004", PersistenceMachine)
def approvals_and_cancellations_recorded(harness: Harness) -> None:
    cancellations = record_of(harness).cancellations
    for record in _unblocked(harness):
        session = record.session
        host = harness.hosts[record.backend]
        path = session_dir(harness, record) / META_LOG
        logged = _json_lines(harness, path)
        for note in host.delivered:
            if note.session_id != session.session_id or note.kind is not NotificationKind.APPROVAL:
                continue
            event = note.data.get("event")
            if not any(r.get("type") == "approval" and r.get("event") == event for r in logged):
                raise InvariantViolation("PER-004", (
                    f"{record.agent_id}'s approval event {json.dumps(event)[:120]} (turn "
                    f"{note.turn_id}) is not in {_rel(harness, path)}. Expected a JSON line "
                    "{\"type\": \"approval\", \"event\": <the event>} per approval event."))
        expected = cancellations[record.agent_id]
        found = sum(1 for r in logged if r.get("type") == "cancellation")
        if found != expected:
            raise InvariantViolation("PER-004", (
                f"{record.agent_id} was closed or shut down {expected} time(s) while a turn "
                f"was running, and {_rel(harness, path)} records {found} cancellation(s). "
                "Expected a JSON line {\"type\": \"cancellation\", ...} for each, and none "
                "for a close that interrupted nothing."))


@step_check("PER-005", PersistenceMachine)
def no_credential_on_disk(harness: Harness) -> None:
    secrets = [s.encode() for s in planting.planted_credentials(harness)]
    for path in harness.disk().files(harness.world.home):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for secret in secrets:
            if secret not in data:
                continue
            line = next(x for x in data.splitlines() if secret in x)
            index = line.index(secret)
            context = line[max(0, index - 60):index].decode(errors="replace")
            what = "API key" if secret == secrets[0] else "OAuth token"
            raise InvariantViolation("PER-005", (
                f"{_rel(harness, path)} holds the planted {what} (sent by the backend in "
                f"its model requests), after {context!r}. Expected raw logs with "
                "credentials redacted: Authorization and x-api-key / x-goog-api-key "
                "headers, key= URL parameters, api_key and token fields of bodies."))


@step_check("PER-006", PersistenceOffMachine)
def layout_unchanged_when_off(harness: Harness) -> None:
    written = {path for s in planting.sessions(harness) for path, _ in s.written}
    for record in harness.agents.values():
        session = record.session
        directory = session_dir(harness, record)
        what = f"with persistence off, {record.agent_id}'s session {session.session_id}"
        if directory.exists():
            raise InvariantViolation("PER-006", (
                f"{what} has a session directory {_rel(harness, directory)}. Expected the "
                "previous layout exactly: no session directory."))
        if session.path.is_symlink():
            raise InvariantViolation("PER-006", (
                f"{what}: its rollout {_rel(harness, session.path)} is a link. Expected the "
                "backend's own file, where the backend wrote it."))
        # The CLI's own configuration (its hooks, its notify program) is how a process
        # orchestrator runs it, with persistence on or off: not an artifact.
        settings = {p.resolve() for p in native.settings_files(record.backend.value,
                                                               session.home)}
        for path in harness.disk().files(agent_dir(harness, record.agent_id)):
            resolved = harness.disk().resolved(path)
            if path.name in ARTIFACTS or (resolved not in written
                                          and resolved not in settings):
                raise InvariantViolation("PER-006", (
                    f"{what}: {_rel(harness, path)} was written by the orchestrator. "
                    "Expected nothing extra in the agent's directory when persistence is "
                    "off (the default)."))
    for path in harness.disk().files(harness.world.home):
        if path.name in ARTIFACTS:
            raise InvariantViolation("PER-006", (
                f"with persistence off, {_rel(harness, path)} exists. Expected no session "
                "artifacts anywhere."))


def _records_exchanges(harness: Harness) -> bool:
    """Whether the orchestrator records raw exchanges for a healthy session at all."""
    for record in _unblocked(harness):
        if _json_lines(harness, session_dir(harness, record) / RAW_LOG):
            return True
    return False


def _fallback_lost(harness: Harness, record: AgentRecord, blocked: Blocked) -> str | None:
    """A model exchange made after the fault that no file outside the session directory
    records (unless the fallback location fails too)."""
    if blocked.fallback_fails or not (
            _json_lines(harness, session_dir(harness, record) / RAW_LOG)
            or _records_exchanges(harness)):
        return None  # nothing to fall back to, or raw logging missing anyway (PER-003's)
    host = harness.hosts[record.backend]
    exchanges = [n for n in host.delivered if n.session_id == record.session.session_id
                 and n.kind is NotificationKind.MODEL_EXCHANGE and n.time >= blocked.since]
    if not exchanges:
        return None
    directory = session_dir(harness, record).resolve()
    recorded: list[Any] = []
    for path in harness.disk().files(agent_dir(harness, record.agent_id)):
        if not harness.disk().resolved(path).is_relative_to(directory):
            recorded += [r.get("response") for r in _json_lines(harness, path)]
    for note in exchanges:
        if note.data.get("response") not in recorded:
            return (f"its model exchange of turn {note.turn_id} (at "
                    f"{harness.describe(note.time)}) is recorded nowhere outside it")
    return None


@step_check("PER-007", PersistenceMachine)
def unwritable_session_dir_falls_back(harness: Harness) -> None:
    faults = record_of(harness)
    if faults.crashes:
        raise InvariantViolation("PER-007", (
            f"with a session directory that failed "
            f"({'; '.join(f'{a}: {b.what}' for a, b in sorted(faults.blocked.items()))}), "
            f"the orchestrator crashed: "
            f"{faults.crashes[0][:400]}. Expected: fall back to the default locations with "
            "one warning; the session goes on."))
    for agent_id, blocked in faults.blocked.items():
        record = harness.agents.get(agent_id)
        if record is None:
            continue
        directory = session_dir(harness, record)
        where = (f"{agent_id}'s session directory {_rel(harness, directory)} failed "
                 f"({blocked.what})")
        if blocked.blocker is not None and (
                not blocked.blocker.is_file() or blocked.blocker.is_symlink()
                or blocked.blocker.read_bytes() != BLOCKER):
            raise InvariantViolation("PER-007", (
                f"{where}, and the orchestrator removed or changed that file. Expected: "
                "leave what is in the way alone and fall back."))
        session = record.session
        for call in harness.calls.for_session(session.session_id):
            if call.op == "end_session" and not harness.ended_positively(record, call.time,
                                                                              call.seq):
                raise InvariantViolation("PER-007", (
                    f"{where}, and the orchestrator ended the session ({call}) with no exit, "
                    "close or shutdown. Expected: the session goes on."))
        lost = _fallback_lost(harness, record, blocked)
        if lost is not None:
            raise InvariantViolation("PER-007", (
                f"{where}, and {lost}. Expected: fall back to the default locations "
                "in the agent's home, so the session's raw exchanges are still recorded."))
        if session.materialized_at is not None:
            found = harness.disk().lines(session.path) if session.path.is_file() else None
            problem = ("it does not exist" if found is None
                       else _lines_problem(found, session.native_lines))
            if problem:
                raise InvariantViolation("PER-007", (
                    f"{where}, and its rollout {_rel(harness, session.path)} lost lines: "
                    f"{problem}. Expected every rollout line kept at the default location."))
