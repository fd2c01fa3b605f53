"""``conformance.native`` finds and reads native session files by the real rules.

On every version profile of the fakes (the file the fake wrote is the one ``locate``
finds, and ``read`` says what the fake did), on the real files recorded in
``tests/fidelity/fixtures``, and on the damaged and odd files a reader meets: unknown
line types, missing keys, a torn last line, a bad line in the middle, a resumed
Gemini chat with two files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance import native
from conformance.clock import EPOCH, HarnessClock
from conformance.contract import BackendKind
from conformance.fakes import CallLog, Scheduler, make_backends, profiles
from conformance.fakes.profiles import VERSIONS, BackendProfile, FileAppears

FIXTURES = Path(__file__).resolve().parent / "fidelity" / "fixtures"
WORKSPACE = "wörk_sp ace.v2@x+y"
PLAYED = [(kind, version) for kind, versions in VERSIONS.items() for version in versions]


def _profile(kind: BackendKind, version: str) -> BackendProfile:
    base = profiles.for_version(kind, version)
    if kind is BackendKind.CODEX:
        return profiles.codex(FileAppears.FIRST_USER_MESSAGE, version=version)
    return base


class World:
    """Fake hosts on a frozen clock, one home and a workspace with odd characters."""

    def __init__(self, root: Path) -> None:
        self.clock = HarnessClock()
        self.clock.start()
        self.clock.reset()
        self.scheduler = Scheduler(self.clock)
        self.hosts = make_backends(self.clock, self.scheduler, CallLog(), "native-test")
        self.home = root / "home"
        self.cwd = root / WORKSPACE
        self.cwd.mkdir(parents=True)

    def native_home(self, kind: BackendKind) -> Path:
        return self.home / ".codex" if kind is BackendKind.CODEX else self.home

    def start(self, kind: BackendKind, profile: BackendProfile, prompt: str = "first") -> str:
        host = self.hosts[kind]
        host.prepare("agent", profile)
        return host.start_session(prompt=prompt, home=self.native_home(kind), cwd=self.cwd)

    def close(self) -> None:
        self.clock.stop()


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    built = World(tmp_path)
    yield built
    built.close()


@pytest.mark.parametrize(("kind", "version"), PLAYED, ids=[f"{k.value}-{v}" for k, v in PLAYED])
def test_locate_finds_what_every_fake_version_wrote(world: World, kind: BackendKind,
                                                    version: str) -> None:
    session_id = world.start(kind, _profile(kind, version))
    home = world.native_home(kind)
    assert native.locate(kind.value, home, world.cwd, session_id) is None  # not yet
    world.scheduler.advance(6.0)
    session = world.hosts[kind].sessions[session_id]
    found = native.locate(kind.value, home, world.cwd, session_id)
    assert found == session.path
    view = native.read(kind.value, found)
    assert view.session_id == session_id
    assert (view.turns_started, view.turns_completed) == (1, 1)
    assert view.last_answer == session.turns[0].script.final
    assert not view.torn
    # A follow-up: the view follows the file.
    world.hosts[kind].send(session_id, "second")
    world.scheduler.advance(6.0)
    view = native.read(kind.value, found)
    assert (view.turns_started, view.turns_completed) == (2, 2)
    assert view.last_answer == session.turns[1].script.final


def test_codex_rollouts_use_the_local_date_of_their_start(world: World) -> None:
    # The world runs at UTC-10: its first instant is the evening before in local time,
    # and local midnight comes 33 minutes later.
    first = world.start(BackendKind.CODEX, _profile(BackendKind.CODEX, "0.171.0"))
    world.scheduler.advance(34 * 60.0)
    second = world.start(BackendKind.CODEX, _profile(BackendKind.CODEX, "0.171.0"))
    world.scheduler.advance(5.0)
    home = world.native_home(BackendKind.CODEX)
    paths = [native.locate("codex", home, world.cwd, s) for s in (first, second)]
    days = [p.relative_to(home / "sessions").parts[:3] for p in paths if p is not None]
    assert days == [("2026", "03", "13"), ("2026", "03", "14")]
    assert f"{EPOCH:%Y/%m/%d}" == "2026/03/14"  # a UTC date would file the first wrongly


def test_claude_directory_rule() -> None:
    assert native.claude_project_dir("/a/b_c/my_proj.v2/sp ace/x@y+z~w") == \
        "-a-b-c-my-proj-v2-sp-ace-x-y-z-w"
    assert native.claude_project_dir("/x/wörk") == "-x-w-rk"
    assert native.claude_project_dir("/x/a_b") == native.claude_project_dir("/x/a.b")
    long = "/x/" + "d" * 300
    name = native.claude_project_dir(long)
    assert len(name) > 200 and name[:200] == ("-x-" + "d" * 300)[:200]
    assert re.fullmatch(r"-[0-9a-z]+", name[200:])


def test_gemini_short_names_and_collisions(tmp_path: Path) -> None:
    assert native.gemini_slug("/p/wörk_sp ace.v2@x+y") == "w-rk-sp-ace-v2-x-y"
    assert native.gemini_slug("/p/Ab__C..d") == "ab-c-d"
    assert native.gemini_slug("/p/___") == "project"
    names = [native.gemini_register_project(tmp_path, f"/p/{d}/work") for d in "abc"]
    assert names == ["work", "work-1", "work-2"]
    assert native.gemini_register_project(tmp_path, "/p/b/work") == "work-1"  # registered
    # A directory another project owns (by its marker) is skipped even if unregistered.
    (tmp_path / ".gemini" / "tmp" / "other" ).mkdir(parents=True)
    (tmp_path / ".gemini" / "tmp" / "other" / ".project_root").write_text("/elsewhere")
    assert native.gemini_register_project(tmp_path, "/p/z/other") == "other-1"


def test_gemini_without_a_registry_falls_back_to_the_hash_directory(tmp_path: Path) -> None:
    cwd, session_id = "/p/work", "0123abcd-0000-4000-8000-000000000000"
    chat = tmp_path / ".gemini" / "tmp" / native.gemini_project_hash(cwd) / "chats"
    chat.mkdir(parents=True)
    path = chat / f"session-2026-01-01T00-00-{session_id[:8]}.json"
    path.write_text(json.dumps({"sessionId": session_id, "messages": [
        {"type": "user", "content": "hi"}, {"type": "gemini", "content": "hello"}]}))
    assert native.locate("gemini", tmp_path, cwd, session_id) == path
    view = native.read("gemini", path)
    assert view.line_kinds == ("document", "user", "gemini")
    assert (view.session_id, view.turns_completed, view.last_answer) == (session_id, 1, "hello")


def test_a_gemini_chat_resumed_in_a_later_minute_is_found_in_its_first_file(world: World
                                                                            ) -> None:
    kind = BackendKind.GEMINI
    session_id = world.start(kind, profiles.gemini(exit_after_first_turn=True))
    world.scheduler.advance(70.0)
    host = world.hosts[kind]
    host.resume_session(session_id)
    host.send(session_id, "again")
    world.scheduler.advance(10.0)
    session = host.sessions[session_id]
    (second,) = session.other_files
    assert second.name.endswith(f"-{session_id[:8]}.jsonl") and second != session.path
    assert native.read("gemini", second).line_kinds == ("metadata", "$set{messages,lastUpdated}")
    assert native.locate("gemini", world.home, world.cwd, session_id) == session.path
    assert native.read("gemini", session.path).turns_completed == 2


def test_the_recorded_later_minute_resume_is_found_in_its_first_file() -> None:
    home = FIXTURES / "gemini-0.61.0" / "resume_next_minute" / "home"
    files = sorted(home.glob(".gemini/tmp/*/chats/session-*.jsonl"))
    assert len(files) == 2
    session_id = native.read("gemini", files[1]).session_id
    assert session_id is not None
    assert native.locate("gemini", home, "/WORKSPACE", session_id) == files[0]
    assert native.read("gemini", files[0]).turns_completed == 2


def _recorded_files() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(FIXTURES.glob("*/*/home/.codex/sessions/*/*/*/rollout-*.jsonl")):
        found.append(("codex", path))
    for path in sorted(FIXTURES.glob("*/*/home/.claude/projects/*/*.jsonl")):
        found.append(("claude", path))
    for path in sorted(FIXTURES.glob("*/*/home/.gemini/tmp/*/chats/session-*")):
        found.append(("gemini", path))
    return found


RECORDED = _recorded_files()


@pytest.mark.parametrize(("kind", "path"), RECORDED,
                         ids=[str(p.relative_to(FIXTURES)).split("/home/")[0] + f":{p.name[:24]}"
                              for _, p in RECORDED])
def test_read_understands_every_recorded_file(kind: str, path: Path) -> None:
    view = native.read(kind, path)
    assert view.session_id
    assert "?" not in view.line_kinds
    scenario = path.relative_to(FIXTURES).parts[1]
    if kind == "gemini" and view.turns_started == 0:
        return  # the second file of a resume in a later minute: metadata only
    turns = 2 if scenario.startswith(("two_turn", "resume", "interactive")) else 1
    assert (view.turns_started, view.turns_completed) == (turns, turns)
    assert view.last_answer == "Hello from the mock model."


def test_read_tolerates_unknown_lines_missing_keys_and_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "rollout.jsonl"
    lines = [
        {"type": "session_meta", "payload": {"id": "abc"}},
        {"type": "something_new", "payload": {"x": 1}},
        {"payload": {"type": "task_started"}},            # no type: unknown, not an error
        {"type": "event_msg", "payload": {"type": "task_started"}},
        "not json at all",
        {"type": "event_msg"},                              # no payload
        {"type": "event_msg", "payload": {"type": "task_complete"}},   # no answer
    ]
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(body + '\n{"type": "event_msg", "payl')
    view = native.read("codex", path)
    assert view.session_id == "abc" and view.torn
    assert view.line_kinds == ("session_meta", "something_new", "?", "event_msg/task_started",
                               "?", "event_msg", "event_msg/task_complete")
    assert (view.turns_started, view.turns_completed, view.last_answer) == (1, 1, "")
    assert native.read("claude", tmp_path / "missing.jsonl").lines == 0
    (tmp_path / "empty.jsonl").write_text("")
    assert native.read("gemini", tmp_path / "empty.jsonl").session_id is None
    (tmp_path / "torn.json").write_text('{"sessionId": "x", "messages": [')
    torn = native.read("gemini", tmp_path / "torn.json")
    assert torn.torn and torn.lines == 0


def test_claude_turns_end_with_the_block_that_stops(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    entries = [
        {"type": "user", "sessionId": "s", "message": {"content": "go"}},
        {"type": "assistant", "message": {"id": "m", "content": [{"type": "thinking"}],
                                          "stop_reason": None}},
        {"type": "assistant", "message": {"id": "m", "content": [{"type": "tool_use"}],
                                          "stop_reason": "tool_use"}},
        {"type": "user", "message": {"content": [{"type": "tool_result"}]}},
        {"type": "assistant", "message": {"id": "n", "content": [{"type": "text", "text": "ok"}],
                                          "stop_reason": "end_turn"}},
        {"type": "last-prompt", "lastPrompt": "go"},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    view = native.read("claude", path)
    assert (view.turns_started, view.turns_completed, view.last_answer) == (1, 1, "ok")
    assert view.session_id == "s"
