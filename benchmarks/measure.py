"""Small measuring helpers: percentiles, and facts about the machine and its disk.

Percentiles use the nearest-rank method, so a reported p99 is a latency that was
actually observed, never an interpolation between two samples.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from conformance.scratch import filesystem_of

__all__ = ["filesystem_of", "load_average", "machine", "median", "percentile"]


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of non-empty ``samples``."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, where the OS reports them.

    Every figure here is a wall time: on a machine already busy with other work they
    come out slower, and this is how a reader can tell.
    """
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "load_average": load_average(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hypothesis": _version("hypothesis"),
        "pytest": _version("pytest"),
        "pytest-xdist": _version("pytest-xdist"),
    }
