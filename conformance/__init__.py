"""Conformance suite and test harness for agent orchestrators.

Run ``pytest --orchestrator=NAME`` to certify an orchestrator's adapter against the
invariant catalogue under ``specs/``. The public surface is below; everything else
is internal.
"""

from typing import TYPE_CHECKING, Any

from conformance.contract import (
    Adapter,
    AgentState,
    Area,
    BackendKind,
    Capability,
    Notification,
    NotificationKind,
    Orchestrator,
    PackArea,
    SessionData,
    SessionHost,
    SessionView,
    Settings,
    SpawnRequest,
    World,
)
from conformance.errors import (
    AdapterError,
    BackendError,
    CatalogueError,
    ConformanceError,
    HarnessError,
    InvalidAgentId,
    InvariantViolation,
    SessionNotFound,
)

if TYPE_CHECKING:
    from conformance import native
    from conformance.api import NotClaimed, run_invariant
    from conformance.catalogue import Catalogue, Invariant, Level, load_catalogue
    from conformance.clock import HarnessClock
    from conformance.loader import LoadedAdapter, load_adapter

#: The rest of the public surface, imported when first used: running invariants
#: pulls in Hypothesis, the catalogue and every area (half a second), which a program
#: that only needs the contract (a driver, a fake CLI) should not pay for.
_LAZY = {"native": "conformance.native", "NotClaimed": "conformance.api",
         "run_invariant": "conformance.api", "Catalogue": "conformance.catalogue",
         "Invariant": "conformance.catalogue", "Level": "conformance.catalogue",
         "load_catalogue": "conformance.catalogue", "HarnessClock": "conformance.clock",
         "LoadedAdapter": "conformance.loader", "load_adapter": "conformance.loader"}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name)
    value = module if module_name.endswith(f".{name}") else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "Adapter",
    "AdapterError",
    "AgentState",
    "Area",
    "BackendError",
    "BackendKind",
    "Capability",
    "Catalogue",
    "CatalogueError",
    "ConformanceError",
    "HarnessClock",
    "HarnessError",
    "InvalidAgentId",
    "Invariant",
    "InvariantViolation",
    "Level",
    "LoadedAdapter",
    "NotClaimed",
    "Notification",
    "NotificationKind",
    "Orchestrator",
    "PackArea",
    "SessionData",
    "SessionHost",
    "SessionNotFound",
    "SessionView",
    "Settings",
    "SpawnRequest",
    "World",
    "load_adapter",
    "load_catalogue",
    "native",
    "run_invariant",
]
