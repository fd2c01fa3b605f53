"""The complete minimal adapter in the README certifies what it claims.

The README promises vendors an adapter they can copy; this keeps the promise true.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from conformance import load_catalogue, run_invariant

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def readme_adapter(tmp_path_factory: pytest.TempPathFactory) -> object:
    match = re.search(r"```python\n(# mypkg/conformance.py.*?)```", README.read_text(), re.S)
    assert match, "the README no longer contains the minimal adapter example"
    directory = tmp_path_factory.mktemp("readme_adapter")
    (directory / "readme_minimal_adapter.py").write_text(match.group(1))
    sys.path.insert(0, str(directory))
    try:
        import readme_minimal_adapter  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(directory))
    return readme_minimal_adapter.conformance_adapter


@pytest.mark.parametrize("invariant_id", [i.id for i in load_catalogue()
                                          if i.area.value == "observability"])
def test_readme_adapter_passes(readme_adapter: object, invariant_id: str) -> None:
    run_invariant(readme_adapter, invariant_id, profile="ci")  # type: ignore[arg-type]
