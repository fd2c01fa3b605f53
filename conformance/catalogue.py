"""The invariant catalogue: ``specs/*.toml`` loaded, validated and digested.

Each TOML file holds the invariants of one area. The catalogue is strict: an unknown
key, a missing field, a duplicated id or an area that is not a capability is a
:class:`~conformance.errors.CatalogueError` naming the file and the invariant, so a
spec author's typo never silently drops a requirement.

The specs ship inside the installed package (as ``conformance/_specs``); in a source
checkout they are read from the top-level ``specs/`` directory. Installed invariant
packs (:mod:`conformance.packs`) add theirs: :func:`load_catalogue` without a directory
is the built-in catalogue and every pack's.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.contract import Area, Capability
from conformance.errors import CatalogueError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ID_PATTERN = re.compile(r"^[A-Z]{2,6}-\d{3}$")
SEED_PATTERN = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
_INVARIANT_KEYS = {"id", "title", "level", "statement", "source"}
_OPTIONAL_KEYS = {"observed"}
_SOURCE_KEYS = {"seed", "passage"}
_OBSERVED_KEYS = {"in_process", "processes"}
_OBSERVED_OPTIONAL = {"not_observable_with_processes", "not_observable_out_of_process"}


class Level(str, enum.Enum):
    """RFC 2119 level: a MUST failure denies certification, a SHOULD failure warns."""

    MUST = "MUST"
    SHOULD = "SHOULD"


@dataclass(frozen=True)
class Source:
    """The seed document and the passage an invariant derives from."""

    seed: str
    passage: str


@dataclass(frozen=True)
class Observed:
    """How the harness sees an invariant kept or broken: for an orchestrator called
    in-process, and for one that launches the CLIs as processes (whose calls the
    harness cannot see, only their effects: reads below the homes, signals, files).

    ``not_observable_with_processes`` says why a process orchestrator cannot be judged
    on it (yet): its item is then reported *not observable*, never passed.
    ``not_observable_out_of_process`` says the same of an orchestrator that runs in
    another process than the harness (behind a driver), where the faults the check
    needs cannot reach it (:func:`conformance.faults.reach`)."""

    in_process: str
    processes: str
    not_observable_with_processes: str | None = None
    not_observable_out_of_process: str | None = None


@dataclass(frozen=True)
class Invariant:
    """One executable requirement."""

    id: str
    title: str
    level: Level
    #: A built-in :class:`Capability`, or a :class:`~conformance.contract.PackArea`.
    area: Area
    statement: str
    source: Source
    #: How it is observed (``[invariant.observed]``); ``None`` where the TOML says not.
    observed: Observed | None = None

    @property
    def marker(self) -> str:
        """The pytest marker of its area (``canonical-log`` becomes ``canonical_log``)."""
        return self.area.value.replace("-", "_")

    @property
    def display_name(self) -> str:
        return f"{self.id} {self.title}"


@dataclass(frozen=True)
class Catalogue:
    """Every invariant, in id order, with a digest of the spec files (or, for a frozen
    revision of it, the revision's digest and name: :mod:`conformance.revisions`)."""

    invariants: tuple[Invariant, ...]
    digest: str
    revision: str | None = None

    def __iter__(self) -> Iterator[Invariant]:
        return iter(self.invariants)

    def __len__(self) -> int:
        return len(self.invariants)

    def get(self, invariant_id: str) -> Invariant:
        for invariant in self.invariants:
            if invariant.id == invariant_id:
                return invariant
        known = ", ".join(i.id for i in self.invariants)
        raise CatalogueError(f"no invariant {invariant_id!r} in the catalogue (known: {known})")

    def ids(self) -> list[str]:
        return [i.id for i in self.invariants]

    def in_area(self, area: Area | str) -> list[Invariant]:
        return [i for i in self.invariants if i.area == area]

    def areas(self) -> list[Area]:
        """The areas that hold invariants: the built-in ones in :class:`Capability`
        order, then those of packs by name (the order of reports and summaries)."""
        present = {i.area for i in self.invariants}
        builtin = [c for c in Capability if c in present]
        return builtin + sorted((a for a in present if not isinstance(a, Capability)),
                                key=str)


def specs_dir() -> Path:
    """Where the spec files are: inside the installed package, else the source tree."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_specs", package.parent / "specs"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    raise CatalogueError(
        f"no spec catalogue found: expected *.toml in {package / '_specs'} (installed) "
        f"or {package.parent / 'specs'} (source checkout)"
    )


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Load and validate every ``*.toml`` under ``directory``; without one, the
    built-in catalogue (:func:`specs_dir`) and every installed pack's invariants."""
    if directory is None:
        from conformance import packs

        return packs.with_packs(builtin_catalogue(), packs.installed())
    return read_specs(directory)


@functools.cache
def builtin_catalogue() -> Catalogue:
    """This package's own catalogue, without any installed pack's invariants: what a
    frozen revision is made of and checked against, and what packs are checked
    against. Read once per process (the specs ship with the package)."""
    return read_specs(specs_dir())


#: Resolves the ``area`` of a spec file, or raises :class:`CatalogueError`.
AreaResolver = Callable[[str, object], Area]


def builtin_area(name: str, area_name: object) -> Area:
    """The built-in capability ``area_name`` names (file ``name``, for the error)."""
    try:
        return Capability(area_name)
    except ValueError:
        valid = ", ".join(c.value for c in Capability)
        raise CatalogueError(f"{name}: area {area_name!r} is not one of: {valid}") from None


def read_specs(
    directory: Path, area_of: AreaResolver = builtin_area, seed_pattern: re.Pattern[str] =
    SEED_PATTERN,
) -> Catalogue:
    """Every ``*.toml`` under ``directory``, validated, with their digest: areas
    resolved by ``area_of`` and sources named as ``seed_pattern`` says."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogueError(f"no *.toml spec files in {directory}")
    digest = hashlib.sha256()
    invariants: dict[str, Invariant] = {}
    for path in files:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        try:
            document = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise CatalogueError(f"{path.name}: not valid TOML: {error}") from error
        for invariant in _parse_file(path.name, document, area_of, seed_pattern):
            if invariant.id in invariants:
                raise CatalogueError(f"{path.name}: invariant id {invariant.id} is defined twice")
            invariants[invariant.id] = invariant
    ordered = tuple(sorted(invariants.values(), key=lambda i: i.id))
    return Catalogue(ordered, digest.hexdigest())


def _parse_file(
    name: str, document: Mapping[str, Any], area_of: AreaResolver,
    seed_pattern: re.Pattern[str],
) -> Iterator[Invariant]:
    unknown = set(document) - {"area", "invariant"}
    if unknown:
        raise CatalogueError(f"{name}: unknown top-level keys {sorted(unknown)}; "
                             "expected 'area' and [[invariant]] tables")
    area = area_of(name, document.get("area"))
    entries = document.get("invariant")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{name}: expected at least one [[invariant]] table")
    for position, entry in enumerate(entries, 1):
        yield _parse_invariant(f"{name} invariant #{position}", area, entry, seed_pattern)


def _parse_invariant(
    where: str, area: Area, entry: Any, seed_pattern: re.Pattern[str]
) -> Invariant:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: expected a table, found {type(entry).__name__}")
    missing = _INVARIANT_KEYS - set(entry)
    unknown = set(entry) - _INVARIANT_KEYS - _OPTIONAL_KEYS
    if missing or unknown:
        raise CatalogueError(f"{where}: missing keys {sorted(missing)}, "
                             f"unknown keys {sorted(unknown)}")
    invariant_id = _text(where, entry, "id")
    where = f"{where} ({invariant_id})"
    if not ID_PATTERN.match(invariant_id):
        raise CatalogueError(f"{where}: id must look like 'OBS-001' (letters, dash, 3 digits)")
    level_name = _text(where, entry, "level")
    try:
        level = Level(level_name)
    except ValueError:
        raise CatalogueError(f"{where}: level must be MUST or SHOULD, found {level_name!r}") \
            from None
    source = entry["source"]
    if not isinstance(source, dict) or set(source) != _SOURCE_KEYS:
        raise CatalogueError(f"{where}: source must be a table with exactly 'seed' and "
                             f"'passage', found {source!r}")
    seed = _text(where, source, "seed")
    if not seed_pattern.match(seed):
        example = ("a seed file like '002_8aeda42f1f59c711.txt'" if seed_pattern is SEED_PATTERN
                   else "a file of the pack's sources directory")
        raise CatalogueError(f"{where}: source.seed must name {example}, found {seed!r}")
    return Invariant(
        id=invariant_id,
        title=_text(where, entry, "title"),
        level=level,
        area=area,
        statement=" ".join(_text(where, entry, "statement").split()),
        source=Source(seed, _text(where, source, "passage").strip()),
        observed=_parse_observed(where, entry.get("observed")),
    )


def _parse_observed(where: str, table: Any) -> Observed | None:
    if table is None:
        return None
    keys = set(table) if isinstance(table, dict) else set()
    if not isinstance(table, dict) or not keys >= _OBSERVED_KEYS \
            or keys - _OBSERVED_KEYS - _OBSERVED_OPTIONAL:
        raise CatalogueError(f"{where}: observed must be a table with 'in_process' and "
                             "'processes' (and optionally 'not_observable_with_processes' "
                             f"and 'not_observable_out_of_process'), found {table!r}")

    def optional(key: str) -> str | None:
        return None if table.get(key) is None else " ".join(_text(where, table, key).split())

    return Observed(
        in_process=" ".join(_text(where, table, "in_process").split()),
        processes=" ".join(_text(where, table, "processes").split()),
        not_observable_with_processes=optional("not_observable_with_processes"),
        not_observable_out_of_process=optional("not_observable_out_of_process"))


def _text(where: str, table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key!r} must be a non-empty string, found {value!r}")
    return value
