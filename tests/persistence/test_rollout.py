"""Moving a live rollout: appends by path and through a held descriptor keep landing in
the one real file; the link is relative; adoption is idempotent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reference_impl.persistence import adopt_rollout, is_adopted


def _legacy(tmp_path: Path) -> tuple[Path, Path]:
    legacy = tmp_path / "sessions" / "2026" / "03" / "14" / "rollout-x-sid.jsonl"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("one\n")
    directory = tmp_path / "sessions" / "sid"
    directory.mkdir()
    return legacy, directory


def test_moved_and_linked_and_appends_land_in_one_file(tmp_path: Path) -> None:
    legacy, directory = _legacy(tmp_path)
    held = legacy.open("a")  # a backend that keeps its descriptor
    moved = adopt_rollout(legacy, directory)
    assert moved == directory / legacy.name
    assert legacy.is_symlink() and not moved.is_symlink()
    assert os.readlink(legacy) == "../../../sid/rollout-x-sid.jsonl"
    held.write("two\n")
    held.close()
    with legacy.open("a") as by_path:  # a backend that appends by path
        by_path.write("three\n")
    assert moved.read_text() == legacy.read_text() == "one\ntwo\nthree\n"
    assert is_adopted(legacy, moved)


def test_adoption_is_idempotent(tmp_path: Path) -> None:
    legacy, directory = _legacy(tmp_path)
    first = adopt_rollout(legacy, directory)
    assert adopt_rollout(legacy, directory) == first
    assert first.read_text() == "one\n"


def test_a_different_file_in_the_way_is_not_overwritten(tmp_path: Path) -> None:
    legacy, directory = _legacy(tmp_path)
    (directory / legacy.name).write_text("someone else's\n")
    with pytest.raises(OSError):
        adopt_rollout(legacy, directory)
    assert legacy.read_text() == "one\n" and not legacy.is_symlink()


def test_the_link_survives_moving_the_whole_home(tmp_path: Path) -> None:
    legacy, directory = _legacy(tmp_path)
    adopt_rollout(legacy, directory)
    (tmp_path / "sessions").rename(tmp_path / "copy")
    assert (tmp_path / "copy" / "2026" / "03" / "14" / legacy.name).read_text() == "one\n"
