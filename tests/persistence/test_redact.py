"""Redaction: by name, in URLs, by shape; and the property that a planted key never
survives, wherever it sits in a body."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from conformance.contract import BackendKind
from conformance.fakes.markers import credential, planted_request
from reference_impl.persistence import REDACTED, is_secret_name, redact, redact_text

KEY = credential("unit-test")


def test_secret_names() -> None:
    for name in ("Authorization", "x-api-key", "X-Goog-Api-Key", "api_key", "apiKey",
                 "access_token", "refresh-token", "client_secret", "Cookie", "key"):
        assert is_secret_name(name), name
    for name in ("model", "input_tokens", "max_output_tokens", "keyboard", "tokens"):
        assert not is_secret_name(name), name


def test_each_backend_request_is_cleaned() -> None:
    for kind in BackendKind:
        planted = planted_request(kind, KEY)
        body = {"url": planted.url, "headers": dict(planted.headers), "body": {"x": 1}}
        cleaned = redact(body)
        assert KEY not in repr(cleaned), kind
        assert cleaned["body"] == {"x": 1}
        assert body["headers"] == dict(planted.headers)  # the input is untouched


def test_urls_and_free_text() -> None:
    url = f"https://example.test/v1/models/m:generateContent?alt=sse&key={KEY}"
    assert redact_text(url) == "https://example.test/v1/models/m:generateContent?alt=sse&key=[REDACTED]"
    assert redact_text(f"curl -H 'Authorization: Bearer {KEY}'") == \
        f"curl -H 'Authorization: Bearer {REDACTED}'"
    assert redact_text("key sk-abcdefghijklmnopqrstuv in a prompt") == \
        f"key {REDACTED} in a prompt"
    assert redact_text("nothing to hide") == "nothing to hide"


def test_empty_secret_values_stay_empty() -> None:
    assert redact({"api_key": "", "token": None}) == {"api_key": "", "token": None}


_names = st.sampled_from(["Authorization", "x-api-key", "api_key", "token", "url", "note"])


def _carrier(name: str) -> Any:
    if name == "Authorization":
        return f"Bearer {KEY}"
    if name == "url":
        return f"https://h.test/p?key={KEY}"
    if name == "note":
        return f"the key is {KEY}"
    return KEY


_leaf = _names.map(lambda name: {name: _carrier(name)})


@given(st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["body", "items", "meta"]), children, max_size=3)),
    max_leaves=8))
def test_a_planted_key_never_survives(value: Any) -> None:
    assert KEY not in repr(redact(value))
