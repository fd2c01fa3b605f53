"""Certification reports, verdicts, baselines and replayable counterexamples (issue 6).

Every report written here is validated against the published JSON Schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance.catalogue import load_catalogue
from conformance.contract import Capability
from conformance.reporting.outcomes import InvariantResult, Outcome, Verdict, summarize
from conformance.reporting.report import SCHEMA_PATH, badge, markdown

BAD = "tests.known_bad.obs_002_polls_codex_at_once"
FAST = ("-p", "no:cacheprovider", "--hypothesis-profile=ci", "-m", "observability")

pytestmark = pytest.mark.slow


def load_report(directory: Path) -> dict:
    report = json.loads((directory / "report.json").read_text())
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())
    return report


def test_known_bad_report_validates_and_carries_a_replayable_counterexample(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(f"--orchestrator={BAD}", "--conformance-report=out", *FAST)
    result.assert_outcomes(failed=1, passed=4)
    report = load_report(pytester.path / "out")
    by_id = {i["id"]: i for i in report["invariants"]}
    failed = by_id["OBS-002"]
    assert failed["outcome"] == "failed"
    assert "polled" in failed["message"]
    example = failed["counterexample"]
    assert any(step.startswith("state.tick()") for step in example["steps"])
    assert "machine_for(" in example["snippet"]
    assert example["replay"].startswith(sys.executable)
    assert " -m conformance replay " in example["replay"]
    area = {a["area"]: a for a in report["areas"]}["observability"]
    assert area["verdict"] == "not certified" and area["failed"] == 1
    assert report["adapter"]["name"] == "known-bad-obs-002"
    assert len(report["catalogue"]["digest"]) == 64
    assert json.loads((pytester.path / "out" / "badge-observability.json").read_text())[
        "color"] == "red"
    summary = (pytester.path / "out" / "summary.md").read_text()
    assert "OBS-002" in summary and "```python" in summary
    junit = ET.parse(pytester.path / "out" / "junit.xml")
    properties = {(p.get("name"), p.get("value")) for p in junit.iter("property")}
    assert ("invariant_id", "OBS-002") in properties and ("level", "MUST") in properties
    # The terminal verdict table.
    result.stdout.fnmatch_lines(["*observability*4*1*not certified*"])


def test_replay_script_reproduces_the_failure_on_its_own(pytester: pytest.Pytester) -> None:
    pytester.runpytest(f"--orchestrator={BAD}", *FAST, "-k", "OBS-002")
    script = next((pytester.path / ".conformance" / "failures").rglob("OBS-002.py"))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode != 0
    assert "InvariantViolation: OBS-002" in run.stderr


def test_stored_failure_is_tried_first_and_a_stale_one_is_forgotten(
    pytester: pytest.Pytester,
) -> None:
    pytester.runpytest(f"--orchestrator={BAD}", *FAST, "-k", "OBS-002")
    store = pytester.path / ".conformance" / "failures"
    stored = next(store.rglob("OBS-002.py"))
    second = pytester.runpytest(f"--orchestrator={BAD}", *FAST, "-k", "OBS-002")
    second.assert_outcomes(failed=1)
    second.stdout.fnmatch_lines(["*replay: *-m conformance replay *OBS-002.py*"])
    # The same counterexample stored for the reference: it does not fail there, so it is
    # discarded and the run goes on normally.
    reference = store / "reference_impl" / "OBS-002.py"
    reference.parent.mkdir(parents=True)
    reference.write_text(stored.read_text().replace(BAD, "reference_impl"))
    third = pytester.runpytest("--orchestrator=reference_impl", *FAST, "-k", "OBS-002")
    third.assert_outcomes(passed=1)
    assert not reference.exists()


def test_a_stored_failure_that_cannot_run_is_reported_and_kept(
    pytester: pytest.Pytester,
) -> None:
    """A replay that errors is never taken as "no longer reproduces"."""
    stored = pytester.path / ".conformance" / "failures" / "reference_impl" / "OBS-002.py"
    stored.parent.mkdir(parents=True)
    stored.write_text("raise NameError(\"name 'agents_0' is not defined\")\n")
    result = pytester.runpytest("--orchestrator=reference_impl", *FAST, "-k", "OBS-002")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stored counterexample*could not be replayed: NameError*"])
    assert stored.exists()


def test_baseline_expected_failure_does_not_fail_the_run(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", baseline='[[expected_failure]]\nid = "OBS-002"\n'
                      'reason = "polls eagerly"\nlink = "https://example.invalid/1"\n')
    result = pytester.runpytest(f"--orchestrator={BAD}", "--conformance-baseline=baseline.toml",
                                "--conformance-report=out", *FAST)
    result.assert_outcomes(passed=4, xfailed=1)
    assert result.ret == 0
    report = load_report(pytester.path / "out")
    item = {i["id"]: i for i in report["invariants"]}["OBS-002"]
    assert item["outcome"] == "expected_failure"
    assert item["baseline"] == {"reason": "polls eagerly", "link": "https://example.invalid/1"}
    # An expected failure of a MUST still denies certification, and is counted once:
    # as expected, not also as failed.
    area = report["areas"][0]
    assert area["verdict"] == "not certified"
    assert (area["failed"], area["expected_failures"], area["passed"]) == (0, 1, 4)
    result.stdout.fnmatch_lines(["observability *4 *0 *0 *1 *not certified*"])


def test_baseline_is_strict(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", stale='[[expected_failure]]\nid = "OBS-002"\n'
                      'reason = "old"\nlink = "https://example.invalid/2"\n')
    result = pytester.runpytest("--orchestrator=reference_impl",
                                "--conformance-baseline=stale.toml", *FAST, "-k", "OBS-002")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*STALE BASELINE*", "*remove it from the baseline*"])
    pytester.makefile(".toml", unknown='[[expected_failure]]\nid = "NOPE-001"\n'
                      'reason = "x"\nlink = "y"\n')
    error = pytester.runpytest("--orchestrator=reference_impl",
                               "--conformance-baseline=unknown.toml", *FAST)
    assert error.ret == pytest.ExitCode.USAGE_ERROR
    error.stderr.fnmatch_lines(["*no invariant 'NOPE-001'*"])


def test_parallel_run_gives_the_same_outcomes(pytester: pytest.Pytester) -> None:
    single = pytester.runpytest(f"--orchestrator={BAD}", "--conformance-report=one", *FAST)
    parallel = pytester.runpytest(f"--orchestrator={BAD}", "--conformance-report=two", *FAST,
                                  "-n", "2")
    outcomes = [
        {i["id"]: i["outcome"] for i in load_report(pytester.path / d)["invariants"]}
        for d in ("one", "two")
    ]
    assert outcomes[0] == outcomes[1]
    assert single.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED


def test_should_failures_are_warnings_not_denials() -> None:
    catalogue = load_catalogue()
    results = {i: InvariantResult(i, Outcome.PASSED) for i in catalogue.ids()}
    summaries = summarize(catalogue, [Capability.OBSERVABILITY], results)
    observability = next(s for s in summaries if s.area is Capability.OBSERVABILITY)
    assert observability.verdict is Verdict.CERTIFIED
    for other in summaries:
        if other.area is not Capability.OBSERVABILITY:
            assert other.verdict is Verdict.NOT_CLAIMED
    area = {"area": "observability", "verdict": "certified", "warnings": 2}
    assert badge(area)["message"] == "certified, 2 warning(s)"
    assert badge(area)["color"] == "brightgreen"


def test_markdown_lists_failures_with_their_replay() -> None:
    report = {
        "adapter": {"name": "x", "version": "1"}, "suite": {"version": "0.1.0"},
        "catalogue": {"digest": "0" * 64}, "run": {"profile": "ci", "duration_s": 1.0},
        "areas": [{"area": "observability", "passed": 4, "failed": 1, "warnings": 0,
                   "expected_failures": 0, "verdict": "not certified"}],
        "invariants": [{"id": "OBS-001", "level": "MUST", "outcome": "failed", "title": "t",
                        "message": "m", "baseline": None,
                        "counterexample": {"steps": [], "snippet": "state = M()",
                                           "replay": "python f.py"}}],
    }
    text = markdown(report)
    assert "| observability | 4 | 1 | 0 | 0 | **not certified** |" in text
    assert "Replay: `python f.py`" in text
