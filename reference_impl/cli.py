"""``reference-orchestrator`` (``python -m reference_impl``): the reference
orchestrator on a small scripted world, to see what it writes.

    python -m reference_impl [--persist-session] [--debug-log PATH] [--root DIR]
                             [--agent ID[:BACKEND]]... [--prompt TEXT]
                             [--real [--home DIR] [--follow-up TEXT] [--bound S]
                                     [--gemini-acp]]

The world is the conformance suite's own: fake Codex, Claude Code and Gemini CLI
backends writing their real native files, on a frozen clock, so a run takes no time
and needs no network or API key. Each agent is spawned, its first turn runs, the
monitor ticks, the agent is closed and the orchestrator shuts down; then every file
left under the home is listed (links with their targets). ``--persist-session`` is
the command-line form of the API setting ``PersistenceConfig(enabled=True)``
(``Settings.persist_session`` in the harness). Exit status 0, or 2 for a bad
argument (an agent id is refused before anything is created).

``--real`` runs the reference's process backend (:mod:`reference_impl.processes`)
instead, on the machine's clock, with whatever ``codex``, ``claude`` and ``gemini``
are on ``PATH`` (the real CLIs, or the suite's fakes under a harness) and the
environment as it is (API keys, base URLs). The main home is ``--home`` (default: a
new one in the world): the CLI settings found there (``config.toml``,
``.claude/settings.json``, ``.gemini/settings.json``) are carried into each agent's
home. Each agent's first turn is waited for (at most ``--bound`` real seconds), then
with ``--follow-up`` the agent is resumed with that prompt and its second turn
waited for; then it is closed. ``--gemini-acp`` runs Gemini CLI as an ACP agent
(``gemini --acp``: one process per session takes every prompt). Exit status 1 if a
turn did not come in time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Capability, Settings, SpawnRequest, World
from conformance.errors import InvalidAgentId
from conformance.fakes.permissions import with_permissions
from conformance.harness import Harness
from reference_impl.isolation import validate_agent_id
from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.persistence import SESSION_LOG, PersistenceConfig


class _DemoAdapter:
    """Starts the reference orchestrator with the command line's persistence config."""

    name = "reference-orchestrator"
    version = "demo"
    capabilities = frozenset(Capability)

    def __init__(self, persistence: PersistenceConfig) -> None:
        self.persistence = persistence

    def start(self, world: World) -> ReferenceOrchestrator:
        return ReferenceOrchestrator(world, persistence=self.persistence)


def _agent(text: str) -> tuple[str, BackendKind]:
    agent_id, _, backend = text.partition(":")
    try:
        kind = BackendKind(backend or BackendKind.CODEX.value)
    except ValueError:
        choices = ", ".join(k.value for k in BackendKind)
        raise argparse.ArgumentTypeError(
            f"unknown backend {backend!r} (choose {choices})") from None
    try:
        validate_agent_id(agent_id)
    except InvalidAgentId as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return agent_id, kind


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="reference-orchestrator",
        description="Run the reference orchestrator on a scripted world of fake agents "
                    "and list the files it leaves behind.")
    p.add_argument("--persist-session", action="store_true",
                   help="keep every artifact of a session in <agent home>/sessions/<id>/ "
                        "(rollout moved and linked, session.log, session_oai_raw.log, "
                        "session_meta.log)")
    p.add_argument("--debug-log", default=SESSION_LOG, metavar="PATH",
                   help="the session debug log; a relative path resolves inside the "
                        "session directory (default: %(default)s)")
    p.add_argument("--root", type=Path, default=None, metavar="DIR",
                   help="where to build the world (default: a new temporary directory)")
    p.add_argument("--agent", dest="agents", action="append", type=_agent,
                   metavar="ID[:BACKEND]",
                   help="an agent to run (repeatable; backend codex, claude or gemini; "
                        "default: demo:codex)")
    p.add_argument("--prompt", default="summarize the README", help="each agent's prompt")
    p.add_argument("--real", action="store_true",
                   help="run the process backend with the CLIs on PATH, on the machine's "
                        "clock, instead of the scripted world")
    p.add_argument("--home", type=Path, default=None, metavar="DIR",
                   help="with --real: the main home whose CLI settings each agent gets "
                        "(default: a new one in the world)")
    p.add_argument("--follow-up", default=None, metavar="TEXT",
                   help="with --real: resume each agent with this prompt after its turn")
    p.add_argument("--gemini-acp", action="store_true",
                   help="with --real: run Gemini CLI as an ACP agent (gemini --acp)")
    p.add_argument("--bound", type=float, default=180.0, metavar="S",
                   help="with --real: real seconds to wait for a turn (default: %(default)s)")
    return p


def run(persistence: PersistenceConfig, root: Path, agents: Sequence[tuple[str, BackendKind]],
        prompt: str) -> list[str]:
    """Run the scripted world; return the files under its home, one line each."""
    clock = HarnessClock()
    clock.start()
    try:
        harness = Harness(_DemoAdapter(persistence), clock, root,
                          settings=Settings(persist_session=persistence.enabled))
        for host in harness.hosts.values():
            host.responder = with_permissions()
        for agent_id, kind in agents:
            harness.spawn(agent_id, kind, prompt)
        harness.advance(5.0)
        harness.tick()
        for agent_id, _ in agents:
            harness.close(agent_id)
        harness.shutdown()
    finally:
        clock.stop()
    return listing(harness.world.home)


class TurnTimeout(Exception):
    """A turn of a real CLI did not come within the bound."""


def run_real(persistence: PersistenceConfig, root: Path, agents: Sequence[tuple[str, BackendKind]],
             prompt: str, *, home: Path | None = None, follow_up: str | None = None,
             bound: float = 180.0, gemini_acp: bool = False) -> list[str]:
    """Run ``agents`` as real CLI processes (module docstring); the files left."""
    from reference_impl.processes import (
        AcpProcessOrchestrator,
        ProcessHost,
        ProcessOrchestrator,
        components,
    )

    directories = {name: root / name for name in ("acp_home", "traces", "workspace")}
    main = home or root / "home"
    for directory in (main, *directories.values()):
        directory.mkdir(parents=True, exist_ok=True)
    world = World(root=root, home=main, acp_home=directories["acp_home"],
                  trace_dir=directories["traces"], workspace=directories["workspace"],
                  clock=HarnessClock(),  # never started: it reads the machine's time
                  backends={}, settings=Settings(persist_session=persistence.enabled))
    kind_of = AcpProcessOrchestrator if gemini_acp else ProcessOrchestrator
    orchestrator = kind_of(world, components(world), persistence=persistence)

    def wait(agent_id: str, kind: BackendKind, turns: int) -> None:
        host = orchestrator.hosts[kind]
        view = orchestrator.session(agent_id)
        assert isinstance(host, ProcessHost) and view is not None and view.session_id
        session = host.sessions[view.session_id]
        deadline = time.monotonic() + bound
        # Until the turn is heard of and, for a one-prompt CLI, its process is over
        # (an ACP agent stays for the next prompt).
        while session.turns_completed < turns or any(
                r.popen.poll() is None and not r.acp for r in session.runs):
            if time.monotonic() > deadline:
                raise TurnTimeout(f"{agent_id} ({kind.value}): turn {turns} did not come "
                                  f"within {bound:g} s")
            time.sleep(0.1)
            orchestrator.tick()

    try:
        for agent_id, kind in agents:
            orchestrator.spawn(SpawnRequest(agent_id, kind, prompt))
        for agent_id, kind in agents:
            wait(agent_id, kind, 1)
            if follow_up is not None:
                orchestrator.resume(agent_id)
                orchestrator.send(agent_id, follow_up)
                wait(agent_id, kind, 2)
            orchestrator.tick()
            orchestrator.close(agent_id)
    finally:
        orchestrator.shutdown()
    return listing(main)


def listing(home: Path) -> list[str]:
    lines = []
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home.parent)
        if path.is_symlink():
            lines.append(f"{relative} -> {os.readlink(path)}")
        elif path.is_file():
            lines.append(str(relative))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    root = args.root or Path(tempfile.mkdtemp(prefix="reference-orchestrator-"))
    persistence = PersistenceConfig(enabled=args.persist_session, debug_log=args.debug_log)
    agents = args.agents or [("demo", BackendKind.CODEX)]
    if args.real:
        try:
            files = run_real(persistence, root, agents, args.prompt, home=args.home,
                             follow_up=args.follow_up, bound=args.bound,
                             gemini_acp=args.gemini_acp)
        except TurnTimeout as error:
            print(f"reference-orchestrator: {error}", file=sys.stderr)
            return 1
    else:
        files = run(persistence, root, agents, args.prompt)
    print(f"world: {root} (persistence {'on' if persistence.enabled else 'off'})")
    for line in files:
        print(f"  {line}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
