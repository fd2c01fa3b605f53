"""Forwarding a child's turn result to its parent, through the components (seed 003).

When a child agent's turn completes, the orchestrator sends the turn's final message
to the parent's backend session. That send is what the rollout trace must describe
truthfully: seed 003's review found Codex recording the child->parent result edge
*before* the send, so a send that failed (the parent thread already gone) still left
an edge for an interaction that never happened. Here the send is a callable handed
through every component's :meth:`~reference_impl.components.Component.deliver_result`,
so a component (the trace) can act once it returned, and only then.

The chain is isolated like every hook: a component that raises, or never calls
``deliver``, costs its own output; the send still happens exactly once, and a failed
send is reported to every component outside it, even if one inside swallowed it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from conformance.errors import BackendError
from reference_impl.components import Component

if TYPE_CHECKING:
    from reference_impl.orchestrator import Agent

#: ``(hook name, error)``: where a failing component is reported.
ErrorSink = Callable[[str, Exception], None]


class Delivery:
    """The send of one result: run at most once, remembering how it went."""

    def __init__(self, send: Callable[[], None]) -> None:
        self._send = send
        self.attempted = False
        self.error: BackendError | None = None

    def __call__(self) -> None:
        if not self.attempted:
            self.attempted = True
            try:
                self._send()
            except BackendError as error:
                self.error = error
        if self.error is not None:
            raise self.error

    @property
    def delivered(self) -> bool:
        """Whether the send was made and returned."""
        return self.attempted and self.error is None


def deliver_through(
    components: Sequence[Component],
    child: Agent,
    parent: Agent,
    message: str,
    send: Callable[[], None],
    on_error: ErrorSink,
) -> bool:
    """Send ``message`` to ``parent`` with every component around it; whether it arrived.

    The first component is the outermost. Every link guarantees, when it returns or
    raises, that the send was attempted, and raises the send's ``BackendError`` if and
    only if it failed.
    """
    delivery = Delivery(send)
    chain: Callable[[], None] = delivery
    for component in reversed(components):
        chain = _link(component, child, parent, message, chain, delivery, on_error)
    with contextlib.suppress(BackendError):  # only the failed send escapes the chain
        chain()
    return delivery.delivered


def _link(
    component: Component,
    child: Agent,
    parent: Agent,
    message: str,
    inner: Callable[[], None],
    delivery: Delivery,
    on_error: ErrorSink,
) -> Callable[[], None]:
    def run() -> None:
        try:
            component.deliver_result(child, parent, message, inner)
        except Exception as error:
            if error is not delivery.error:
                on_error(f"{type(component).__name__}.deliver_result", error)
        if not delivery.attempted:
            inner()  # the component never delivered: the rest of the chain still must
        if delivery.error is not None:
            raise delivery.error

    return run
