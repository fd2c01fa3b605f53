"""The record of every call an orchestrator makes on a fake backend.

Checks read this record to see what the orchestrator did and when: a poll before a
Codex session's first-turn notification, an ``end_session`` with no end signal.
The record only grows; nothing in it is ever rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.clock import since_start
from conformance.contract import BackendKind


@dataclass(frozen=True)
class Call:
    """One call on a session host."""

    #: Position in the world's call record, from 1.
    seq: int
    #: Harness time of the call (a Unix timestamp on the frozen clock).
    time: float
    #: The backend called, or ``None`` for an entry of the harness itself.
    backend: BackendKind | None
    #: A host operation (``start_session``, ``get_session_data``, ``list_sessions``,
    #: ``end_session``, ``send``, ``resume_session``, ``subscribe``), a delivered
    #: notification (``notify:turn_complete``), or a harness operation
    #: (``harness:tick``, ``harness:close`` ...).
    op: str
    session_id: str | None
    #: ``"ok"``, or the name of the error the call raised.
    outcome: str = "ok"
    #: The agent a harness entry is about.
    agent_id: str | None = None
    #: For a notification told to an orchestrator that runs processes (at its next
    #: call, ``Harness._tell``): when the host fired it. ``None`` everywhere else.
    happened_at: float | None = None

    @property
    def told(self) -> bool:
        """A notification told late, with the others of its call (one batch)."""
        return self.happened_at is not None

    def __str__(self) -> str:
        who = self.backend.value if self.backend else "harness"
        op = self.op.split(":", 1)[-1]
        if self.op.startswith("event:"):
            op = f"{op} (not told yet)"
        target = self.session_id or self.agent_id or ""
        result = "" if self.outcome == "ok" else f" -> {self.outcome}"
        told = ("" if self.happened_at is None
                else f" [told; it happened at t={since_start(self.happened_at):.2f}s]")
        return (f"#{self.seq} t={since_start(self.time):.2f}s {who}.{op}({target}){result}"
                f"{told}")


@dataclass
class CallLog:
    """Every call on every host of one world, in order."""

    calls: list[Call] = field(default_factory=list)

    def record(
        self,
        time: float,
        backend: BackendKind | None,
        op: str,
        session_id: str | None,
        outcome: str = "ok",
        agent_id: str | None = None,
        happened_at: float | None = None,
    ) -> Call:
        call = Call(len(self.calls) + 1, time, backend, op, session_id, outcome, agent_id,
                    happened_at)
        self.calls.append(call)
        return call

    def for_session(self, session_id: str) -> list[Call]:
        return [c for c in self.calls if c.session_id == session_id]
