"""The fake backends write what the real CLIs write, where and when they write it
(``shared/REAL_BACKENDS.md``), and behave like processes: notifications in order,
every call recorded, hung turns that never end, ended sessions that stay quiet.

Everything runs on the frozen harness clock; "waiting" is ``scheduler.advance``.
"""

from __future__ import annotations

import datetime
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.clock import EPOCH, HarnessClock, since_start
from conformance.contract import BackendKind, Notification, NotificationKind
from conformance.errors import BackendError, SessionNotFound
from conformance.fakes import CallLog, FakeSessionHost, Scheduler, make_backends
from conformance.fakes.profiles import BackendProfile, FileAppears, claude, codex, gemini
from conformance.strategies import advances, backend_profiles

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CODEX_LINE_TYPES = {"session_meta", "response_item", "event_msg", "turn_context", "world_state",
                    "token_usage_record"}
#: Notifications that say something happened to the process (not streamed content).
LIFECYCLE = (NotificationKind.TURN_COMPLETE, NotificationKind.PROCESS_EXITED)


@dataclass
class Fakes:
    """One world's fake backends, with what they delivered."""

    clock: HarnessClock
    scheduler: Scheduler
    calls: CallLog
    hosts: dict[BackendKind, FakeSessionHost]
    root: Path
    received: list[Notification]

    def start(self, profile: BackendProfile, prompt: str = "first task",
              cwd: Path | None = None) -> str:
        host = self.hosts[profile.kind]
        host.prepare("agent", profile)
        workspace = cwd or self.root / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        return host.start_session(prompt=prompt, home=self.root / "home", cwd=workspace)

    def advance(self, seconds: float) -> None:
        self.scheduler.advance(seconds)

    def lifecycle(self) -> list[NotificationKind]:
        return [n.kind for n in self.received if n.kind in LIFECYCLE]


@contextmanager
def fake_world(root: Path) -> Iterator[Fakes]:
    clock = HarnessClock()
    clock.start()
    try:
        clock.reset()
        scheduler, calls = Scheduler(clock), CallLog()
        hosts = make_backends(clock, scheduler, calls, "test-world")
        received: list[Notification] = []
        for host in hosts.values():
            host.subscribe(received.append)
        yield Fakes(clock, scheduler, calls, hosts, root, received)
    finally:
        clock.stop()


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def session_of(fakes: Fakes, kind: BackendKind, session_id: str) -> Any:
    return fakes.hosts[kind].sessions[session_id]


# -- Codex ----------------------------------------------------------------------------


def test_codex_rollout_path(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        session_id = fakes.start(codex())
        path = session_of(fakes, BackendKind.CODEX, session_id).path
        relative = path.relative_to(fakes.root / "home").as_posix()
        match = re.fullmatch(r"sessions/(\d{4})/(\d{2})/(\d{2})/rollout-(\d{4})-(\d{2})-(\d{2})"
                             rf"T\d{{2}}-\d{{2}}-\d{{2}}-({UUID})\.jsonl", relative)
        assert match, relative
        year, month, day, *name_date, uuid = match.groups()
        assert [year, month, day] == name_date
        local = datetime.datetime.fromtimestamp(EPOCH.timestamp())
        assert relative.split("rollout-")[1].startswith(f"{local:%Y-%m-%dT%H-%M-%S}-")
        assert uuid == session_id


def test_codex_default_rollout_appears_only_when_the_first_turn_completes(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CODEX]
        session_id = fakes.start(codex(), prompt="fix the bug")
        for _ in range(2):
            with pytest.raises(SessionNotFound):
                host.get_session_data(session_id)
            assert host.list_sessions() == []
            fakes.advance(2.0)  # 4.0 s: the turn (4.2 s) is still running
        fakes.advance(1.0)
        data = host.get_session_data(session_id)
        lines = read_lines(data.path)
        # 9 opening lines, 5 at completion and 2 more for the reasoning of the default
        # responder's thought (item_completed(Reasoning), response_item/reasoning).
        assert data.line_count == len(lines) == 16
        assert data.turns_completed == 1 and data.session_id == session_id
        assert [d.session_id for d in host.list_sessions()] == [session_id]

        for line in lines:
            extra = {"metadata"} if line["type"] == "response_item" else set()
            assert set(line) == {"timestamp", "ordinal", "type", "payload"} | extra
        assert [line["ordinal"] for line in lines] == list(range(len(lines)))
        assert {line["type"] for line in lines} <= CODEX_LINE_TYPES
        assert all(line["timestamp"].endswith("Z") for line in lines)
        meta = lines[0]
        assert meta["type"] == "session_meta"
        keys = {"id", "timestamp", "cwd", "originator", "cli_version", "source"}
        assert keys <= set(meta["payload"])
        assert meta["payload"]["id"] == session_id
        assert meta["payload"]["cwd"] == str(fakes.root / "workspace")
        assert (meta["payload"]["originator"], meta["payload"]["source"]) == ("codex_exec", "exec")
        events = [line["payload"]["type"] for line in lines if line["type"] == "event_msg"]
        assert events.index("task_started") < events.index("task_complete")
        assert events.count("task_started") == events.count("task_complete") == 1
        assert "user_message" not in events and "agent_message" not in events
        assert session_id[14] == "7"  # a UUIDv7


def test_codex_first_user_message_profile(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CODEX]
        session_id = fakes.start(codex(FileAppears.FIRST_USER_MESSAGE))
        fakes.advance(0.3)
        with pytest.raises(SessionNotFound):
            host.get_session_data(session_id)
        fakes.advance(0.2)  # 0.5 s: past the profile's 0.4 s
        data = host.get_session_data(session_id)
        assert data.line_count == 9 and data.turns_completed == 0
        assert read_lines(data.path)[0]["type"] == "session_meta"
        fakes.advance(5.0)
        assert host.get_session_data(session_id).line_count == 16


def test_a_staged_codex_open_is_first_seen_with_two_lines(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CODEX]
        session_id = fakes.start(codex(FileAppears.FIRST_USER_MESSAGE, staged_open=True))
        fakes.advance(0.45)
        kinds = [line["type"] for line in read_lines(host.get_session_data(session_id).path)]
        assert kinds == ["session_meta", "event_msg"]
        fakes.advance(0.1)
        assert host.get_session_data(session_id).line_count == 9


def test_codex_exec_writes_no_history_and_logs_to_sqlite(tmp_path: Path) -> None:
    import sqlite3

    with fake_world(tmp_path) as fakes:
        session_id = fakes.start(codex(), prompt="first task")
        fakes.advance(5.0)
        fakes.hosts[BackendKind.CODEX].send(session_id, "second task")
        home = fakes.root / "home"
        assert not (home / "history.jsonl").exists() and not (home / "log").exists()
        with sqlite3.connect(home / "logs_2.sqlite") as db:
            rows = db.execute("SELECT thread_id, feedback_log_body FROM logs").fetchall()
        assert rows and {r[0] for r in rows} == {session_id}
        note = next(n for n in fakes.received if n.kind is NotificationKind.TURN_COMPLETE)
        assert note.data["client"] == "codex_exec" and note.data["cwd"] == str(
            fakes.root / "workspace")


# -- Claude Code and Gemini CLI --------------------------------------------------------


def test_claude_transcript(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CLAUDE]
        cwd = fakes.root / "my.project" / "wörk_1"
        session_id = fakes.start(claude(), cwd=cwd)
        path = session_of(fakes, BackendKind.CLAUDE, session_id).path
        project = re.sub(r"[^A-Za-z0-9]", "-", str(cwd))
        projects = fakes.root / "home" / ".claude" / "projects"
        assert path == projects / project / f"{session_id}.jsonl"
        fakes.advance(0.5)
        with pytest.raises(SessionNotFound):
            host.get_session_data(session_id)
        fakes.advance(0.5)  # 1.0 s: past the 0.8 s of 2.1.328's window
        lines = read_lines(path)
        assert len(lines) == 19
        assert {line["sessionId"] for line in lines} == {session_id}
        assert "system" not in {line["type"] for line in lines}
        chained = [line for line in lines if "uuid" in line]
        assert chained[0]["parentUuid"] is None
        assert [c["parentUuid"] for c in chained[1:]] == [c["uuid"] for c in chained[:-1]]
        fakes.advance(5.0)
        # + thinking and text entries of one message, prompt_snapshot, last-prompt,
        # atis-latch, cost-state
        end = read_lines(path)
        assert len(end) == 25
        answer = [e for e in end if e["type"] == "assistant"]
        assert len({e["message"]["id"] for e in answer}) == 1 and len(answer) == 2


def test_claude_2_1_197_writes_five_then_two(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        session_id = fakes.start(claude(version="2.1.197"))
        path = session_of(fakes, BackendKind.CLAUDE, session_id).path
        fakes.advance(1.1)
        assert [line["type"] for line in read_lines(path)] == [
            "queue-operation", "queue-operation", "user", "attachment", "attachment"]
        fakes.advance(5.0)
        assert [line["type"] for line in read_lines(path)][5:] == [
            "assistant", "assistant", "last-prompt"]


def test_gemini_chat_file(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.GEMINI]
        session_id = fakes.start(gemini())
        path = session_of(fakes, BackendKind.GEMINI, session_id).path
        relative = path.relative_to(fakes.root / "home").as_posix()
        match = re.fullmatch(r"\.gemini/tmp/workspace/chats/session-"
                             r"(\d{4}-\d{2}-\d{2}T\d{2}-\d{2})-([0-9a-f]{8})\.jsonl", relative)
        assert match, relative
        assert match.group(1) == f"{EPOCH:%Y-%m-%dT%H-%M}"  # UTC, whatever the time zone
        assert match.group(2) == session_id[:8]
        registry = json.loads((fakes.root / "home" / ".gemini" / "projects.json").read_text())
        assert registry == {"projects": {str(fakes.root / "workspace"): "workspace"}}
        fakes.advance(2.5)
        with pytest.raises(SessionNotFound):
            host.get_session_data(session_id)
        fakes.advance(1.0)  # 3.5 s: past the 3.0 s of 0.61.0's window
        first, second, user, touch = read_lines(path)
        assert set(first) == {"sessionId", "projectHash", "startTime", "lastUpdated", "kind"}
        assert first["sessionId"] == session_id
        assert list(second["$set"]) == ["messages", "lastUpdated"]
        assert user["type"] == "user" and user["content"] == [{"text": "first task"}]
        assert list(touch) == ["$set"]


def test_gemini_0_36_rewrites_one_document(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        session_id = fakes.start(gemini(version="0.36.0"))
        path = session_of(fakes, BackendKind.GEMINI, session_id).path
        assert path.suffix == ".json"
        fakes.advance(3.5)
        document = json.loads(path.read_text())
        assert list(document) == ["sessionId", "projectHash", "startTime", "lastUpdated",
                                  "messages", "kind"]
        assert [m["type"] for m in document["messages"]] == ["user"]
        fakes.advance(5.0)
        document = json.loads(path.read_text())
        assert [m["type"] for m in document["messages"]] == ["user", "gemini"]
        assert path.read_text().startswith("{\n  \"sessionId\"")


# -- processes ------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [codex(exit_after_first_turn=True),
                                     claude(exit_after_first_turn=True),
                                     gemini(exit_after_first_turn=True)], ids=repr)
def test_notifications_arrive_in_order(tmp_path: Path, profile: BackendProfile) -> None:
    with fake_world(tmp_path) as fakes:
        session_id = fakes.start(profile)
        fakes.advance(profile.turn_duration + 1)
        assert fakes.lifecycle() == [NotificationKind.TURN_COMPLETE,
                                     NotificationKind.PROCESS_EXITED]
        assert {n.session_id for n in fakes.received} == {session_id}
        assert {n.backend for n in fakes.received} == {profile.kind}
        times = [n.time for n in fakes.received]
        assert times == sorted(times)
        done = next(n for n in fakes.received if n.kind is NotificationKind.TURN_COMPLETE)
        assert since_start(done.time) == pytest.approx(profile.turn_duration)
        assert done.data["type"] == "agent-turn-complete"
        assert done.data["thread-id"] == session_id
        turn = session_of(fakes, profile.kind, session_id).turns[0]
        streamed = [dict(n.data["update"]) for n in fakes.received
                    if n.kind is NotificationKind.SESSION_UPDATE]
        assert streamed == [dict(u) for u in turn.script.updates]
        assert fakes.received.index(done) > max(
            i for i, n in enumerate(fakes.received) if n.kind is NotificationKind.SESSION_UPDATE)


def test_the_call_record_has_every_operation_with_its_time(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CLAUDE]
        session_id = fakes.start(claude())
        with pytest.raises(SessionNotFound):
            host.get_session_data(session_id)
        fakes.advance(5.0)
        host.list_sessions()
        host.send(session_id, "more")
        fakes.advance(1.0)
        host.end_session(session_id)
        with pytest.raises(BackendError):
            host.send(session_id, "too late")
        host.resume_session(session_id)
        calls = fakes.calls.calls
        assert [c.seq for c in calls] == list(range(1, len(calls) + 1))
        # Streamed content (updates, model exchanges) is recorded too; keep the lifecycle.
        record = [(c.op, round(since_start(c.time), 2), c.outcome) for c in calls
                  if c.backend is BackendKind.CLAUDE
                  and (not c.op.startswith("notify:") or c.op == "notify:turn_complete")]
        assert record == [
            ("subscribe", 0.0, "ok"),
            ("start_session", 0.0, "ok"),
            ("get_session_data", 0.0, "SessionNotFound"),
            ("notify:turn_complete", 4.0, "ok"),
            ("list_sessions", 5.0, "ok"),
            ("send", 5.0, "ok"),
            ("end_session", 6.0, "ok"),
            ("send", 6.0, "BackendError"),
            ("resume_session", 6.0, "ok"),
        ]
        assert all(c.session_id == session_id for c in calls if c.backend is BackendKind.CLAUDE
                   and c.op not in ("subscribe", "list_sessions"))


@pytest.mark.parametrize("profile", [codex(hang_first_turn=True), claude(hang_first_turn=True)],
                         ids=repr)
def test_a_hung_first_turn_never_completes_nor_lets_a_follow_up_run(
    tmp_path: Path, profile: BackendProfile
) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[profile.kind]
        session_id = fakes.start(profile)
        fakes.advance(1.0)
        host.send(session_id, "are you there?")
        fakes.advance(10_000.0)
        session = session_of(fakes, profile.kind, session_id)
        assert [t.completed_at for t in session.turns] == [None, None]
        assert fakes.lifecycle() == [] and session.alive
        assert session.first_turn_completed_at is None
        if profile.kind is BackendKind.CODEX:
            assert not session.path.exists()  # its rollout waits for the first turn
        else:
            assert len(read_lines(session.path)) == 19  # the opening lines only


def test_end_session_stops_every_later_event(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CLAUDE]
        session_id = fakes.start(claude())
        fakes.advance(0.5)
        host.end_session(session_id)
        received = len(fakes.received)
        fakes.advance(100.0)
        session = session_of(fakes, BackendKind.CLAUDE, session_id)
        assert len(fakes.received) == received
        assert not session.alive and not session.path.exists()  # it was due at 0.8 s
        with pytest.raises(BackendError):
            host.send(session_id, "hello?")


def test_resume_session_restarts_the_process(tmp_path: Path) -> None:
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CLAUDE]
        session_id = fakes.start(claude())
        fakes.advance(5.0)
        host.end_session(session_id)
        fakes.advance(1.0)
        host.resume_session(session_id)
        session = session_of(fakes, BackendKind.CLAUDE, session_id)
        assert session.alive and session.resumed_at == [fakes.clock.now()]
        turn_id = host.send(session_id, "welcome back")
        fakes.advance(5.0)
        completed = [n.turn_id for n in fakes.received if n.kind is NotificationKind.TURN_COMPLETE]
        assert completed == [session.turns[0].turn_id, turn_id]
        assert host.get_session_data(session_id).turns_completed == 2


def test_a_follow_up_after_resuming_an_interrupted_turn_runs(tmp_path: Path) -> None:
    """The turn running when the process was ended died with it; the resumed process
    takes a new prompt at once instead of queueing it behind a dead turn."""
    with fake_world(tmp_path) as fakes:
        host = fakes.hosts[BackendKind.CLAUDE]
        session_id = fakes.start(claude())
        fakes.advance(1.0)
        host.end_session(session_id)
        host.resume_session(session_id)
        turn_id = host.send(session_id, "start over")
        fakes.advance(5.0)
        completed = [n.turn_id for n in fakes.received if n.kind is NotificationKind.TURN_COMPLETE]
        assert completed == [turn_id]


# -- when the file exists, for every profile --------------------------------------------


def file_moment(profile: BackendProfile) -> float | None:
    """Seconds after start at which the native file first exists (``None``: never),
    as the profile documents it."""
    turn = None if profile.hang_first_turn else profile.turn_duration
    if profile.kind is BackendKind.CODEX:
        if profile.file_appears is FileAppears.FIRST_TURN_COMPLETE:
            return turn
        if profile.exit_after_first_turn and turn is not None:
            return min(profile.file_delay, turn)  # an exiting process flushes its rollout
        return profile.file_delay
    # Claude Code and Gemini CLI write at the first model request: the first turn lasts
    # at least until then (and half a second more).
    return profile.file_delay



@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(profile=backend_profiles(), steps=st.lists(advances(), min_size=1, max_size=8))
def test_the_file_exists_exactly_once_its_moment_has_passed(
    profile: BackendProfile, steps: list[float]
) -> None:
    with tempfile.TemporaryDirectory() as directory, fake_world(Path(directory)) as fakes:
        host = fakes.hosts[profile.kind]
        session_id = fakes.start(profile)
        moment = file_moment(profile)
        elapsed = 0.0
        for seconds in [0.0, *steps]:
            fakes.advance(seconds)
            elapsed += seconds
            exists = session_of(fakes, profile.kind, session_id).path.is_file()
            listed = any(d.session_id == session_id for d in host.list_sessions())
            assert listed == exists
            due = moment is not None and elapsed >= moment
            assert exists == due, (
                f"{profile!r} at t={elapsed:g}s: file {'exists' if exists else 'missing'}, "
                f"its moment is {moment}")
