"""The file walker every isolation and persistence check runs after every step.

``iter_files`` replaced an ``os.walk`` for speed; it must list the same paths in the
same order, links included, so a check's verdict and its messages do not change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.files import is_within, iter_files


def walked(root: Path) -> Iterator[Path]:
    """What the walker replaced: a top-down ``os.walk`` with sorted names."""
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield Path(directory) / name


def test_lists_what_a_sorted_os_walk_lists_in_its_order(tmp_path: Path) -> None:
    for name in ("b/z.txt", "b/a.txt", "a/c/x", "a/y", "top2", "top1", "c/d/e/f"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    os.symlink(tmp_path / "a", tmp_path / "link-to-dir")
    os.symlink(tmp_path / "top1", tmp_path / "link-to-file")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    os.mkfifo(tmp_path / "fifo")
    found = list(iter_files(tmp_path))
    assert found == list(walked(tmp_path))
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert "link-to-file" in names and "dangling" in names
    assert not any(n.startswith("link-to-dir") for n in names)


def test_a_missing_root_or_a_file_lists_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert list(iter_files(tmp_path / "missing")) == []
    assert list(iter_files(tmp_path / "file")) == []


@pytest.mark.parametrize(("path", "directory", "inside"), [
    ("/home/a/x", "/home/a", True),
    ("/home/a", "/home/a", True),
    ("/home/a/", "/home/a", True),
    ("/home/ab/x", "/home/a", False),
    ("/home", "/home/a", False),
    ("/x", "/", True),
])
def test_is_within_compares_whole_path_components(
    path: str, directory: str, inside: bool
) -> None:
    assert is_within(Path(path), Path(directory)) is inside
