"""The project's own tests, ``pytest -n 2``, timed from process start to exit.

The command is the README's test command, run in the checkout as CI runs it (the
fidelity tests against the real CLIs are deselected by the project's configuration
and have a stage of their own). The slowest tests are printed with their times, since
they are where a speed-up is to be found; the figure is the wall time, and a run that
did not pass is reported as such, never as a time.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Section, Table, Target

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
#: Issue 14's bound.
WALL_LIMIT_S = 120.0
SLOWEST = 12
_DURATION = re.compile(r"^\s*([0-9.]+)s\s+(call|setup|teardown)\s+(\S.*)$")
_COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)")


def command() -> list[str]:
    return [sys.executable, "-m", "pytest", "-n", str(WORKERS), "-p", "no:cacheprovider",
            "-q", f"--durations={SLOWEST}"]


@dataclass(frozen=True)
class Run:
    seconds: float
    returncode: int
    counts: dict[str, int]
    slowest: list[tuple[float, str, str]]
    tail: str


def run_tests() -> Run:
    start = time.perf_counter()
    proc = subprocess.run(command(), cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    slowest = [(float(m.group(1)), m.group(2), m.group(3))
               for m in map(_DURATION.match, lines) if m]
    summary = next((line for line in reversed(lines)
                    if re.search(r"\d+ (passed|failed|errors?)\b", line)), "")
    counts = {kind.rstrip("s") if kind.startswith("error") else kind: int(n)
              for n, kind in _COUNTS.findall(summary)}
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    return Run(seconds, proc.returncode, counts, slowest, tail)


def run() -> Section:
    section = Section("tests", f"The project's own tests (pytest -n {WORKERS})")
    result = run_tests()
    passed = result.returncode == 0
    section.tables.append(Table(
        " ".join(command()[1:]) + f" in {ROOT.name}/",
        ("wall s", "exit", *sorted(result.counts)),
        ((f"{result.seconds:.1f}", str(result.returncode),
          *(str(result.counts[k]) for k in sorted(result.counts))),),
    ))
    section.tables.append(Table(
        f"The {SLOWEST} slowest phases (pytest --durations, one worker's time each)",
        ("s", "phase", "test"),
        tuple((f"{s:.2f}", phase, test) for s, phase, test in result.slowest),
    ))
    section.targets.append(Target(
        f"project tests, -n {WORKERS}, wall time", result.seconds if passed else None,
        WALL_LIMIT_S, "s", "max", missing=f"the tests did not pass (exit "
                                           f"{result.returncode})"))
    if not passed:
        section.notes.append("the run did not pass; its last lines:\n" + result.tail)
    section.data = {
        "command": command(), "seconds": result.seconds, "returncode": result.returncode,
        "counts": result.counts,
        "slowest": [{"seconds": s, "phase": p, "test": t} for s, p, t in result.slowest],
    }
    return section
