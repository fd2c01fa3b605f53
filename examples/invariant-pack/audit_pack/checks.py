"""AUD-001: the audit log keeps time order, checked after every isolation step.

A step check of a pack runs on a built-in machine (here the isolation area's, which
spawns, resumes, ends and exports agents) in the same runs as that area's checks; it
reads the world through ``harness`` and names the line that breaks the rule.
"""

from __future__ import annotations

import datetime as dt
import json

from conformance.packs import Harness, InvariantViolation, machine, step_check

AUDIT_LOG = ("log", "multi-agent.log")


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


@step_check("AUD-001", machine("isolation"))
def audit_entries_in_time_order(harness: Harness) -> None:
    path = harness.world.home.joinpath(*AUDIT_LOG)
    if not path.is_file():
        return
    previous: tuple[int, dt.datetime] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # not an entry (seed 000 leaves the log's other lines alone)
        if not isinstance(entry, dict):
            continue
        moment = _time(entry.get("time"))
        if moment is None:
            raise InvariantViolation("AUD-001", (
                f"line {number} of {'/'.join(AUDIT_LOG)} carries no ISO 8601 'time': "
                f"{line[:160]!r}. Expected: every audit entry says when it happened."))
        if previous is not None and moment < previous[1]:
            raise InvariantViolation("AUD-001", (
                f"line {number} of {'/'.join(AUDIT_LOG)} is dated {entry['time']}, earlier "
                f"than line {previous[0]} ({previous[1].isoformat()}): {line[:160]!r}. "
                "Expected: entries in the order things happened, none backdated."))
        previous = (number, moment)
