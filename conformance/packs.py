"""Invariant packs: invariants shipped outside this package, as a pip package.

A spec author who cannot (or should not) add to this catalogue ships a pack: spec
files in the format of ``specs/``, the source documents they quote, the checks, and
a known-bad orchestrator per invariant. The package names a :class:`Pack` in the
``conformance.packs`` entry-point group::

    [project.entry-points."conformance.packs"]
    audit = "audit_pack:conformance_pack"

and, once installed, its invariants are items of every run like the built-in ones:
with their own marker (their area), in the report, the summary and the badges, and
claimed by an adapter that names their area in ``capabilities``.

The rules are the built-in catalogue's, enforced when the pack loads (a broken pack
is a :class:`~conformance.errors.CatalogueError` naming its package, never a silently
smaller catalogue):

* every id carries the pack's own prefix (``AUD-001``); a prefix of the built-in
  catalogue or of another installed pack is refused, naming both packages;
* its areas are its own: a built-in area or another pack's is refused likewise;
* every invariant quotes its source verbatim: ``source.seed`` names a file of the
  pack's ``sources`` directory, and ``source.passage`` is in it (whitespace aside);
* every invariant has exactly one check (the modules of ``checks`` register them,
  with :func:`step_check` or :func:`conformance.registry.register`) and a known-bad
  (``known_bads``: id to the adapter that violates exactly it), which
  ``conformance show ID`` names and the pack's own tests run.

A frozen revision of the catalogue (:mod:`conformance.revisions`) names its ids, so
installing a pack never changes what a revision certifies.

What a pack's checks may use: :func:`step_check`, :func:`machine` (the built-in
state machine of an area, whose steps they run after), ``Harness`` (what a step
check reads) and ``InvariantViolation``, all importable from here.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.catalogue import Catalogue, Invariant, read_specs
from conformance.contract import Area, Capability, PackArea
from conformance.errors import CatalogueError, InvariantViolation

if TYPE_CHECKING:
    from conformance.harness import Harness
    from conformance.stateful import HarnessMachine, step_check

ENTRY_POINT_GROUP = "conformance.packs"
#: The package the built-in catalogue ships in, as clash errors name it.
BUILTIN_PACKAGE = "orchestrator-conformance"
PREFIX_PATTERN = re.compile(r"^[A-Z]{2,6}$")
AREA_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
#: Markers pytest gives a meaning of its own (and this project's): an area called
#: ``skip`` would skip every invariant of its pack.
RESERVED_AREAS = frozenset({
    "skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings",
    "tryfirst", "trylast", "no_cover", "slow", "fidelity", "processes", "hypothesis",
    "conformance"})
#: A pack's source documents are files of its own ``sources`` directory.
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Pack:
    """What a pack's entry point names (the object, or a zero-argument factory)."""

    #: The id prefix of every invariant of the pack: ``AUD`` for ``AUD-001``.
    prefix: str
    #: The directory of its ``*.toml`` spec files (the format of ``specs/``).
    specs: Path
    #: The directory of the documents its invariants quote (``source.seed``).
    sources: Path
    #: Modules imported to register the checks (``"audit_pack.checks"``).
    checks: Sequence[str]
    #: Each invariant's known-bad orchestrator: id to an ``--orchestrator`` name.
    known_bads: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedPack:
    """An installed pack, validated: its package and its part of the catalogue."""

    package: str
    entry_point: str
    pack: Pack
    catalogue: Catalogue

    @property
    def areas(self) -> frozenset[Area]:
        return frozenset(i.area for i in self.catalogue)


def _entry_points() -> Iterable[EntryPoint]:
    """The group's entry points (a seam for tests, which install fake packs)."""
    return entry_points(group=ENTRY_POINT_GROUP)


@functools.cache
def installed() -> tuple[LoadedPack, ...]:
    """Every installed pack, validated against each other and the built-in catalogue;
    in package order. Read once per process (:func:`reset` forgets it)."""
    from conformance.catalogue import builtin_catalogue

    builtin = builtin_catalogue()
    prefixes = {i.id.split("-")[0]: BUILTIN_PACKAGE for i in builtin}
    areas = {c.value: BUILTIN_PACKAGE for c in Capability}
    loaded: list[LoadedPack] = []
    for entry in sorted(_entry_points(), key=lambda e: (_package(e), e.name)):
        pack = _load(entry)
        package = _package(entry)
        owner = prefixes.get(pack.prefix)
        if owner is not None:
            raise CatalogueError(
                f"invariant packs {owner} and {package} both use the id prefix "
                f"{pack.prefix!r}; a prefix belongs to one package (rename one)")
        prefixes[pack.prefix] = package
        catalogue = _read(package, pack, areas)
        for area in {i.area.value for i in catalogue}:
            areas[area] = package
        loaded.append(LoadedPack(package, entry.name, pack, catalogue))
    return tuple(loaded)


def reset() -> None:
    """Forget the packs read so far (after installing one in this process)."""
    installed.cache_clear()


def with_packs(builtin: Catalogue, packs: Sequence[LoadedPack]) -> Catalogue:
    """The built-in catalogue and every pack's invariants, in id order. Its digest is
    the built-in one when no pack is installed, else covers each pack's files too."""
    if not packs:
        return builtin
    invariants = [*builtin.invariants, *(i for p in packs for i in p.catalogue)]
    digest = hashlib.sha256(builtin.digest.encode())
    for pack in packs:
        digest.update(f"\0{pack.package}={pack.catalogue.digest}".encode())
    return Catalogue(tuple(sorted(invariants, key=lambda i: i.id)), digest.hexdigest())


def pack_of(invariant_id: str) -> LoadedPack | None:
    """The installed pack ``invariant_id`` comes from (``None``: the built-in one)."""
    prefix = invariant_id.split("-")[0]
    return next((p for p in installed() if p.pack.prefix == prefix), None)


def check_modules() -> list[str]:
    """The modules every installed pack registers its checks in."""
    return [module for pack in installed() for module in pack.pack.checks]


def area_names() -> list[str]:
    """Every area an adapter may claim: the built-in ones, then the packs' by name."""
    return [c.value for c in Capability] + sorted(
        {str(a) for p in installed() for a in p.areas})


def area(name: str) -> Area:
    """The area called ``name``, built-in or a pack's; :class:`CatalogueError` naming
    every area when there is none."""
    try:
        return Capability(name)
    except ValueError:
        pass
    for pack in installed():
        for candidate in pack.areas:
            if candidate == name:
                return candidate
    raise CatalogueError(f"no area {name!r}; the areas are {', '.join(area_names())}")


def machine(area_name: str) -> type[HarnessMachine]:
    """The built-in state machine of ``area_name``, for a pack's step checks: they run
    after every step of it, in the same runs as the area's own checks. It is the one
    class of the area's ``machine`` module that derives from ``HarnessMachine`` itself
    (the others, such as ``PersistenceOffMachine``, are its variants)."""
    import importlib

    from conformance.stateful import HarnessMachine

    try:
        capability = Capability(area_name)
    except ValueError:
        raise CatalogueError(f"no built-in machine for {area_name!r}; the machines are "
                             f"those of {', '.join(c.value for c in Capability)}") from None
    module = importlib.import_module(f"conformance.areas.{capability.name.lower()}.machine")
    [found] = [value for value in vars(module).values() if isinstance(value, type)
               and value.__module__ == module.__name__ and HarnessMachine in value.__bases__]
    return found


def _package(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return str(dist.name) if dist is not None else f"the entry point {entry.name!r}"


def _load(entry: EntryPoint) -> Pack:
    package = _package(entry)
    where = f"invariant pack {entry.name!r} ({entry.value}) of {package}"
    try:
        target: Any = entry.load()
        if callable(target) and not isinstance(target, Pack):
            target = target()
    except Exception as error:
        raise CatalogueError(f"{where} failed to load: {type(error).__name__}: {error}") \
            from error
    if not isinstance(target, Pack):
        raise CatalogueError(f"{where} is a {type(target).__name__}; expected a "
                             "conformance.packs.Pack (or a factory returning one)")
    if not PREFIX_PATTERN.match(target.prefix):
        raise CatalogueError(f"{where}: prefix {target.prefix!r} must be 2 to 6 capital "
                             "letters, as in 'AUD' for 'AUD-001'")
    for directory in (target.specs, target.sources):
        if not Path(directory).is_dir():
            raise CatalogueError(f"{where}: {directory} is not a directory")
    return target


def _read(package: str, pack: Pack, taken: Mapping[str, str]) -> Catalogue:
    def area_of(name: str, value: object) -> Area:
        if not isinstance(value, str) or not AREA_PATTERN.match(value):
            raise CatalogueError(f"{package}: {name}: area {value!r} must be a lowercase "
                                 "name like 'audit-order'")
        if value.replace("-", "_") in RESERVED_AREAS:
            raise CatalogueError(f"{package}: {name}: area {value!r} would be the pytest "
                                 f"marker {value.replace('-', '_')!r}, which pytest or this "
                                 "suite already gives a meaning; choose another name")
        owner = taken.get(value)
        if owner is not None and owner != package:
            raise CatalogueError(
                f"{package}: {name}: area {value!r} is {owner}'s; a pack's areas are its "
                "own, so that claiming one means exactly that pack's invariants")
        return PackArea(value)

    try:
        catalogue = read_specs(Path(pack.specs), area_of, SOURCE_PATTERN)
    except CatalogueError as error:
        message = str(error)
        raise CatalogueError(message if message.startswith(package)
                             else f"{package}: {message}") from None
    for invariant in catalogue:
        _check_traced(package, pack, invariant)
    missing = sorted(i.id for i in catalogue if i.id not in pack.known_bads)
    stray = sorted(set(pack.known_bads) - set(catalogue.ids()))
    if missing or stray:
        raise CatalogueError(
            f"{package}: every invariant needs exactly one known-bad orchestrator in "
            f"known_bads; none for {', '.join(missing) or '-'}; naming no invariant of "
            f"the pack: {', '.join(stray) or '-'}")
    return catalogue


def _check_traced(package: str, pack: Pack, invariant: Invariant) -> None:
    if not invariant.id.startswith(pack.prefix + "-"):
        raise CatalogueError(f"{package}: {invariant.id} does not carry the pack's prefix "
                             f"{pack.prefix!r} ({pack.prefix}-001)")
    source = Path(pack.sources) / invariant.source.seed
    if not source.is_file():
        raise CatalogueError(f"{package}: {invariant.id} quotes {invariant.source.seed}, "
                             f"which is not in the pack's sources ({pack.sources})")
    text = " ".join(source.read_text(encoding="utf-8").split())
    if " ".join(invariant.source.passage.split()) not in text:
        raise CatalogueError(f"{package}: {invariant.id}'s passage is not a verbatim quote "
                             f"of {invariant.source.seed}: {invariant.source.passage!r}")


def __getattr__(name: str) -> Any:
    # What a pack's checks import from here, loaded when first used: the harness and
    # the state machines pull in Hypothesis, which listing the catalogue does not need.
    if name == "step_check":
        from conformance.stateful import step_check

        return step_check
    if name == "Harness":
        from conformance.harness import Harness

        return Harness
    raise AttributeError(f"module 'conformance.packs' has no attribute {name!r}")


__all__ = [
    "ENTRY_POINT_GROUP",
    "Harness",
    "InvariantViolation",
    "LoadedPack",
    "Pack",
    "area",
    "area_names",
    "installed",
    "machine",
    "pack_of",
    "reset",
    "step_check",
]
