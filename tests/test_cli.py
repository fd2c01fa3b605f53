"""The ``conformance`` command line (:mod:`conformance.cli`): listing and showing the
catalogue, scaffolding an invariant in a copy of the checkout, replaying a stored
counterexample from outside the checkout, rendering a report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import InvariantViolation, run_invariant
from conformance.cli import CRASHED, FOUND, OK, main
from conformance.items import counterexample
from conformance.profiles import suite_settings
from conformance.replay import origin_of, replay_command, snippet

REPO = Path(__file__).resolve().parents[1]
SEED_002_PASSAGE = "Orchestrators cannot poll on Codex workers; they must wait for notifications"


def test_list_names_every_invariant_of_an_area(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--area", "isolation"]) == OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [f"ISO-00{i}" for i in range(1, 9)]
    assert all(" MUST " in line for line in lines)


def test_show_traces_an_invariant_to_its_passage_check_and_known_bads(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "OBS-001"]) == OK
    out = capsys.readouterr().out
    assert "002_8aeda42f1f59c711.txt" in out and "prematurely cleans up" in out
    assert "check:   conformance.areas.observability.checks.codex_not_found_is_not_ended" in out
    assert "tests/known_bad/obs_001_codex_missing_from_list_is_ended.py" in out
    assert "tests/driver/js_obs_001_not_found_is_ended.js" in out


@pytest.mark.parametrize("argv", [["show", "OBS-999"], ["list", "--area", "nowhere"],
                                  ["report", "/nonexistent/report.json"]])
def test_what_cannot_be_done_exits_1_saying_why(argv: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == FOUND
    assert capsys.readouterr().err.startswith(f"conformance {argv[0]}: ")


def test_a_bad_command_line_exits_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


def test_new_checks_the_checkout_it_scaffolds_into(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # An id that exists in that checkout's specs/, not in the installed catalogue.
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "observability.toml").write_text(
        (REPO / "specs" / "observability.toml").read_text(encoding="utf-8")
        .replace('id = "OBS-001"', 'id = "OBS-099"'), encoding="utf-8")
    assert main(["new", "OBS-099", "--area", "observability", "--root", str(tmp_path)]) \
        == FOUND
    assert f"OBS-099 exists already in {tmp_path / 'specs'}" in capsys.readouterr().err


def _copy_checkout(target: Path) -> Path:
    """A copy of the checkout and of the seed documents beside it (``shared/seeds``)."""
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", "results",
                                    ".hypothesis", "node_modules")
    root = target / "checkout"
    root.mkdir()
    for name in ("specs", "conformance", "reference_impl", "tests", "conftest.py",
                 "pyproject.toml"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    shutil.copytree(REPO.parent / "shared" / "seeds", target / "shared" / "seeds")
    return root


def _in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.skipif(not (REPO.parent / "shared" / "seeds").is_dir(),
                    reason="the seed documents are not next to the checkout")
def test_new_scaffolds_an_invariant_that_runs_is_traced_and_fails_until_written(
        tmp_path: Path) -> None:
    root = _copy_checkout(tmp_path)
    made = _in(root, "-m", "conformance", "new", "OBS-006", "--area", "observability",
               "--title", "Codex workers are waited on, never polled", "--seed", "002",
               "--passage", SEED_002_PASSAGE)
    assert made.returncode == OK, made.stderr
    for path in ("conformance/areas/observability/checks_obs_006.py",
                 "tests/known_bad/obs_006_todo.py", "tests/observability/test_obs_006.py"):
        assert (root / path).is_file(), made.stdout
    assert 'id = "OBS-006"' in (root / "specs" / "observability.toml").read_text()
    again = _in(root, "-m", "conformance", "new", "OBS-006", "--area", "observability")
    assert again.returncode == FOUND and "exists already" in again.stderr
    wrong = _in(root, "-m", "conformance", "new", "OBS-007", "--area", "observability",
                "--seed", "002", "--passage", "words no seed ever said")
    assert wrong.returncode == FOUND and "not a verbatim quote" in wrong.stderr
    shown = _in(root, "-m", "conformance", "show", "OBS-006")
    assert shown.returncode == OK, shown.stderr
    assert "checks_obs_006.check_obs_006" in shown.stdout
    assert "tests/known_bad/obs_006_todo.py" in shown.stdout
    # Traced to its passage, discovered as a known-bad, and failing every orchestrator
    # (the reference included) until its check is written.
    checked = _in(root, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "tests/test_catalogue.py", "-k", "OBS-006",
                  "tests/test_known_bad.py::test_known_bads_are_discovered")
    assert checked.returncode == 0, checked.stdout[-3000:]
    run = _in(root, "-c", "import reference_impl; from conformance import run_invariant; "
              "run_invariant(reference_impl.conformance_adapter, 'OBS-006')")
    assert "InvariantViolation: OBS-006: the check of OBS-006 is not written yet" in run.stderr


@pytest.mark.slow
def test_replay_runs_a_stored_counterexample_from_outside_the_checkout(tmp_path: Path) -> None:
    spec = "tests.known_bad.obs_002_polls_codex_at_once"
    module = __import__(spec, fromlist=["conformance_adapter"])
    with pytest.raises(InvariantViolation) as caught:
        run_invariant(module.conformance_adapter, "OBS-002", settings=suite_settings("ci"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = elsewhere / "OBS-002.py"
    script.write_text(snippet(spec, "OBS-002", "ObservabilityMachine",
                              counterexample(caught.value), origin=REPO), encoding="utf-8")
    assert origin_of(script) == REPO
    command = replay_command(script)
    assert command.startswith(sys.executable) and " -m conformance replay " in command
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    replayed = subprocess.run(command, shell=True, cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    assert replayed.returncode == FOUND, replayed.stderr[-3000:]
    assert "reproduced: OBS-002" in replayed.stderr
    # The same file run as plain Python, from there, with no PYTHONPATH.
    plain = subprocess.run([sys.executable, str(script)], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=300, check=False)
    assert "InvariantViolation: OBS-002" in plain.stderr, plain.stderr[-3000:]
    broken = elsewhere / "broken.py"
    broken.write_text(snippet("no_such_adapter_module", "OBS-002", "ObservabilityMachine",
                              ["state = ObservabilityMachine()", "state.tick()"]),
                      encoding="utf-8")
    crashed = subprocess.run([sys.executable, "-m", "conformance", "replay", str(broken)],
                             cwd=elsewhere, env=env, capture_output=True, text=True,
                             timeout=300, check=False)
    assert crashed.returncode == CRASHED, crashed.stderr[-2000:]


def test_report_renders_markdown_and_html(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = {
        "adapter": {"name": "mine", "version": "1.0"},
        "suite": {"version": "0.1.0"}, "catalogue": {"digest": "abcdef0123456789"},
        "run": {"profile": "ci", "duration_s": 1.5},
        "areas": [{"area": "isolation", "passed": 7, "failed": 1, "warnings": 0,
                   "expected_failures": 0, "verdict": "not certified"}],
        "invariants": [{"id": "ISO-007", "level": "MUST", "outcome": "failed",
                        "title": "Hostile ids <refused>", "message": "it took '../x'",
                        "counterexample": {"snippet": "state.spawn()", "replay": "x"},
                        "baseline": None}],
    }
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert main(["report", str(tmp_path)]) == OK
    assert "| isolation | 7 | 1 | 0 | 0 | **not certified** |" in capsys.readouterr().out
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "report.json"), "--format", "html", "-o",
                 str(out)]) == OK
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Hostile ids &lt;refused&gt;" in page
