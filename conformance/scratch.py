"""Where the suite builds its worlds: in memory when the platform offers it.

A certification builds and removes a directory tree per Hypothesis example (the
fakes' homes, native session files, the orchestrator's store): thousands of small
directories and files per run. On a journalling disk file system a directory made
and removed with a file in it cost 0.80 ms on the 2-core machine, on tmpfs 0.06 ms;
``mkdir``, ``rmdir`` and ``open`` were the top entries of the ``ci`` profile. With the
worlds here, the project's own tests (which certify through pytester) went from about
1,250 s to 551 s in CI, and ``ci`` certification with ``-n 2`` from 35.5 s to 32 s;
the rest of that run's temporary files still follow ``TMPDIR``. Nothing a check
judges depends on where the scratch root is: every world is a fresh directory of its
own under it.

The choice, made once per process (xdist workers and fake CLIs inherit the variable):

* ``CONFORMANCE_SCRATCH=/some/dir``: that directory (it must exist and be writable;
  otherwise :class:`~conformance.errors.ScratchError`, which the pytest plugin turns
  into a usage error before anything runs);
* ``CONFORMANCE_SCRATCH=system``: the system temporary directory (``TMPDIR``,
  else ``/tmp``), as :mod:`tempfile` picks it;
* unset: ``/dev/shm`` where it is a writable tmpfs with at least
  :data:`MIN_FREE_BYTES` free (Linux), else the system temporary directory. A small
  ``/dev/shm`` (containers default to 64 MiB) is never chosen, so a run cannot fill it.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from conformance.errors import ScratchError

#: The variable that overrides the choice (see the module docstring).
ENV_VAR = "CONFORMANCE_SCRATCH"
#: The value of :data:`ENV_VAR` that asks for the system temporary directory.
SYSTEM = "system"
#: Memory-backed candidates, in order of preference.
MEMORY_CANDIDATES = (Path("/dev/shm"),)
#: The free space a memory-backed directory must have to be chosen: a ``thorough``
#: run's worlds stay far below it, and a smaller one is shared memory other programs
#: need.
MIN_FREE_BYTES = 512 * 1024 * 1024


def filesystem_of(path: Path) -> str:
    """The file system type holding ``path`` (from ``/proc/mounts``), or ``unknown``."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > len(best):
            best, kind = mount_point, fields[2]
    return kind


def _usable_memory_dir(path: Path) -> bool:
    """``path`` is a writable tmpfs with :data:`MIN_FREE_BYTES` free."""
    try:
        if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
            return False
        if filesystem_of(path) != "tmpfs":
            return False
        stat = os.statvfs(path)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize >= MIN_FREE_BYTES


def _checked(path: Path) -> Path:
    if not path.is_dir():
        raise ScratchError(
            f"{ENV_VAR}={str(path)!r}: expected an existing directory for the suite's "
            f"worlds, found {'a file' if path.exists() else 'nothing'} there "
            f"(or set {ENV_VAR}={SYSTEM} for the system temporary directory)")
    try:
        probe = Path(tempfile.mkdtemp(prefix="conformance-probe-", dir=path))
        probe.rmdir()
    except OSError as error:
        raise ScratchError(
            f"{ENV_VAR}={str(path)!r}: the suite cannot create its worlds there "
            f"({error.strerror or error})") from error
    return path


@functools.cache
def scratch_root() -> Path:
    """The directory every world of this process is made under (module docstring)."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen == SYSTEM:
        return Path(tempfile.gettempdir())
    if chosen:
        return _checked(Path(chosen).expanduser())
    for candidate in MEMORY_CANDIDATES:
        if _usable_memory_dir(candidate):
            return candidate
    return Path(tempfile.gettempdir())


def make_scratch(prefix: str, parent: Path | None = None) -> Path:
    """A new empty directory for one run's worlds, under ``parent`` or the scratch root.

    The caller removes it (``shutil.rmtree``) when the run ends, as with
    :func:`tempfile.mkdtemp`, whose naming and permissions (0700) it keeps.
    """
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent or scratch_root()))
