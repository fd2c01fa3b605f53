"""Prompts are matched to their logged summaries by identity, not by position
(regression: one missing acp.prompt used to shift every later pair, so a single
lost event failed CLOG-008, CLOG-009 and CLOG-010 with another prompt's text)."""

from __future__ import annotations

import json
from typing import Any

from conformance.areas.canonical_log.checks import prompt_pairs, same_prompt
from conformance.areas.canonical_log.journal import Journal
from conformance.areas.canonical_log.store import LogLine
from conformance.contract import BackendKind


def _event(number: int, text: str) -> LogLine:
    obj: dict[str, Any] = {"kind": "acp.prompt", "data": {"blocks": [
        {"type": "text", "text": text, "chars": len(text), "truncated": False}]}}
    return LogLine(number, json.dumps(obj).encode(), True, obj, None)


def test_a_missing_summary_shifts_nothing() -> None:
    journal = Journal()
    for n in (1, 2, 3):
        journal.prompt(BackendKind.CLAUDE, "s1", [{"type": "text", "text": f"task {n}."}],
                       f"prompt {n}")
    streams = {"claude:s1": [_event(1, "task 1."), _event(2, "task 3.")]}
    pairs = [(sent.cause, _text(event)) for sent, event in prompt_pairs(journal, streams)]
    assert pairs == [("prompt 1", "task 1."), ("prompt 3", "task 3.")]


def test_a_cut_summary_is_still_its_prompts() -> None:
    journal = Journal()
    long = "p12-" + "é日本🚀" * 20
    journal.prompt(BackendKind.CODEX, "s1", [{"type": "text", "text": long}], "spawn")
    (sent,) = journal.prompts["codex:s1"]
    assert same_prompt(sent, _event(1, long[:24] + "…[truncated]"))
    assert not same_prompt(sent, _event(1, "p1-" + long[4:24]))
    assert not same_prompt(sent, _event(1, "task 1."))


def _text(event: LogLine) -> str:
    return str(event.data["blocks"][0]["text"])
