"""``reference-orchestrator --real`` runs the real CLIs end to end (``pytest -m fidelity``).

The reference's process backend, the one the suite certifies through the fake
executables, launches the real Codex, Claude Code and Gemini CLI (the newest version of
each that a fake plays, from the npm cache of :mod:`cli_cache`) against the mock model
servers of :mod:`mock_models`, on the machine's clock: the user's CLI configuration
(the mock provider) sits in the main home and is carried into the agent's, one agent
is spawned, its first turn's result is heard (stdout, Codex's ``notify``), a follow-up
resumes it, and it is closed. With persistence on, the rollout ends up in
``sessions/<id>/`` (linked from its legacy path), and the real model requests,
relayed through the orchestrator, are in ``session_oai_raw.log`` without the API key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_cache import CacheError, executable, missing_tools
from mock_models import DUMMY_KEY, MockServers

from conformance import native
from conformance.contract import BackendKind
from reference_impl.persistence import RAW_LOG, SESSION_LOG

pytestmark = pytest.mark.fidelity

NEWEST = {BackendKind.CODEX: "0.171.0", BackendKind.CLAUDE: "2.1.328",
          BackendKind.GEMINI: "0.61.0"}
#: Real seconds a turn may take (the CLIs start Node, ask the mock, write their files).
TURN_BOUND = 180


@pytest.fixture(scope="module")
def servers() -> Iterator[MockServers]:
    missing = missing_tools()
    if missing:
        pytest.skip(f"the real CLIs need {' and '.join(missing)} on PATH")
    with MockServers(delay=0.5, text="Hello from the mock model.") as started:
        yield started


def _main_home(root: Path, kind: BackendKind, servers: MockServers) -> Path:
    """A main home holding the user's settings of the CLI: the mock model provider."""
    home, scratch = root / "main-home", root / "scratch-home"
    servers.write_config(kind.value, scratch)
    written = native.settings_files(kind.value, scratch / ".codex"
                                    if kind is BackendKind.CODEX else scratch)
    for source, target in zip(written, native.settings_files(kind.value, home), strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return home


@pytest.mark.parametrize(("kind", "acp"), [(k, False) for k in NEWEST]
                         + [(BackendKind.GEMINI, True)],
                         ids=[*(k.value for k in NEWEST), "gemini-acp"])
def test_the_reference_runs_the_real_cli_end_to_end(kind: BackendKind, acp: bool,
                                                    servers: MockServers) -> None:
    try:
        exe = executable(kind, NEWEST[kind])
    except CacheError as error:
        pytest.fail(str(error))
    with tempfile.TemporaryDirectory(prefix="reference-real-") as directory:
        root = Path(directory)
        home = _main_home(root, kind, servers)
        env = servers.env_for(kind.value, home)
        for name in ("HOME", "CODEX_HOME"):
            env.pop(name, None)
        env["PATH"] = f"{exe.parent}{os.pathsep}{env.get('PATH', '')}"
        command = [sys.executable, "-m", "reference_impl", "--real", "--persist-session",
                   "--root", str(root / "world"), "--home", str(home),
                   "--agent", f"worker:{kind.value}", "--prompt", "Say hello in one sentence.",
                   "--follow-up", "Now say goodbye.", "--bound", str(TURN_BOUND),
                   *(["--gemini-acp"] if acp else [])]
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=3 * TURN_BOUND, check=False)
        assert done.returncode == 0, f"{kind.value}: {done.stderr[-3000:]}"
        agent = home / "agents" / "worker"
        (session_dir,) = [d for d in (agent / "sessions").iterdir()
                          if d.is_dir() and (d / SESSION_LOG).is_file()]
        session_id = session_dir.name
        workspace = root / "world" / "workspace"
        legacy = native.locate(kind.value, agent, workspace, session_id)
        assert legacy is not None, f"{kind.value}: no transcript of {session_id}\n{done.stdout}"
        if legacy.is_symlink():  # moved into the session directory, linked back
            assert legacy.resolve().parent == session_dir.resolve()
        view = native.read(kind.value, legacy)
        assert view.turns_completed >= 2, view
        raw_text = (session_dir / RAW_LOG).read_text(encoding="utf-8")
        raw = [json.loads(line) for line in raw_text.splitlines()]
        assert raw, f"{kind.value}: no model exchange was relayed"
        assert all(r["request"]["url"].startswith("http://127.0.0.1") for r in raw)
        assert DUMMY_KEY not in raw_text
