"""The fidelity tests' set-up: ``-m fidelity`` selects the tests that run the real CLIs.

Unselected, they are skipped with that reason (they install packages from npm and
run for minutes); the tests on the recorded fixtures run always.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expression = config.getoption("markexpr", "") or ""
    if "fidelity" in expression:
        return
    skip = pytest.mark.skip(reason="runs the real CLIs from npm: select it with -m fidelity")
    for item in items:
        if item.get_closest_marker("fidelity") is not None:
            item.add_marker(skip)
