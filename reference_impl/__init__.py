"""A reference agent orchestrator that keeps every invariant of the catalogue.

``pytest --orchestrator=reference_impl`` certifies it; its adapter is
:data:`reference_impl.adapter.conformance_adapter`.
"""

from reference_impl.adapter import ReferenceAdapter, conformance_adapter

__all__ = ["ReferenceAdapter", "conformance_adapter"]
