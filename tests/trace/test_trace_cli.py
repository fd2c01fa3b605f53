"""``rollout-trace reduce`` through ``main(argv)``."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from reference_impl.trace import TraceRecorder
from reference_impl.trace.cli import main


@pytest.fixture
def bundle(make_recorder) -> Path:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    recorder.deliver_result(child, root, "ok", lambda: None)
    recorder.end_thread(root)
    return recorder.bundle_dir


def test_reduce_text(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reduce", str(bundle)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("rollout r1: completed (events 1-8, schema 1)\n")
    assert "result -> t0 completed" in out and err == ""


@pytest.mark.parametrize(
    ("fmt", "first"), [("dot", "digraph rollout {"), ("mermaid", "flowchart TD")]
)
def test_reduce_other_formats(
    bundle: Path, capsys: pytest.CaptureFixture[str], fmt: str, first: str
) -> None:
    assert main(["reduce", str(bundle), "--format", fmt]) == 0
    assert capsys.readouterr().out.splitlines()[0] == first


def test_reducer_error_exits_1_and_names_the_event(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = bundle / "trace.jsonl"
    lines = trace.read_bytes().splitlines(keepends=True)
    trace.write_bytes(b"".join(lines[:2] + lines[3:]))  # drop seq 3
    assert main(["reduce", str(bundle)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("rollout-trace: SequenceGapError: seq 4 (thread_started thread=t1): ")
    assert "expected seq 3, found 4" in err


def test_unknown_event_type_exits_1(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = bundle / "trace.jsonl"
    trace.write_bytes(trace.read_bytes().replace(b'"agent_spawned"', b'"agent_forked"'))
    assert main(["reduce", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert "UnknownEventTypeError: line 3, seq 3: payload.type: expected one of" in err
    assert 'found "agent_forked"' in err


def test_missing_payload_exits_1(make_recorder, capsys: pytest.CaptureFixture[str]) -> None:
    recorder = make_recorder(inline_limit_bytes=4)
    root = recorder.start_rollout("r1", "t0")
    recorder.spawn_agent(root, "t1", spawn_call_id="s1", task="a long task")
    (recorder.bundle_dir / "payloads" / "3-1.json").unlink()
    assert main(["reduce", str(recorder.bundle_dir)]) == 1
    assert "MissingPayloadError: seq 3 (agent_spawned thread=t0)" in capsys.readouterr().err


def test_missing_bundle_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reduce", str(tmp_path / "nope")]) == 1
    assert "ManifestError" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["reduce"], ["reduce", "x", "--format", "svg"], ["frobnicate"], ["reduce", "a", "b"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reduce", "--help"]) == 0
    assert "--format {dot,mermaid,text}" in capsys.readouterr().out


def test_python_dash_m(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["rollout-trace", "reduce", str(bundle), "--format", "dot"])
    monkeypatch.delitem(sys.modules, "reference_impl.trace.__main__", raising=False)
    with pytest.raises(SystemExit) as info:
        runpy.run_module("reference_impl.trace", run_name="__main__")
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("digraph rollout {")


def test_reopened_recorder_output_reduces(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A finished bundle can be reopened but not extended; the CLI still reads it."""
    recorder = TraceRecorder.reopen(bundle, fsync=False)
    assert recorder.rollout_ended
    recorder.close()
    assert main(["reduce", str(bundle)]) == 0
