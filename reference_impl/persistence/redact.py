"""Credentials never reach a raw log: redaction of request and response bodies.

``session_oai_raw.log`` keeps raw model traffic for post-mortems (seed 001), and raw
traffic carries the API key: ``Authorization: Bearer ...`` (OpenAI, Codex),
``x-api-key`` (Anthropic, Claude Code), ``x-goog-api-key`` or ``?key=`` (Google,
Gemini CLI), tokens in OAuth bodies, cookies. Three nets, because one is not enough:

1. by name: any mapping key that names a secret (:func:`is_secret_name`) has its value
   replaced, whatever the value looks like;
2. in URLs: query parameters that name a secret are replaced;
3. by shape: bearer tokens and strings that look like API keys are replaced inside
   any other string (a key pasted into a prompt, an error message echoing a header).

The input is never modified; a redacted copy is returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"

_EXACT = frozenset({
    "authorization", "proxy_authorization", "x_api_key", "api_key", "apikey",
    "x_goog_api_key", "openai_api_key", "anthropic_api_key", "gemini_api_key", "key",
    "token", "access_token", "refresh_token", "id_token", "session_token", "bearer",
    "cookie", "set_cookie", "password", "passwd", "secret", "client_secret",
    "private_key", "signature", "sig",
})
_SUFFIXES = ("_token", "_secret", "_api_key", "_password", "_apikey")

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})")


def is_secret_name(name: str) -> bool:
    """Whether a header, field or query-parameter name names a credential."""
    normal = name.strip().lower().replace("-", "_")
    return normal in _EXACT or normal.endswith(_SUFFIXES)


def redact_text(text: str) -> str:
    """Replace bearer tokens and key-shaped strings; redact secret URL parameters."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _KEY_SHAPES.sub(REDACTED, text)
    if "://" in text and "?" in text and " " not in text:
        text = _redact_url(text)
    return text


def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url
    if not any(is_secret_name(k) for k, _ in query):
        return url
    cleaned = [(k, REDACTED if is_secret_name(k) else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(cleaned, safe="[]")))


def redact(value: Any) -> Any:
    """A copy of ``value`` (JSON-like data) with every credential replaced."""
    if isinstance(value, Mapping):
        return {key: REDACTED if isinstance(key, str) and is_secret_name(key)
                and value[key] not in (None, "") else redact(value[key])
                for key in value}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
