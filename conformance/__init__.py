"""Conformance suite and test harness for agent orchestrators.

Run ``pytest --orchestrator=NAME`` to certify an orchestrator's adapter against the
invariant catalogue under ``specs/``. The public surface is below; everything else
is internal.
"""

from conformance import native
from conformance.api import NotClaimed, run_invariant
from conformance.catalogue import Catalogue, Invariant, Level, load_catalogue
from conformance.clock import HarnessClock
from conformance.contract import (
    Adapter,
    AgentState,
    BackendKind,
    Capability,
    Notification,
    NotificationKind,
    Orchestrator,
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
from conformance.loader import LoadedAdapter, load_adapter

__all__ = [
    "Adapter",
    "AdapterError",
    "AgentState",
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
