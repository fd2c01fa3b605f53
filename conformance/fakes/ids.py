"""Deterministic ids in the shapes the real CLIs use.

A fake must give the same ids for the same world (a counterexample replays), yet
look like the real ones, because orchestrators parse them: Codex's session and turn
ids are UUIDv7 (their first 48 bits the creation time in milliseconds), Claude
Code's and Gemini CLI's session ids UUIDv4.
"""

from __future__ import annotations

import hashlib
import uuid


def uuid4_from(seed: str) -> str:
    """A version-4 UUID derived from ``seed``."""
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16], version=4))


def uuid7(seed: str, timestamp: float) -> str:
    """A version-7 UUID for ``timestamp`` (Unix seconds), its random bits derived from
    ``seed``: the same inputs give the same id, and ids sort by time."""
    digest = hashlib.sha256(seed.encode()).digest()
    millis = int(timestamp * 1000) & ((1 << 48) - 1)
    raw = bytearray(millis.to_bytes(6, "big") + digest[:10])
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(raw)))


def hex_from(seed: str, length: int = 32) -> str:
    """Lower-case hex digits derived from ``seed`` (Gemini's context message id)."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]
