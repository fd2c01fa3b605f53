"""Mutation testing of reference_impl/ against the conformance suite (python -m mutation)."""
