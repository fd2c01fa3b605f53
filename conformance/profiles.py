"""Hypothesis profiles for conformance runs: ``dev``, ``ci`` and ``thorough``.

Select one with Hypothesis's own ``--hypothesis-profile``; without it a run uses
``ci`` when the ``CI`` environment variable is set and ``dev`` otherwise. ``ci`` is
derandomized and keeps no example database, so the same code gives the same verdict
on every machine and with any number of xdist workers. A profile the user already
registered under one of these names stays registered, but conformance runs apply the
values below on top of it (Hypothesis itself registers a ``ci`` profile).

``ci`` runs 50 examples of up to 25 steps per state machine. That budget is
measured twice, not guessed. Against the project's own defects:
``tests/test_known_bad.py`` runs every known-bad orchestrator under it and requires
each to be caught, with a counterexample of at most 6 steps. Against defects nobody
wrote on purpose: ``python -m mutation`` runs each area's ``ci`` suite against small
edits of the reference orchestrator, and under this budget every area kills at least
90% of its sampled mutants (the figures are in the README's mutation section; the
survivors left are reviewed in ``mutation/equivalent.toml``). Lowering the budget
needs both to pass again; ``thorough`` is the place for depth.

Whatever the profile, conformance runs disable Hypothesis's per-example deadline and
the "too slow" health check: a world writes real files, and speed is the
benchmark's business, not a verdict's.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import InvalidArgument

#: What each profile changes; every profile also gets :data:`_COMMON`.
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 30, "stateful_step_count": 20},
    "ci": {"max_examples": 50, "stateful_step_count": 25, "derandomize": True,
           "database": None},
    "thorough": {"max_examples": 1000, "stateful_step_count": 60},
}

_COMMON: dict[str, Any] = {
    "deadline": None,
    # No explain phase: its "or any other generated value" comments clutter a
    # counterexample that is meant to be read as a sequence of steps.
    "phases": (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much,
                              HealthCheck.data_too_large],
}


def register_profiles() -> None:
    """Register the profiles that are not registered yet."""
    for name, values in PROFILES.items():
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, **_COMMON, **values)


def default_profile_name() -> str:
    return "ci" if os.environ.get("CI") else "dev"


def suite_settings(profile: str | None = None, *, database_dir: str | None = None) -> settings:
    """The settings a conformance run uses under ``profile`` (see the module docstring).

    ``database_dir``, when given and the profile keeps a database, is where failing
    examples are stored so the next run tries them first.
    """
    register_profiles()
    name = profile or default_profile_name()
    # Our values always apply on top of whatever is registered under the name:
    # Hypothesis registers a "ci" profile of its own, which would otherwise win.
    base = settings(settings.get_profile(name), **PROFILES.get(name, {}))
    extra: dict[str, Any] = {}
    if database_dir is not None and base.database is not None:
        extra["database"] = DirectoryBasedExampleDatabase(database_dir)
    return settings(base, **_COMMON, **extra)
