"""acp-log: list and show, read-only, with clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from acp import helpers

from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log.cli import main

from ._builders import embedded, notification, text

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def populated(acp_home: Path) -> dict[str, str]:
    log = CanonicalLog(acp_home, env={}, fsync=False)
    codex = log.open_session("codex", "019a-codex", cwd="/repo/one")
    claude = log.open_session("claude", "c-2", cwd="/repo/two")
    log.open_session("gemini", "g-3", cwd="/repo/three")
    log.log_prompt(codex, [text("fix\nthe \x1b[31mbug"), embedded("file:///k", "secret")])
    log.log_submit(codex, "sub-1", "user_input")
    log.log_update(codex, helpers.update_agent_message(helpers.text_block("on it")))
    log.log_update(
        codex,
        notification(
            {"sessionUpdate": "tool_call", "toolCallId": "t1", "title": "pytest", "kind": "execute"}
        ),
    )
    log.log_permission_response(codex, {"outcome": {"outcome": "cancelled"}}, tool_call_id="t1")
    log.log_submit(claude, "sub-x", "review")
    return {"codex": codex, "claude": claude}


def test_list_shows_every_session(
    acp_home: Path, populated: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--acp-home", str(acp_home), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["GID", "BACKEND", "SESSION", "ID", "CREATED"]
    assert len(lines) == 4
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[populated["codex"]][1:3] == ["codex", "019a-codex"]
    assert rows[populated["codex"]][4:] == ["5", "/repo/one"]
    assert rows[populated["claude"]][4:] == ["1", "/repo/two"]


def test_show_by_key_gid_and_prefix(
    acp_home: Path, populated: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    gid = populated["codex"]
    outputs = []
    for name in ("codex:019a-codex", gid, gid[:6]):
        assert main(["--acp-home", str(acp_home), "show", name]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    out = outputs[0]
    assert out.startswith(f"session {gid}\n")
    events = [line for line in out.splitlines() if line[:5].strip().isdigit()]
    assert [line.split()[2] for line in events] == [
        "acp.prompt",
        "backend.codex.submit",
        "acp.agent_message_chunk",
        "acp.tool_call",
        "acp.request_permission_response",
    ]
    assert "fix\\nthe \\x1b[31mbug" in events[0]  # control characters escaped
    assert "\x1b" not in out
    assert "op=user_input submission=sub-1" in events[1]
    assert "[t1] pytest (execute)" in events[3]
    assert "cancelled for [t1]" in events[4]
    assert "secret" not in out


def test_show_reports_torn_lines_on_stderr(
    acp_home: Path, populated: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    log_path = acp_home / "sessions" / populated["claude"] / "canonical.jsonl"
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"se')
    assert main(["--acp-home", str(acp_home), "show", "claude:c-2"]) == 0
    captured = capsys.readouterr()
    assert "line 2" in captured.err and "skipped" in captured.err
    assert "op=review" in captured.out


@pytest.mark.parametrize("name", ["codex:nope", "f" * 32, "zz", "abc"])
def test_unknown_session_exits_2(
    acp_home: Path, populated: dict[str, str], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["--acp-home", str(acp_home), "show", name]) == 2
    assert "unknown session" in capsys.readouterr().err


def test_missing_acp_home_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing-here"
    assert main(["--acp-home", str(missing), "list"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()  # the CLI never creates the store


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["--help"]) == 0


def test_acp_home_from_environment(
    acp_home: Path,
    populated: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ACP_HOME", str(acp_home))
    assert main(["list"]) == 0
    assert populated["codex"] in capsys.readouterr().out


def test_list_is_read_only_even_with_a_corrupt_index(
    acp_home: Path, populated: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    (acp_home / "index.json").write_bytes(b"not json")
    before = sorted(p.name for p in acp_home.iterdir())
    with pytest.warns(UserWarning, match="corrupt"):
        assert main(["--acp-home", str(acp_home), "list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4  # rebuilt in memory from state.json
    assert sorted(p.name for p in acp_home.iterdir()) == before
    assert (acp_home / "index.json").read_bytes() == b"not json"


@pytest.mark.slow
def test_python_dash_m_entry_point(acp_home: Path, populated: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACP_HOME"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "reference_impl.canonical_log", "--acp-home", str(acp_home), "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert populated["claude"] in done.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "reference_impl.canonical_log",
            "--acp-home",
            str(acp_home / "x"),
            "list",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr
