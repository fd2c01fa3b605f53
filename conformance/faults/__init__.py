"""The fault model every area uses: one piece of code for the life of a session.

* :mod:`.injection`: writes under a directory fail (disk full, read only, I/O error)
  at open, at write time after the file was opened or truncated, or part-way
  through a write, started and stopped at any step of a machine;
* :mod:`.power`: a simulated power cut that loses every write not yet synced, for
  stores that promise durability;
* :mod:`.damage`: a corrupt index and torn last lines, as a crashed writer leaves them.

The harness's own writes (the fake backends') pass every fault: wrap them in
:func:`exempt`.

Failing writes and power cuts act inside the harness's process (they replace
``open``, ``os.write``, ``os.fsync``...), so they reach an orchestrator only when it
runs there: not one behind a driver (:func:`reach`). Damage is done on disk and
reaches every orchestrator.
"""

from typing import Any

from conformance.faults.damage import CORRUPT_INDEX, TORN_FRAGMENT, corrupt_index, tear_last_lines
from conformance.faults.injection import (
    At,
    Fault,
    exempt,
    failing_writes,
    injected,
    start,
    stop,
    stop_all,
)
from conformance.faults.power import PowerCut


def reach(adapter: Any) -> bool:
    """Whether failing writes and power cuts reach ``adapter``'s orchestrator: it runs
    in the harness's process (every adapter but one that says
    ``runs_in_harness_process = False``, as a driver's does)."""
    return bool(getattr(adapter, "runs_in_harness_process", True))


__all__ = [
    "CORRUPT_INDEX",
    "TORN_FRAGMENT",
    "At",
    "Fault",
    "PowerCut",
    "corrupt_index",
    "exempt",
    "failing_writes",
    "injected",
    "reach",
    "start",
    "stop",
    "stop_all",
    "tear_last_lines",
]
