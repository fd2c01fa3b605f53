"""Isolation invariants ISO-001..ISO-006 and ISO-008 (seed 000).

What the suite expects on disk (the README's isolation section says it for adapter
authors):

* each sub-agent's home is ``<home>/agents/<agent_id>/``, and every file its process
  writes (session files, ``history.jsonl``, ``log/``, temporary files: give it that
  directory's ``tmp`` as ``TMPDIR``) lands there;
* the main history ``<home>/history.jsonl`` holds, per invocation (a spawn or a
  resume), a ``started`` and, once it ended, a ``finished`` entry: JSON objects with
  ``"type": "subagent_invocation"`` (other lines are the main agent's own and are
  ignored) and the fields of :data:`STARTED_FIELDS` / :data:`FINISHED_FIELDS`;
* the audit log ``<home>/log/multi-agent.log`` holds JSON lines with ``event`` and
  ``agent_id``: a ``spawn`` per agent, a ``finish`` per ended invocation, an
  ``export`` per export.

Agents form trees: a child's final answer is forwarded to its parent's session (the
contract's result delivery), so a child's final-answer marker in its parent's
directory is the one crossing allowed; its prompt or intermediate output there, or
anything of it in a sibling's or grandparent's directory, is a leak.

Each bad behaviour is attributed to one invariant: a file the agent's *process* wrote
in the wrong place is ISO-001 only; ISO-002 and ISO-003 look at everything else
(lines the fakes wrote where they belong are the agents' own, lines anyone else wrote
are the orchestrator's).
"""

from __future__ import annotations

import datetime as _dt
import json
import weakref
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import planting
from conformance.areas.isolation.machine import IsolationMachine, agent_dir, record_of
from conformance.errors import InvariantViolation
from conformance.fakes.markers import FINAL, INTERMEDIATE, KIND_NAMES, marker
from conformance.files import DiskView, describe_difference, is_within
from conformance.harness import AgentRecord, Harness
from conformance.stateful import step_check

HISTORY = "history.jsonl"
AUDIT_LOG = Path("log") / "multi-agent.log"
ENTRY_TYPE = "subagent_invocation"
#: Longest summary accepted in the main history ("short text summaries").
SUMMARY_LIMIT = 200
STARTED_FIELDS = ("agent_id", "event", "started_at", "status", "prompt_summary")
FINISHED_FIELDS = (*STARTED_FIELDS, "finished_at", "output_summary")
FINISH_STATUSES = frozenset({"succeeded", "failed", "closed"})


#: How many of a world's cleanups ISO-006 has compared and found equal.
_CLEANUPS_COMPARED: weakref.WeakKeyDictionary[Harness, int] = weakref.WeakKeyDictionary()


def _agent_of(harness: Harness, path: Path) -> str | None:
    dirs = harness.per_step(_agent_of, lambda: [(a, agent_dir(harness, a))
                                                for a in harness.agents])
    for agent_id, directory in dirs:
        if is_within(path, directory):
            return agent_id
    return None


def _relative(harness: Harness, path: Path) -> str:
    try:
        return str(path.relative_to(harness.root))
    except ValueError:
        return str(path)


@step_check("ISO-001", IsolationMachine)
def agent_writes_stay_home(harness: Harness) -> None:
    for session in planting.sessions(harness):
        if session.agent_id is None:
            continue
        own = harness.disk().resolved(agent_dir(harness, session.agent_id))
        for path, _line in session.written:
            if not is_within(path, own):
                raise InvariantViolation("ISO-001", (
                    f"{session.agent_id}'s {session.kind.value} process (session "
                    f"{session.session_id}, home {_relative(harness, session.home)}, "
                    f"TMPDIR {session.env.get('TMPDIR', 'unset')}) wrote "
                    f"{_relative(harness, path)}, outside its own directory "
                    f"{_relative(harness, own)}. Expected: the sub-agent's home is "
                    f"<home>/agents/{session.agent_id}/ and its TMPDIR a directory inside "
                    "it, so every session file, history, log and temporary file it "
                    "writes lands there."))


@step_check("ISO-002", IsolationMachine)
def nothing_crosses_between_agents(harness: Harness) -> None:
    disk = harness.disk()
    for owner in harness.agents:
        others_wrote = planting.written_lines(harness, exclude_agent=owner)
        # The one channel between agents: a child's final answer, forwarded to its
        # parent as the result of its turn (see the contract).
        children = {a for a, r in harness.agents.items() if r.parent == owner}
        for path in disk.files(agent_dir(harness, owner)):
            lines = planting.without(disk.lines(path), others_wrote.get(disk.resolved(path)))
            for found in planting.markers_in(harness, path, lines):
                if found.agent_id == owner or (found.kind == FINAL
                                               and found.agent_id in children):
                    continue
                raise InvariantViolation("ISO-002", (
                    f"{_relative(harness, path)}, in {owner}'s directory, holds "
                    f"{found.agent_id}'s {KIND_NAMES[found.kind]} (marker planted only in "
                    f"{found.agent_id}'s conversation): {found.line[:160]!r}. Expected: "
                    f"nothing from one agent's sessions or logs reaches another agent's "
                    "directory (not in a prompt, a log or a copied file) unless the user "
                    "exports it."))


@step_check("ISO-003", IsolationMachine)
def main_area_has_no_intermediate_output(harness: Harness) -> None:
    fakes_wrote = planting.written_lines(harness)
    disk = harness.disk()
    for path in disk.files(harness.world.home):
        if _agent_of(harness, path) is not None:
            continue
        lines = planting.without(disk.lines(path), fakes_wrote.get(disk.resolved(path)))
        for found in planting.markers_in(harness, path, lines, kinds=INTERMEDIATE):
            raise InvariantViolation("ISO-003", (
                f"{_relative(harness, path)}, outside every sub-agent's directory, holds "
                f"{found.agent_id}'s intermediate output (a streamed chunk, thought, plan "
                f"or model exchange of its turn): {found.line[:160]!r}. Expected: the "
                "main agent's history, sessions and logs record only that a sub-agent "
                "was invoked (id, times, status, a prompt summary and a final-output "
                "summary), never its token-level or intermediate output."))


def _parse_time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def _entry_problems(entry: dict[str, Any]) -> list[str]:
    event = entry.get("event")
    required = FINISHED_FIELDS if event == "finished" else STARTED_FIELDS
    problems = [f"no {name!r}" for name in required if name not in entry]
    if problems:
        return problems
    started = _parse_time(entry["started_at"])
    if started is None:
        problems.append(f"started_at {entry['started_at']!r} is not an ISO 8601 time")
    prompt = entry["prompt_summary"]
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > SUMMARY_LIMIT:
        problems.append(f"prompt_summary must be a non-empty text of at most "
                        f"{SUMMARY_LIMIT} characters, found {str(prompt)[:60]!r}")
    if event == "started":
        if entry["status"] != "running":
            problems.append(f"status of a started entry must be 'running', "
                            f"found {entry['status']!r}")
        return problems
    if entry["status"] not in FINISH_STATUSES:
        problems.append(f"status must be one of {sorted(FINISH_STATUSES)}, found "
                        f"{entry['status']!r}")
    finished = _parse_time(entry["finished_at"])
    if finished is None:
        problems.append(f"finished_at {entry['finished_at']!r} is not an ISO 8601 time")
    elif started is not None and finished < started:
        problems.append("finished_at is before started_at")
    output = entry["output_summary"]
    if output is not None and (not isinstance(output, str) or len(output) > SUMMARY_LIMIT):
        problems.append(f"output_summary must be null or a text of at most {SUMMARY_LIMIT} "
                        f"characters, found {str(output)[:60]!r}")
    duration = entry.get("duration_s")
    if duration is not None and (not isinstance(duration, int | float) or duration < 0):
        problems.append(f"duration_s must be null or a non-negative number, found "
                        f"{duration!r}")
    return problems


def _json_lines(disk: DiskView, path: Path) -> list[dict[str, Any]]:
    records = []
    for line in disk.lines(path):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


@dataclass(frozen=True)
class Invocation:
    """One life of a sub-agent, as the harness saw it: a spawn or resume to its end."""

    started: float
    #: Harness time of the end signal that ended it (``None`` while it runs).
    ended: float | None
    #: How it ended, as its finished entry must say.
    status: str | None
    #: The last final answer of a turn it completed (``None`` if none completed).
    last_final: str | None


def invocations(record: AgentRecord, harness: Harness | None = None) -> list[Invocation]:
    """Every invocation of the agent, in order.

    For an orchestrator that runs processes (``harness.puppets``), an exit counts
    only once it has been told of it (:meth:`Harness.told_exits`, at its next call)."""
    session = record.session
    exits = list(zip(session.exit_marks, session.exit_codes, strict=False))
    if harness is not None:
        exits = exits[:len(harness.told_exits(record))]
    ends = sorted([(*mark, "succeeded" if code == 0 else "failed") for mark, code in exits]
                  + [(*mark, "closed") for mark in record.close_marks])
    out = []
    marks = session.life_marks if harness is None else harness.lives(record)
    for number, start in enumerate(marks):
        following = marks[number + 1] if number + 1 < len(marks) else None
        end = next((e for e in ends if e[:2] > start
                    and (following is None or e[:2] < following)), None)
        # Ordered by timeline position too: a turn that completed at the instant of a
        # resume, but before it, is the previous invocation's.
        finals = [t.script.final for t in session.turns if t.completed_at is not None
                  and start <= (t.completed_at, t.completed_seq or 0.0)
                  and (end is None or (t.completed_at, t.completed_seq or 0.0) <= end[:2])]
        out.append(Invocation(start[0], None if end is None else end[0],
                              None if end is None else str(end[2]),
                              finals[-1] if finals else None))
    return out


def _timing_problems(entry: dict[str, Any], life: Invocation, now: float) -> list[str]:
    """Whether the entry's times and status are those of the invocation."""
    problems = []
    started = _parse_time(entry.get("started_at"))
    expected = _dt.datetime.fromtimestamp(life.started, tz=_dt.timezone.utc)
    if started is not None and abs((started - expected).total_seconds()) >= 0.0005:
        problems.append(f"started_at {entry.get('started_at')!r} is not when the invocation "
                        f"began ({iso_time(life.started)})")
    if entry.get("event") != "finished" or life.ended is None:
        return problems
    finished = _parse_time(entry.get("finished_at"))
    if finished is not None and not (
            life.ended - 0.0005 < finished.timestamp() < now + 0.0005):
        problems.append(f"finished_at {entry.get('finished_at')!r} is not when it ended "
                        f"({iso_time(life.ended)}) or later")
    duration = entry.get("duration_s")
    if (started is not None and finished is not None and isinstance(duration, int | float)
            and abs(duration - (finished - started).total_seconds()) >= 0.0015):
        problems.append(f"duration_s {duration!r} is not finished_at - started_at "
                        f"({(finished - started).total_seconds():g}s)")
    if entry.get("status") != life.status:
        problems.append(f"status {entry.get('status')!r}, but it ended {life.status!r} "
                        "(a process exit with 0: 'succeeded', otherwise 'failed'; a close "
                        "or shutdown: 'closed')")
    return problems


def _output_problem(harness: Harness, agent_id: str, entry: dict[str, Any],
                    life: Invocation) -> str | None:
    """A finished entry's output summary must carry its last final answer's marker."""
    if entry.get("event") != "finished" or not life.last_final:
        return None  # an empty or missing answer: what the summary holds is ISO-003's
    mark = marker(FINAL, planting.token_of(harness, agent_id))
    summary = entry.get("output_summary")
    if mark in life.last_final and not (isinstance(summary, str) and mark in summary):
        return (f"output_summary {str(summary)[:60]!r} does not summarise the "
                f"invocation's last final answer {life.last_final[:60]!r}")
    return None


def iso_time(timestamp: float) -> str:
    moment = _dt.datetime.fromtimestamp(timestamp, tz=_dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds")


@step_check("ISO-004", IsolationMachine)
def main_history_records_each_invocation(harness: Harness) -> None:
    path = harness.world.home / HISTORY
    entries = [e for e in _json_lines(harness.disk(), path) if e.get("type") == ENTRY_TYPE]
    for agent_id, record in harness.agents.items():
        lives, ended = harness.invocations(record)
        mine = [e for e in entries if e.get("agent_id") == agent_id]
        events = [e.get("event") for e in mine]
        expected = ["started", "finished"] * ended + (["started"] if ended < lives else [])
        what = (f"{agent_id} was invoked {lives} time(s) (a spawn"
                f"{', then resumes' if lives > 1 else ''}), {ended} of them ended")
        if events != expected:
            raise InvariantViolation("ISO-004", (
                f"{what}; the main history {HISTORY} holds its entries {events}. Expected "
                f"{expected}: a 'started' entry per invocation and a 'finished' entry once "
                f"it ended (JSON lines with \"type\": \"{ENTRY_TYPE}\")."))
        seen = invocations(record, harness)
        for number, entry in enumerate(mine):
            problems = _entry_problems(entry)
            if not problems and number // 2 < len(seen):
                life = seen[number // 2]
                problems = _timing_problems(entry, life, harness.now())
                output = _output_problem(harness, agent_id, entry, life)
                problems += [output] if output else []
            if problems:
                raise InvariantViolation("ISO-004", (
                    f"{what}; its {entry.get('event')} entry in {HISTORY} is wrong: "
                    f"{'; '.join(problems)}. Entry: {json.dumps(entry)[:300]}. Expected "
                    f"fields: {', '.join(FINISHED_FIELDS)} (finished entries), with "
                    f"summaries of at most {SUMMARY_LIMIT} characters, the invocation's "
                    "times and how it ended."))


@step_check("ISO-005", IsolationMachine)
def audit_log_records_coordination(harness: Harness) -> None:
    path = harness.world.home / AUDIT_LOG
    disk = harness.disk()
    raw_lines = disk.lines(path)
    events = Counter((str(e.get("agent_id")), str(e.get("event")))
                     for e in _json_lines(disk, path))
    record = record_of(harness)
    for agent_id, agent in harness.agents.items():
        _, ended = harness.invocations(agent)
        for event, needed in (("spawn", 1), ("finish", ended),
                              ("export", record.exports_of(agent_id))):
            if events[(agent_id, event)] < needed:
                raise InvariantViolation("ISO-005", (
                    f"the audit log {AUDIT_LOG} records {events[(agent_id, event)]} "
                    f"'{event}' event(s) for {agent_id}; it had {needed}. Expected a JSON "
                    "line with \"event\" and \"agent_id\" for every spawn, every finished "
                    "invocation and every export."))
    sub_logs = [(p, line.strip()) for a in harness.agents
                for p, line in disk.log_lines(agent_dir(harness, a))
                if len(line.strip()) >= 20]
    for audit_line in raw_lines:
        for source, line in sub_logs:
            if line in audit_line:
                raise InvariantViolation("ISO-005", (
                    f"the audit log {AUDIT_LOG} duplicates a line of the sub-agent log "
                    f"{_relative(harness, source)}: {line[:160]!r}. Expected: the audit log "
                    "records coordination events (spawn, finish, export, cleanup) and "
                    "points at the agent's directory instead of copying its logs."))


@step_check("ISO-006", IsolationMachine)
def cleanup_touches_no_other_agent(harness: Harness) -> None:
    # A cleanup's snapshots never change once taken: each is compared once, and the
    # ones found equal are not compared again at every later step.
    cleanups = record_of(harness).cleanups
    start = _CLEANUPS_COMPARED.get(harness, 0)
    for cleanup in cleanups[start:]:
        for other, before in cleanup.before.items():
            after = cleanup.after.get(other, {})
            if cleanup.written:
                root = agent_dir(harness, other)
                before, after = ({k: v for k, v in snap.items()
                                  if (root / k).resolve() not in cleanup.written}
                                 for snap in (before, after))
            if before != after:
                raise InvariantViolation("ISO-006", (
                    f"ending and cleaning up {cleanup.agent_id} ({cleanup.what} at "
                    f"{harness.describe(cleanup.at)}) changed {other}'s files in "
                    f"agents/{other}/: {describe_difference(before, after)}. Expected every "
                    "other agent's files byte-identical: temporary directories are "
                    "allocated per agent id and cleanup removes exactly the ended agent's "
                    "(no prefix match, no glob, no shared directory)."))
    _CLEANUPS_COMPARED[harness] = len(cleanups)


@step_check("ISO-008", IsolationMachine)
def export_copies_exactly_one_agent(harness: Harness) -> None:
    for export in record_of(harness).exports:
        if export.exported != export.expected:
            raise InvariantViolation("ISO-008", (
                f"export({export.agent_id!r}) to {_relative(harness, export.destination)} at "
                f"{harness.describe(export.at)} is not a copy of agents/{export.agent_id}/ "
                f"({len(export.expected)} files): "
                f"{describe_difference(export.expected, export.exported)}. Expected every "
                "file of that agent's directory, byte-identical at the same relative "
                "path, and nothing else (no other agent's files, no main history)."))
