"""The benchmark sections by name, and the entry point a section's process runs.

It lives apart from ``__main__`` on purpose: a spawned process can only find a
function by importing its module, and ``multiprocessing`` never re-imports a
package's ``__main__``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from benchmarks import (
    certification,
    driver_protocol,
    index_latency,
    known_bad,
    log_append,
    machine_steps,
    project_tests,
)
from benchmarks.report import Section


def sections(thorough: bool) -> dict[str, Callable[[], Section]]:
    """Every section by the name ``--only`` accepts, in the order they run."""
    return {
        "certification": partial(certification.run, thorough=thorough),
        "steps": machine_steps.run,
        "log": log_append.run,
        "index": index_latency.run,
        "known-bad": known_bad.run,
        "driver": driver_protocol.run,
        "tests": project_tests.run,
    }


def run_section(name: str, thorough: bool) -> Section:
    """Run one section (in the section's own process).

    The reference orchestrator logs component failures and fallbacks as warnings,
    thousands of them while known-bads shrink; pytest would capture them, here
    Python's last-resort handler would print each one. A null handler on the root
    logger keeps them out of the report.
    """
    logging.getLogger().addHandler(logging.NullHandler())
    return sections(thorough)[name]()
