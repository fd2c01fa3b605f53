"""The ``reference-orchestrator`` command line: --persist-session on and off, and a
refused agent id."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_impl.cli import main


def test_persist_session_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--persist-session", "--root", str(tmp_path / "on"),
                 "--agent", "demo", "--agent", "rev:gemini"]) == 0
    out = capsys.readouterr().out
    assert "persistence on" in out
    assert "session_oai_raw.log" in out and "session_meta.log" in out and " -> " in out
    assert main(["--root", str(tmp_path / "off")]) == 0
    out = capsys.readouterr().out
    assert "persistence off" in out and "session.log" not in out and " -> " not in out


def test_relative_debug_log_lands_in_the_session_dir(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--persist-session", "--debug-log", "debug.log",
                 "--root", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("home/agents/demo/sessions/*/debug.log"))) == 1


def test_bad_agent_id_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--root", str(tmp_path), "--agent", "../escape"])
    assert exited.value.code == 2
    assert "invalid agent id '../escape'" in capsys.readouterr().err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
