"""Every state machine's printed counterexample runs as printed (issue 9, class "replays").

For one known-bad per state machine, the failing invariant's counterexample is turned
into the script a failure report prints, written to a file and run with a fresh
interpreter exactly as the report's replay command says (``python FILE``). It must
raise the same violation. A step that assigns a tuple (``a, b = state.rule(...)``) once
came out commented, so the trace area's scripts died with ``NameError`` instead.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import InvariantViolation, run_invariant
from conformance.items import counterexample
from conformance.profiles import suite_settings
from conformance.registry import all_checks
from conformance.replay import run_snippet, snippet
from tests.test_known_bad import KNOWN_BADS

pytestmark = pytest.mark.slow

CHECKS = all_checks()


def _one_per_machine() -> list[object]:
    chosen: dict[str, object] = {}
    for bad in KNOWN_BADS:
        if not bad.usable:
            continue
        machine = CHECKS[bad.violates].machine
        if machine is not None and machine.__name__ not in chosen:
            chosen[machine.__name__] = pytest.param(bad.name, bad.violates,
                                                    id=f"{machine.__name__}-{bad.name}")
    return list(chosen.values())


@pytest.mark.parametrize(("name", "invariant_id"), _one_per_machine())
def test_printed_script_replays_the_violation(name: str, invariant_id: str,
                                              tmp_path: Path) -> None:
    spec = f"tests.known_bad.{name}"
    module = importlib.import_module(spec)
    with pytest.raises(InvariantViolation) as caught:
        run_invariant(module.conformance_adapter, invariant_id, settings=suite_settings("ci"))
    machine = CHECKS[invariant_id].machine
    assert machine is not None
    script = tmp_path / f"{invariant_id}.py"
    script.write_text(snippet(spec, invariant_id, machine.__name__,
                              counterexample(caught.value)), encoding="utf-8")
    commented = [line for line in script.read_text().splitlines()
                 if re.match(r"\s*#\s*(state\.|[\w, ]+=\s*state\.)", line)]
    assert not commented, f"steps came out as comments:\n{script.read_text()}"
    with pytest.raises(InvariantViolation) as replayed:
        run_snippet(script)
    assert replayed.value.invariant_id == invariant_id
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode != 0
    assert f"InvariantViolation: {invariant_id}" in run.stderr, run.stderr[-2000:]


def test_every_enum_a_machine_draws_can_be_named_in_a_replay() -> None:
    """A rule argument prints as its repr (``At.PARTIAL``), so every enum the state
    machines use must be importable from :mod:`conformance.replay`; a missing one made
    stored counterexamples die with ``NameError`` instead of replaying."""
    import enum

    import conformance.replay as replay

    exported = set(replay.__all__)
    missing: set[str] = set()
    for path in sorted(Path("conformance").glob("areas/*/machine*.py")):
        module = importlib.import_module(".".join(path.with_suffix("").parts))
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, enum.Enum)
                    and any(f"{name}." in line or f"list({name})" in line
                            for line in path.read_text(encoding="utf-8").splitlines()
                            if "sampled_from" in line or "@rule" in line)
                    and name not in exported):
                missing.add(f"{name} (used in {path})")
    assert not missing, f"not exported by conformance.replay: {sorted(missing)}"
