"""Damage to a store's files, the way a crashed or racing writer leaves them."""

from __future__ import annotations

from pathlib import Path

from conformance.faults.injection import exempt

#: The bytes :func:`corrupt_index` leaves in ``index.json``: cut in the middle of a key.
CORRUPT_INDEX = b'{"codex:019a'
#: The fragment :func:`tear_last_lines` appends: an event cut in the middle.
TORN_FRAGMENT = b'{"v":1,"seq":99,"kind":"acp.agent_message_chunk","data":{"cont'


def corrupt_index(acp_home: Path) -> bool:
    """Overwrite ``index.json`` with a cut-off object; whether there was one."""
    index = acp_home / "index.json"
    if not index.is_file():
        return False
    with exempt():
        index.write_bytes(CORRUPT_INDEX)
    return True


def tear_last_lines(acp_home: Path) -> int:
    """Append a cut-off event (no newline) to every ``canonical.jsonl``; how many."""
    count = 0
    with exempt():
        for log in sorted(acp_home.rglob("canonical.jsonl")):
            with log.open("ab") as handle:
                handle.write(TORN_FRAGMENT)
            count += 1
    return count
