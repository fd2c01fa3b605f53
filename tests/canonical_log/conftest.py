"""Fixtures for the canonical-log tests: an isolated ACP_HOME and a store in it.

Every store is built with ``env={}`` so the developer's own ``ACP_HOME`` and
``ACP_LOG_*`` variables can never leak into (or be written by) a test, and with
``fsync=False`` unless a test is about durability: fsync adds nothing to what a test in
a single process can observe, only time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import acp.schema  # imported up front: pyfakefs tests cannot import it from a fake disk
import pytest

from reference_impl.canonical_log import CanonicalLog

assert acp.schema  # keep the import (see above)


@pytest.fixture
def acp_home(tmp_path: Path) -> Path:
    return tmp_path / "acp-home"


@pytest.fixture
def store(acp_home: Path) -> Iterator[CanonicalLog]:
    log = CanonicalLog(acp_home, env={}, fsync=False)
    yield log
    log.close()
