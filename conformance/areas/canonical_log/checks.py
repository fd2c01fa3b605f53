"""Canonical-log invariants CLOG-001..CLOG-010 (seed 004): step checks on the store.

Each check reads the files under ``world.acp_home`` after every step of a
:class:`~conformance.areas.canonical_log.machine.CanonicalLogMachine` and compares them
with the world's journal (what the orchestrator owes). Every world of the machine
lives in a scratch user environment of its own (``HOME`` and ``ACP_HOME`` pointed
into the check's directory), so an orchestrator that writes to the default store is
caught, and can never touch the developer's own ``~/.acp``.

Attribution, so a mistake fails one invariant only: the layout is checked strictly by
CLOG-001 alone, every other check finds sessions wherever they are under
``ACP_HOME`` (see :mod:`conformance.areas.canonical_log.store`); a session's events are read across
every directory that claims its key, so a second global id is CLOG-003's, not a
"missing event" of CLOG-006; lines that are not canonical events are CLOG-005's and
skipped by the others; prompt summaries are matched to prompts by position, and each
part of a summary (text cut, embedded text, counts and references) has one owner.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.areas.canonical_log.journal import (
    Journal,
    Owed,
    PromptSent,
    logged_ident,
    show,
    unmatched,
)
from conformance.areas.canonical_log.machine import (
    CanonicalLogMachine,
    CorruptIndexMachine,
    EmbeddedContextMachine,
    PowerCutMachine,
    TextLimitMachine,
    cuts_of,
    journal_of,
    readable_events,
)
from conformance.areas.canonical_log.store import (
    BLOCK_TYPES,
    INDEX,
    KINDS,
    LOG,
    SESSIONS,
    STATE,
    STATE_FIELDS,
    LogLine,
    StoredSession,
    bad_component,
    files_under,
    find_sessions,
    read_index,
    read_json,
    sessions_by_key,
    sessions_of,
)
from conformance.errors import InvariantViolation
from conformance.harness import Harness
from conformance.scratch_env import current
from conformance.stateful import step_check

# -- reading the store the way the checks need it ----------------------------------------


def ordered_streams(journal: Journal, sessions: list[StoredSession]) -> dict[str, list[LogLine]]:
    """Each key's canonical events, across every directory that claims the key, in
    the order the directories were first seen (a second global id for a key is
    CLOG-003's business; here the events are simply read wherever they went)."""
    order: dict[str, int] = journal.memory.setdefault("first-seen", {})
    for session in sessions:
        order.setdefault(str(session.directory), len(order))
    streams: dict[str, list[LogLine]] = {}
    for key, claimed in sessions_by_key(sessions).items():
        claimed.sort(key=lambda s: order[str(s.directory)])
        streams[key] = [line for s in claimed for line in s.events()]
    return streams


def _first_text(blocks: Sequence[object]) -> str | None:
    first = blocks[0] if blocks else None
    if isinstance(first, Mapping) and first.get("type") == "text":
        text = first.get("text")
        return text if isinstance(text, str) else None
    return None


#: How many leading characters identify a prompt (every prompt the machines send starts
#: with a delimited number: ``task 12.``, ``p12-``), and survive any text limit.
IDENTIFYING_PREFIX = 8


def same_prompt(sent: PromptSent, event: LogLine) -> bool:
    """Whether ``event`` is the ``acp.prompt`` logged for ``sent``, told by the first
    text block: the same text, or (cut or marked) the same identifying beginning."""
    original, logged = _first_text(sent.blocks), _first_text(_blocks(event))
    if original is None or logged is None:
        return original is None and logged is None
    if original == logged:
        return True
    common = next((i for i, (a, b) in enumerate(zip(original, logged, strict=False))
                   if a != b), min(len(original), len(logged)))
    return bool(original and logged) and common >= min(
        IDENTIFYING_PREFIX, len(original), len(logged))


def prompt_pairs(
    journal: Journal, streams: Mapping[str, list[LogLine]]
) -> Iterator[tuple[PromptSent, LogLine]]:
    """Each prompt sent, with the ``acp.prompt`` event logged for it.

    Matched by identity, in order, not by position: a prompt whose event is missing
    (CLOG-006's) is skipped, so the prompts after it are still compared with their
    own events, and one fault never fails the summary checks with another prompt's
    text.
    """
    for key, sent in journal.prompts.items():
        events = [line for line in streams.get(key, []) if line.kind == "acp.prompt"]
        position = 0
        for prompt in sent:
            for index in range(position, len(events)):
                if same_prompt(prompt, events[index]):
                    yield prompt, events[index]
                    position = index + 1
                    break


def _where(harness: Harness, path: Path) -> str:
    try:
        return str(path.relative_to(harness.world.root))
    except ValueError:
        return str(path)


def _blocks(event: LogLine) -> list[Mapping[str, Any]]:
    blocks = event.data.get("blocks")
    if not isinstance(blocks, list):
        return []
    return [b if isinstance(b, Mapping) else {} for b in blocks]


# -- CLOG-001 ----------------------------------------------------------------------------


def _layout_problem(
    harness: Harness, journal: Journal, key: str, index: Mapping[str, Any]
) -> str | None:
    home = harness.world.acp_home
    gid = index.get(key)
    if gid is None:
        return (f"index.json has no entry for {key!r}; it maps {sorted(index)[:6]}")
    bad = bad_component(gid)
    if bad is not None:
        return f"index.json maps {key!r} to {gid!r}, which {bad.split(' ', 1)[1]}"
    directory = home / SESSIONS / gid
    if not directory.is_dir():
        return (f"index.json maps {key!r} to {gid}, but there is no directory "
                f"{_where(harness, directory)}")
    state, problem = read_json(directory / STATE)
    if problem is not None or not isinstance(state, dict):
        return f"{_where(harness, directory / STATE)} is {problem or 'not a JSON object'}"
    missing = [name for name in STATE_FIELDS if not isinstance(state.get(name), str)]
    if missing:
        return (f"{_where(harness, directory / STATE)} lacks the string field(s) "
                f"{', '.join(missing)}; it holds {sorted(state)}")
    backend, session_id = key.split(":", 1)
    if (state["backend"], state["backend_session_id"]) != (backend, session_id):
        return (f"{_where(harness, directory / STATE)} names backend "
                f"{state['backend']!r} and session {state['backend_session_id']!r}, "
                f"not those of {key!r}")
    cwd = journal.cwds.get(key)
    if cwd is not None and os.path.realpath(state["cwd"]) != os.path.realpath(cwd):
        return (f"{_where(harness, directory / STATE)} records cwd {state['cwd']!r}; the "
                f"session runs in {cwd!r}")
    try:
        _dt.datetime.fromisoformat(state["created"].replace("Z", "+00:00"))
    except ValueError:
        return (f"{_where(harness, directory / STATE)} records created "
                f"{state['created']!r}, not an ISO-8601 time")
    if not (directory / LOG).is_file():
        return f"there is no {_where(harness, directory / LOG)}"
    return None


@step_check("CLOG-001", CanonicalLogMachine)
def store_layout(harness: Harness) -> None:
    journal = journal_of(harness)
    if not journal.prompts:
        return
    index, problem = read_index(harness.world.acp_home)
    expected = ("Expected ACP_HOME/index.json mapping '<backend>:<native session id>' to a "
                "global id, ACP_HOME/sessions/<gid>/state.json naming backend, "
                "backend_session_id, cwd and created, and ACP_HOME/sessions/<gid>/"
                "canonical.jsonl, by the time the spawn returns.")
    if index is None:
        raise InvariantViolation("CLOG-001", (
            f"{_where(harness, harness.world.acp_home / INDEX)} is {problem} after "
            f"{len(journal.prompts)} session(s) were spawned. {expected}"))
    for key, sent in journal.prompts.items():
        found = _layout_problem(harness, journal, key, index)
        if found is not None:
            raise InvariantViolation("CLOG-001", (
                f"{found} (session {key}, {sent[0].cause}). {expected}"))


# -- CLOG-002 ----------------------------------------------------------------------------

_STORE_NAMES = (INDEX, STATE, LOG, "index.lock")


@step_check("CLOG-002", CanonicalLogMachine)
def acp_home_honoured(harness: Harness) -> None:
    scratch = current()
    stray = [*files_under(scratch.home), *files_under(scratch.acp_home)]
    if harness.shut_down:
        # The rest of the world once, at the end (files stay): walking every agent's
        # home after every step would cost more than the rest of the check.
        acp_home = str(harness.world.acp_home)
        for directory, dirs, files in os.walk(harness.world.root):
            if directory == acp_home:
                dirs.clear()
                continue
            stray += [Path(directory) / name for name in files if name in _STORE_NAMES]
    if stray:
        shown = ", ".join(str(p) for p in stray[:4])
        raise InvariantViolation("CLOG-002", (
            f"the orchestrator wrote {len(stray)} file(s) outside world.acp_home "
            f"({harness.world.acp_home}): {shown}. The user's HOME was {scratch.home} and "
            f"the environment's ACP_HOME {scratch.acp_home}. Expected every canonical-log "
            "file under the ACP_HOME the harness gave (world.acp_home), nothing in ~/.acp, "
            "in $ACP_HOME or anywhere else."))


# -- CLOG-003 ----------------------------------------------------------------------------


@step_check("CLOG-003", CorruptIndexMachine)
def stable_mapping(harness: Harness) -> None:
    journal = journal_of(harness)
    first: dict[str, str] = journal.memory.setdefault("CLOG-003", {})
    home = harness.world.acp_home
    for key, claimed in sessions_by_key(find_sessions(home)).items():
        if len(claimed) > 1:
            dirs = ", ".join(_where(harness, s.directory) for s in claimed)
            raise InvariantViolation("CLOG-003", (
                f"session {key} has {len(claimed)} global sessions ({dirs}): the same "
                "backend session key got a second global id. Expected one global id per "
                "key, for ever (across resumes, restarts and a corrupt index.json)."))
    index, _ = read_index(home)
    if index is None:
        return  # missing or corrupt: nothing to compare until the orchestrator writes it
    owners: dict[Any, str] = {}
    for key, gid in index.items():
        if isinstance(gid, str | int) and gid in owners:
            raise InvariantViolation("CLOG-003", (
                f"index.json maps both {owners[gid]!r} and {key!r} to {gid!r}. Expected "
                "different keys to have different global ids."))
        if isinstance(gid, str | int):
            owners[gid] = key
    for key, gid in first.items():
        if index.get(key) != gid:
            now = "no longer has it" if key not in index else f"now maps it to {index[key]!r}"
            raise InvariantViolation("CLOG-003", (
                f"index.json mapped {key!r} to {gid!r}; it {now} (after "
                f"{journal.prompts[key][-1].cause}). Expected a key's global id never to "
                "change or vanish: not on resume, not on restart, not when index.json was "
                "found corrupt (its mappings are in the sessions' state.json)."))
    for key in journal.prompts:
        if key in index and isinstance(index[key], str):
            first.setdefault(key, index[key])


# -- CLOG-004 ----------------------------------------------------------------------------


def _first_difference(before: bytes, after: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
              min(len(before), len(after)))
    if at >= len(after):
        return f"the file shrank from {len(before)} to {len(after)} bytes"
    line = before.count(b"\n", 0, at) + 1
    start = max(before.rfind(b"\n", 0, at) + 1, at - 60)
    return (f"line {line} changed at byte {at}: it read ...{before[start:at + 60]!r}, it "
            f"now reads ...{after[start:at + 60]!r}")


@step_check("CLOG-004", CanonicalLogMachine)
def append_only(harness: Harness) -> None:
    snapshots: dict[str, bytes] = journal_of(harness).memory.setdefault("CLOG-004", {})
    present: set[str] = set()
    for session in sessions_of(harness, harness.world.acp_home):
        if session.log_bytes is None:
            continue
        name = str(session.log_path)
        present.add(name)
        before = snapshots.get(name)
        if before is not None and not session.log_bytes.startswith(before):
            raise InvariantViolation("CLOG-004", (
                f"{_where(harness, session.log_path)} changed below its end: "
                f"{_first_difference(before, session.log_bytes)}. Expected canonical.jsonl "
                "to be append-only: every earlier byte stays as it was."))
        snapshots[name] = session.log_bytes
    for name in sorted(set(snapshots) - present):
        raise InvariantViolation("CLOG-004", (
            f"{_where(harness, Path(name))} ({len(snapshots[name])} bytes) was deleted. "
            "Expected canonical.jsonl to be append-only: it only ever grows."))


# -- CLOG-005 ----------------------------------------------------------------------------


@step_check("CLOG-005", CanonicalLogMachine)
def lines_parse(harness: Harness) -> None:
    for session in sessions_of(harness, harness.world.acp_home):
        for line in session.lines():
            problem = line.problem or (None if line.complete else "torn: no final newline")
            if problem is not None:
                raise InvariantViolation("CLOG-005", (
                    f"{_where(harness, session.log_path)} line {line.number} is {problem}: "
                    f"{line.excerpt()}. Expected every line to be one complete JSON object "
                    f"with a 'data' object and a 'kind' among {', '.join(sorted(KINDS))}."))


# -- CLOG-006 ----------------------------------------------------------------------------


@step_check("CLOG-006", CanonicalLogMachine)
def emission_order(harness: Harness) -> None:
    journal = journal_of(harness)
    streams = ordered_streams(journal, sessions_of(harness, harness.world.acp_home))
    for key, owed in journal.owed.items():
        logged = [logged_ident(line) for line in streams.get(key, [])]
        expected = [item.ident for item in owed]
        if logged == expected:
            continue
        at = next((i for i, (a, b) in enumerate(zip(expected, logged, strict=False)) if a != b),
                  min(len(expected), len(logged)))
        want = str(owed[at]) if at < len(owed) else "nothing more"
        found = show(logged[at]) if at < len(logged) else "nothing"
        context = "\n".join(f"    {'>' if i == at else ' '} #{i + 1} owed {owed[i]}"
                            for i in range(max(0, at - 2), min(len(owed), at + 3)))
        raise InvariantViolation("CLOG-006", (
            f"session {key}: canonical event #{at + 1} should be {want}, the log has "
            f"{found} ({len(logged)} events logged, {len(expected)} owed). Expected the "
            "prompt (and, for Codex, its submission), then every chunk, thought, tool call, "
            "tool call update, plan and permission request/response, each once, in the "
            "order the backend emitted them, by the time the step that caused them "
            f"returned.\n{context}"))


# -- CLOG-007 ----------------------------------------------------------------------------


@step_check("CLOG-007", CanonicalLogMachine)
def embedded_text_absent(harness: Harness) -> None:
    journal = journal_of(harness)
    if harness.world.settings.acp_log_embedded_context or not journal.secrets:
        return
    for path in files_under(harness.world.acp_home):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        for secret, cause in journal.secrets.items():
            if secret.encode() in content:
                raise InvariantViolation("CLOG-007", (
                    f"{_where(harness, path)} holds {secret!r}, the text of an embedded "
                    f"resource in {cause}, although embedded context logging is off. "
                    "Expected only the resource's URI and length in the log by default."))


# -- CLOG-008 ----------------------------------------------------------------------------


def _resources(sent: PromptSent) -> Iterator[tuple[str, str]]:
    for block in sent.blocks:
        resource = block.get("resource")
        if block.get("type") == "resource" and isinstance(resource, Mapping) and isinstance(
                resource.get("text"), str):
            yield str(resource.get("uri")), resource["text"]


@step_check("CLOG-008", EmbeddedContextMachine)
def embedded_text_present(harness: Harness) -> None:
    journal = journal_of(harness)
    limit = harness.world.settings.acp_log_max_text_chars
    if not harness.world.settings.acp_log_embedded_context:
        return
    streams = ordered_streams(journal, sessions_of(harness, harness.world.acp_home))
    for sent, event in prompt_pairs(journal, streams):
        summaries = [b for b in _blocks(event) if b.get("type") == "resource"]
        for uri, text in _resources(sent):
            matching = [b for b in summaries if b.get("uri") == uri]
            if not matching:
                continue  # a missing block is CLOG-010's
            logged = matching[0].get("text")
            if not isinstance(logged, str) or not logged.startswith(text[:limit]):
                raise InvariantViolation("CLOG-008", (
                    f"session {sent.key}: the embedded resource {uri} of {sent.cause} is "
                    f"logged as {dict(matching[0])!r}, without its text {text!r}. Expected "
                    "the embedded text in the prompt summary (cut at the text limit) when "
                    "the world enables embedded context (ACP_LOG_EMBEDDED_CONTEXT=1)."))


# -- CLOG-009 ----------------------------------------------------------------------------


def _cut_problem(original: str, summary: Mapping[str, Any], limit: int) -> str | None:
    text, chars, truncated = summary.get("text"), summary.get("chars"), summary.get("truncated")
    if not isinstance(text, str):
        return "has no text"
    if len(original) <= limit:
        if text != original:
            return f"is {text!r}, not the whole text"
        if truncated is not False:
            return f"has truncated={truncated!r}, expected false"
    else:
        if not text.startswith(original[:limit]):
            return f"is {text!r}, which does not begin with the first {limit} characters"
        if text.startswith(original[:limit + 1]):
            return f"is {text!r}, which keeps more than {limit} characters of the text"
        if truncated is not True:
            return f"has truncated={truncated!r}, expected true"
    if chars != len(original):
        return f"has chars={chars!r}, expected the original length {len(original)}"
    return None


@step_check("CLOG-009", TextLimitMachine)
def text_cut_at_limit(harness: Harness) -> None:
    journal = journal_of(harness)
    limit = harness.world.settings.acp_log_max_text_chars
    streams = ordered_streams(journal, sessions_of(harness, harness.world.acp_home))
    for sent, event in prompt_pairs(journal, streams):
        originals = [str(b.get("text")) for b in sent.blocks if b.get("type") == "text"]
        summaries = [b for b in _blocks(event) if b.get("type") == "text"]
        for original, summary in zip(originals, summaries, strict=False):
            problem = _cut_problem(original, summary, limit)
            if problem is not None:
                raise InvariantViolation("CLOG-009", (
                    f"session {sent.key}: the logged text block of {sent.cause} (a text of "
                    f"{len(original)} characters, limit {limit}) {problem}. Expected text up "
                    "to the limit logged whole, longer text cut to exactly its first "
                    "'limit' characters (a marker may follow), with truncated and chars "
                    "(the original length)."))


# -- CLOG-010 ----------------------------------------------------------------------------


def _block_problem(block: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    kind = block.get("type")
    if summary.get("type") != kind:
        return f"is a {summary.get('type')!r} block, expected {kind!r}"
    if kind == "resource_link":
        want = {"uri": block.get("uri"), "name": block.get("name")}
    elif kind == "resource":
        resource = block.get("resource")
        resource = resource if isinstance(resource, Mapping) else {}
        length = (("text_chars", len(resource["text"])) if "text" in resource
                  else ("blob_chars", len(str(resource.get("blob", "")))))
        want = {"uri": resource.get("uri"), length[0]: length[1]}
    elif kind in ("image", "audio"):
        want = {"mime_type": block.get("mimeType")}
    else:
        return None
    wrong = {k: summary.get(k) for k, v in want.items() if summary.get(k) != v}
    return None if not wrong else f"has {wrong}, expected {want}"


def _summary_problem(sent: PromptSent, event: LogLine) -> str | None:
    counts = Counter(str(b.get("type")) for b in sent.blocks)
    expected = {name: counts.get(name, 0) for name in BLOCK_TYPES}
    logged = event.data.get("counts")
    found = {name: logged.get(name) for name in BLOCK_TYPES} if isinstance(
        logged, Mapping) else logged
    if found != expected:
        return f"counts {found!r}, expected {expected!r}"
    blocks = _blocks(event)
    if len(blocks) != len(sent.blocks):
        kinds = [b.get("type") for b in blocks]
        return (f"{len(blocks)} block summaries {kinds}, expected {len(sent.blocks)} "
                f"{[b.get('type') for b in sent.blocks]}")
    for number, (block, summary) in enumerate(zip(sent.blocks, blocks, strict=False), 1):
        problem = _block_problem(block, summary)
        if problem is not None:
            return f"block {number} {problem}"
    return None


@step_check("CLOG-010", CanonicalLogMachine)
def prompt_counts(harness: Harness) -> None:
    journal = journal_of(harness)
    streams = ordered_streams(journal, sessions_of(harness, harness.world.acp_home))
    for sent, event in prompt_pairs(journal, streams):
        problem = _summary_problem(sent, event)
        if problem is not None:
            raise InvariantViolation("CLOG-010", (
                f"session {sent.key}: the acp.prompt of {sent.cause} has {problem}. Expected "
                "one summary per content block, in order (resource links with uri and name, "
                "embedded resources with uri and length, images and audio with their mime "
                "type), and counts of text, resource_link, resource, image and audio "
                "blocks."))



# -- CLOG-014 ----------------------------------------------------------------------------


@step_check("CLOG-014", PowerCutMachine)
def power_cut_keeps_what_was_readable(harness: Harness) -> None:
    cuts = cuts_of(harness)
    if not cuts:
        return
    keys = sorted({key for cut in cuts for key in cut.readable})
    now = readable_events(harness.world.acp_home, keys)
    for number, cut in enumerate(cuts, 1):
        for key, seen in cut.readable.items():
            lost = unmatched([Owed(key, ident, "readable before the cut") for ident in seen],
                             now.get(key, []))
            if not lost:
                continue
            where = ("is no longer reachable through index.json" if key not in now
                     else f"lacks {len(lost)} of them, from {show(lost[0].ident)} on")
            wrote = "; ".join(cut.lost[:4]) or "nothing"
            raise InvariantViolation("CLOG-014", (
                f"power cut #{number} at {harness.describe(cut.at)}: {len(seen)} events of "
                f"{key} were readable just before it, and the store {where}. The cut undid "
                f"every write not synced: {wrote}. Expected, with durability promised "
                "(ACP_LOG_FSYNC=1), every event, state.json and index.json mapping the store "
                "reported done to be synced before the operation returned."))
