"""Invariant packs (:mod:`conformance.packs`): the example pack under
``examples/invariant-pack`` installed with pip into a directory of its own, then run
as a vendor would; and the rules a pack is held to, on packs made up in the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance import packs
from conformance.catalogue import load_catalogue
from conformance.errors import CatalogueError
from conformance.loader import validate
from conformance.packs import Pack

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "invariant-pack"


@pytest.fixture(scope="module")
def installed_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example pack, pip-installed into its own directory (put on ``PYTHONPATH``
    of the runs below, so this interpreter's environment is left as it was)."""
    target = tmp_path_factory.mktemp("pack-site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), str(EXAMPLE)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (target / "audit_pack" / "specs" / "audit-order.toml").is_file()
    return target


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def _suite(site: Path, cwd: Path, orchestrator: str, *args: str
           ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = cwd / "report"
    done = _run(site, cwd, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                f"--orchestrator={orchestrator}", f"--conformance-report={report}",
                "--conformance-failures=none", *args)
    return done, json.loads((report / "report.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_the_pack_runs_as_items_of_its_own_area_reported_and_badged(
        installed_pack: Path, tmp_path: Path) -> None:
    listed = _run(installed_pack, tmp_path, "-m", "conformance", "list", "--area",
                  "audit-order")
    assert listed.stdout.split()[:3] == ["AUD-001", "MUST", "audit-order"], listed.stderr
    shown = _run(installed_pack, tmp_path, "-m", "conformance", "show", "AUD-001")
    assert "pack:    conformance-audit-pack" in shown.stdout, shown.stderr
    assert "known-bad: audit_pack.adapters:backdates_finish" in shown.stdout
    assert "audit-policy.md" in shown.stdout
    done, report = _suite(installed_pack, tmp_path, "audit_pack.adapters:reference",
                          "-m", "audit_order")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed, " in done.stdout and "deselected" in done.stdout
    [aud] = [i for i in report["invariants"] if i["id"] == "AUD-001"]
    assert (aud["area"], aud["outcome"]) == ("audit-order", "passed")
    area = next(a for a in report["areas"] if a["area"] == "audit-order")
    assert (area["claimed"], area["verdict"]) == (True, "certified")
    badge = json.loads((tmp_path / "report" / "badge-audit-order.json").read_text())
    assert "audit-order" in badge["label"]
    assert "audit-order" in (tmp_path / "report" / "summary.md").read_text()
    schema = REPO / "conformance" / "schemas" / "report.schema.json"
    jsonschema.validate(report, json.loads(schema.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_the_packs_known_bad_fails_its_invariant_and_only_it(
        installed_pack: Path, tmp_path: Path) -> None:
    # With the isolation area it shares a machine with: that area still certifies.
    done, report = _suite(installed_pack, tmp_path, "audit_pack.adapters:backdates_finish",
                          "-m", "isolation or audit_order", "-n", "2")
    assert done.returncode == 1, done.stdout[-3000:]
    failed = sorted(i["id"] for i in report["invariants"] if i["outcome"] == "failed")
    assert failed == ["AUD-001"], done.stdout[-3000:]
    verdicts = {a["area"]: a["verdict"] for a in report["areas"]}
    assert verdicts["isolation"] == "certified"
    assert verdicts["audit-order"] == "not certified"
    assert "earlier than line" in done.stdout


@pytest.mark.slow
def test_a_frozen_revision_does_not_take_in_an_installed_pack(
        installed_pack: Path, tmp_path: Path) -> None:
    collected = _run(installed_pack, tmp_path, "-m", "pytest", "-p", "no:cacheprovider",
                     "--orchestrator=audit_pack.adapters:reference", "--collect-only", "-q",
                     "--conformance-revision=2026-12")
    assert collected.returncode == 0, collected.stderr[-3000:]
    assert "AUD-001" not in collected.stdout and "OBS-001" in collected.stdout
    everything = _run(installed_pack, tmp_path, "-m", "pytest", "-p", "no:cacheprovider",
                      "--orchestrator=audit_pack.adapters:reference", "--collect-only", "-q")
    assert "AUD-001" in everything.stdout


# -- the rules, on packs made up here ------------------------------------------------


@dataclass
class _Dist:
    name: str


@dataclass
class _EntryPoint:
    """What :func:`conformance.packs.installed` reads of an entry point."""

    name: str
    pack: Any
    dist: _Dist

    @property
    def value(self) -> str:
        return f"{self.dist.name.replace('-', '_')}:conformance_pack"

    def load(self) -> Any:
        return self.pack


POLICY = "Every agent is named in the log before it does anything."
SPEC = '''area = "{area}"

[[invariant]]
id = "{id}"
title = "Named first"
level = "SHOULD"
statement = "Every agent is named before it acts."

[invariant.source]
seed = "policy.txt"
passage = "{passage}"
'''


def _pack(root: Path, prefix: str = "NAM", area: str = "naming", invariant_id: str = "",
          passage: str = POLICY, known_bads: dict[str, str] | None = None) -> Pack:
    invariant_id = invariant_id or f"{prefix}-001"
    (root / "specs").mkdir(parents=True)
    (root / "sources").mkdir()
    (root / "sources" / "policy.txt").write_text(f"Our rule.\n{POLICY}\n")
    (root / "specs" / f"{area}.toml").write_text(
        SPEC.format(area=area, id=invariant_id, passage=passage))
    return Pack(prefix=prefix, specs=root / "specs", sources=root / "sources", checks=(),
                known_bads={invariant_id: "somewhere:bad"} if known_bads is None
                else known_bads)


@pytest.fixture
def fake_packs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_EntryPoint]]:
    """Entry points the tests fill in, seen in place of the installed ones."""
    found: list[_EntryPoint] = []
    monkeypatch.setattr(packs, "_entry_points", lambda: found)
    packs.reset()
    yield found
    packs.reset()


def test_a_pack_adds_its_area_and_invariants(fake_packs: list[_EntryPoint],
                                             tmp_path: Path) -> None:
    fake_packs.append(_EntryPoint("naming", _pack(tmp_path), _Dist("naming-pack")))
    catalogue = load_catalogue()
    assert catalogue.get("NAM-001").area == "naming"
    assert catalogue.areas()[-1] == "naming" and catalogue.areas()[0] == "observability"
    assert packs.pack_of("NAM-001") is not None and packs.pack_of("OBS-001") is None

    class Claims:
        name, version = "claims", "1"
        capabilities = frozenset({"naming", "trace"})

        def start(self, world: Any) -> Any:
            raise NotImplementedError

    assert validate("claims", Claims()).claims(packs.area("naming"))


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: [("a-pack", _pack(root, prefix="OBS"))],
     "invariant packs orchestrator-conformance and a-pack both use the id prefix 'OBS'"),
    (lambda root: [("a-pack", _pack(root / "a")), ("b-pack", _pack(root / "b"))],
     "invariant packs a-pack and b-pack both use the id prefix 'NAM'"),
    (lambda root: [("a-pack", _pack(root / "a")),
                   ("b-pack", _pack(root / "b", prefix="OTH"))],
     "b-pack: naming.toml: area 'naming' is a-pack's"),
    (lambda root: [("a-pack", _pack(root, area="isolation"))],
     "area 'isolation' is orchestrator-conformance's"),
    (lambda root: [("a-pack", _pack(root, invariant_id="OTH-001"))],
     "OTH-001 does not carry the pack's prefix 'NAM'"),
    (lambda root: [("a-pack", _pack(root, passage="Words the policy never said."))],
     "NAM-001's passage is not a verbatim quote of policy.txt"),
    (lambda root: [("a-pack", _pack(root, known_bads={}))],
     "needs exactly one known-bad orchestrator in known_bads; none for NAM-001"),
    (lambda root: [("a-pack", "not a pack")], "expected a conformance.packs.Pack"),
])
def test_a_pack_that_breaks_a_rule_is_refused_naming_its_package(
        fake_packs: list[_EntryPoint], tmp_path: Path, make: Any, message: str) -> None:
    for package, pack in make(tmp_path):
        fake_packs.append(_EntryPoint(package, pack, _Dist(package)))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue()
    assert message in str(caught.value)


def test_claiming_an_area_no_installed_pack_declares_is_an_adapter_error(
        fake_packs: list[_EntryPoint]) -> None:
    from conformance.errors import AdapterError

    class Claims:
        name, version = "claims", "1"
        capabilities = frozenset({"naming"})

        def start(self, world: Any) -> Any:
            raise NotImplementedError

    with pytest.raises(AdapterError, match=r"unknown capability 'naming'.*once its pack is"):
        validate("claims", Claims())


def test_a_frozen_revision_and_its_freezing_leave_installed_packs_out(
        fake_packs: list[_EntryPoint], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from conformance.catalogue import builtin_catalogue
    from conformance.cli import OK, main
    from conformance.registry import verify

    broken = _pack(tmp_path / "pack")
    fake_packs.append(_EntryPoint("naming", Pack(
        prefix=broken.prefix, specs=broken.specs, sources=broken.sources,
        checks=("no_such_module_of_a_pack",), known_bads=broken.known_bads),
        _Dist("naming-pack")))
    with pytest.raises(CatalogueError, match="naming-pack: its check module"):
        verify(load_catalogue())
    # What a run against a revision loads: the built-in checks, no pack module.
    assert "NAM-001" not in verify(builtin_catalogue(), packs=False)
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "specs", root / "specs",
                    ignore=shutil.ignore_patterns("revisions"))
    assert main(["freeze", "test-1", "--root", str(root)]) == OK, capsys.readouterr().err
    frozen = (root / "specs" / "revisions" / "test-1.toml").read_text(encoding="utf-8")
    assert '"OBS-001"' in frozen and "NAM-001" not in frozen


def test_the_command_line_reports_a_broken_pack_instead_of_hiding_it(
        fake_packs: list[_EntryPoint], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import FOUND, main

    fake_packs.append(_EntryPoint("iso", _pack(tmp_path, prefix="ISO"), _Dist("iso-pack")))
    assert main(["show", "OBS-001"]) == FOUND
    assert "both use the id prefix 'ISO'" in capsys.readouterr().err
    assert main(["list"]) == FOUND


@pytest.mark.parametrize("area", ["skip", "xfail", "usefixtures", "slow"])
def test_a_pack_area_may_not_be_a_marker_pytest_gives_a_meaning(
        fake_packs: list[_EntryPoint], tmp_path: Path, area: str) -> None:
    fake_packs.append(_EntryPoint("p", _pack(tmp_path, area=area), _Dist("p-pack")))
    with pytest.raises(CatalogueError, match=f"area '{area}' would be the pytest marker"):
        load_catalogue()
