"""``python -m mutation``: how much of the reference's behaviour the `ci` suite pins down.

Cosmic Ray (https://cosmic-ray.readthedocs.io) mutates the reference orchestrator
one change at a time (an operator flipped, a constant changed, a loop skipped) and
runs, for each mutant, the `ci` conformance suite of the area the mutated code
belongs to (``mutation/areas.toml``). A mutant the suite fails is killed; one it
passes survived: a behaviour of the reference no invariant pins down, or a change
the spec allows (then it is listed, with the reason, in ``mutation/equivalent.toml``).

Why Cosmic Ray: it runs an arbitrary test command per mutant (so each area's own
suite judges its code, with a time-out per mutant), keeps the session in a database
that filters and reports read, and distributes mutants over HTTP workers, each in a
clone of the repository, on this machine or others, which is how a full run spreads
over several machines without a runner of our own. (mutmut picks tests by its own
coverage record and has no multi-machine mode.)

The mutants are those of ``HEAD``: the workers clone the repository. Commit first.

    python -m mutation                       # the deterministic sample, 2 local workers
    python -m mutation --areas trace --sample 20
    python -m mutation --full --worker-url http://host-a:9876 --worker-url http://host-b:9876

Exit status: 0 when every area reaches ``--target`` (90% by default), 1 when one does
not, 2 for a bad command line or a suite that fails the unmutated reference.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

from mutation import filters

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
AREAS = Path(__file__).with_name("areas.toml")
RESULTS = Path(__file__).with_name("results")
#: Mutants per area in the default, sampled run (areas.toml may set its own): it keeps
#: a run of every area within 30 minutes on 2 cores.
SAMPLE = 40
TARGET = 0.90


@dataclass
class Area:
    name: str
    marker: str
    modules: list[str]
    sample: int = SAMPLE

    def test_command(self, python: str) -> str:
        selection = f" -m {self.marker}" if self.marker else ""
        return (f"{python} -m pytest --orchestrator=reference_impl{selection} -x -q "
                "-p no:cacheprovider -p no:xdist --hypothesis-profile=ci "
                "--conformance-failures=none")


@dataclass
class Tally:
    area: str
    generated: int = 0
    by_construction: int = 0
    reviewed: int = 0
    not_sampled: int = 0
    killed: int = 0
    timed_out: int = 0
    survived: int = 0
    incompetent: int = 0
    survivors: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def run(self) -> int:
        return self.killed + self.timed_out + self.survived

    @property
    def score(self) -> float | None:
        return None if not self.run else (self.killed + self.timed_out) / self.run


def load_areas(names: Sequence[str] | None) -> list[Area]:
    data = tomllib.loads(AREAS.read_text(encoding="utf-8"))
    areas = [Area(name, str(spec.get("marker", "")), list(spec["modules"]),
                  int(spec.get("sample", SAMPLE)))
             for name, spec in data["areas"].items()]
    if names:
        unknown = sorted(set(names) - {a.name for a in areas})
        if unknown:
            raise SystemExit(f"unknown area(s) {', '.join(unknown)}; known: "
                             f"{', '.join(a.name for a in areas)}")
        areas = [a for a in areas if a.name in names]
    return areas


def free_ports(count: int) -> list[int]:
    ports = []
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def write_config(path: Path, area: Area, python: str, timeout: float, urls: Sequence[str]) -> None:
    modules = ", ".join(json.dumps(m) for m in area.modules)
    workers = ", ".join(json.dumps(u) for u in urls)
    path.write_text(
        "[cosmic-ray]\n"
        f"module-path = [{modules}]\n"
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(area.test_command(python))}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "http"\n\n'
        "[cosmic-ray.distributor.http]\n"
        f"worker-urls = [{workers}]\n", encoding="utf-8")


def cosmic(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("cosmic-ray")), *args], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)


def baseline(area: Area, python: str) -> float:
    """Seconds the area's suite takes on the unmutated reference (it must pass)."""
    start = time.perf_counter()
    run = subprocess.run(area.test_command(python).split(), cwd=ROOT, capture_output=True,
                         text=True, check=False)
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-2000:])
        raise SystemExit(2)
    return time.perf_counter() - start


def previous_survivors(path: Path) -> set[str]:
    """The site keys of the survivors a report lists."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {filters.Site(s["module"], s["operator"], s["line"], s["column"], s["code"],
                         s["occurrence"]).key
            for area in data["areas"] for s in area["survivors"]}


def mark(session: Path, area: Area, size: int | None, tally: Tally,
         only: set[str] | None = None) -> None:
    """Apply the filters: skip the equivalent and the unsampled, with the reason."""
    known = filters.reviewed()
    skip: dict[str, str] = {}
    candidates: list[tuple[str, filters.Site]] = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = db.work_items
        tally.generated = len(items)
        for item in items:
            spec = item.mutations[0]
            module = str(spec.module_path)
            where = filters.site(ROOT, module, spec.operator_name, spec.start_pos,
                                 spec.occurrence)
            reason = filters.equivalent_by_construction(ROOT, module, spec.start_pos,
                                                        spec.operator_name)
            entry = known.find(where) if reason is None else None
            if reason is not None:
                skip[item.job_id] = f"equivalent by construction: {reason}"
                tally.by_construction += 1
            elif entry is not None:
                skip[item.job_id] = f"reviewed as equivalent: {entry.reason}"
                tally.reviewed += 1
            else:
                candidates.append((item.job_id, where))
        chosen = (filters.sample([w for _, w in candidates], size) if only is None
                  else only)
        for job, where in candidates:
            if where.key not in chosen:
                skip[job] = "not in the sample"
                tally.not_sampled += 1
        for job, reason in skip.items():
            db.set_result(job, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=reason))


def collect(session: Path, tally: Tally) -> None:
    with use_db(str(session), WorkDB.Mode.open) as db:
        completed = db.completed_work_items
    for item, result in completed:
        if result.worker_outcome is WorkerOutcome.SKIPPED:
            continue
        if result.test_outcome is TestOutcome.KILLED and result.output == "timeout":
            tally.timed_out += 1
        elif result.test_outcome is TestOutcome.KILLED:
            tally.killed += 1
        elif result.test_outcome is TestOutcome.SURVIVED:
            tally.survived += 1
            spec = item.mutations[0]
            where = filters.site(ROOT, str(spec.module_path), spec.operator_name,
                                 spec.start_pos, spec.occurrence)
            tally.survivors.append({"module": where.module, "operator": where.operator,
                                    "code": where.code, "column": where.column,
                                    "occurrence": where.occurrence, "line": where.line,
                                    "diff": result.diff})
        else:
            tally.incompetent += 1


@contextlib.contextmanager
def local_workers(config: Path, count: int) -> Iterator[None]:
    """``count`` Cosmic Ray HTTP workers, each in a fresh clone of this repository
    (Cosmic Ray's own ``cr-http-workers``); stopped, clones removed, on exit."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = (config.parent / "workers.log").open("w", encoding="utf-8")
    process = subprocess.Popen([str(bin_dir / "cr-http-workers"), str(config), str(ROOT)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        text = config.read_text(encoding="utf-8")
        ports = [int(u.rsplit(":", 1)[1].strip('"]\n')) for u in
                 text.split("worker-urls = [", 1)[1].split("]", 1)[0].split(",")]
        deadline = time.monotonic() + 120
        for port in ports[:count]:
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the Cosmic Ray workers did not start; see "
                                     f"{config.parent / 'workers.log'}")
                time.sleep(0.2)
        yield
    finally:
        log.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def render(tallies: Sequence[Tally], target: float) -> str:
    head = (f"{'area':<14}{'mutants':>8}{'equiv.':>8}{'unsampled':>10}{'run':>6}{'killed':>8}"
            f"{'timeout':>8}{'survived':>9}{'score':>8}  verdict")
    lines = [head]
    for t in tallies:
        score = t.score
        verdict = "n/a" if score is None else ("PASS" if score >= target else "MISS")
        shown = "-" if score is None else f"{score:.0%}"
        lines.append(f"{t.area:<14}{t.generated:>8}{t.by_construction + t.reviewed:>8}"
                     f"{t.not_sampled:>10}{t.run:>6}{t.killed:>8}{t.timed_out:>8}"
                     f"{t.survived:>9}{shown:>8}  {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--areas", help="comma-separated areas (default: all)")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--sample", type=int, default=None,
                       help=f"mutants per area (default: areas.toml's, else {SAMPLE}; "
                            "deterministic)")
    scope.add_argument("--full", action="store_true", help="every mutant")
    parser.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    parser.add_argument("--worker-url", action="append", default=[],
                        help="a running 'cosmic-ray http-worker' to use instead of local "
                             "ones (repeat for several machines)")
    scope.add_argument("--survivors", type=Path, metavar="REPORT",
                       help="run only the survivors a report (latest.json) lists, as "
                            "they are now (to see whether new checks kill them)")
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    areas = load_areas([a.strip() for a in args.areas.split(",")] if args.areas else None)
    python = sys.executable
    urls = args.worker_url or [f"http://127.0.0.1:{p}" for p in free_ports(args.workers)]
    args.out.mkdir(parents=True, exist_ok=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "reference_impl", "conformance",
                            "specs"], cwd=ROOT, capture_output=True, text=True, check=False)
    if dirty.stdout.strip():
        print("warning: uncommitted changes under reference_impl/, conformance/ or specs/; "
              "the workers test HEAD", file=sys.stderr)
    tallies: list[Tally] = []
    sessions: list[tuple[Area, Path, Path, Tally]] = []
    for area in areas:
        tally = Tally(area.name)
        seconds = baseline(area, python)
        config = args.out / f"{area.name}.toml"
        session = args.out / f"{area.name}.sqlite"
        session.unlink(missing_ok=True)
        write_config(config, area, python, max(60.0, 4 * seconds), urls)
        cosmic("init", str(config), str(session))
        only = previous_survivors(args.survivors) if args.survivors else None
        mark(session, area, None if args.full else (args.sample or area.sample), tally, only)
        print(f"{area.name}: {tally.generated} mutants, baseline {seconds:.1f}s", flush=True)
        sessions.append((area, config, session, tally))
    started = time.perf_counter()
    manager = (local_workers(sessions[0][1], len(urls)) if not args.worker_url
               else contextlib.nullcontext())
    with manager:
        for area, config, session, tally in sessions:
            begin = time.perf_counter()
            cosmic("exec", str(config), str(session))
            tally.seconds = time.perf_counter() - begin
            collect(session, tally)
            tallies.append(tally)
            print(f"{area.name}: {tally.run} run in {tally.seconds:.0f}s, score "
                  f"{'-' if tally.score is None else f'{tally.score:.0%}'}", flush=True)
    table = render(tallies, args.target)
    print("\n" + table)
    for tally in tallies:
        for survivor in tally.survivors:
            print(f"\nsurvived ({tally.area}) {survivor['module']}:{survivor['line']} "
                  f"{survivor['operator']}\n{survivor['diff']}\n"
                  "# if the spec allows it, for mutation/equivalent.toml:\n"
                  "[[equivalent]]\n"
                  f"module = {json.dumps(survivor['module'])}\n"
                  f"operators = [{json.dumps(survivor['operator'])}]\n"
                  f"code = {json.dumps(survivor['code'], ensure_ascii=False)}\n"
                  'reason = """\n"""')
    report = args.out / ("survivors.json" if args.survivors else "latest.json")
    report.write_text(json.dumps({
        "sample": None if args.full else (args.sample or {a.name: a.sample for a in areas}),
        "target": args.target,
        "seconds": round(time.perf_counter() - started, 1), "workers": len(urls),
        "areas": [{**{k: v for k, v in t.__dict__.items()}, "score": t.score} for t in tallies],
    }, indent=2) + "\n", encoding="utf-8")
    if not args.survivors:
        (args.out / "latest.md").write_text(f"```text\n{table}\n```\n", encoding="utf-8")
    missed = [t for t in tallies if t.score is not None and t.score < args.target]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
