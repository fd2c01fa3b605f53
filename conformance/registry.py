"""Checks register against invariant ids; the suite refuses to run on any mismatch.

A check is a callable that runs one invariant against one adapter and raises
:class:`~conformance.errors.InvariantViolation` when it is broken. Every invariant
in the catalogue must have exactly one check and every check must name an invariant
of the catalogue: :func:`verify` says which ids are off, before anything runs.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import CatalogueError

if TYPE_CHECKING:
    import hypothesis

    from conformance.catalogue import Catalogue, Invariant
    from conformance.loader import LoadedAdapter


@dataclass(frozen=True)
class RunContext:
    """What a check gets to run one invariant against one adapter."""

    adapter: LoadedAdapter
    invariant: Invariant
    settings: hypothesis.settings
    #: A scratch directory for this run's worlds.
    workdir: Path


CheckFunction = Callable[[RunContext], None]


@dataclass(frozen=True)
class Check:
    invariant_id: str
    run: CheckFunction
    #: ``module.function`` of the check, for error messages.
    origin: str
    #: The state machine a step check runs on (``None`` for other checks); replaying
    #: a counterexample needs it.
    machine: type | None = None


_REGISTRY: dict[str, Check] = {}


def register(invariant_id: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check of ``invariant_id``."""

    def decorate(function: CheckFunction) -> CheckFunction:
        add(invariant_id, function, f"{function.__module__}.{function.__qualname__}")
        return function

    return decorate


def add(
    invariant_id: str, function: CheckFunction, origin: str, machine: type | None = None
) -> None:
    """Register ``function`` as the check of ``invariant_id`` (each id once)."""
    existing = _REGISTRY.get(invariant_id)
    if existing is not None and existing.origin != origin:
        raise CatalogueError(
            f"two checks register {invariant_id}: {existing.origin} and {origin}"
        )
    _REGISTRY[invariant_id] = Check(invariant_id, function, origin, machine)


def all_checks(*, packs: bool = True) -> Mapping[str, Check]:
    """Every registered check, after importing the ``checks*`` modules of every area
    package under :mod:`conformance.areas` and the check modules installed invariant
    packs name (:mod:`conformance.packs`)."""
    import conformance.areas as areas
    from conformance import packs as installed_packs

    for area in pkgutil.iter_modules(areas.__path__):
        if not area.ispkg:
            continue
        package = importlib.import_module(f"{areas.__name__}.{area.name}")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.startswith("checks"):
                importlib.import_module(f"{package.__name__}.{module.name}")
    for name in installed_packs.check_modules() if packs else ():
        try:
            importlib.import_module(name)
        except Exception as error:
            owner = next(p.package for p in installed_packs.installed()
                         if name in p.pack.checks)
            raise CatalogueError(f"{owner}: its check module {name!r} failed to import: "
                                 f"{type(error).__name__}: {error}") from error
    return dict(_REGISTRY)


def verify(catalogue: Catalogue, *, packs: bool = True) -> Mapping[str, Check]:
    """The checks, after proving they match the catalogue one to one (without
    ``packs``, the built-in checks only: no installed pack's module is imported)."""
    checks = all_checks(packs=packs)
    ids = set(catalogue.ids())
    unchecked = sorted(ids - set(checks))
    orphans = sorted(set(checks) - ids)
    problems = []
    if unchecked:
        owners = {i: _pack_of(i) for i in unchecked}
        problems.append("invariants with no registered check: " + ", ".join(
            i if owner is None else f"{i} (of {owner})" for i, owner in owners.items()))
    if orphans:
        problems.append("checks naming no invariant of the catalogue: " + ", ".join(
            f"{i} ({checks[i].origin})" for i in orphans))
    if problems:
        raise CatalogueError("the catalogue and the checks disagree; " + "; ".join(problems))
    return checks


def _pack_of(invariant_id: str) -> str | None:
    """The package of the installed pack ``invariant_id`` belongs to, if any."""
    from conformance.packs import pack_of

    try:
        pack = pack_of(invariant_id)
    except CatalogueError:
        return None  # a broken pack: its own error is reported where it is loaded
    return None if pack is None else pack.package
