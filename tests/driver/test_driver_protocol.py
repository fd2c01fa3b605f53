"""The driver protocol (``conformance/driver/``): a driver that misbehaves gets a clear
error naming the operation, never a verdict, and leaves nothing running.

The misbehaving driver is the reference's driver until the operation under test
(``tests/driver/misbehaving_driver.py``). Each test runs one world through it.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from conformance.clock import HarnessClock
from conformance.contract import AgentState, BackendKind
from conformance.driver import DriverAdapter, protocol, schema_path
from conformance.errors import DriverError, InvalidAgentId
from conformance.harness import Harness
from conformance.processes.server import running

pytestmark = [pytest.mark.processes]

HERE = Path(__file__).parent
GOOD = f"{shlex.quote(sys.executable)} -m reference_impl.driver"


def misbehaving(mode: str, at: str) -> str:
    return (f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'misbehaving_driver.py'))}"
            f" --mode {mode} --at {at}")


@pytest.fixture
def clock() -> Iterator[HarnessClock]:
    with HarnessClock() as running:
        yield running


def _world(command: str, clock: HarnessClock, root: Path, timeout: float = 60.0
           ) -> Harness:
    return Harness(DriverAdapter(command, timeout=timeout), clock, root)


def _gone(harness: Harness) -> None:
    """Dispose of the world: no fake process and no driver process runs after."""
    driver = getattr(harness, "orchestrator", None)
    pids = ([] if harness.puppets is None else
            [p.pid for p in harness.puppets.processes.values()])
    harness.dispose()
    assert not [pid for pid in pids if running(pid)]
    if driver is not None:
        assert driver.process.popen.poll() is not None
    assert not harness.root.exists()


def test_the_schema_is_published_and_valid() -> None:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["request"]["properties"]["op"]["enum"]) == set(
        protocol.OPERATIONS)


@pytest.mark.parametrize(("line", "expected"), [
    (b"not json", "not JSON"),
    (b'{"id": 0}', "field (the message): 'ok' is a required property"),
    (b'{"id": 0, "ok": true}', "'result' is a required property"),
    (b'{"id": 0, "ok": false, "error": {"kind": "oops", "message": "m"}}', "field error/kind"),
    (b'{"id": 0, "ok": false, "error": {"kind": "invalid_agent_id", "message": "m"}}',
     "'agent_id' is a required property"),
    (b'{"id": 3, "ok": true, "result": null}', "answered request 3 while request 0"),
    (b'{"id": 0, "ok": true, "result": null, "extra": 1}', "Additional properties"),
    (b'{"id": 0, "ok": true, "result": [{"agent_id": "a", "backend": "codex"}]}',
     "field 0: 'state' is a required property"),
])
def test_a_bad_response_is_named_with_its_field(line: bytes, expected: str) -> None:
    op = "sessions" if b"state" in line or b"backend" in line else "tick"
    with pytest.raises(DriverError) as caught:
        protocol.response(line, 0, op)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"driver {op}:")


def test_injected_faults_do_not_reach_a_driver() -> None:
    """Failing writes and power cuts act in the harness's process: a driver's
    orchestrator is another, so the machines do not draw them for it."""
    from conformance import faults
    from conformance.api import as_loaded
    from conformance.areas.trace.machine import TraceMachine
    from conformance.catalogue import load_catalogue
    from conformance.registry import RunContext
    from conformance.stateful import bind_machine
    from reference_impl import conformance_adapter

    driver = DriverAdapter(GOOD)
    assert faults.reach(conformance_adapter)
    assert not faults.reach(driver)
    invariant = load_catalogue().get("TRC-005")
    for adapter, drawn in ((conformance_adapter, True), (driver, False)):
        context = RunContext(as_loaded(adapter), invariant, None, Path("."))  # type: ignore[arg-type]
        bound = bind_machine(TraceMachine, context, (), HarnessClock())
        assert (bound.disk_fills is not None) is drawn  # type: ignore[attr-defined]


def test_the_reference_driver_runs_a_world(clock: HarnessClock, tmp_path: Path) -> None:
    harness = _world(GOOD, clock, tmp_path / "world")
    try:
        record = harness.spawn("worker", BackendKind.CLAUDE, "say hello")
        harness.advance(10.0)
        harness.tick()
        view = harness.view("worker")
        assert view is not None and view.session_id == record.session.session_id
        assert view.state in (AgentState.RUNNING, AgentState.ENDED)
        assert [v.agent_id for v in harness.views()] == ["worker"]
        # The driver's own temporary files are in the world: they go with it, even
        # when the driver is killed.
        assert any((harness.root / "driver-tmp").glob("reference-*"))
        with pytest.raises(InvalidAgentId) as refused:
            harness.orchestrator.spawn(  # straight to the driver: no harness bookkeeping
                __import__("conformance.contract", fromlist=["SpawnRequest"]).SpawnRequest(
                    "../escape", BackendKind.CODEX, "x"))
        assert refused.value.agent_id == "../escape" and refused.value.rule
        harness.shutdown()
    finally:
        _gone(harness)


@pytest.mark.parametrize(("mode", "expected"), [
    ("die", "exited before answering (exit status 3)"),
    ("die-mid-line", "exited in the middle of its answer (exit status 4)"),
    ("garbage", "not JSON"),
    ("noise", "not JSON"),
    ("wrong-id", "answered request"),
    ("invalid", "'ok' is a required property"),
    ("oversized", "longer than"),
])
def test_a_driver_that_misbehaves_mid_spawn(mode: str, expected: str, clock: HarnessClock,
                                            tmp_path: Path) -> None:
    harness = _world(misbehaving(mode, "spawn"), clock, tmp_path / "world")
    try:
        with pytest.raises(DriverError) as caught:
            harness.spawn("worker", BackendKind.CODEX, "say hello")
        assert str(caught.value).startswith("driver spawn:")
        assert expected in str(caught.value)
        if mode == "die":
            assert "misbehaving driver: dying at spawn" in str(caught.value)
    finally:
        _gone(harness)


def test_a_driver_that_hangs_is_stopped_after_the_bound(clock: HarnessClock,
                                                        tmp_path: Path) -> None:
    harness = _world(misbehaving("hang", "tick"), clock, tmp_path / "world", timeout=2.0)
    try:
        harness.spawn("worker", BackendKind.GEMINI, "say hello")
        with pytest.raises(DriverError, match="driver tick: did not answer within 2s"):
            harness.tick()
    finally:
        _gone(harness)


def test_a_result_of_the_wrong_shape(clock: HarnessClock, tmp_path: Path) -> None:
    harness = _world(misbehaving("bad-result", "session"), clock, tmp_path / "world")
    try:
        harness.spawn("worker", BackendKind.CODEX, "say hello")
        with pytest.raises(DriverError, match=r"driver session: wrote an invalid result "
                                              r"for session .*'asleep'"):
            harness.view("worker")
    finally:
        _gone(harness)


@pytest.mark.parametrize(("mode", "expected"), [
    ("old-protocol", "speaks protocol version 0; this harness speaks version 1"),
    ("die", "exited before answering"),
])
def test_a_driver_refused_at_hello(mode: str, expected: str) -> None:
    with pytest.raises(DriverError, match=expected):
        DriverAdapter(misbehaving(mode, "hello"))


def test_a_command_that_cannot_run() -> None:
    with pytest.raises(DriverError, match="driver launch: cannot run"):
        DriverAdapter("/nonexistent/driver --flag")
    with pytest.raises(DriverError, match="cannot split"):
        DriverAdapter("driver 'unterminated")


# -- the plugin's options -------------------------------------------------------------

def test_the_command_option_collects_the_driver_s_claims(pytester: pytest.Pytester) -> None:
    reprec = pytester.inline_run("--collect-only", "-q", "-p", "no:cacheprovider",
                                 f"--orchestrator-command={GOOD}")
    items = list(reprec.getcall("pytest_collection_finish").session.items)
    ids = {item.name.split(" ", 1)[0] for item in items}
    assert {"OBS-001", "ISO-001", "PER-001", "CLOG-001", "TRC-001"} <= ids


def test_two_orchestrators_are_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--orchestrator=reference_impl",
                                f"--orchestrator-command={GOOD}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "name two orchestrators" in result.stderr.str()


def test_a_broken_driver_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider",
                                f"--orchestrator-command={misbehaving('old-protocol', 'hello')}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "speaks protocol version 0" in result.stderr.str()


def test_a_command_is_anchored_to_where_it_was_given(tmp_path: Path) -> None:
    """A stored counterexample names the command with its relative paths made
    absolute, so it replays from any directory."""
    from conformance.driver.adapter import anchored

    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / "driver.js").write_text("")
    assert anchored("node drivers/driver.js --flag x", tmp_path) == (
        f"node {tmp_path / 'drivers' / 'driver.js'} --flag x")
    assert anchored("python -m reference_impl.driver", tmp_path) == (
        "python -m reference_impl.driver")
