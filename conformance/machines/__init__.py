"""Hypothesis state machines that drive an orchestrator through generated operation
sequences, one machine per area, checking enabled invariants after every step."""
