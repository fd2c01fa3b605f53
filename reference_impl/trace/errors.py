"""Moved to :mod:`conformance.trace_format.errors` (the suite judges every orchestrator's
traces with it); re-exported here so ``reference_impl.trace.errors`` keeps working."""

from conformance.trace_format.errors import *  # noqa: F403
from conformance.trace_format.errors import __all__ as __all__
