"""Planting markers and credentials in a world, and finding them again.

:func:`plant` gives every fake host of a world the marker responder of
:mod:`conformance.fakes.markers`; :func:`prompt` builds a prompt carrying an agent's
prompt marker; :func:`markers_in` tells which agents' markers a text holds. Tokens
are derived from the world's root and the agent id, so a check can recompute them
without any state shared with the machine that planted them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.fakes.host import FakeSession
from conformance.fakes.markers import (
    MARKER_PATTERN,
    PROMPT,
    agent_token,
    body_token,
    credential,
    marker,
    marker_responder,
)
from conformance.harness import Harness


def world_key(harness: Harness) -> str:
    return str(harness.root)


def plant(harness: Harness) -> None:
    """Make every backend of the world answer with markers and send credentials."""
    key, token = credential(world_key(harness)), body_token(world_key(harness))
    for kind, host in harness.hosts.items():
        host.responder = marker_responder(kind, key, token)


def planted_credentials(harness: Harness) -> tuple[str, ...]:
    """The world's planted API key and OAuth token."""
    return credential(world_key(harness)), body_token(world_key(harness))


def token_of(harness: Harness, agent_id: str) -> str:
    return agent_token(world_key(harness), agent_id)


def prompt(harness: Harness, agent_id: str, text: str) -> str:
    """``text`` with the agent's prompt marker in front (where a summary keeps it)."""
    return f"{marker(PROMPT, token_of(harness, agent_id))} {text}"


@dataclass(frozen=True)
class Found:
    """A marker of one agent, found in one file."""

    agent_id: str
    kind: str
    path: Path
    line: str


def markers_in(harness: Harness, path: Path, lines: Iterable[str],
               kinds: str = "pif") -> list[Found]:
    """Every marker of a known agent in ``lines``, of the given kinds."""
    owners = harness.per_step(markers_in, lambda: {token_of(harness, a): a
                                                   for a in harness.agents})
    found = []
    for line in lines:
        for match in MARKER_PATTERN.finditer(line):
            kind, token = match.group(1), match.group(2)
            if kind in kinds and token in owners:
                found.append(Found(owners[token], kind, path, line))
    return found


def sessions(harness: Harness) -> list[FakeSession]:
    """Every session of every fake host of the world, attributed or not."""
    return [s for host in harness.hosts.values() for s in host.sessions.values()]


def written_lines(harness: Harness, *, exclude_agent: str | None = None
                  ) -> dict[Path, Counter[str]]:
    """Lines the fake processes wrote, by resolved path (optionally but one agent's);
    counted once for every check of a step (``Harness.per_step``): do not change it."""
    return harness.per_step((written_lines, exclude_agent),
                            lambda: _written_lines(harness, exclude_agent))


def _written_lines(harness: Harness, exclude_agent: str | None) -> dict[Path, Counter[str]]:
    lines: dict[Path, Counter[str]] = {}
    for agent_id, by_path in _written_by_agent(harness).items():
        if exclude_agent is not None and agent_id == exclude_agent:
            continue
        for path, counted in by_path.items():
            if path in lines:
                lines[path] = lines[path] + counted
            else:
                lines[path] = counted
    return lines


def _written_by_agent(harness: Harness) -> dict[str | None, dict[Path, Counter[str]]]:
    """The lines each agent's processes wrote (``None``: unattributed sessions), by
    resolved path, counted once per step."""

    def count() -> dict[str | None, dict[Path, Counter[str]]]:
        by_agent: dict[str | None, dict[Path, Counter[str]]] = {}
        for session in sessions(harness):
            mine = by_agent.setdefault(session.agent_id, {})
            for path, line in session.written:
                mine.setdefault(path, Counter())[line] += 1
        return by_agent

    return harness.per_step(_written_by_agent, count)


def without(lines: list[str], remove: Counter[str] | None) -> list[str]:
    """``lines`` minus (up to their counts) the lines in ``remove``."""
    if not remove:
        return lines
    budget = Counter(remove)
    kept = []
    for line in lines:
        if budget[line] > 0:
            budget[line] -= 1
        else:
            kept.append(line)
    return kept
