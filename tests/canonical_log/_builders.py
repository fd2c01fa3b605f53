"""Builders for ACP messages as raw dicts, and small file helpers, shared by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def link(uri: str, name: str) -> dict[str, Any]:
    return {"type": "resource_link", "uri": uri, "name": name}


def embedded(uri: str, body: str) -> dict[str, Any]:
    return {"type": "resource", "resource": {"uri": uri, "text": body, "mimeType": "text/plain"}}


def blob(uri: str, data: str) -> dict[str, Any]:
    return {"type": "resource", "resource": {"uri": uri, "blob": data}}


def image(data: str = "iVBORw0KGgo=") -> dict[str, Any]:
    return {"type": "image", "data": data, "mimeType": "image/png"}


def audio(data: str = "UklGRg==") -> dict[str, Any]:
    return {"type": "audio", "data": data, "mimeType": "audio/wav"}


def notification(update: dict[str, Any], session_id: str = "s-1") -> dict[str, Any]:
    return {"sessionId": session_id, "update": update}


def all_files_bytes(root: Path) -> dict[Path, bytes]:
    """Every regular file under ``root`` with its content."""
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
