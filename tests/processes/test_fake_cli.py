"""The fake ``codex``, ``claude`` and ``gemini`` executables, launched the way an
orchestrator launches the real ones (plain :mod:`subprocess`), checked against what
the real CLIs did (``tests/fidelity/fixtures``): their command-line edges, their
stdout in each output mode, the native files, and the hooks with their payloads. And
the processes' lives: a signal ends a session, and no fake outlives its world or a
harness killed with ``kill -9``.

The test is the orchestrator here: its adapter does nothing, and each test launches
processes with ``world.env`` and lets harness time pass.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import native, planting
from conformance.clock import HarnessClock
from conformance.contract import (
    BackendKind,
    Capability,
    NotificationKind,
    SessionView,
    SpawnRequest,
    World,
)
from conformance.harness import Harness
from conformance.processes import bin as fake_bin
from conformance.processes import models
from conformance.processes.server import running
from reference_impl.model_relay import ModelRelay

FIXTURES = Path(__file__).resolve().parents[1] / "fidelity" / "fixtures"


class _Idle:
    """An orchestrator that does nothing: the test launches the processes."""

    def __init__(self, world: World) -> None:
        self.world = world

    def spawn(self, request: SpawnRequest) -> None: ...
    def send(self, agent_id: str, prompt: str) -> None: ...
    def resume(self, agent_id: str) -> None: ...
    def close(self, agent_id: str) -> None: ...
    def export(self, agent_id: str, destination: Path) -> None: ...
    def tick(self) -> None: ...
    def session(self, agent_id: str) -> SessionView | None:
        return None
    def sessions(self) -> list[SessionView]:
        return []
    def shutdown(self) -> None: ...


class _IdleAdapter:
    name = "idle-processes"
    version = "0"
    capabilities = frozenset({Capability.OBSERVABILITY})
    launches_processes = True

    def start(self, world: World) -> _Idle:
        return _Idle(world)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Harness]:
    clock = HarnessClock()
    clock.start()
    harness = Harness(_IdleAdapter(), clock, tmp_path / "world")
    try:
        yield harness
    finally:
        harness.shutdown()
        harness.dispose()
        clock.stop()


def _launch(harness: Harness, argv: list[str], home: Path, **env: str) -> subprocess.Popen[str]:
    home.mkdir(parents=True, exist_ok=True)
    full = {**os.environ, **harness.world.env, "HOME": str(home), **env}
    return subprocess.Popen(argv, env=full, cwd=harness.world.workspace, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _finish(harness: Harness, process: subprocess.Popen[str], seconds: float = 10.0
            ) -> tuple[str, str, int]:
    harness.advance(seconds)
    process.wait(timeout=60)
    # Read through the streams (not communicate()): a line read before stays buffered.
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    return out, err, process.returncode


# -- the command-line edges, without a harness -----------------------------------------

EDGES = [
    ("codex", "0.171.0", ["--version"], 0, "version.stdout"),
    ("codex", "0.169.0", ["--version"], 0, "version.stdout"),
    ("codex", "0.171.0", ["exec", "--bogus-flag-xyz", "hi"], 2, "exec_unknown_flag.stderr"),
    ("codex", "0.171.0", ["--bogus-flag-xyz"], 2, "unknown_flag.stderr"),
    ("claude", "2.1.328", ["--version"], 0, "version.stdout"),
    ("claude", "2.1.197", ["--version"], 0, "version.stdout"),
    ("claude", "2.1.328", ["--bogus-flag-xyz"], 1, "unknown_flag.stderr"),
    ("claude", "2.1.328", ["-p", "hi", "--bogus-flag-xyz"], 1, "print_unknown_flag.stderr"),
    ("gemini", "0.61.0", ["--version"], 0, "version.stdout"),
    ("gemini", "0.61.0", ["--bogus-flag-xyz"], 1, "unknown_flag.stderr"),
    ("gemini", "0.61.0", ["--no-such-flag-xyz"], 1, "unknown_no_prefix_flag.stderr"),
]


@pytest.mark.parametrize(("kind", "version", "argv", "status", "fixture"), EDGES,
                         ids=[f"{k}-{v}-{' '.join(a)}" for k, v, a, _, _ in EDGES])
def test_command_line_edges_match_the_real_cli(tmp_path: Path, kind: str, version: str,
                                               argv: list[str], status: int,
                                               fixture: str) -> None:
    """``--version`` prints what the real one printed; an unknown flag gets the real
    CLI's first line of error and its exit status (clap's 2, commander's and yargs'
    1), not a crash."""
    directory = fake_bin.install(tmp_path / "bin")
    env = {**os.environ, f"CONFORMANCE_FAKE_VERSION_{kind.upper()}": version}
    env.pop("CONFORMANCE_PUPPET_SOCKET", None)
    done = subprocess.run([str(directory / kind), *argv], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == status, done.stderr
    expected = (FIXTURES / f"{kind}-{version}" / "cli" / fixture).read_text()
    got = done.stdout if fixture.endswith(".stdout") else done.stderr
    assert got.splitlines()[0] == expected.splitlines()[0]
    if fixture.endswith(".stdout"):
        assert got == expected


def test_help_and_no_harness(tmp_path: Path) -> None:
    directory = fake_bin.install(tmp_path / "bin")
    env = {k: v for k, v in os.environ.items() if k != "CONFORMANCE_PUPPET_SOCKET"}
    for kind, argv, first in (("codex", ["exec", "--help"], "Run Codex non-interactively"),
                              ("claude", ["--help"], "Usage: claude [options]"),
                              ("gemini", ["--help"], "Usage: gemini [options]")):
        done = subprocess.run([str(directory / kind), *argv], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0 and done.stdout.startswith(first)
        alone = subprocess.run([str(directory / kind), *(["exec", "hi"] if kind == "codex"
                                                        else ["-p", "hi"])],
                               env=env, capture_output=True, text=True, timeout=60,
                               check=False)
        assert alone.returncode == 1 and "no harness runs it" in alone.stderr


# -- sessions through the harness --------------------------------------------------------

def _notify_sink(path: Path) -> str:
    """A ``config.toml`` whose notify program appends its argument to ``path``."""
    program = f"import sys; open({str(path)!r}, 'a').write(sys.argv[1] + chr(10))"
    return f"notify = {json.dumps([sys.executable, '-c', program])}\n"


def test_codex_exec_json_prints_what_the_real_one_prints(world: Harness) -> None:
    home = world.world.home / "agents" / "a"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    sink = world.world.root / "notified.jsonl"
    (codex_home / "config.toml").write_text(_notify_sink(sink))
    process = _launch(world, ["codex", "exec", "--json", "--skip-git-repo-check",
                              "Say hello"], home, CODEX_HOME=str(codex_home))
    first = process.stdout.readline() if process.stdout else ""
    thread = json.loads(first)["thread_id"]
    world.tick()  # the harness settles: the process registered and started the session
    out, err, status = _finish(world, process)
    assert status == 0, err
    real = (FIXTURES / "codex-0.171.0" / "two_turn_json" / "turn1.stdout").read_text()
    events = [json.loads(line) for line in [first, *out.splitlines()]]
    # The fake's turns think, plan and call a tool, and Codex prints a reasoning item
    # for each thought and a command_execution item started and completed for the call
    # (a plan only where update_plan is enabled); the mock model of the recording did
    # none of it. Everything else is line for line.
    work = [e for e in events if e.get("item", {}).get("type") in (
        "reasoning", "todo_list", "command_execution")]
    assert [(e["type"], e["item"]["type"]) for e in work] == [
        ("item.completed", "reasoning"), ("item.started", "command_execution"),
        ("item.completed", "command_execution")]
    assert all(e["item"].get("text") or e["item"].get("command") for e in work)
    # Item ids count the run's items, as the real one's do (a call's two lines, one id).
    ids = [e["item"]["id"] for e in events if "item" in e]
    assert list(dict.fromkeys(ids)) == ["item_0", "item_1", "item_2"]
    kinds = [e["type"] for e in events if e not in work]
    assert kinds == [json.loads(line)["type"] for line in real.splitlines()]
    payload = json.loads(sink.read_text().splitlines()[0])
    fixture = json.loads((FIXTURES / "codex-0.171.0" / "two_turn_json" / "notify" /
                          "notify-0.json").read_text())["argv"][1]
    assert sorted(payload) == sorted(fixture)
    assert payload["thread-id"] == thread and payload["client"] == "codex_exec"
    rollout = native.locate("codex", codex_home, world.world.workspace, thread)
    assert rollout is not None and rollout.is_file()
    ops = [c.op for c in world.calls.calls]
    assert ops.index("process:launch") < ops.index("start_session") < ops.index(
        "hook:notify") < ops.index("process:exit")


def test_codex_exec_resume_continues_the_thread(world: Harness) -> None:
    home = world.world.home / "agents" / "a"
    codex_home = home / ".codex"
    first = _launch(world, ["codex", "exec", "--json", "one"], home, CODEX_HOME=str(codex_home))
    thread = json.loads(first.stdout.readline() if first.stdout else "")["thread_id"]
    _finish(world, first)
    again = _launch(world, ["codex", "exec", "--json", "resume", thread, "two"], home,
                    CODEX_HOME=str(codex_home))
    line = json.loads(again.stdout.readline() if again.stdout else "")
    assert line == {"type": "thread.started", "thread_id": thread}
    _, err, status = _finish(world, again)
    assert status == 0, err
    session = world.hosts[BackendKind.CODEX].sessions[thread]
    assert [t.prompt for t in session.turns] == ["one", "two"]
    unknown = _launch(world, ["codex", "exec", "resume", "0000", "x"], home,
                      CODEX_HOME=str(codex_home))
    _, err, status = _finish(world, unknown, 0.0)
    assert status == 1 and "no rollout found" in err


def test_claude_print_runs_its_hooks_with_the_real_payloads(world: Harness) -> None:
    home = world.world.home / "agents" / "c"
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    dump = world.world.root / "hooks"
    dump.mkdir()
    script = world.world.root / "hook.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys, pathlib
        data = json.load(sys.stdin)
        pathlib.Path({str(dump)!r}, sys.argv[1] + ".json").write_text(json.dumps(data))
    """))
    settings.write_text(json.dumps({"hooks": {
        event: [{"matcher": "", "hooks": [{"type": "command",
                                           "command": f"{sys.executable} {script} {event}"}]}]
        for event in ("SessionStart", "Stop")}}))
    process = _launch(world, ["claude", "-p", "Say hello", "--output-format", "json"], home)
    world.tick()
    out, err, status = _finish(world, process)
    assert status == 0, err
    result = json.loads(out)
    real = json.loads((FIXTURES / "claude-2.1.328" / "two_turn_json" / "turn1.stdout")
                      .read_text())
    for key in ("type", "subtype", "is_error", "result", "session_id", "num_turns"):
        assert key in result and type(result[key]) is type(real[key])
    start = json.loads((dump / "SessionStart.json").read_text())
    stop = json.loads((dump / "Stop.json").read_text())
    for ours, fixture in ((start, "02-SessionStart.json"), (stop, "05-Stop.json")):
        theirs = json.loads((FIXTURES / "claude-2.1.328" / "naming" / "hooks" / fixture)
                            .read_text())["stdin"]
        assert {"session_id", "transcript_path", "cwd", "hook_event_name"} <= set(ours)
        assert set(ours) <= set(theirs) | {"source"}
    assert start["session_id"] == stop["session_id"] == result["session_id"]
    assert Path(stop["transcript_path"]).is_file()
    assert Path(stop["transcript_path"]) == native.locate(
        "claude", home, world.world.workspace, result["session_id"])


def test_claude_session_id_and_resume(world: Harness) -> None:
    home = world.world.home / "agents" / "c"
    chosen = "7c0e4b8e-1f6b-4a7a-9a57-0b7c2d1e3f40"
    first = _launch(world, ["claude", "-p", "one", "--session-id", chosen], home)
    out, err, status = _finish(world, first)
    assert status == 0 and out.startswith("final-answer"), err
    again = _launch(world, ["claude", "-p", "two", "--resume", chosen,
                            "--output-format", "stream-json", "--verbose"], home)
    out, err, status = _finish(world, again)
    assert status == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["type"] == "system" and lines[-1]["type"] == "result"
    assert {line["session_id"] for line in lines} == {chosen}
    taken = _launch(world, ["claude", "-p", "three", "--session-id", chosen], home)
    _, err, status = _finish(world, taken, 0.0)
    assert status == 1 and "already in use" in err


def test_gemini_prompt_json_and_resume_latest(world: Harness) -> None:
    home = world.world.home / "agents" / "g"
    first = _launch(world, ["gemini", "-p", "one", "--output-format", "json"], home)
    out, err, status = _finish(world, first)
    assert status == 0, err
    result = json.loads(out)
    real = json.loads((FIXTURES / "gemini-0.61.0" / "two_turn_json" / "turn1.stdout")
                      .read_text())
    assert set(result) <= set(real) and {"session_id", "response"} <= set(result)
    chat = native.locate("gemini", home, world.world.workspace,
                         result["session_id"])
    assert chat is not None and chat.is_file()
    again = _launch(world, ["gemini", "-p", "two", "--resume", "latest", "-o", "json"], home)
    out, err, status = _finish(world, again)
    assert status == 0, err
    assert json.loads(out)["session_id"] == result["session_id"]


# -- model requests ------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "argv", "path"), [
    ("codex", ["exec", "--json", "--skip-git-repo-check"], "/v1/responses"),
    ("claude", ["-p"], "/v1/messages"),
    ("gemini", ["-p"], "/v1beta/models/fake-model:generateContent"),
])
def test_each_turn_asks_the_model_at_the_base_url_of_its_environment(
        world: Harness, kind: str, argv: list[str], path: str) -> None:
    """The harness's model answers wherever the request went on its way: a relay
    between (the reference's) records the exchange, credentials and all, before the
    CLI has its answer."""
    planting.plant(world)
    variable = models.BASES[kind][0]
    recorded: list[tuple[str, dict[str, object], object]] = []
    relay = ModelRelay(lambda route, request, response: recorded.append(
        (route, request, response)))
    try:
        base = relay.route(world.world.env[variable])
        home = world.world.home / "agents" / kind
        process = _launch(world, [kind, *argv, planting.prompt(world, kind, "hello")],
                          home, **{variable: base, "CODEX_HOME": str(home)})
        _, err, status = _finish(world, process)
    finally:
        relay.close()
    assert status == 0, err
    (exchange,) = [n for n in world.hosts[BackendKind(kind)].delivered
                   if n.kind is NotificationKind.MODEL_EXCHANGE]
    (_, request, response), = recorded
    assert response == exchange.data["response"]
    assert str(request["url"]).startswith(world.world.env[variable])
    assert str(request["url"]).split("?")[0].endswith(path)
    key = planting.planted_credentials(world)[0]
    assert key in json.dumps(request)  # the relay saw it: redacting is the recorder's
    (arrived,) = world.puppets.models.arrived.values() if world.puppets else ()
    assert arrived["path"].split("?")[0] == path
    entries = [c for c in world.calls.calls if c.op == "process:model_request"]
    assert [c.outcome for c in entries] == ["status 200"]


def test_a_model_nobody_answers_is_a_failed_request_not_a_hang(world: Harness) -> None:
    home = world.world.home / "agents" / "c"
    process = _launch(world, ["claude", "-p", "hello"], home,
                      ANTHROPIC_BASE_URL="http://127.0.0.1:9")
    _, err, status = _finish(world, process)
    assert status == 0, err
    (entry,) = [c for c in world.calls.calls if c.op == "process:model_request"]
    assert entry.outcome.startswith("failed: ")


# -- lives and deaths ----------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_session_and_the_process_dies_of_it(world: Harness,
                                                               signum: int) -> None:
    home = world.world.home / "agents" / "a"
    process = _launch(world, ["codex", "exec", "--json", "a long one"], home,
                      CODEX_HOME=str(home / ".codex"))
    thread = json.loads(process.stdout.readline() if process.stdout else "")["thread_id"]
    world.tick()
    os.killpg(process.pid, signum)
    world.tick()
    process.wait(timeout=60)
    assert process.returncode == -signum
    session = world.hosts[BackendKind.CODEX].sessions[thread]
    assert not session.alive
    ops = [c.op for c in world.calls.for_session(thread)]
    assert f"process:signal {signal.Signals(signum).name}" in ops
    assert ops.index(f"process:signal {signal.Signals(signum).name}") < ops.index(
        "end_session")


def test_no_fake_outlives_its_world(tmp_path: Path) -> None:
    clock = HarnessClock()
    clock.start()
    try:
        harness = Harness(_IdleAdapter(), clock, tmp_path / "world")
        processes = [_launch(harness, [kind, *args, "forever"], harness.world.home / kind)
                     for kind, args in (("codex", ["exec"]), ("claude", ["-p"]),
                                        ("gemini", ["-p"]))]
        harness.tick()
        pids = [p.pid for p in harness.puppets.processes.values()] if harness.puppets else []
        assert len(pids) == 3 and all(running(pid) for pid in pids)
        harness.dispose()
        assert not any(running(pid) for pid in pids)
        for process in processes:
            process.wait(timeout=60)
    finally:
        clock.stop()


def test_a_fake_whose_harness_is_killed_exits(tmp_path: Path) -> None:
    """``kill -9`` of the harness: its socket closes, and every fake exits at once."""
    program = textwrap.dedent(f"""
        import os, subprocess, sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from conformance.clock import HarnessClock
        from tests.processes.test_fake_cli import _IdleAdapter
        from conformance.harness import Harness
        clock = HarnessClock(); clock.start()
        h = Harness(_IdleAdapter(), clock, Path({str(tmp_path / 'world')!r}))
        env = {{**os.environ, **h.world.env, "HOME": str(h.world.home)}}
        p = subprocess.Popen(["codex", "exec", "wait"], env=env, cwd=h.world.workspace,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             start_new_session=True)
        h.tick()
        print(p.pid, flush=True)
        time.sleep(600)
    """)
    harness = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE,
                               text=True)
    try:
        pid = int(harness.stdout.readline() if harness.stdout else "0")
        assert pid and running(pid)
        harness.kill()
        harness.wait(timeout=60)
        deadline = time.monotonic() + 30
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not running(pid), "the fake outlived its harness"
    finally:
        harness.kill()


# -- the interactive Codex, in tmux ---------------------------------------------------------

class _TmuxAdapter(_IdleAdapter):
    """An orchestrator that starts its CLIs in tmux: outside its own process tree."""

    launches_detached = True


def _pane(server: str) -> str:
    done = subprocess.run(["tmux", "-L", server, "capture-pane", "-p", "-t", "agent"],
                          capture_output=True, text=True, check=False)
    return done.stdout


def _until_shown(server: str, text: str, count: int = 1) -> str:
    """Wait (real time, bounded) until the pane shows ``text`` ``count`` times: tmux
    draws on its own; nothing of the harness's clock depends on this wait."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pane = _pane(server)
        if pane.count(text) >= count:
            return pane
        time.sleep(0.02)
    raise AssertionError(f"tmux pane never showed {text!r} {count} time(s):\n{_pane(server)}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_interactive_codex_in_tmux_takes_typed_prompts(tmp_path: Path) -> None:
    """``codex`` with no subcommand in a tmux pane, driven as orchestrators drive it:
    prompts typed with ``send-keys``, answers read with ``capture-pane``, turn ends
    from the notify program, the rollout found on disk, ``/quit`` to end it."""
    clock = HarnessClock()
    clock.start()
    harness = Harness(_TmuxAdapter(), clock, tmp_path / "world")
    server = f"conformance-test-{os.getpid()}"
    try:
        codex_home = harness.world.home / "agents" / "a" / ".codex"
        codex_home.mkdir(parents=True)
        sink = harness.world.root / "notified.jsonl"
        (codex_home / "config.toml").write_text(_notify_sink(sink))
        env = {**harness.world.env, "CODEX_HOME": str(codex_home),
               "HOME": str(codex_home.parent)}
        command = ["env", *(f"{k}={v}" for k, v in env.items()), "codex"]
        subprocess.run(["tmux", "-L", server, "-f", "/dev/null", "new-session", "-d", "-s",
                        "agent", "-x", "160", "-y", "50", "-c", str(harness.world.workspace),
                        shlex.join(command)], check=True)
        _until_shown(server, "OpenAI Codex")  # registered: the harness knows it
        host = harness.hosts[BackendKind.CODEX]
        for number, prompt in enumerate(["Say hello", "Say it again"], start=1):
            subprocess.run(["tmux", "-L", server, "send-keys", "-t", "agent", prompt,
                            "Enter"], check=True)
            _until_shown(server, prompt)  # echoed: it is in the terminal's input
            harness.tick()
            assert len(host.sessions) == 1
            session = next(iter(host.sessions.values()))
            harness.advance(10.0)
            final = session.turns[-1].script.final
            _until_shown(server, final.splitlines()[0][:60])
            assert [t.prompt for t in session.turns][-1] == prompt
            assert len(sink.read_text().splitlines()) == number
        payload = json.loads(sink.read_text().splitlines()[0])
        assert payload["thread-id"] == session.session_id and session.alive
        rollout = native.locate("codex", codex_home, harness.world.workspace,
                                session.session_id)
        assert rollout is not None and rollout.is_file()
        pid = next(iter(harness.puppets.processes)) if harness.puppets else 0
        subprocess.run(["tmux", "-L", server, "send-keys", "-t", "agent", "/quit", "Enter"],
                       check=True)
        deadline = time.monotonic() + 30  # it quits at once, and its pane closes
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        harness.tick()
        assert not running(pid) and not session.alive
        assert [c.outcome for c in harness.calls.calls if c.op == "process:typed"] == [
            "Say hello", "Say it again"]
        ops = [c.op for c in harness.calls.for_session(session.session_id)]
        assert ops.index("process:exit") < ops.index("notify:process_exited")
        assert "end_session" not in ops  # it quit: an exit, not an end from outside
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True,
                       check=False)
        harness.shutdown()
        harness.dispose()
        clock.stop()


def test_codex_asks_its_configured_provider_and_a_command_line_override_wins(
        tmp_path: Path) -> None:
    """As the real Codex: a ``model_provider`` of ``config.toml`` with a ``base_url``
    is asked instead of ``OPENAI_BASE_URL``, and ``-c`` overrides the file."""
    (tmp_path / "config.toml").write_text(
        'model_provider = "mock"\n[model_providers.mock]\nbase_url = "http://a:1/v1"\n')
    env = {"OPENAI_BASE_URL": "http://ignored:2/v1"}
    assert models.base_url("codex", env, tmp_path) == "http://a:1/v1"
    override = ['model_providers.mock.base_url="http://b:3/r/x"']
    assert models.base_url("codex", env, tmp_path, override) == "http://b:3/r/x"
    assert models.base_url("codex", env, tmp_path / "none") == "http://ignored:2/v1"
    assert models.request_url("codex", "http://127.0.0.1:8765/v1/responses",
                              "http://b:3/r/x") == "http://b:3/r/x/responses"


# -- the ACP agent ---------------------------------------------------------------------------

class _Client:
    """The client end of an ACP agent's stdio: one JSON-RPC message per line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: list[dict[str, object]] = []
        self._next = 0

    def request(self, method: str, **params: object) -> int:
        self._next += 1
        self.write({"jsonrpc": "2.0", "id": self._next, "method": method, "params": params})
        return self._next

    def write(self, message: dict[str, object]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def until(self, world: Harness, request_id: int, seconds: float = 0.0) -> dict[str, object]:
        """Let ``seconds`` of harness time pass, then read up to the answer."""
        world.tick() if not seconds else world.advance(seconds)
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            assert line, f"the agent closed stdout; seen: {self.seen}"
            message = json.loads(line)
            self.seen.append(message)
            if message.get("id") == request_id:
                return message


def test_gemini_acp_takes_prompts_over_json_rpc_and_streams_its_turns(world: Harness) -> None:
    """``gemini --acp`` as an ACP client drives it: what the real one answered, measured
    (``conformance/processes/acp_agent.py``), and a turn's updates before its answer."""
    home = world.world.home / "agents" / "g"
    home.mkdir(parents=True)
    process = subprocess.Popen(["gemini", "--acp"], cwd=world.world.workspace, text=True,
                               env={**os.environ, **world.world.env, "HOME": str(home)},
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    client = _Client(process)
    hello = client.until(world, client.request("initialize", protocolVersion=1,
                                               clientCapabilities={}))
    assert hello["result"]["protocolVersion"] == 1  # type: ignore[index]
    new = client.until(world, client.request("session/new", cwd=str(world.world.workspace),
                                             mcpServers=[]))
    session_id = str(new["result"]["sessionId"])  # type: ignore[index]
    for turn, text in enumerate(("Say hello", "Now say goodbye")):
        asked = client.request("session/prompt", sessionId=session_id,
                               prompt=[{"type": "text", "text": text}])
        answer = client.until(world, asked, 10.0)
        assert answer["result"] == {"stopReason": "end_turn"}, answer
        updates = [m for m in client.seen if m.get("method") == "session/update"]
        assert updates and all(m["params"]["sessionId"] == session_id  # type: ignore[index]
                               for m in updates)
        chat = native.locate("gemini", home, world.world.workspace, session_id)
        assert chat is not None and native.read("gemini", chat).turns_completed == turn + 1
    unknown = client.until(world, client.request("session/set_model", sessionId=session_id))
    assert unknown["error"]["code"] == -32601  # type: ignore[index]
    assert process.stdin is not None
    process.stdin.close()  # the end of stdin ends the agent, as the real one
    world.tick()
    assert process.wait(timeout=60) == 0
    world.tick()  # the harness records the exit when the process's socket closes
    ops = [c.op for c in world.calls.for_session(session_id)]
    assert ops.count("process:acp session/prompt") == 2 and "process:exit" in ops
