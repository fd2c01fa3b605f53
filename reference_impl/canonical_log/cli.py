"""``acp-log``: list the sessions of a canonical store and show one session's timeline.

Usage::

    acp-log [--acp-home DIR] list
    acp-log [--acp-home DIR] show GID_OR_KEY

``list`` prints one row per session across all backends (gid, backend, backend
session id, created, event count, cwd). ``show`` prints one line per event of a
session named by its gid, a unique gid prefix, or its ``<backend>:<id>`` key.

The CLI is strictly read-only: it never creates ``ACP_HOME`` or repairs a corrupt
index (the next writer does that). Log text is model and user output, so control
characters are escaped before printing; a log can never drive the terminal.
Exit status: 0 on success, 2 for usage errors, a missing ``ACP_HOME`` or an unknown
session, 1 if the store cannot be read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

from reference_impl.canonical_log.errors import CanonicalLogError
from reference_impl.canonical_log.events import CanonicalEvent
from reference_impl.canonical_log.layout import Layout, resolve_acp_home
from reference_impl.canonical_log.log import ReadResult, read_events
from reference_impl.canonical_log.state import read_state
from reference_impl.canonical_log.store import list_sessions, resolve_session

_SNIPPET = 80


def _clean(text: str, limit: int | None = None) -> str:
    """Escape control characters (newlines included) and shorten to ``limit`` chars."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf") or ch in "\u2028\u2029":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    cleaned = "".join(out)
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "\u2026"
    return cleaned


def _block_text(block: Any) -> str:
    if not isinstance(block, dict):
        return "?"
    kind = block.get("type")
    if kind == "text":
        return _clean(str(block.get("text", "")), _SNIPPET)
    if kind == "resource_link":
        return f"<link {_clean(str(block.get('uri', '')), _SNIPPET)}>"
    if kind == "resource":
        size = block.get("text_chars", block.get("blob_chars", "?"))
        return f"<resource {_clean(str(block.get('uri', '')), _SNIPPET)} {size} chars>"
    return f"<{_clean(str(kind))}>"


def _tool_text(call: Any) -> str:
    if not isinstance(call, dict):
        return "?"
    parts = [f"[{_clean(str(call.get('tool_call_id', '?')), 40)}]"]
    if "title" in call:
        parts.append(_clean(str(call["title"]), _SNIPPET))
    extra = [str(call[k]) for k in ("kind", "status") if k in call]
    if extra:
        parts.append(f"({_clean(', '.join(extra))})")
    return " ".join(parts)


def describe(event: CanonicalEvent) -> str:
    """A one-line, human-readable summary of an event's data."""
    d = event.data
    if event.kind == "acp.prompt":
        counts = d.get("counts", {})
        texts = [b for b in d.get("blocks", []) if isinstance(b, dict) and b.get("type") == "text"]
        head = _block_text(texts[0]) if texts else ""
        others = ", ".join(
            f"{n} {k}"
            for k, n in sorted(counts.items())
            if isinstance(n, int) and n and k != "text"
        )
        return head + (f" [+{others}]" if others else "")
    if event.kind == "backend.codex.submit":
        sub = _clean(str(d.get("submission_id")), 40)
        return f"op={_clean(str(d.get('op_kind')))} submission={sub}"
    if event.kind in ("acp.agent_message_chunk", "acp.agent_thought_chunk"):
        return _block_text(d.get("content"))
    if event.kind in ("acp.tool_call", "acp.tool_call_update"):
        return _tool_text(d)
    if event.kind == "acp.plan":
        entries = d.get("entries")
        if isinstance(entries, list):
            done = sum(1 for e in entries if isinstance(e, dict) and e.get("status") == "completed")
            return f"{d.get('format')}: {len(entries)} entries, {done} completed"
        return _clean(f"{d.get('format')} {d.get('plan_id', '')}".strip(), _SNIPPET)
    if event.kind == "acp.request_permission":
        options = d.get("options", [])
        names = "/".join(
            _clean(str(o.get("option_id")), 20) for o in options if isinstance(o, dict)
        )
        return f"{_tool_text(d.get('tool_call'))} options: {names}"
    if event.kind == "acp.request_permission_response":
        text = _clean(str(d.get("outcome")))
        if "option_id" in d:
            text += f" {_clean(str(d['option_id']), 40)}"
        if "tool_call_id" in d:
            text += f" for [{_clean(str(d['tool_call_id']), 40)}]"
        return text
    return ""


def _cmd_list(layout: Layout, out: TextIO) -> int:
    rows = [("GID", "BACKEND", "SESSION ID", "CREATED", "EVENTS", "CWD")]
    for s in list_sessions(layout):
        events = str(s.event_count) + (f" (+{s.skipped_lines} bad)" if s.skipped_lines else "")
        rows.append(
            (
                s.gid,
                _clean(s.backend or "?"),
                _clean(s.backend_session_id or "?", 60),
                s.created or "?",
                events,
                _clean(s.cwd) if s.cwd is not None else f"? ({_clean(s.state_error or '')})",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:5])]
        out.write("  ".join([*cells, row[5]]).rstrip() + "\n")
    return 0


def _cmd_show(layout: Layout, target: str, out: TextIO, err: TextIO) -> int:
    gid = resolve_session(layout, target)
    if gid is None:
        err.write(f"acp-log: unknown session {_clean(target)!s} in {layout.home}\n")
        return 2
    out.write(f"session {gid}\n")
    try:
        state = read_state(layout, gid)
        out.write(f"  backend  {state.backend}  {_clean(state.backend_session_id)}\n")
        out.write(f"  cwd      {_clean(state.cwd)}\n  created  {state.created}\n")
    except (OSError, CanonicalLogError) as exc:
        out.write(f"  state    unavailable: {_clean(str(exc))}\n")
    try:
        result = read_events(layout.log_path(gid))
    except FileNotFoundError:
        result = ReadResult()
    for event in result.events:
        out.write(f"{event.seq:>5}  {_clean(event.ts)}  {event.kind:<33} {describe(event)}\n")
    for line in result.skipped:
        err.write(
            f"acp-log: line {line} of {layout.log_path(gid)} is torn or unparsable; skipped\n"
        )
    if not result.events:
        out.write("  (no events)\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acp-log", description="Inspect the canonical ACP session log."
    )
    parser.add_argument(
        "--acp-home", metavar="DIR", help="store directory (default: $ACP_HOME or ~/.acp)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list sessions across backends")
    show = sub.add_parser("show", help="show one session's timeline")
    show.add_argument("session", metavar="GID_OR_KEY", help="gid, unique gid prefix, or backend:id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    out, err = sys.stdout, sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        layout = Layout(resolve_acp_home(args.acp_home))
    except (CanonicalLogError, RuntimeError) as exc:
        err.write(f"acp-log: {exc}\n")
        return 2
    if not layout.home.is_dir():
        err.write(f"acp-log: ACP_HOME {layout.home} does not exist (nothing has been logged)\n")
        return 2
    try:
        if args.command == "list":
            return _cmd_list(layout, out)
        return _cmd_show(layout, args.session, out, err)
    except BrokenPipeError:
        # The reader went away (``acp-log show X | head``): stop quietly. Point stdout at
        # devnull so the interpreter's final flush does not complain again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        return 1
    except OSError as exc:
        err.write(f"acp-log: cannot read {layout.home}: {exc}\n")
        return 1
