"""The isolation area: its state machine, checks and model."""
