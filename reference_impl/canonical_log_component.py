"""The canonical log (seed 004) as a component of the reference orchestrator.

Every sub-agent session gets a global session id in the store under
``world.acp_home`` (the harness's ``ACP_HOME``), keyed ``<backend>:<native session
id>``, and its canonical events are appended as they happen: the prompt at spawn and
at each follow-up (``acp.prompt``), Codex's submission (``backend.codex.submit``), and,
in the order the backend emitted them, the session updates (message and thought
chunks, tool calls and their updates, plans) and the permission round trips.

Why a component: the log is a by-product of the agent's work, never a condition of
it. :class:`~reference_impl.canonical_log.CanonicalLog` already swallows every
logging failure (recording it in ``failures``), and the orchestrator isolates every
component hook as well, so a full disk or a corrupt index costs log lines, never a
turn.

The methods named ``open_store``, ``prompt_blocks`` and ``log_*`` are the seams the
known-bad orchestrators in ``tests/known_bad/clog_*`` override.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conformance.contract import BackendKind, Notification, NotificationKind, World
from reference_impl.canonical_log import CanonicalLog, CanonicalLogWarning
from reference_impl.components import Component

if TYPE_CHECKING:
    from reference_impl.orchestrator import Agent

log = logging.getLogger(__name__)

#: Approval event types that are ACP permission round trips (see ``NotificationKind``).
_PERMISSION_REQUEST = "request_permission"
_PERMISSION_RESPONSE = "request_permission_response"


@contextlib.contextmanager
def warnings_to_log() -> Iterator[None]:
    """Turn the store's warnings (a repaired index, a first failure of a kind) into log
    records: an orchestrator reports to its log, not to whoever set warning filters
    (a filter set to "error" must not turn a repaired index into a failed hook)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        if issubclass(warning.category, CanonicalLogWarning):
            log.info("canonical log: %s", warning.message)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)


def prompt_blocks(content: Sequence[Mapping[str, Any]], text: str) -> list[Mapping[str, Any]]:
    """The prompt as ACP content blocks: ``content`` if given, else one text block."""
    if content:
        return list(content)
    return [{"type": "text", "text": text}]


class CanonicalLogComponent(Component):
    """Writes each agent's canonical events to the store under ``world.acp_home``."""

    #: fsync each event? Off unless the world's settings promise durability
    #: (``Settings.acp_log_fsync``, ``ACP_LOG_FSYNC=1``): an event whose append
    #: returned survives a kill -9 of the process either way (it is in the kernel),
    #: and fsync would only add a disk round trip per streamed chunk; only a power cut
    #: needs it.
    fsync = False

    def __init__(self, world: World) -> None:
        self.world = world
        self.log = self.open_store(world)
        #: Agent id -> global session id.
        self.gids: dict[str, str] = {}

    def open_store(self, world: World) -> CanonicalLog:
        """The store: ``world.acp_home`` and the world's settings, nothing from ``os.environ``."""
        settings = world.settings
        return CanonicalLog(
            world.acp_home,
            max_text_chars=settings.acp_log_max_text_chars,
            embedded_context=settings.acp_log_embedded_context,
            env={},
            fsync=self.fsync or settings.acp_log_fsync,
        )

    # -- hooks -------------------------------------------------------------------------
    # Each hook logs inside warnings_to_log(); the work is in the log_* seams.

    def on_spawn(self, agent: Agent) -> None:
        with warnings_to_log():
            self.log_spawn(agent)

    def on_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        with warnings_to_log():
            self.log_send(agent, prompt, turn_id)

    def on_resume(self, agent: Agent) -> None:
        with warnings_to_log():
            # Same key, same global id: reopening only re-anchors the session.
            self._open(agent)

    def on_notification(self, agent: Agent, note: Notification) -> None:
        with warnings_to_log():
            self.log_notification(agent, note)

    def on_shutdown(self) -> None:
        self.log.close()

    # -- seams -------------------------------------------------------------------------

    def log_spawn(self, agent: Agent) -> None:
        """Open the session and log its prompt (and Codex's submission of it)."""
        gid = self._open(agent)
        self.log.log_prompt(gid, self.prompt_blocks(agent, agent.content, agent.prompt))
        if agent.backend is BackendKind.CODEX:
            # The first turn is submitted with the session; its id is the session's.
            self.log.log_submit(gid, f"{agent.session_id}/initial", "user_input")

    def log_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        """Log a follow-up prompt (and Codex's submission, under the new turn's id)."""
        gid = self._gid(agent)
        self.log.log_prompt(gid, self.prompt_blocks(agent, (), prompt))
        if agent.backend is BackendKind.CODEX:
            self.log.log_submit(gid, turn_id, "user_input")

    def log_notification(self, agent: Agent, note: Notification) -> None:
        """Log a session update or a permission round trip; ignore everything else."""
        if note.kind is NotificationKind.SESSION_UPDATE:
            update = note.data.get("update")
            if isinstance(update, Mapping):
                self.log.log_update(self._gid(agent),
                                    {"sessionId": note.session_id, "update": dict(update)})
        elif note.kind is NotificationKind.APPROVAL:
            event = note.data.get("event")
            if isinstance(event, Mapping):
                self.log_approval(agent, event)

    def prompt_blocks(
        self, agent: Agent, content: Sequence[Mapping[str, Any]], text: str
    ) -> list[Mapping[str, Any]]:
        """The blocks of one prompt, as logged."""
        return prompt_blocks(content, text)

    def log_approval(self, agent: Agent, event: Mapping[str, Any]) -> None:
        """Log an ACP permission request or response; other approval events are not
        canonical (a backend's native approval is logged by its ACP translation)."""
        kind = event.get("type")
        if kind == _PERMISSION_REQUEST and isinstance(event.get("request"), Mapping):
            self.log.log_permission_request(self._gid(agent), dict(event["request"]))
        elif kind == _PERMISSION_RESPONSE and isinstance(event.get("response"), Mapping):
            call_id = event.get("toolCallId")
            self.log.log_permission_response(
                self._gid(agent), dict(event["response"]),
                tool_call_id=call_id if isinstance(call_id, str) else None)

    # -- helpers -----------------------------------------------------------------------

    def _open(self, agent: Agent) -> str:
        gid = self.log.open_session(agent.backend.value, agent.session_id,
                                    cwd=self.world.workspace)
        self.gids[agent.agent_id] = gid
        return gid

    def _gid(self, agent: Agent) -> str:
        gid = self.gids.get(agent.agent_id)
        return gid if gid is not None else self._open(agent)
