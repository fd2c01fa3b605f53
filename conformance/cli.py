"""``conformance``: the command line of spec authors and vendors.

=====================  ===========================================================
``list [--area A]``    every invariant: id, level, area, title
``show ID``            one invariant: statement, source passage, how it is
                       observed, its check and machine, its known-bad orchestrators
``new ID --area A``    scaffold a new invariant: its catalogue entry, a check that
                       fails until written, a known-bad and a test stub
``replay FILE``        run a stored counterexample with this interpreter and the
                       import path of the run that stored it
``report PATH``        render a ``report.json`` as Markdown or HTML
``freeze NAME``        freeze the catalogue as revision NAME
                       (``specs/revisions/NAME.toml``)
=====================  ===========================================================

Exit status: 0 when the command did what it says (``replay``: the failure no longer
reproduces); 1 when it could not, or found what it looks for (``show``/``new``: an
unknown or an existing id, a passage not in its seed; ``replay``: the counterexample
still fails); 2 for a bad command line; 3 when a replay crashed with an error that is
not the invariant's violation (the adapter could not be loaded, say).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Exit statuses (module docstring).
OK, FOUND, USAGE, CRASHED = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from conformance.errors import CatalogueError

    try:
        status: int = args.run(args)
    except (_Refused, CatalogueError) as refused:
        # CatalogueError: the catalogue itself is broken (a spec file, an installed pack).
        print(f"conformance {args.command}: {refused}", file=sys.stderr)
        return FOUND
    return status


class _Refused(Exception):
    """What the command was asked cannot be done; the message says why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance", description="The invariant catalogue of the orchestrator "
        "conformance suite, its scaffolding, its counterexamples and its reports.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="list the invariants")
    listing.add_argument("--area", help="only this area (observability, isolation, ...)")
    listing.add_argument("--revision", help="only the invariants of this frozen revision")
    listing.set_defaults(run=_list)
    show = commands.add_parser("show", help="everything about one invariant")
    show.add_argument("id")
    show.set_defaults(run=_show)
    new = commands.add_parser("new", help="scaffold a new invariant (in a source checkout)")
    new.add_argument("id", help="the new id, as AREA-NNN (OBS-006)")
    new.add_argument("--area", required=True)
    new.add_argument("--title", default=None, help="one line; a TODO if not given")
    new.add_argument("--level", choices=("MUST", "SHOULD"), default="MUST")
    new.add_argument("--seed", default=None,
                     help="the seed document's file name (its number prefix is enough)")
    new.add_argument("--passage", default=None, help="the verbatim passage it derives from")
    new.add_argument("--machine", default=None,
                     help="the state machine class of the area its check runs on")
    new.add_argument("--root", type=Path, default=None,
                     help="the checkout (default: the one this package is installed from)")
    new.set_defaults(run=_new)
    replay = commands.add_parser("replay", help="run a stored counterexample")
    replay.add_argument("file", type=Path)
    replay.set_defaults(run=_replay)
    report = commands.add_parser("report", help="render a report.json")
    report.add_argument("path", type=Path, help="report.json, or the directory holding it")
    report.add_argument("--format", choices=("markdown", "html"), default="markdown")
    report.add_argument("-o", "--output", type=Path, default=None,
                        help="write here instead of standard output")
    report.set_defaults(run=_report)
    freeze = commands.add_parser("freeze", help="freeze the catalogue as a named revision")
    freeze.add_argument("name")
    freeze.add_argument("--root", type=Path, default=None,
                        help="the checkout (default: the one this package is installed from)")
    freeze.set_defaults(run=_freeze)
    return parser


# -- list and show ---------------------------------------------------------------------


def _catalogue() -> Any:
    from conformance.catalogue import load_catalogue

    return load_catalogue()


def _area(value: str) -> Any:
    from conformance import packs
    from conformance.errors import CatalogueError

    try:
        return packs.area(value)
    except CatalogueError as error:
        raise _Refused(str(error)) from None


def _list(args: argparse.Namespace) -> int:
    catalogue = _catalogue()
    if args.revision is not None:
        from conformance.errors import CatalogueError
        from conformance.revisions import load_revision

        try:
            catalogue = load_revision(args.revision).restrict(catalogue)
        except CatalogueError as error:
            raise _Refused(str(error)) from None
    invariants = list(catalogue) if args.area is None else catalogue.in_area(_area(args.area))
    for inv in invariants:
        print(f"{inv.id}  {inv.level.value:<6}  {inv.area.value:<13}  {inv.title}")
    return OK


def _show(args: argparse.Namespace) -> int:
    from conformance.errors import CatalogueError
    from conformance.registry import all_checks

    catalogue = _catalogue()  # a broken catalogue is its own error, not "no such id"
    try:
        inv = catalogue.get(args.id)
    except CatalogueError:
        raise _Refused(f"no invariant {args.id!r} in the catalogue "
                       "(`conformance list` names them)") from None
    check = all_checks().get(inv.id)
    lines = [f"{inv.id} ({inv.level.value}, {inv.area.value}): {inv.title}", "",
             inv.statement.strip(), "",
             f"source: {inv.source.seed}", f"  \"{inv.source.passage}\""]
    if inv.observed is not None:
        lines += ["", "observed:", f"  in-process: {inv.observed.in_process}",
                  f"  processes:  {inv.observed.processes}"]
        if inv.observed.not_observable_with_processes:
            lines.append("  not observable with processes: "
                         f"{inv.observed.not_observable_with_processes}")
        if inv.observed.not_observable_out_of_process:
            lines.append("  not observable out of process: "
                         f"{inv.observed.not_observable_out_of_process}")
    lines += ["", f"check:   {check.origin if check else '(none registered)'}"]
    if check is not None and check.machine is not None:
        lines.append(f"machine: {check.machine.__module__}.{check.machine.__name__}")
    from conformance.packs import pack_of

    pack = pack_of(inv.id)
    if pack is not None:
        lines += [f"pack:    {pack.package} (entry point {pack.entry_point!r})",
                  f"known-bad: {pack.pack.known_bads[inv.id]}"]
    else:
        bads = _known_bads(inv.id)
        lines.append("known-bad: " + (", ".join(str(p) for p in bads) if bads else
                                      "(none found in this checkout)"))
    print("\n".join(lines))
    return OK


def _checkout() -> Path | None:
    """The source checkout this package runs from (``None`` when installed)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "specs").is_dir() and (root / "conformance").is_dir() else None


def _known_bads(invariant_id: str) -> list[Path]:
    """The known-bad orchestrators of the checkout that declare ``VIOLATES = "ID"``
    (Python modules, and drivers in other languages with it in a comment)."""
    root = _checkout()
    if root is None:
        return []
    pattern = re.compile(rf"^(?://\s*)?VIOLATES\s*=\s*[\"']{re.escape(invariant_id)}[\"']",
                         re.M)
    found = [path for suffix in ("*.py", "*.js") for path in (root / "tests").rglob(suffix)
             if pattern.search(path.read_text(encoding="utf-8", errors="replace"))]
    return sorted(path.relative_to(root) for path in found)


# -- new --------------------------------------------------------------------------------


def _new(args: argparse.Namespace) -> int:
    from conformance.catalogue import ID_PATTERN
    from conformance.contract import Capability
    from conformance.errors import CatalogueError

    root = args.root or _checkout()
    if root is None or not (root / "specs").is_dir():
        raise _Refused("scaffolding needs a source checkout (a directory with specs/, "
                       "conformance/ and tests/); name it with --root")
    invariant_id = args.id
    if not ID_PATTERN.match(invariant_id):
        raise _Refused(f"{invariant_id!r} is not an id of the form AREA-NNN (OBS-006)")
    area = _area(args.area)
    if not isinstance(area, Capability):
        raise _Refused(f"{area.value!r} is an invariant pack's area; a pack's invariants "
                       "are added in the pack (its specs, sources and checks)")
    # The checkout being scaffolded into decides what exists (it may not be the one
    # this package was installed from), and so does every installed pack's prefix.
    from conformance.catalogue import load_catalogue
    from conformance.packs import pack_of

    try:
        existing = load_catalogue(root / "specs").ids()
    except CatalogueError as error:
        raise _Refused(f"{root / 'specs'}: {error}") from None
    if invariant_id in existing:
        raise _Refused(f"{invariant_id} exists already in {root / 'specs'} "
                       f"(`conformance show {invariant_id}`)")
    owner = pack_of(invariant_id)
    if owner is not None:
        raise _Refused(f"the prefix of {invariant_id} is the installed pack "
                       f"{owner.package}'s")
    spec = _area_file(root, area.value)
    package = area.value.replace("-", "_")
    machine = args.machine or _machine_of(root, package)
    seed, passage = _source(root, args.seed, args.passage)
    stem = invariant_id.lower().replace("-", "_")
    written = {
        spec: _toml_entry(invariant_id, args.title, args.level, seed, passage),
        root / "conformance" / "areas" / package / f"checks_{stem}.py":
            _check_module(invariant_id, package, machine, args.title),
        root / "tests" / "known_bad" / f"{stem}_todo.py": _known_bad_module(invariant_id),
        root / "tests" / package / f"test_{stem}.py": _test_module(invariant_id),
    }
    for path in list(written)[1:]:
        if path.exists():
            raise _Refused(f"{path} exists already; not overwriting it")
    for path, text in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path == spec:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text)
        else:
            path.write_text(text, encoding="utf-8")
    init = root / "tests" / package / "__init__.py"
    if not init.exists():
        init.write_text("", encoding="utf-8")
    print(f"scaffolded {invariant_id}:")
    for path in written:
        print(f"  {path.relative_to(root)}")
    print(f"next: write the statement and how it is observed in {spec.relative_to(root)}, "
          "the check (it fails every orchestrator until written), and the known-bad that "
          "breaks exactly this invariant; then add its row to the area's table in "
          f"README.md:\n  | {invariant_id} | {args.title or 'TODO'} | |\n"
          "and run: pytest tests/test_catalogue.py tests/test_known_bad.py "
          f"-k {stem}")
    return OK


def _area_file(root: Path, area: str) -> Path:
    for path in sorted((root / "specs").glob("*.toml")):
        if re.search(rf"^area\s*=\s*\"{re.escape(area)}\"", path.read_text(encoding="utf-8"),
                     re.M):
            return path
    raise _Refused(f"no file of specs/ holds the area {area!r}")


def _machine_of(root: Path, package: str) -> str:
    machine = root / "conformance" / "areas" / package / "machine.py"
    try:
        found = re.search(r"^class (\w+Machine)\(HarnessMachine\)", machine.read_text(
            encoding="utf-8"), re.M)
    except OSError:
        found = None
    if found is None:
        raise _Refused(f"no state machine found in {machine}; name one with --machine")
    return found.group(1)


def _source(root: Path, seed: str | None, passage: str | None) -> tuple[str, str]:
    """The seed's file name and the passage, checked verbatim against the seed when the
    seed documents are found next to the checkout (``../shared/seeds``)."""
    seeds = root.parent / "shared" / "seeds"
    if seed is None:
        return "000_0000000000000000.txt", passage or "TODO: the verbatim passage"
    names = sorted(p.name for p in seeds.glob("*.txt")) if seeds.is_dir() else []
    matches = [n for n in names if n == seed or n.startswith(seed)]
    if names and len(matches) != 1:
        raise _Refused(f"seed {seed!r} names {len(matches)} of the seed documents in {seeds} "
                       f"({', '.join(names)})")
    name = matches[0] if matches else seed
    if passage is not None and names:
        text = " ".join((seeds / name).read_text(encoding="utf-8").split())
        if " ".join(passage.split()) not in text:
            raise _Refused(f"the passage is not a verbatim quote of {name}: {passage!r}")
    return name, passage or "TODO: the verbatim passage"


def _toml_entry(invariant_id: str, title: str | None, level: str, seed: str,
                passage: str) -> str:
    return f"""
[[invariant]]
id = "{invariant_id}"
title = {json.dumps(title or "TODO: one line, what holds")}
level = "{level}"
statement = \"\"\"
TODO: what the orchestrator {level} do, in the words of the seed.
\"\"\"
[invariant.source]
seed = "{seed}"
passage = {json.dumps(passage, ensure_ascii=False)}
[invariant.observed]
in_process = "TODO: what the harness looks at, for an orchestrator called in-process."
processes = "TODO: what it looks at, for one that launches the CLIs as processes."
"""


def _check_module(invariant_id: str, package: str, machine: str, title: str | None) -> str:
    function = "check_" + invariant_id.lower().replace("-", "_")
    return f'''"""{invariant_id}: {title or "TODO"} (scaffolded by ``conformance new``).

A step check runs after every step of ``{machine}``: it reads what the world holds
(``harness``) and raises :class:`~conformance.errors.InvariantViolation` naming the id,
what was expected and what was found. Until it is written it fails every
orchestrator, the reference included, so nothing certifies on an unwritten check.
"""

from __future__ import annotations

from conformance.areas.{package}.machine import {machine}
from conformance.errors import InvariantViolation
from conformance.harness import Harness
from conformance.stateful import step_check


@step_check("{invariant_id}", {machine})
def {function}(harness: Harness) -> None:
    raise InvariantViolation("{invariant_id}", (
        "the check of {invariant_id} is not written yet "
        "(conformance/areas/{package}/checks_{invariant_id.lower().replace("-", "_")}.py)"))
'''


def _known_bad_module(invariant_id: str) -> str:
    name = invariant_id.lower()
    return f'''"""{invariant_id}: TODO say how this orchestrator breaks it, and only it.

The reference orchestrator with one seam overridden (``reference_impl.orchestrator``
names its seams: the ``_on_*`` methods, ``_poll``, ``_locate``, the components). The
suite's tests run it under the ``ci`` profile and expect a violation of exactly
{invariant_id}, and every other invariant of its area to hold.
"""

from __future__ import annotations

from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "{invariant_id}"


class Broken(ReferenceOrchestrator):
    """TODO: override one seam so that {invariant_id} breaks."""


conformance_adapter = adapter_for(Broken, "known-bad-{name}")
'''


def _test_module(invariant_id: str) -> str:
    return f'''"""{invariant_id}: hand-written regressions (the property-based runs are the suite's
own: ``tests/test_known_bad.py`` fails the known-bad and passes the reference)."""

from __future__ import annotations

import pytest


@pytest.mark.skip(reason="TODO: a regression example, once a bug of {invariant_id} was met")
def test_{invariant_id.lower().replace("-", "_")}_regression() -> None:
    raise AssertionError
'''


# -- freeze -----------------------------------------------------------------------------


def _freeze(args: argparse.Namespace) -> int:
    from conformance.errors import CatalogueError
    from conformance.revisions import freeze

    root = args.root or _checkout()
    if root is None:
        raise _Refused("freezing writes specs/revisions/ of a source checkout; name it "
                       "with --root")
    from conformance.catalogue import load_catalogue

    # The checkout's own catalogue: a revision never holds an installed pack's ids.
    try:
        catalogue = load_catalogue(root / "specs")
        path = freeze(args.name, catalogue, root / "specs" / "revisions")
    except CatalogueError as error:
        raise _Refused(str(error)) from None
    print(f"froze {len(catalogue)} invariants as revision {args.name}: {path}")
    return OK


# -- replay -----------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    from conformance.errors import InvariantViolation
    from conformance.replay import origin_of, run_snippet

    path: Path = args.file
    if not path.is_file():
        raise _Refused(f"no counterexample file {path}")
    origin = origin_of(path)
    if origin is not None and str(origin) not in sys.path:
        sys.path.insert(0, str(origin))
    try:
        run_snippet(path)
    except InvariantViolation as violation:
        print(f"reproduced: {violation}", file=sys.stderr)
        return FOUND
    except Exception as error:  # the replay itself broke: say so, distinctly
        print(f"conformance replay: the replay of {path} crashed: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        return CRASHED
    print(f"{path} no longer fails: the bug it recorded is gone")
    return OK


# -- report -----------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from conformance.reporting.report import markdown

    path: Path = args.path / "report.json" if args.path.is_dir() else args.path
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        text = markdown(report) if args.format == "markdown" else _html(report)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise _Refused(f"cannot render {path}: {type(error).__name__}: {error}") from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return OK


def _html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page: the areas' table, then each failure
    with its message and counterexample."""
    e = html.escape
    adapter, run = report["adapter"], report["run"]
    rows = "".join(
        f"<tr><td>{e(a['area'])}</td><td>{a['passed']}</td><td>{a['failed']}</td>"
        f"<td>{a['warnings']}</td><td>{a['expected_failures']}</td>"
        f"<td><b>{e(a['verdict'])}</b></td></tr>" for a in report["areas"])
    failures = []
    for item in report["invariants"]:
        if item["outcome"] not in ("failed", "errored", "unexpected_pass", "expected_failure"):
            continue
        part = [f"<h3>{e(item['id'])} ({e(item['level'])}, {e(item['outcome'])}): "
                f"{e(item['title'])}</h3>"]
        if item.get("message"):
            part.append(f"<pre>{e(item['message'].strip())}</pre>")
        example = item.get("counterexample") or {}
        if example.get("snippet"):
            part.append(f"<p>Shortest failing sequence:</p><pre>{e(example['snippet'])}</pre>")
        if example.get("replay"):
            part.append(f"<p>Replay: <code>{e(example['replay'])}</code></p>")
        failures.append("".join(part))
    title = f"Conformance: {adapter['name']} {adapter['version']}"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            "</head><body>"
            f"<h1>{e(title)}</h1><p>Suite {e(report['suite']['version'])}, catalogue "
            f"<code>{e(report['catalogue']['digest'][:12])}</code>, profile "
            f"<code>{e(run['profile'])}</code>, {run['duration_s']:.1f} s.</p>"
            "<table><tr><th>Area</th><th>Passed</th><th>Failed</th><th>Warnings</th>"
            f"<th>Expected failures</th><th>Verdict</th></tr>{rows}</table>"
            + ("<h2>Failures</h2>" + "".join(failures) if failures else "")
            + "</body></html>\n")


if __name__ == "__main__":
    sys.exit(main())
