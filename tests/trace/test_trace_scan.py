"""The lenient, incremental bundle reader the trace checks use agrees with the strict
reducer at every moment of a growing bundle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.trace_format.errors import MissingPayloadError, TraceError, TraceFormatError
from conformance.trace_format.reducer import reduce_bundle
from conformance.trace_format.scan import replay, scan_bundle
from reference_impl.trace import TraceRecorder


def _agree(bundle: Path) -> None:
    """The incremental scan and replay say what a fresh, strict reading says."""
    scan = scan_bundle(bundle)
    lines = (bundle / "trace.jsonl").read_bytes().splitlines()
    assert [line.number for line in scan.lines] == list(range(1, len(lines) + 1))
    try:
        expected = reduce_bundle(bundle)
    except TraceError as error:
        with pytest.raises(type(error)):
            replay(scan)
        return
    assert replay(scan) == expected


def test_growing_bundle(make_recorder) -> None:  # type: ignore[no-untyped-def]
    recorder: TraceRecorder = make_recorder(inline_limit_bytes=8)
    root = recorder.start_rollout("r1", "t0")
    bundle = recorder.bundle_dir
    _agree(bundle)
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1", task="a long task")
    _agree(bundle)
    recorder.start_turn(child, "u1")
    _agree(bundle)
    _agree(bundle)  # unchanged: the cached scan
    recorder.end_turn(child, "u1")
    recorder.deliver_result(child, root, "a long result", lambda: None)
    _agree(bundle)
    shutil.rmtree(bundle / "payloads")  # a payload file the last replay verified is gone
    with pytest.raises(MissingPayloadError):
        replay(scan_bundle(bundle))


def test_torn_line_then_completed(make_recorder) -> None:  # type: ignore[no-untyped-def]
    recorder: TraceRecorder = make_recorder()
    recorder.start_rollout("r1", "t0")
    bundle = recorder.bundle_dir
    replay(scan_bundle(bundle))
    with (bundle / "trace.jsonl").open("ab") as handle:
        handle.write(b'{"seq": 3')
    scan = scan_bundle(bundle)
    assert scan.lines[-1].error is not None and scan.lines[-1].number == 3
    with pytest.raises(TraceFormatError):
        replay(scan)
    with (bundle / "trace.jsonl").open("ab") as handle:
        handle.write(b"}\n")
    scan = scan_bundle(bundle)  # read again whole: line 3 is now complete JSON
    assert scan.lines[-1].obj == {"seq": 3}
    _agree(bundle)


def test_rewritten_trace_is_read_again(make_recorder) -> None:  # type: ignore[no-untyped-def]
    recorder: TraceRecorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    bundle = recorder.bundle_dir
    replay(scan_bundle(bundle))
    trace = bundle / "trace.jsonl"
    original = trace.read_bytes()
    recorder.start_turn(root, "u1")
    grown = trace.read_bytes()
    assert grown.startswith(original)
    trace.write_bytes(grown.replace(b'"seq":1', b'"seq":9', 1))  # same inode, same size
    assert scan_bundle(bundle).lines[0].obj["seq"] == 9  # type: ignore[index]
    _agree(bundle)
