"""Frozen revisions of the catalogue (:mod:`conformance.revisions`): every revision of
``specs/revisions/`` still holds, a changed statement breaks one, and a report for a
revision is byte-for-byte the same before and after an invariant is added."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest

from conformance.catalogue import Catalogue, builtin_catalogue
from conformance.errors import CatalogueError
from conformance.registry import _REGISTRY, Check
from conformance.revisions import freeze, load_revision, revisions_dir

QUIET = ("-p", "no:cacheprovider", "--hypothesis-profile=ci")
FROZEN = sorted(revisions_dir().glob("*.toml"))


@pytest.fixture(autouse=True)
def keep_hypothesis_profile() -> Iterator[None]:
    name = hypothesis.settings.get_current_profile_name()
    yield
    hypothesis.settings.load_profile(name)


@pytest.mark.parametrize("path", FROZEN, ids=[p.stem for p in FROZEN])
def test_every_frozen_revision_still_holds(path: Path) -> None:
    """A statement edited under a frozen revision fails here: add an invariant, or
    freeze a new revision, instead."""
    revision = load_revision(str(path))
    assert revision.name == path.stem
    revision.check(builtin_catalogue())


def test_a_revision_is_frozen() -> None:
    assert FROZEN, "specs/revisions/ holds no frozen revision"


def test_a_changed_or_removed_statement_breaks_a_revision(tmp_path: Path) -> None:
    catalogue = builtin_catalogue()
    revision = load_revision(str(freeze("now", catalogue, tmp_path)))
    revision.check(catalogue)
    reworded = [dataclasses.replace(i, statement=i.statement + " Also this.")
                if i.id == "ISO-003" else i for i in catalogue if i.id != "OBS-002"]
    with pytest.raises(CatalogueError) as caught:
        revision.check(dataclasses.replace(catalogue, invariants=tuple(reworded)))
    assert "OBS-002 no longer in the catalogue" in str(caught.value)
    assert "ISO-003 changed" in str(caught.value)
    rewrapped = [dataclasses.replace(i, title="new words", statement="\n  ".join(
        i.statement.split())) for i in catalogue]
    revision.check(dataclasses.replace(catalogue, invariants=tuple(rewrapped)))
    with pytest.raises(CatalogueError, match="exists already"):
        freeze("now", catalogue, tmp_path)


@pytest.mark.parametrize("text", ['name = "x"\n', 'name = "x"\n[invariants]\n"A-1" = "y"\n',
                                  "not toml ["])
def test_a_malformed_revision_is_refused(text: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError):
        load_revision(str(path))
    with pytest.raises(CatalogueError, match="no revision 'nope'"):
        load_revision("nope")


def _report(pytester: pytest.Pytester, revision: Path, out: Path) -> dict[str, object]:
    result = pytester.runpytest("--orchestrator=reference_impl", *QUIET, "-k", "OBS-001",
                                f"--conformance-revision={revision}",
                                f"--conformance-report={out}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*conformance: reference_impl *, revision small*"])
    report: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report


def _timeless(path: Path) -> str:
    """A report file with its timestamps and durations taken out."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'"(finished|duration_s)": [^,\n]+', r'"\1": _', text)
    return re.sub(r"\d+\.\d s\.", "_ s.", text)


@pytest.mark.slow
def test_a_revision_report_is_unchanged_by_a_new_invariant(
        pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = builtin_catalogue()
    small = dataclasses.replace(catalogue, invariants=tuple(
        i for i in catalogue if i.id in ("OBS-001", "OBS-002", "ISO-007")))
    revision = freeze("small", small, tmp_path)
    before = _report(pytester, revision, tmp_path / "before")
    assert before["catalogue"] == {"digest": load_revision(str(revision)).digest,
                                   "invariants": 3, "revision": "small"}
    # An invariant is added to the catalogue, with its check.
    added = dataclasses.replace(catalogue.get("OBS-005"), id="OBS-006", title="Added later")
    grown = Catalogue((*catalogue.invariants, added), "f" * 64)
    monkeypatch.setattr("conformance.plugin.builtin_catalogue", lambda: grown)
    monkeypatch.setitem(_REGISTRY, "OBS-006", dataclasses.replace(
        _REGISTRY["OBS-005"], invariant_id="OBS-006"))
    assert isinstance(_REGISTRY["OBS-006"], Check)
    _report(pytester, revision, tmp_path / "after")
    for name in ("report.json", "summary.md", "badge-observability.json",
                 "badge-isolation.json"):
        assert _timeless(tmp_path / "before" / name) == _timeless(tmp_path / "after" / name)
    badge = json.loads((tmp_path / "after" / "badge-isolation.json").read_text())
    assert badge["label"] == "conformance small: isolation"
