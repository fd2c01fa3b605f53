"""Layout: where ACP_HOME is, which paths derive from it, which names are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log.errors import InvalidNameError
from reference_impl.canonical_log.layout import (
    KNOWN_BACKENDS,
    MAX_BACKEND_SESSION_ID_CHARS,
    Layout,
    parse_session_key,
    resolve_acp_home,
    session_key,
    validate_backend,
    validate_backend_session_id,
    validate_gid,
)

GID = "0123456789abcdef0123456789abcdef"


def test_paths_derive_from_home(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert layout.index_path == tmp_path / "index.json"
    assert layout.index_lock_path == tmp_path / "index.lock"
    assert layout.state_path(GID) == tmp_path / "sessions" / GID / "state.json"
    assert layout.log_path(GID) == tmp_path / "sessions" / GID / "canonical.jsonl"


def test_argument_wins_over_env(tmp_path: Path) -> None:
    env = {"ACP_HOME": str(tmp_path / "from-env"), "HOME": str(tmp_path / "home")}
    assert resolve_acp_home(tmp_path / "arg", env) == tmp_path / "arg"


def test_env_wins_over_default(tmp_path: Path) -> None:
    env = {"ACP_HOME": str(tmp_path / "from-env"), "HOME": str(tmp_path / "home")}
    assert resolve_acp_home(None, env) == tmp_path / "from-env"


def test_default_is_dot_acp_in_home(tmp_path: Path) -> None:
    assert resolve_acp_home(None, {"HOME": str(tmp_path)}) == tmp_path / ".acp"
    assert resolve_acp_home(None, {"HOME": str(tmp_path), "ACP_HOME": ""}) == tmp_path / ".acp"


def test_tilde_and_relative_paths_are_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_acp_home("~/x", {"HOME": str(tmp_path)}) == tmp_path / "x"
    monkeypatch.chdir(tmp_path)
    assert resolve_acp_home("rel", {}) == tmp_path / "rel"


def test_store_honours_acp_home_env(tmp_path: Path) -> None:
    home = tmp_path / "via-env"
    log = CanonicalLog(env={"ACP_HOME": str(home)}, fsync=False)
    gid = log.open_session("codex", "abc", cwd="/work")
    assert log.failures == []
    assert (home / "index.json").is_file()
    assert (home / "sessions" / gid / "state.json").is_file()
    log.log_submit(gid, "sub-1", "user_input")
    assert (home / "sessions" / gid / "canonical.jsonl").is_file()
    assert sorted(p.name for p in home.iterdir()) == ["index.json", "index.lock", "sessions"]


def test_constructing_a_store_creates_nothing(tmp_path: Path) -> None:
    CanonicalLog(tmp_path / "lazy", env={})
    assert not (tmp_path / "lazy").exists()


@pytest.mark.parametrize("backend", KNOWN_BACKENDS)
def test_session_keys(backend: str) -> None:
    key = session_key(backend, "019a-uuid")
    assert key == f"{backend}:019a-uuid"
    assert parse_session_key(key) == (backend, "019a-uuid")
    assert parse_session_key(f"{backend}:a:b") == (backend, "a:b")


@pytest.mark.parametrize("backend", ["", "Codex", "openai", "codex ", "../codex"])
def test_unknown_backends_are_rejected_with_the_value_and_the_rule(backend: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_backend(backend)
    assert repr(backend) in str(info.value)
    assert "must be one of codex, claude, gemini" in str(info.value)


@pytest.mark.parametrize(
    ("session_id", "rule"),
    [
        ("", "must not be empty"),
        ("a/b", "path separators"),
        ("a\\b", "path separators"),
        ("a\x00b", "NUL"),
        ("a\nb", "control characters"),
        ("a\x7fb", "control characters"),
        ("a\x85b", "control characters"),
        ("..", "'.' or '..'"),
        ("x" * (MAX_BACKEND_SESSION_ID_CHARS + 1), "at most 256 characters"),
    ],
)
def test_bad_backend_session_ids_are_rejected(session_id: str, rule: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_backend_session_id(session_id)
    message = str(info.value)
    assert rule in message
    assert repr(session_id[:40]) in message or repr(session_id) in message


def test_wrong_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        validate_backend_session_id(42)
    with pytest.raises(TypeError):
        validate_backend(None)


_bad_char = st.sampled_from(["/", "\\", "\x00", "\n", "\r", "\t", "\x1b", "\x7f"])


@given(prefix=st.text(max_size=20), bad=_bad_char, suffix=st.text(max_size=20))
def test_any_id_with_a_separator_or_control_char_is_rejected(
    prefix: str, bad: str, suffix: str
) -> None:
    with pytest.raises(InvalidNameError):
        validate_backend_session_id(prefix + bad + suffix)


_printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\"),
    min_size=1,
    max_size=MAX_BACKEND_SESSION_ID_CHARS,
).filter(lambda s: s not in (".", ".."))


@given(session_id=_printable, backend=st.sampled_from(KNOWN_BACKENDS))
def test_printable_ids_round_trip_through_keys(session_id: str, backend: str) -> None:
    assert parse_session_key(session_key(backend, session_id)) == (backend, session_id)


@pytest.mark.parametrize(
    "gid", ["", "ABCDEF0123456789ABCDEF0123456789", GID + "0", "../" + GID[3:]]
)
def test_bad_gids_are_rejected(gid: str) -> None:
    with pytest.raises(InvalidNameError, match="32 lowercase hex digits"):
        validate_gid(gid)
    with pytest.raises(InvalidNameError):
        Layout(Path("/tmp")).state_path(gid)


@given(ch=st.characters())
def test_forbidden_characters_are_exactly_separators_and_cc(ch: str) -> None:
    import unicodedata

    forbidden = ch in "/\\" or unicodedata.category(ch) == "Cc"
    if forbidden:
        with pytest.raises(InvalidNameError):
            validate_backend_session_id(f"a{ch}b")
    else:
        assert validate_backend_session_id(f"a{ch}b") == f"a{ch}b"
