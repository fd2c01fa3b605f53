"""Finding an adapter by name, and saying exactly what is wrong with one.

A vendor meets the loader first; every mistake it can make (an unknown name, a
module without the attribute, a half-written adapter) must be reported at once,
naming what is missing.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

import conformance.loader as loader
import reference_impl.adapter
from conformance.api import as_loaded
from conformance.contract import Capability
from conformance.errors import AdapterError
from conformance.loader import ATTRIBUTE, ENTRY_POINT_GROUP, load_adapter, validate

GOOD = textwrap.dedent("""
    from conformance.contract import Capability

    class Adapter:
        name = "tmp-adapter"
        version = "1.2.3"
        capabilities = frozenset({Capability.OBSERVABILITY})

        def start(self, world):
            raise NotImplementedError
""")


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for throw-away modules, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def write(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(source, encoding="utf-8")


# -- where an adapter comes from ------------------------------------------------------


def test_reference_is_registered_as_an_entry_point() -> None:
    names = {e.name: e.value for e in entry_points(group=ENTRY_POINT_GROUP)}
    assert names.get("reference_impl") == "reference_impl.adapter:conformance_adapter"
    loaded = load_adapter("reference_impl")
    assert loaded.adapter is reference_impl.adapter.conformance_adapter
    assert loaded.spec == "reference_impl" and loaded.name == "reference_impl"
    assert loaded.claims(Capability.OBSERVABILITY)


def test_a_module_exposing_conformance_adapter() -> None:
    loaded = load_adapter("tests.known_bad.obs_002_polls_codex_at_once")
    assert loaded.name == "known-bad-obs-002"
    assert loaded.version == "0.0.0-known-bad"


def test_module_colon_attribute(modules: Path) -> None:
    write(modules, "vendor_colon", GOOD + "\nmine = Adapter()\n")
    loaded = load_adapter("vendor_colon:mine")
    assert loaded.name == "tmp-adapter" and loaded.spec == "vendor_colon:mine"
    assert loaded.capabilities == frozenset({Capability.OBSERVABILITY})


def test_a_factory_function_is_called(modules: Path) -> None:
    write(modules, "vendor_factory", GOOD + "\ndef make():\n    return Adapter()\n")
    loaded = load_adapter("vendor_factory:make")
    assert type(loaded.adapter).__name__ == "Adapter"


def test_an_adapter_class_is_a_factory_too(modules: Path) -> None:
    write(modules, "vendor_class", GOOD + f"\n{ATTRIBUTE} = Adapter\n")
    loaded = load_adapter("vendor_class")
    assert not isinstance(loaded.adapter, type), "the class itself was taken as the adapter"
    assert type(loaded.adapter).__name__ == "Adapter"


def test_capabilities_may_be_plain_strings(modules: Path) -> None:
    write(modules, "vendor_strings", GOOD.replace(
        "frozenset({Capability.OBSERVABILITY})", "['observability', 'canonical-log']")
        + f"\n{ATTRIBUTE} = Adapter()\n")
    loaded = load_adapter("vendor_strings")
    assert loaded.capabilities == {Capability.OBSERVABILITY, Capability.CANONICAL_LOG}
    assert not loaded.claims(Capability.TRACE)


def test_as_loaded_accepts_names_objects_and_loaded_adapters() -> None:
    loaded = as_loaded("reference_impl")
    assert as_loaded(loaded) is loaded
    assert as_loaded(reference_impl.adapter.conformance_adapter).adapter is loaded.adapter


# -- what is wrong ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["", "   "])
def test_a_name_is_required(spec: str) -> None:
    with pytest.raises(AdapterError, match="needs a name"):
        load_adapter(spec)


def test_an_unknown_name_names_both_places_looked_in() -> None:
    with pytest.raises(AdapterError) as caught:
        load_adapter("no_such_vendor.adapter")
    message = str(caught.value)
    assert "'no_such_vendor.adapter'" in message
    assert ENTRY_POINT_GROUP in message and "reference_impl" in message
    assert "importable module" in message


def test_a_module_without_the_attribute(modules: Path) -> None:
    write(modules, "vendor_empty", "VALUE = 1\n")
    with pytest.raises(AdapterError, match=f"'vendor_empty' has no attribute '{ATTRIBUTE}'"):
        load_adapter("vendor_empty")
    with pytest.raises(AdapterError, match="has no attribute 'other'"):
        load_adapter("vendor_empty:other")


def test_a_module_whose_own_import_fails(modules: Path) -> None:
    write(modules, "vendor_broken_dep", "import no_such_dependency_xyz\n")
    with pytest.raises(AdapterError, match=r"importing 'vendor_broken_dep' failed.*no_such_dep"):
        load_adapter("vendor_broken_dep")
    write(modules, "vendor_raises", "raise RuntimeError('bad config')\n")
    with pytest.raises(AdapterError, match="importing 'vendor_raises' raised RuntimeError: "
                                           "bad config"):
        load_adapter("vendor_raises")


def test_a_factory_that_raises(modules: Path) -> None:
    write(modules, "vendor_bad_factory", "def make():\n    raise ValueError('no key')\n")
    with pytest.raises(AdapterError, match="factory 'vendor_bad_factory:make' raised "
                                           "ValueError: no key"):
        load_adapter("vendor_bad_factory:make")


def test_an_entry_point_that_fails_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = EntryPoint(name="broken", value="no_such_package_xyz:adapter",
                        group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(loader, "entry_points", lambda group: [broken])
    with pytest.raises(AdapterError, match=r"entry point 'broken'.*failed to load"):
        load_adapter("broken")


class Incomplete:
    name = ""
    capabilities = "observability"


@pytest.mark.parametrize(("target", "expected"), [
    (Incomplete(), ["'name' must be a non-empty string", "'version' must be a non-empty string",
                    "'start(world) -> Orchestrator' method is missing",
                    "'capabilities' must be a collection"]),
    (type("Telepathic", (), {"name": "x", "version": "1", "start": lambda self, w: None,
                             "capabilities": ["observability", "telepathy"]})(),
     ["unknown capability 'telepathy'"]),
    (type("NoCaps", (), {"name": "x", "version": "1", "start": lambda self, w: None})(),
     ["'capabilities' must be a collection", "found None"]),
], ids=["everything", "unknown-capability", "no-capabilities"])
def test_an_incomplete_adapter_lists_every_problem(target: object, expected: list[str]) -> None:
    with pytest.raises(AdapterError) as caught:
        validate("vendor", target)
    message = str(caught.value)
    assert message.startswith("adapter 'vendor'") and "incomplete" in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} missing from: {message}"
