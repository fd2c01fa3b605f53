"""The persistence area: its state machine, checks and model."""
