"""``python -m benchmarks [--only NAME[,NAME]] [--thorough] [--json PATH]``.

Runs the selected sections in order, prints a table per section and a summary of
every target, and writes everything (raw figures included) as JSON.

Each section runs in a fresh (spawned) process. Sections must not see each other's
leftovers: imports, caches and lazily built validators of one section changed what
another measured (a known-bad that a fresh process catches went uncaught after the
canonical-log sections had run in the same process), and a certification run is a
fresh process too. The exit status
is 0 whatever the figures: a benchmark reports, it does not gate. It is 2 only for a
bad command line and 1 if a section crashed, since then the report is incomplete.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.measure import load_average, machine
from benchmarks.report import Section, render_section, render_summary
from benchmarks.sections import run_section, sections

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def _load_text(load: tuple[float, float, float] | None) -> str:
    if load is None:
        return "load average unknown"
    return "load average " + " ".join(f"{x:.2f}" for x in load) + " (1/5/15 min)"


def run_isolated(name: str, thorough: bool) -> Section:
    """Run one section in a fresh spawned process and return what it found."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_section, name, thorough).result()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = ", ".join(sections(False))
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure the suite and reference_impl on this machine against the "
                    "project's performance targets (issues 6 and 14).")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help=f"run only these sections (of: {names})")
    parser.add_argument("--thorough", action="store_true",
                        help="also certify under the thorough profile (takes long)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help="where to write the results (default: "
                             "benchmarks/results/latest.json)")
    args = parser.parse_args(argv)
    if args.only:
        wanted = [n.strip().replace("_", "-") for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in sections(False)]
        if unknown or not wanted:
            parser.error(f"unknown section(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from: {names}")
        args.only = wanted
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    available = sections(args.thorough)
    chosen = args.only or list(available)
    started = _dt.datetime.now(_dt.timezone.utc)
    info = machine()
    print(f"benchmarks on {info['cpus']} CPU(s), Python {info['python']}, "
          f"hypothesis {info['hypothesis']}, {info['platform']}; "
          f"{_load_text(info['load_average'])}", flush=True)
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set, so every process started below "
              "compiles the package again (collection 4.4 s instead of 1.5 s on the "
              "2-core machine); unset it for figures of a usual installation",
              flush=True)

    results: list[Section] = []
    crashed: dict[str, str] = {}
    for name in chosen:
        print(f"\nrunning {name}...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            section = run_isolated(name, args.thorough)
        except Exception:
            crashed[name] = traceback.format_exc()
            print(f"\n== {name} CRASHED ==\n{crashed[name]}", flush=True)
            continue
        section.seconds = time.perf_counter() - start
        results.append(section)
        print("\n" + render_section(section), flush=True)

    print("\n" + render_summary(results))
    end_load = load_average()
    print(f"\n{_load_text(end_load)} at the end (on {info['cpus']} CPU(s): figures taken "
          "while other work ran are slower than the machine can do)")
    report = {
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "load_average_at_end": end_load,
        "thorough": args.thorough,
        "sections": {s.name: s.to_json() for s in results},
        "crashed": crashed,
        "targets_met": sum(t.passed for s in results for t in s.targets),
        "targets": sum(len(s.targets) for s in results),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {args.json}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
