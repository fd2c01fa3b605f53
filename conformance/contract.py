"""The adapter contract: the one thing an orchestrator vendor writes.

The harness owns the world: the home directories the orchestrator must use, the
clock, and the (fake) backends. It hands a :class:`World` to the adapter's
:meth:`Adapter.start`, receives an :class:`Orchestrator`, and drives it through
operations: spawn a sub-agent, send a follow-up prompt, resume, close, export, let
the monitor loop run once (``tick``), and shut down. Between operations it looks at
what the orchestrator did: the calls it made on the backends, the files it wrote,
and what it reports through :meth:`Orchestrator.session` and
:meth:`Orchestrator.sessions`.

An orchestrator talks to backends only through the :class:`SessionHost` objects in
``world.backends``: ``start_session``, ``get_session_data``, ``list_sessions``,
``end_session``, ``send``, ``resume_session`` and ``subscribe`` for notifications.
Everything here is plain data or a ``Protocol``: an adapter needs no base class.

Multi-agent rollouts and their traces (seed 003, the ``trace`` capability):

* A spawn without ``SpawnRequest.parent`` starts a *root* agent, and with it a
  rollout; a spawn with a parent starts a *child* of that (running) agent, at any
  depth. Every agent of a root's tree belongs to the root's rollout.
* When a child's turn completes (its ``TURN_COMPLETE`` notification), the
  orchestrator forwards the result to the parent: it calls ``send`` on the parent's
  session with a prompt that contains the notification's
  ``data["last-assistant-message"]`` verbatim (that is how the harness attributes
  it). The send raises ``BackendError`` when the parent's process is gone, which may
  be before the orchestrator was told of its exit: a parent "already gone".
* Each rollout is one bundle directory ``world.trace_dir/<rollout_id>/`` (a
  ``manifest.json`` naming the rollout and the root thread, an append-only
  ``trace.jsonl``, payload files), in the format of :mod:`conformance.trace_format`
  (schema version 1), created when the root is spawned. Children append to their
  root's bundle, never to one of their own.
* A thread id is the agent's native session id, the one ``start_session`` returned:
  the root thread's id is the root's session id, and a resumed agent keeps its
  thread. The harness maps threads to agents by it.
* What is recorded: the spawn edge of every child, a message edge for every
  ``send`` to a child, a result edge for every result delivered to a parent (only
  after the send returned), a close edge for every ``close`` of a running child, a
  ``thread_resumed`` for every ``resume`` of a child, a thread's end when its agent
  ends, and ``rollout_ended`` when, and only when, the root ends.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from conformance.clock import HarnessClock


class CodeEnum(str, enum.Enum):
    """A string enum whose ``repr`` is valid Python (``BackendKind.CODEX``), so a
    counterexample printed by Hypothesis can be pasted and run."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class Capability(CodeEnum):
    """An area of the catalogue an adapter may claim. Unclaimed areas are reported
    as "not claimed", never passed."""

    OBSERVABILITY = "observability"
    ISOLATION = "isolation"
    PERSISTENCE = "persistence"
    CANONICAL_LOG = "canonical-log"
    TRACE = "trace"


class PackArea(str):
    """An area declared by an invariant pack (:mod:`conformance.packs`), outside the
    built-in :class:`Capability` set. A plain string that reads like a capability
    (``.value``), so an adapter claims it by name: ``capabilities = {"audit-order"}``,
    and code that handles areas treats both alike."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"PackArea({str.__repr__(self)})"


#: An area of the catalogue: a built-in capability or one an installed pack declares.
#: Equal names are equal areas (``Capability.TRACE == "trace"``), so a set of claims
#: may hold either.
Area = Capability | PackArea


class BackendKind(CodeEnum):
    """The agent CLIs an orchestrator can run as sub-agents."""

    CODEX = "codex"
    CLAUDE = "claude"
    GEMINI = "gemini"


class AgentState(CodeEnum):
    """What an orchestrator reports about one sub-agent.

    ``STARTING``: spawned, not yet observed (for Codex: before its first turn).
    ``RUNNING``: observed alive. ``SUSPECTED_HUNG``: its first turn outlasted
    ``Settings.first_turn_deadline``; kept, not ended. ``ENDED``: ended after a
    positive end signal (process exit, notification, or an explicit close).
    """

    STARTING = "starting"
    RUNNING = "running"
    SUSPECTED_HUNG = "suspected_hung"
    ENDED = "ended"


class NotificationKind(CodeEnum):
    """What a backend tells its subscribers, as the real CLIs do through hooks."""

    #: A turn finished (Codex's ``notify`` hook ``agent-turn-complete``).
    TURN_COMPLETE = "turn_complete"
    #: The agent process exited: a positive end signal.
    PROCESS_EXITED = "process_exited"
    #: An ACP ``session/update`` emitted during a turn (``data["update"]``).
    SESSION_UPDATE = "session_update"
    #: A raw model request/response exchange (``data["request"]``, ``data["response"]``).
    MODEL_EXCHANGE = "model_exchange"
    #: An approval or cancellation event (``data["event"]``). An ACP permission round
    #: trip is two of them: ``{"type": "request_permission", "request": <ACP
    #: RequestPermissionRequest>}`` then ``{"type": "request_permission_response",
    #: "toolCallId": ..., "response": <ACP RequestPermissionResponse>}``.
    APPROVAL = "approval"


@dataclass(frozen=True)
class Notification:
    """One notification from a backend to the orchestrator."""

    kind: NotificationKind
    backend: BackendKind
    session_id: str
    time: float
    turn_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionData:
    """What ``get_session_data`` and ``list_sessions`` return for an observable session."""

    backend: BackendKind
    session_id: str
    #: The native session file (rollout, transcript or chat file). Kept for existing
    #: adapters: a real CLI tells no one where its file is, so find it as on a real
    #: machine, with :func:`conformance.native.locate`.
    path: Path
    line_count: int
    turns_completed: int
    process_alive: bool


class SessionHost(Protocol):
    """The backend operations an orchestrator may use (implemented by the fakes)."""

    kind: BackendKind

    def start_session(
        self, *, prompt: str, home: Path, cwd: Path, env: Mapping[str, str] | None = None
    ) -> str:
        """Start an agent process; return its native session id at once (T=0).

        ``home`` is the backend's native home: ``CODEX_HOME`` for Codex, ``HOME`` for
        Claude Code and Gemini CLI. The session file appears there later.
        """
        ...

    def get_session_data(self, session_id: str) -> SessionData:
        """Look the session up by its native file; raises ``SessionNotFound`` when it
        does not exist (yet)."""
        ...

    def list_sessions(self) -> list[SessionData]:
        """Every session whose native file exists."""
        ...

    def end_session(self, session_id: str) -> None:
        """Stop the agent process and release the session."""
        ...

    def send(self, session_id: str, prompt: str) -> str:
        """Submit a follow-up prompt; returns the new turn's id."""
        ...

    def resume_session(self, session_id: str) -> None:
        """Restart an ended session's process under the same session id."""
        ...

    def subscribe(self, callback: Callable[[Notification], None]) -> None:
        """Receive every notification of this backend, in order."""
        ...


@dataclass(frozen=True)
class Settings:
    """Knobs the harness sets for one world; the orchestrator must honour them."""

    #: Seconds a first turn may run before the worker is reported suspected hung.
    first_turn_deadline: float = 300.0
    #: Session persistence (seed 001): one directory per session with every artifact.
    persist_session: bool = False
    #: Canonical log (seed 004): copy embedded text resources of prompts into the log
    #: (``ACP_LOG_EMBEDDED_CONTEXT=1``); off, only their URI and length are logged.
    acp_log_embedded_context: bool = False
    #: Canonical log (seed 004): prompt text is cut at this many characters
    #: (``ACP_LOG_MAX_TEXT_CHARS``).
    acp_log_max_text_chars: int = 16384
    #: Canonical log: the store promises durability (``ACP_LOG_FSYNC=1``): whatever it
    #: wrote before an operation returned survives a power cut, not only a kill -9.
    acp_log_fsync: bool = False


@dataclass(frozen=True)
class World:
    """Everything the harness owns and lends to the orchestrator."""

    #: A fresh directory for this world only.
    root: Path
    #: The orchestrator's main home (the ``~/.codex`` of seed 000).
    home: Path
    #: The canonical log home (``ACP_HOME`` of seed 004).
    acp_home: Path
    #: Where rollout-trace bundles go (seed 003): ``trace_dir/<rollout_id>/``, one per
    #: root agent (see the module docstring).
    trace_dir: Path
    #: The working directory agents run in.
    workspace: Path
    clock: HarnessClock
    backends: Mapping[BackendKind, SessionHost]
    settings: Settings = Settings()
    #: For an orchestrator that launches the CLIs as processes (an adapter with
    #: ``launches_processes = True``): the variables to set in their environment, on
    #: top of its own. ``PATH`` puts the fake ``codex``, ``claude`` and ``gemini`` first,
    #: and ``CONFORMANCE_PUPPET_SOCKET`` names the harness they answer to
    #: (:mod:`conformance.processes`). Empty for an in-process adapter.
    env: Mapping[str, str] = field(default_factory=dict)

    def backend(self, kind: BackendKind) -> SessionHost:
        """The session host for ``kind``."""
        return self.backends[kind]


@dataclass(frozen=True)
class SpawnRequest:
    """A request to start one sub-agent.

    ``prompt`` is the prompt's text. ``content`` is the same prompt as ACP content
    blocks (``{"type": "text" | "resource_link" | "resource" | "image" | "audio", ...}``
    dicts in the ``acp.schema`` wire format) when it carries more than text: resource
    links, embedded resources, images, audio. Empty means one text block holding
    ``prompt``. The backend is started with ``prompt``; ``content`` is what an ACP
    client sent, and what the canonical log (seed 004) summarises.

    ``parent`` is the agent id of the running agent that spawns this one; ``None``
    starts a root agent and its rollout (see the module docstring).
    """

    agent_id: str
    backend: BackendKind
    prompt: str
    parent: str | None = None
    content: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class SessionView:
    """The orchestrator's own account of one sub-agent (its ``get_session_data``)."""

    agent_id: str
    backend: BackendKind
    state: AgentState
    #: The backend's native session id, once known.
    session_id: str | None = None
    #: The native session file, once the orchestrator has found it.
    transcript: Path | None = None


@runtime_checkable
class Orchestrator(Protocol):
    """What the harness drives. Operations are synchronous; none may sleep."""

    def spawn(self, request: SpawnRequest) -> None:
        """Start a sub-agent: call ``start_session`` on its backend exactly once,
        before returning.

        The sub-agent's home is ``world.home / "agents" / agent_id`` (isolation area).
        An ``agent_id`` that could escape that directory or cannot name one (empty,
        ``.`` or ``..``, a path separator, an absolute path, NUL or control
        characters, overlong, a reserved device name) MUST be refused before any
        file, directory or backend session exists. The harness recognises a refusal
        as a ``ValueError``: :class:`~conformance.errors.InvalidAgentId` (preferred;
        its ``agent_id`` and non-empty ``rule`` are checked), or any other
        ``ValueError`` whose message quotes ``repr(agent_id)`` and states the rule.
        """
        ...

    def send(self, agent_id: str, prompt: str) -> None:
        """Send a follow-up prompt to a running sub-agent."""
        ...

    def resume(self, agent_id: str) -> None:
        """Resume a closed sub-agent under the same session."""
        ...

    def close(self, agent_id: str) -> None:
        """The user asks to close a sub-agent (a positive end signal)."""
        ...

    def export(self, agent_id: str, destination: Path) -> None:
        """Copy one sub-agent's artifacts to ``destination`` (isolation area)."""
        ...

    def tick(self) -> None:
        """Run the monitor loop once: poll what may be polled, check deadlines."""
        ...

    def session(self, agent_id: str) -> SessionView | None:
        """The orchestrator's view of one sub-agent, or ``None`` if it has none."""
        ...

    def sessions(self) -> Sequence[SessionView]:
        """The orchestrator's view of every sub-agent it knows (its ``list_sessions``)."""
        ...

    def shutdown(self) -> None:
        """Stop: the harness will not call the orchestrator again."""
        ...


@runtime_checkable
class Adapter(Protocol):
    """The object a vendor's module exposes as ``conformance_adapter``."""

    name: str
    version: str

    @property
    def capabilities(self) -> AbstractSet[str]:
        """The areas claimed: :class:`Capability` members, and names of the areas that
        installed invariant packs declare (plain strings). A class attribute will do."""
        ...

    # An adapter may also set ``launches_processes = True``: its orchestrator runs the
    # CLIs as processes (the fakes on ``world.env["PATH"]``), and the harness plays
    # them (conformance.processes) instead of expecting calls on ``world.backends``.
    # And ``runs_in_harness_process = False`` (a driver's): its orchestrator lives in
    # another process, where the faults of conformance.faults (failing writes, power
    # cuts) cannot reach its own writes; see conformance.faults.reach.

    def start(self, world: World) -> Orchestrator:
        """Create an orchestrator that uses ``world`` and nothing else."""
        ...
