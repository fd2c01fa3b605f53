"""Certification wall time of ``reference_impl`` per Hypothesis profile, 1 vs 2 workers.

Each run is the command a vendor's CI runs, as a subprocess started in an empty
temporary directory (so only the suite is collected, never this repository's own
tests), timed from start to exit with ``time.perf_counter``. Pass/fail counts are
parsed from pytest's summary line, and per-invariant call times from
``--durations=0``, because a 2-worker speedup can only be as good as the slowest
invariant allows: the table shows that bound next to the measured ratio.

Nothing is hard-coded about the catalogue: whatever areas and invariants exist when
it runs are certified, so the figures follow the suite as it grows.

Two probes explain a missed speedup target. ``startup`` is a ``--collect-only`` run
(importing pytest, the plugin, the catalogue and the adapter): the floor of every
run, paid again by each xdist worker. ``cpu scaling`` runs a fixed pure-Python loop
alone and then in two processes at once: on two real, idle cores both take as long
as one alone (2.0 effective cores); on shared or throttled CPUs they take longer.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.report import Section, Table, Target
from conformance.profiles import PROFILES, suite_settings

ORCHESTRATOR = "reference_impl"
#: Issue 14's bounds (issue 6 had set 20 s and 1.6x).
CI_WALL_LIMIT_S = 15.0
SPEEDUP_MIN = 1.7
#: ``--collect-only``: start-up, paid again by every xdist worker (issue 14).
STARTUP_LIMIT_S = 1.0
#: Generous caps so a hung run cannot hang the benchmark; thorough has none.
TIMEOUT_S: dict[str, float | None] = {"dev": 1800.0, "ci": 1800.0, "thorough": None}

_SUMMARY_COUNT = re.compile(
    r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)\b")
_SUMMARY_LINE = re.compile(r"\bin [\d.]+s\b")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s+(call|setup|teardown)\s+(.+?)\s*$")

_CPU_LOOP = (
    "import time\n"
    "t = time.perf_counter()\n"
    "x = 0\n"
    "for i in range(8_000_000):\n"
    "    x += i * i % 7\n"
    "print(time.perf_counter() - t)\n"
)


@dataclass
class Run:
    """One pytest run of the suite."""

    profile: str
    workers: int
    seconds: float
    returncode: int
    counts: dict[str, int] = field(default_factory=dict)
    #: Call time of each invariant item, by pytest node id.
    calls: dict[str, float] = field(default_factory=dict)
    #: The end of the output when pytest printed no summary (a usage error, a crash).
    tail: str = ""

    @property
    def summarized(self) -> bool:
        return bool(self.counts)


def command(profile: str, workers: int, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", f"--orchestrator={ORCHESTRATOR}",
           "-p", "no:cacheprovider", "-q", f"--hypothesis-profile={profile}", *extra]
    if workers > 1:
        cmd += ["-n", str(workers)]
    return cmd


def parse_counts(output: str) -> dict[str, int]:
    """The counts of pytest's final summary line (``3 passed, 1 failed in 2.0s``)."""
    for line in reversed(output.splitlines()):
        if _SUMMARY_LINE.search(line):
            counts: dict[str, int] = {}
            for number, word in _SUMMARY_COUNT.findall(line):
                key = {"error": "errors", "warning": "warnings"}.get(word, word)
                counts[key] = counts.get(key, 0) + int(number)
            if counts or "no tests ran" in line:
                return counts or {"passed": 0}
    return {}


def parse_calls(output: str) -> dict[str, float]:
    """Call seconds per node id from ``--durations=0``."""
    calls: dict[str, float] = {}
    for line in output.splitlines():
        match = _DURATION.match(line)
        if match and match.group(2) == "call":
            calls[match.group(3)] = calls.get(match.group(3), 0.0) + float(match.group(1))
    return calls


def run_suite(profile: str, workers: int, *extra: str) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-certify-") as empty:
        start = time.perf_counter()
        proc = subprocess.run(command(profile, workers, *extra), cwd=empty,
                              capture_output=True, text=True, timeout=TIMEOUT_S.get(profile),
                              check=False)
        seconds = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    run = Run(profile, workers, seconds, proc.returncode, parse_counts(output),
              parse_calls(output))
    if not run.summarized:
        run.tail = "\n".join(output.strip().splitlines()[-8:])
    return run


def makespan(durations: Sequence[float], workers: int) -> float:
    """Longest-processing-time-first schedule length: a fair best case for xdist."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads) if loads else 0.0


def cpu_scaling() -> tuple[float, float]:
    """``(seconds alone, seconds each when two run at once)`` of a fixed CPU loop."""
    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", _CPU_LOOP], stdout=subprocess.PIPE,
                                text=True)

    alone_proc = start()
    alone = float(alone_proc.communicate()[0])
    pair = [start(), start()]
    together = max(float(p.communicate()[0]) for p in pair)
    return alone, together


def profiles_table(profiles: Sequence[str], notes: list[str]) -> Table:
    """What each profile resolves to, next to what ``conformance.profiles`` declares.

    A profile Hypothesis or a plugin registered first under the same name wins (see
    ``register_profiles``), so the declared numbers are not necessarily the ones run.
    """
    rows = []
    for name in profiles:
        resolved = suite_settings(name)
        declared = PROFILES.get(name, {})
        want = (declared.get("max_examples"), declared.get("stateful_step_count"))
        got = (resolved.max_examples, resolved.stateful_step_count)
        rows.append((name, f"{got[0]} x {got[1]}", f"{want[0]} x {want[1]}",
                     str(resolved.derandomize)))
        if want != got:
            notes.append(
                f"profile {name!r} runs {got[0]} examples x {got[1]} steps, but "
                f"conformance.profiles declares {want[0]} x {want[1]}: a profile "
                "registered earlier under that name (Hypothesis registers its own 'ci') "
                "is kept by register_profiles()")
    return Table("Profiles as resolved (examples x steps per example)",
                 ("profile", "resolved", "declared", "derandomize"), tuple(rows))


def _fmt_counts(run: Run, key: str) -> str:
    return str(run.counts.get(key, 0)) if run.summarized else "?"


def run(*, thorough: bool = False) -> Section:
    section = Section("certification", "Certification wall time of reference_impl")
    profiles = ["dev", "ci"] + (["thorough"] if thorough else [])

    # The first run also warms the byte-code caches, so no profile pays for them.
    run_suite("dev", 1, "--collect-only")
    startup = run_suite("dev", 1, "--collect-only")
    alone, together = cpu_scaling()
    effective_cores = 2 * alone / together if together else 0.0

    runs: dict[tuple[str, int], Run] = {}
    for profile in profiles:
        for workers in (1, 2):
            runs[profile, workers] = run_suite(profile, workers, "--durations=0")

    rows: list[tuple[str, ...]] = []
    for (profile, workers), r in runs.items():
        serial = runs[profile, 1]
        speedup = serial.seconds / r.seconds if workers > 1 and r.seconds else None
        items = list(serial.calls.values())
        bound = sum(items) / makespan(items, workers) if workers > 1 and items else None
        slowest = max(r.calls.items(), key=lambda kv: kv[1], default=("-", 0.0))
        rows.append((
            profile,
            "1 (no -n)" if workers == 1 else f"{workers} (-n {workers})",
            f"{r.seconds:.2f}",
            _fmt_counts(r, "passed"), _fmt_counts(r, "failed"),
            _fmt_counts(r, "skipped"), _fmt_counts(r, "errors"),
            f"{sum(r.calls.values()):.2f}",
            f"{slowest[1]:.2f} {slowest[0].split('::')[-1].split(' ')[0]}" if r.calls else "-",
            f"{speedup:.2f}x" if speedup else "-",
            f"{bound:.2f}x" if bound else "-",
        ))
    section.tables.append(Table(
        "Suite runs (wall = subprocess start to exit; items = sum of invariant call times)",
        ("profile", "workers", "wall s", "passed", "failed", "skipped", "errors",
         "items s", "slowest item s", "speedup", "item-balance bound"),
        tuple(rows),
    ))
    section.tables.append(Table(
        "Probes",
        ("probe", "figure"),
        (
            ("startup (--collect-only, 1 process)", f"{startup.seconds:.2f} s"
             + ("" if startup.returncode == 0 else f" (failed, exit {startup.returncode})")),
            ("cpu loop alone", f"{alone:.2f} s"),
            ("cpu loop, two processes at once (slowest)", f"{together:.2f} s"),
            ("effective parallel cores", f"{effective_cores:.2f} of 2"),
        ),
    ))

    section.tables.append(profiles_table(profiles, section.notes))

    section.targets.append(Target(
        "start-up (--collect-only, 1 process)",
        startup.seconds if startup.returncode == 0 else None, STARTUP_LIMIT_S, "s", "max",
        missing=f"collection failed (exit {startup.returncode})"))
    ci1, ci2 = runs.get(("ci", 1)), runs.get(("ci", 2))
    if ci1 is not None and ci2 is not None:
        # A run that did not certify (failures, a usage error) has no wall time worth
        # comparing with the target; a speedup only needs both runs to have completed.
        section.targets.append(Target(
            "ci profile, -n 2, wall time", ci2.seconds if ci2.returncode == 0 else None,
            CI_WALL_LIMIT_S, "s", "max", missing=f"run failed (exit {ci2.returncode})"))
        complete = ci1.summarized and ci2.summarized and ci2.seconds > 0
        section.targets.append(Target(
            "ci profile, speedup of -n 2 over 1 worker",
            ci1.seconds / ci2.seconds if complete else None, SPEEDUP_MIN, "x", "min",
            missing="a run did not complete"))
    for r in runs.values():
        if r.returncode != 0:
            section.notes.append(
                f"{r.profile} with {r.workers} worker(s) exited {r.returncode}: "
                + (", ".join(f"{v} {k}" for k, v in r.counts.items()) or r.tail))
    if not thorough:
        section.notes.append("thorough profile skipped (pass --thorough; it takes long)")
    section.notes.append(
        "speedup = wall(1 worker) / wall(-n 2). item-balance bound = sum of item times / "
        "their best 2-worker schedule: the speedup if startup cost nothing and items did "
        "not slow each other down. Each xdist worker re-pays the startup probe.")

    section.data = {
        "command": " ".join(command("<profile>", 2)),
        "startup_seconds": startup.seconds,
        "cpu_loop_alone_seconds": alone,
        "cpu_loop_pair_seconds": together,
        "effective_cores": effective_cores,
        "runs": [
            {"profile": r.profile, "workers": r.workers, "seconds": r.seconds,
             "returncode": r.returncode, "counts": r.counts, "calls": r.calls,
             **({"tail": r.tail} if r.tail else {})}
            for r in runs.values()
        ],
    }
    return section
