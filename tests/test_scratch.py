"""Where worlds are built: the memory-backed default, the override, and its errors."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import scratch
from conformance.errors import ScratchError


@pytest.fixture(autouse=True)
def _fresh_choice() -> Iterator[None]:
    scratch.scratch_root.cache_clear()
    yield
    scratch.scratch_root.cache_clear()


def test_an_explicit_directory_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scratch.ENV_VAR, str(tmp_path))
    made = scratch.make_scratch("conformance-test-")
    assert made.parent == tmp_path and made.is_dir()


def test_system_asks_for_the_temporary_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scratch.ENV_VAR, scratch.SYSTEM)
    assert scratch.scratch_root() == Path(tempfile.gettempdir())


def test_a_missing_directory_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scratch.ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(ScratchError, match="expected an existing directory"):
        scratch.scratch_root()


def test_the_default_is_memory_backed_or_the_system_directory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(scratch.ENV_VAR, raising=False)
    root = scratch.scratch_root()
    assert root in (*scratch.MEMORY_CANDIDATES, Path(tempfile.gettempdir()))
    if root in scratch.MEMORY_CANDIDATES:
        assert scratch.filesystem_of(root) == "tmpfs"


def test_a_small_memory_directory_is_not_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(scratch.ENV_VAR, raising=False)
    monkeypatch.setattr(scratch, "MIN_FREE_BYTES", 1 << 62)
    assert scratch.scratch_root() == Path(tempfile.gettempdir())


def test_the_plugin_stops_before_anything_runs(pytester: pytest.Pytester,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scratch.ENV_VAR, str(pytester.path / "absent"))
    result = pytester.runpytest("--orchestrator=reference_impl", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*conformance: {scratch.ENV_VAR}=*expected an existing "
                                 "directory*found nothing there*"])
