"""The observability area: its state machine, checks and model."""
