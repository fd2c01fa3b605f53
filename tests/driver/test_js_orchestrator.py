"""The JavaScript orchestrator (``examples/js-orchestrator/``), certified through its
driver, and its known-bad variant (``js_obs_001_not_found_is_ended.js``).

* A world runs through the driver: every CLI is found after its first turn, a hostile
  id is refused with its rule, and the driver leaves none of its own files behind.
* The known-bad variant fails OBS-001 under the ``ci`` profile with a short
  counterexample, holds every other observability invariant, and its printed
  counterexample replays from a directory outside the checkout, through the same
  command, with a fresh interpreter.

The orchestrator's certification of both areas it claims runs in ``.ci/run``
(``pytest --orchestrator-command=...`` from a directory outside the checkout).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest

from conformance import InvariantViolation, run_invariant
from conformance.api import as_loaded
from conformance.catalogue import load_catalogue
from conformance.clock import HarnessClock
from conformance.contract import AgentState, BackendKind, Capability, SpawnRequest
from conformance.driver import DriverAdapter
from conformance.errors import InvalidAgentId
from conformance.harness import Harness
from conformance.items import counterexample
from conformance.profiles import suite_settings
from conformance.registry import RunContext, all_checks
from conformance.replay import snippet
from conformance.stateful import STEP_CHECKS, run_machine
from tests.test_known_bad import MAX_STEPS, rule_steps

NODE = shutil.which("node")
pytestmark = [pytest.mark.processes, pytest.mark.skipif(
    NODE is None, reason="Node.js is not installed (the JavaScript orchestrator needs it)")]

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "examples" / "js-orchestrator" / "driver.js"
KNOWN_BAD = Path(__file__).resolve().parent / "js_obs_001_not_found_is_ended.js"
GOOD = f"node {shlex.quote(str(DRIVER))}"
BAD = f"{GOOD} --orchestrator={shlex.quote(str(KNOWN_BAD))}"


@pytest.fixture
def clock() -> Iterator[HarnessClock]:
    with HarnessClock() as running:
        yield running


def test_a_world_runs_through_the_javascript_driver(clock: HarnessClock,
                                                    tmp_path: Path) -> None:
    adapter = DriverAdapter(GOOD)
    assert adapter.capabilities == frozenset({Capability.OBSERVABILITY, Capability.ISOLATION})
    harness = Harness(adapter, clock, tmp_path / "world")
    own = harness.root / "driver-tmp"  # the driver's TMPDIR: where its own files go
    try:
        records = {kind: harness.spawn(f"worker-{kind.value}", kind, "say hello")
                   for kind in BackendKind}
        assert any(own.glob("js-orchestrator-*/stdout-*"))
        harness.advance(10.0)
        harness.tick()
        for kind, record in records.items():
            view = harness.view(f"worker-{kind.value}")
            assert view is not None and view.session_id == record.session.session_id
            assert view.transcript is not None and view.transcript.is_file()
        with pytest.raises(InvalidAgentId) as refused:
            harness.orchestrator.spawn(SpawnRequest("../escape", BackendKind.CODEX, "x"))
        assert refused.value.agent_id == "../escape" and "separator" in refused.value.rule
        harness.shutdown()
        assert {v.state for v in harness.views()} == {AgentState.ENDED}
        history = (harness.world.home / "history.jsonl").read_text(encoding="utf-8")
        assert history.count('"event":"finished"') == 3
        harness.retire()  # the driver is stopped: it removes its own files
        assert not any(own.iterdir()), "the driver left its own files behind"
    finally:
        harness.dispose()


def test_the_known_bad_variant_fails_obs_001_and_replays_from_outside(tmp_path: Path) -> None:
    with pytest.raises(InvariantViolation) as caught:
        run_invariant(DriverAdapter(BAD), "OBS-001", settings=suite_settings("ci"))
    assert caught.value.invariant_id == "OBS-001"
    steps = counterexample(caught.value)
    assert len(rule_steps(steps)) <= MAX_STEPS, "\n".join(steps)
    machine = all_checks()["OBS-001"].machine
    assert machine is not None
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    script = outside / "OBS-001.py"
    script.write_text(snippet(f"command:{BAD}", "OBS-001", machine.__name__, steps),
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, str(script)], cwd=outside, capture_output=True,
                         text=True, timeout=600, check=False, env=env)
    assert run.returncode != 0
    assert "InvariantViolation: OBS-001" in run.stderr, run.stderr[-3000:]


def test_the_known_bad_variant_holds_every_other_observability_invariant(
        tmp_path: Path) -> None:
    catalogue = load_catalogue()
    others = [i.id for i in catalogue.in_area(Capability.OBSERVABILITY) if i.id != "OBS-001"]
    assert others and all(i in STEP_CHECKS for i in others)
    machine = all_checks()[others[0]].machine
    assert machine is not None
    settings = hypothesis.settings(suite_settings("ci"), max_examples=10)
    context = RunContext(as_loaded(DriverAdapter(BAD)), catalogue.get(others[0]), settings,
                         tmp_path)
    run_machine(machine, context, [STEP_CHECKS[i] for i in others])
