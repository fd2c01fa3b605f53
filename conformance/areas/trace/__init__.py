"""The trace area: its state machine, checks and model."""
