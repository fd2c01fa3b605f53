"""Components: the seam through which areas plug into the reference orchestrator.

The orchestrator core (spawn, watch, end) stays small; the canonical log, the
rollout trace and similar concerns are components that receive lifecycle events.
A component must never make the agent fail: the orchestrator isolates each hook
call, so a broken component costs its own output, never a turn (seed 004's "best
effort" rule, applied to every side channel).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.contract import Notification

if TYPE_CHECKING:
    from reference_impl.orchestrator import Agent


class Component:
    """Base with no-op hooks; override the ones you need."""

    def on_spawn(self, agent: Agent) -> None:
        """After the backend session started."""

    def on_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        """After a follow-up prompt was submitted."""

    def on_notification(self, agent: Agent, note: Notification) -> None:
        """For every backend notification about the agent's session."""

    def on_end(self, agent: Agent, reason: str) -> None:
        """After the session was ended (``exit``, ``close`` or ``shutdown``)."""

    def on_resume(self, agent: Agent) -> None:
        """After an ended session was resumed."""

    def on_transcript(self, agent: Agent) -> None:
        """When the orchestrator first learns the native session file
        (``agent.transcript``)."""

    def on_export(self, agent: Agent, destination: Path) -> None:
        """After the agent's files were exported to ``destination``."""

    def on_shutdown(self) -> None:
        """Once, after every agent was ended."""

    def deliver_result(
        self, child: Agent, parent: Agent, message: str, deliver: Callable[[], None]
    ) -> None:
        """Around the delivery of a child's turn result to its parent (seed 003).

        ``deliver`` sends ``message`` to the parent's backend session and raises
        :class:`~conformance.errors.BackendError` when the parent's process is gone.
        Call it once and let its error propagate; what comes after it returned
        happened after a delivery that succeeded (the trace records the result edge
        only then). The default just delivers. See :mod:`reference_impl.delivery`.
        """
        deliver()
