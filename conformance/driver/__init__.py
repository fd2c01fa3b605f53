"""Certify an orchestrator written in any language through a driver program.

The harness starts the driver (``pytest --orchestrator-command="CMD"``) once per world
and drives it with JSON Lines on its stdin and stdout (:mod:`.protocol`, whose JSON
Schema is :func:`schema_path`). :class:`DriverAdapter` is the adapter of one command.
"""

from conformance.driver.adapter import DriverAdapter, DriverOrchestrator
from conformance.driver.protocol import PROTOCOL_VERSION, TIME_RULE, schema_path
from conformance.errors import DriverError

__all__ = ["PROTOCOL_VERSION", "TIME_RULE", "DriverAdapter", "DriverError",
           "DriverOrchestrator", "schema_path"]
