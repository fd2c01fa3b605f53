"""The canonical-log area: its state machine, checks and model."""
