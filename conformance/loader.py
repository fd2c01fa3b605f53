"""Finding and validating an adapter from the name given to ``--orchestrator``.

``NAME`` is looked up first as an entry point of the ``conformance.adapters`` group
(installed adapters), then imported as a module (``pkg.mod``, or ``pkg.mod:attr``)
whose ``conformance_adapter`` attribute is the adapter, or a zero-argument factory
returning one. Everything missing is reported at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from conformance.contract import Adapter, Area
from conformance.errors import AdapterError

ENTRY_POINT_GROUP = "conformance.adapters"
ATTRIBUTE = "conformance_adapter"


@dataclass(frozen=True)
class LoadedAdapter:
    """A validated adapter and the name it was loaded by."""

    spec: str
    adapter: Adapter
    name: str
    version: str
    capabilities: frozenset[Area]

    def claims(self, capability: Area | str) -> bool:
        return capability in self.capabilities


def load_adapter(spec: str) -> LoadedAdapter:
    """Load the adapter named ``spec``; raise :class:`AdapterError` saying what is wrong."""
    if not spec or not spec.strip():
        raise AdapterError("--orchestrator needs a name: an entry point of the "
                           f"'{ENTRY_POINT_GROUP}' group or an importable module")
    from conformance.driver.adapter import PREFIX, DriverAdapter, is_command

    if is_command(spec):
        return validate(spec, DriverAdapter(spec.removeprefix(PREFIX)))
    target = _from_entry_point(spec)
    if target is None:
        target = _from_module(spec)
    return validate(spec, target)


def validate(spec: str, target: Any) -> LoadedAdapter:
    """Check ``target`` against the adapter contract (calling it if it is a factory)."""
    # A class is a factory too: its ``start`` is unbound, so it is never the adapter.
    if isinstance(target, type) or (callable(target) and not hasattr(target, "start")):
        try:
            target = target()
        except Exception as error:
            raise AdapterError(f"adapter factory {spec!r} raised "
                               f"{type(error).__name__}: {error}") from error
    problems = []
    name = getattr(target, "name", None)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"'name' must be a non-empty string (found {name!r})")
    version = getattr(target, "version", None)
    if not isinstance(version, str) or not version.strip():
        problems.append(f"'version' must be a non-empty string (found {version!r})")
    if not callable(getattr(target, "start", None)):
        problems.append("'start(world) -> Orchestrator' method is missing")
    capabilities, capability_problem = _capabilities(getattr(target, "capabilities", None))
    if capability_problem:
        problems.append(capability_problem)
    if problems:
        raise AdapterError(f"adapter {spec!r} ({type(target).__name__}) is incomplete: "
                           + "; ".join(problems))
    return LoadedAdapter(spec, target, str(name), str(version), capabilities)


def _capabilities(value: Any) -> tuple[frozenset[Area], str | None]:
    """The areas claimed: built-in capabilities, and areas of installed packs by name."""
    from conformance import packs
    from conformance.errors import CatalogueError

    if value is None or isinstance(value, str) or not isinstance(value, Iterable):
        valid = ", ".join(packs.area_names())
        return frozenset(), (f"'capabilities' must be a collection of capabilities "
                             f"({valid}); found {value!r}")
    found: set[Area] = set()
    for item in value:
        try:
            found.add(packs.area(item))  # a name that is not a string names no area
        except CatalogueError:
            return frozenset(), (f"unknown capability {item!r} (valid: "
                                 f"{', '.join(packs.area_names())}; a pack's area is "
                                 "known once its pack is installed)")
    return frozenset(found), None


def _from_entry_point(spec: str) -> Any | None:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == spec:
            try:
                return entry.load()
            except Exception as error:
                raise AdapterError(f"entry point {spec!r} ({entry.value}) of group "
                                   f"'{ENTRY_POINT_GROUP}' failed to load: "
                                   f"{type(error).__name__}: {error}") from error
    return None


def _from_module(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or ATTRIBUTE
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            installed = sorted(e.name for e in entry_points(group=ENTRY_POINT_GROUP))
            raise AdapterError(
                f"no adapter {spec!r}: it is neither an entry point of the "
                f"'{ENTRY_POINT_GROUP}' group (installed: {', '.join(installed) or 'none'}) "
                f"nor an importable module") from error
        raise AdapterError(f"importing {module_name!r} failed: {error}") from error
    except Exception as error:
        raise AdapterError(f"importing {module_name!r} raised "
                           f"{type(error).__name__}: {error}") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise AdapterError(f"module {module_name!r} has no attribute {attribute!r}; an adapter "
                           f"module exposes its adapter as '{ATTRIBUTE}'") from None
