"""The canonical-log state machine (seed 004): prompts with rich content, turns that
stream updates and permission round trips, follow-ups, exits, closes, resumes, and
restarts of the orchestrator on the same store.

A restart shuts the orchestrator down and starts a new one (a new ``Harness``) on the
same world directories and the same world token. The fake backends of the new world
hand out the same native session ids in the same order, so a spawn after a restart
may reopen a backend session key the store already knows: exactly the situation in
which a store must return the same global id (an editor reopening a thread).

The :class:`~conformance.areas.canonical_log.journal.Journal` of each world records what the
orchestrator owes its log; step checks find it with :func:`journal_of`.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, precondition, rule

from conformance.areas.canonical_log.journal import Ident, Journal, logged_ident
from conformance.areas.canonical_log.store import find_sessions, key_of, read_index
from conformance.contract import BackendKind, Settings
from conformance.fakes import profiles
from conformance.fakes.permissions import with_permissions
from conformance.faults import PowerCut
from conformance.harness import Harness
from conformance.scratch_env import decoys, scratch_user_env
from conformance.stateful import HarnessMachine, fault_rules
from conformance.strategies import backend_kinds

MAX_AGENTS = 3
MAX_LIFETIMES = 3

#: Kinds of extra prompt blocks, the ordinary case (none) first when shrinking.
EXTRAS = ("resource", "resource_link", "image", "audio")

#: Seconds to let pass: a whole turn (4-4.2 s), part of one, several.
ADVANCES = (5.0, 1.0, 2.5, 12.0)

_JOURNALS: WeakKeyDictionary[Harness, Journal] = WeakKeyDictionary()
_users = itertools.count(1)


def journal_of(harness: Harness) -> Journal:
    """The journal of the world ``harness`` drives (an empty one outside the machine)."""
    journal = _JOURNALS.get(harness)
    if journal is None:
        journal = _JOURNALS[harness] = Journal()
    return journal


def secret_text(n: int, i: int) -> str:
    """A planted secret: the text of an embedded resource, unique in its world."""
    return f"planted-secret-{n:03d}-{i}-c0ffee"


def extra_block(kind: str, n: int, i: int) -> dict[str, Any]:
    """Prompt block ``i`` of prompt ``n`` as an ACP content block dict."""
    if kind == "resource":
        return {"type": "resource", "resource": {
            "uri": f"file:///workspace/notes-{n}-{i}.txt", "mimeType": "text/plain",
            "text": secret_text(n, i)}}
    if kind == "resource_link":
        return {"type": "resource_link", "uri": f"file:///workspace/src/mod_{n}_{i}.py",
                "name": f"mod_{n}_{i}.py"}
    payload = base64.b64encode(f"{kind}-{n}-{i}".encode() * 4).decode()
    mime = "image/png" if kind == "image" else "audio/wav"
    return {"type": kind, "mimeType": mime, "data": payload}


class CanonicalLogMachine(HarnessMachine):
    """Generates the sessions, turns and restarts a canonical log must follow."""

    agents = Bundle("agents")
    #: How many prompt text variants :meth:`prompt_text` knows.
    TEXT_VARIANTS: ClassVar[int] = 4

    def __init__(self) -> None:
        # A fresh scratch HOME and decoy ACP_HOME per world, set before the orchestrator
        # starts (it may read the environment then): see conformance.scratch_env.
        self._user_env = scratch_user_env(self.context.workdir / f"user-{next(_users)}",
                                          decoys(self.world_settings()))
        self._user_env.__enter__()
        try:
            super().__init__()
        except BaseException:
            self._user_env.__exit__(None, None, None)
            raise
        self.lifetimes = 1
        self.prompts = 0
        self.journal = journal_of(self.harness)
        self._watch()

    def prompt_text(self, n: int, variant: int) -> str:
        """The text of prompt ``n``; areas with a text limit override it."""
        # A delimited number first: it identifies the prompt's logged summary.
        return (f"task {n}.", f"task {n}: summarise the change", f"task {n}: fix the bug",
                f"task {n}: réécris — 日本語 🚀 «quoted» \\ end")[variant % 4]

    # -- rules --------------------------------------------------------------------------

    @precondition(lambda self: len(self.harness.agents) < MAX_AGENTS)
    @rule(target=agents, kind=backend_kinds(), variant=st.integers(0, 11),
          extras=st.lists(st.sampled_from(EXTRAS), max_size=3), version=st.integers(0, 1))
    def spawn(self, kind: BackendKind, variant: int, extras: list[str], version: int = 0
              ) -> str:
        self.prompts += 1
        n = self.prompts
        agent_id = f"agent-{n}"
        text = self.prompt_text(n, variant % self.TEXT_VARIANTS)
        blocks: list[Mapping[str, Any]] = [{"type": "text", "text": text}]
        blocks += [extra_block(extra, n, i) for i, extra in enumerate(extras)]
        for i, extra in enumerate(extras):
            if extra == "resource":
                self.journal.plant(secret_text(n, i), f"the spawn prompt of {agent_id}")
        record = self.harness.spawn(agent_id, kind, text, content=blocks,
                                    profile=profiles.for_version(kind, version))
        session_id = record.session.session_id
        self.journal.cwds[key_of(kind.value, session_id)] = str(record.session.cwd)
        self.journal.prompt(kind, session_id, blocks, f"spawn of {agent_id}")
        note(f"{agent_id}: {kind.value} session {session_id}, prompt of {len(text)} chars"
             f"{' + ' + ', '.join(extras) if extras else ''}")
        return agent_id

    @rule(agent=agents, variant=st.integers(0, 11))
    def follow_up(self, agent: str, variant: int) -> None:
        record = self.harness.agents.get(agent)
        if record is None or not record.session.alive:
            return
        self.prompts += 1
        text = self.prompt_text(self.prompts, variant % self.TEXT_VARIANTS)
        self.harness.send(agent, text)
        self.journal.prompt(record.backend, record.session.session_id,
                            [{"type": "text", "text": text}], f"follow-up to {agent}")

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance(self, seconds: float) -> None:
        self.harness.advance(seconds)

    @rule()
    def tick(self) -> None:
        self.harness.tick()

    @rule(agent=agents)
    def process_exits(self, agent: str) -> None:
        record = self.harness.agents.get(agent)
        if record is not None and record.session.alive:
            self.harness.exit_process(agent)

    @rule(agent=agents)
    def close(self, agent: str) -> None:
        if agent in self.harness.agents:
            self.harness.close(agent)

    @rule(agent=agents)
    def resume(self, agent: str) -> None:
        record = self.harness.agents.get(agent)
        if record is not None and not record.session.alive:
            self.harness.resume(agent)

    @precondition(lambda self: self.lifetimes < MAX_LIFETIMES and self.harness.agents)
    @rule()
    def restart(self) -> None:
        """A new orchestrator on the same store; native session ids start over."""
        self.harness.shutdown()
        self._next_orchestrator("restart")

    def _next_orchestrator(self, why: str) -> None:
        old = self.harness
        old.retire()
        self.harness = Harness(self.context.adapter.adapter, self.clock, old.root,
                               settings=self.world_settings(),
                               workspace=old.world.workspace.name)
        _JOURNALS[self.harness] = self.journal
        self.lifetimes += 1
        self._watch()
        note(f"{why} #{self.lifetimes - 1}: a new orchestrator on {old.world.acp_home}")

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self._user_env.__exit__(None, None, None)

    # -- helpers ------------------------------------------------------------------------

    def _watch(self) -> None:
        for host in self.harness.hosts.values():
            host.responder = with_permissions()
        self.journal.follow(self.harness)


class EmbeddedContextMachine(CanonicalLogMachine):
    """Worlds whose settings ask for embedded context (``ACP_LOG_EMBEDDED_CONTEXT=1``)."""

    def world_settings(self) -> Settings:
        return Settings(acp_log_embedded_context=True)


#: The text limit of :class:`TextLimitMachine` worlds.
TEXT_LIMIT = 24


class TextLimitMachine(CanonicalLogMachine):
    """Worlds with a small ``ACP_LOG_MAX_TEXT_CHARS``, prompts around the limit."""

    #: Prompt lengths: an ordinary one, then each side of the limit.
    LENGTHS: ClassVar[tuple[int, ...]] = (10, TEXT_LIMIT + 1, TEXT_LIMIT, TEXT_LIMIT - 1,
                                          3 * TEXT_LIMIT, 0)
    #: Each length in ASCII, then in text that is not: accents (two UTF-8 bytes), CJK
    #: (three) and an astral emoji (four, and two UTF-16 code units). The limit counts
    #: characters, whatever a byte or code-unit count makes of them.
    ALPHABETS: ClassVar[tuple[str, ...]] = ("abcdefghijklmnopqrstuvwxyz0123456789",
                                            "é日本🚀ü語ñ中文ß")
    TEXT_VARIANTS = len(LENGTHS) * len(ALPHABETS)

    def world_settings(self) -> Settings:
        return Settings(acp_log_max_text_chars=TEXT_LIMIT)

    def prompt_text(self, n: int, variant: int) -> str:
        length = self.LENGTHS[variant % len(self.LENGTHS)]
        if length == 0 and self.harness.puppets is not None:
            # The CLIs refuse an empty prompt ("No prompt provided"), as the real
            # ones do: through processes the shortest prompt is one character.
            length = 1
        alphabet = self.ALPHABETS[variant // len(self.LENGTHS)]
        pattern = f"p{n}-{alphabet}"
        return (pattern * (length // len(pattern) + 1))[:length]


class CorruptIndexMachine(CanonicalLogMachine):
    """Adds a harness that breaks ``index.json`` now and then (a crash of another
    writer, a bad sync): the mappings it held must survive."""

    @rule()
    def corrupt_index(self) -> None:
        index = self.harness.world.acp_home / "index.json"
        if index.is_file():
            index.write_bytes(b'{"codex:')
            note(f"the harness corrupted {index}")


@dataclass(frozen=True)
class Cut:
    """One power cut: what was readable just before it, and what it undid."""

    at: float
    #: Per backend session key, the events readable through index.json before the cut.
    readable: dict[str, list[Ident]]
    #: What the cut put back to its last synced state (a line per file).
    lost: list[str]


def cuts_of(harness: Harness) -> list[Cut]:
    """The power cuts of the world ``harness`` drives (none outside the machine)."""
    cuts: list[Cut] = journal_of(harness).memory.setdefault("power cuts", [])
    return cuts


def readable_events(acp_home: Path, keys: list[str]) -> dict[str, list[Ident]]:
    """Per key, the events of the session ``index.json`` maps it to, in log order."""
    index, _ = read_index(acp_home)
    if index is None:
        return {}
    by_gid = {session.gid: session for session in find_sessions(acp_home)}
    out: dict[str, list[Ident]] = {}
    for key in keys:
        session = by_gid.get(index.get(key))  # type: ignore[arg-type]
        if session is not None:
            out[key] = [logged_ident(line) for line in session.events()]
    return out


class PowerCutMachine(CanonicalLogMachine):
    """Worlds whose store promises durability (``ACP_LOG_FSYNC=1``), with power cuts:
    every write the store had not synced is lost, the orchestrator dies with the
    machine (no shutdown), and a new one reopens the same sessions."""

    def __init__(self) -> None:
        super().__init__()
        self.power = PowerCut(self.harness.world.acp_home)
        self.power.start()

    def world_settings(self) -> Settings:
        return Settings(acp_log_fsync=True)

    @precondition(lambda self: self.lifetimes < MAX_LIFETIMES and self.harness.agents)
    @rule()
    def power_cut(self) -> None:
        keys = sorted(self.journal.prompts)
        before = readable_events(self.harness.world.acp_home, keys)
        lost = self.power.cut()
        cuts_of(self.harness).append(Cut(self.harness.now(), before, lost))
        note(f"power cut: {len(lost)} file(s) lost unsynced writes"
             + (f" ({'; '.join(lost[:3])})" if lost else ""))
        self._next_orchestrator("power back")

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self.power.stop()


# Failing writes and power cuts reach only an orchestrator in this process.
fault_rules(PowerCutMachine, "power_cut")
