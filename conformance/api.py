"""Running invariants without pytest's command line (used by the plugin and tests).

:func:`run_invariant` is the whole suite's inner loop: load the catalogue and the
adapter, refuse an unclaimed capability, run the invariant's check in a scratch
directory, and raise :class:`~conformance.errors.InvariantViolation` on failure.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import hypothesis

from conformance.catalogue import Catalogue, Invariant, load_catalogue
from conformance.contract import Adapter
from conformance.errors import ConformanceError
from conformance.loader import LoadedAdapter, load_adapter, validate
from conformance.processes.server import close_under
from conformance.profiles import suite_settings
from conformance.registry import Check, RunContext, verify
from conformance.scratch import make_scratch


class NotClaimed(ConformanceError):
    """The adapter does not claim the capability (area) of the invariant asked for."""


def as_loaded(adapter: str | Adapter | LoadedAdapter) -> LoadedAdapter:
    """Accept an adapter name, an adapter object, or an already loaded adapter."""
    if isinstance(adapter, LoadedAdapter):
        return adapter
    if isinstance(adapter, str):
        return load_adapter(adapter)
    return validate(type(adapter).__name__, adapter)


def run_check(
    check: Check,
    invariant: Invariant,
    adapter: LoadedAdapter,
    settings: hypothesis.settings,
    workdir: Path | None = None,
) -> None:
    """Run one registered check; raise on a violation or a misbehaving adapter."""
    if not adapter.claims(invariant.area):
        raise NotClaimed(f"{invariant.id}: adapter {adapter.name!r} does not claim the "
                         f"'{invariant.area.value}' capability")
    scratch = make_scratch(f"conformance-{invariant.id}-", workdir)
    try:
        check.run(RunContext(adapter, invariant, settings, scratch))
    finally:
        close_under(scratch)  # a fake CLI process never outlives its world
        shutil.rmtree(scratch, ignore_errors=True)


def run_invariant(
    adapter: str | Adapter | LoadedAdapter,
    invariant_id: str,
    *,
    profile: str | None = None,
    settings: hypothesis.settings | None = None,
    catalogue: Catalogue | None = None,
) -> None:
    """Run ``invariant_id`` against ``adapter``; return if it holds, raise if not."""
    catalogue = catalogue or load_catalogue()
    checks = verify(catalogue)
    invariant = catalogue.get(invariant_id)
    run_check(checks[invariant_id], invariant, as_loaded(adapter),
              settings or suite_settings(profile))
