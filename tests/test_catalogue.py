"""The invariant catalogue: the real one is sound and traceable to its seeds, and a
malformed one is refused with a message naming the problem.

A typo in a spec must never silently drop a requirement, and an invariant must never
run without a check (nor a check without an invariant).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.catalogue import (
    ID_PATTERN,
    Catalogue,
    Invariant,
    Level,
    builtin_catalogue,
    load_catalogue,
    specs_dir,
)
from conformance.contract import Capability
from conformance.errors import CatalogueError
from conformance.registry import verify

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"

CATALOGUE = builtin_catalogue()


def normalised(text: str) -> str:
    return " ".join(text.split())


# -- the real catalogue ---------------------------------------------------------------


def test_the_catalogue_loads_with_unique_sorted_ids() -> None:
    ids = CATALOGUE.ids()
    assert ids, "the catalogue is empty"
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)
    assert all(ID_PATTERN.match(i) for i in ids)
    assert re.fullmatch(r"[0-9a-f]{64}", CATALOGUE.digest)
    assert load_catalogue(specs_dir()).digest == CATALOGUE.digest  # read afresh


def test_each_area_has_its_own_id_prefix() -> None:
    prefixes: dict[str, set[Capability]] = {}
    for invariant in CATALOGUE:
        prefixes.setdefault(invariant.id.split("-")[0], set()).add(invariant.area)
    assert all(len(areas) == 1 for areas in prefixes.values()), prefixes


@pytest.mark.parametrize("invariant", list(CATALOGUE), ids=CATALOGUE.ids())
def test_passage_is_verbatim_in_its_seed(invariant: Invariant) -> None:
    if not SEEDS.is_dir():
        pytest.fail(f"the seed documents are missing: expected them in {SEEDS} (CI provides "
                    "them next to the repository, as shared/seeds/)")
    seed = SEEDS / invariant.source.seed
    assert seed.is_file(), f"{invariant.id} cites {invariant.source.seed}, not found in {SEEDS}"
    text = normalised(seed.read_text(encoding="utf-8"))
    assert normalised(invariant.source.passage) in text, (
        f"{invariant.id}: its source passage is not a verbatim quote of "
        f"{invariant.source.seed}: {invariant.source.passage!r}")


def test_every_invariant_has_a_check_and_every_check_an_invariant() -> None:
    checks = verify(CATALOGUE)
    assert set(checks) == set(CATALOGUE.ids())
    assert all(check.invariant_id == i for i, check in checks.items())


def test_every_invariant_says_how_it_is_observed() -> None:
    """specs/ says, for each invariant, how it is seen in-process and for an
    orchestrator that runs processes (issue 11); what cannot be seen with processes
    says why, and is reported not observable."""
    catalogue = builtin_catalogue()
    unsaid = [i.id for i in catalogue if i.observed is None]
    assert not unsaid, f"no [invariant.observed] table: {unsaid}"
    blind = {i.id for i in catalogue
             if i.observed is not None and i.observed.not_observable_with_processes}
    # The process backend certifies all five areas: every invariant is observable
    # through processes.
    assert not blind


def test_lookups() -> None:
    first = CATALOGUE.invariants[0]
    assert CATALOGUE.get(first.id) is first
    assert first.display_name == f"{first.id} {first.title}"
    assert first in CATALOGUE.in_area(first.area)
    with pytest.raises(CatalogueError, match=r"no invariant 'NOPE-001'.*known: "):
        CATALOGUE.get("NOPE-001")
    marker = Invariant("LOG-001", "t", Level.MUST, Capability.CANONICAL_LOG, "s",
                       first.source).marker
    assert marker == "canonical_log"


def test_specs_are_found_in_the_source_tree() -> None:
    assert specs_dir() in (REPO / "specs", REPO / "conformance" / "_specs")


# -- malformed catalogues ---------------------------------------------------------------


VALID = '''
area = "observability"

[[invariant]]
id = "OBS-001"
title = "A title"
level = "MUST"
statement = "A statement."
[invariant.source]
seed = "002_8aeda42f1f59c711.txt"
passage = "a passage"
'''


def spec(**changes: str) -> str:
    """``VALID`` with whole lines replaced: ``spec(level='level = "MAY"')``."""
    text = VALID
    for key, line in changes.items():
        text = re.sub(rf"^{key} = .*$", line, text, count=1, flags=re.MULTILINE)
    return text


MALFORMED = {
    "missing-key": (VALID.replace('title = "A title"\n', ""), ["missing keys ['title']"]),
    "unknown-key": (VALID.replace('level = "MUST"', 'level = "MUST"\nseverity = "high"'),
                    ["unknown keys ['severity']"]),
    "unknown-top-level-key": ('owner = "me"\n' + VALID, ["unknown top-level keys ['owner']"]),
    "duplicate-id": (VALID + VALID.split("\n", 2)[2], ["OBS-001", "defined twice"]),
    "bad-level": (spec(level='level = "MAY"'), ["OBS-001", "MUST or SHOULD", "'MAY'"]),
    "bad-area": (spec(area='area = "telepathy"'), ["'telepathy'", "observability"]),
    "bad-id-pattern": (spec(id='id = "obs-1"'), ["obs-1", "id must look like 'OBS-001'"]),
    "bad-seed-name": (spec(seed='seed = "seed.txt"'), ["OBS-001", "source.seed", "'seed.txt'"]),
    "empty-title": (spec(title='title = "  "'), ["'title' must be a non-empty string"]),
    "extra-source-key": (VALID.replace('passage = "a passage"',
                                       'passage = "a passage"\nurl = "x"'),
                         ["exactly 'seed' and 'passage'"]),
    "observed-without-processes": (VALID + '[invariant.observed]\nin_process = "x"\n',
                                   ["observed must be a table with 'in_process' and "
                                    "'processes'"]),
    "observed-unknown-key": (VALID + '[invariant.observed]\nin_process = "x"\n'
                             'processes = "y"\nhow = "z"\n', ["observed must be a table"]),
    "no-invariants": ('area = "observability"\n', ["at least one [[invariant]]"]),
    "invalid-toml": (VALID.replace('title = "A title"', 'title = "A title'), ["not valid TOML"]),
}


@pytest.mark.parametrize(("text", "expected"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_catalogue_is_refused_naming_the_problem(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    (tmp_path / "observability.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    message = str(caught.value)
    assert message.startswith("observability.toml"), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_the_same_id_in_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.toml").write_text(VALID, encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"b\.toml: invariant id OBS-001 is defined twice"):
        load_catalogue(tmp_path)


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"no \*\.toml spec files"):
        load_catalogue(tmp_path)


def test_a_valid_catalogue_is_normalised(tmp_path: Path) -> None:
    (tmp_path / "observability.toml").write_text(
        spec(statement='statement = """\n  Two\n  lines.\n"""'), encoding="utf-8")
    invariant = load_catalogue(tmp_path).get("OBS-001")
    assert invariant.statement == "Two lines."
    assert invariant.level is Level.MUST and invariant.area is Capability.OBSERVABILITY


# -- the catalogue and the checks must agree ----------------------------------------------


def test_an_invariant_without_a_check_is_refused(tmp_path: Path) -> None:
    real = (specs_dir() / "observability.toml").read_text(encoding="utf-8")
    extra = VALID.split("\n", 2)[2].replace("OBS-001", "OBS-999")
    (tmp_path / "observability.toml").write_text(real + "\n" + extra, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        verify(load_catalogue(tmp_path))
    message = str(caught.value)
    assert "invariants with no registered check: OBS-999" in message
    assert "OBS-001" not in message


def test_a_check_naming_no_invariant_is_refused() -> None:
    without = Catalogue(tuple(i for i in CATALOGUE if i.id != "OBS-005"), "digest")
    with pytest.raises(CatalogueError) as caught:
        verify(without)
    message = str(caught.value)
    assert "checks naming no invariant of the catalogue: " in message
    assert "OBS-005 (conformance.areas.observability.checks." in message
