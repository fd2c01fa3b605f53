"""Known-failure baselines: the invariants a vendor expects to fail, for now.

A baseline is a TOML file::

    [[expected_failure]]
    id = "OBS-002"
    reason = "the monitor polls every worker; fix tracked upstream"
    link = "https://example.invalid/issues/42"

It is strict, so the list only shrinks: an expected failure that now passes fails
the run ("remove it from the baseline"), and an id the catalogue does not know is an
error before anything runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from conformance.catalogue import Catalogue
from conformance.errors import ConformanceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class BaselineError(ConformanceError):
    """The baseline file is malformed, names an unknown invariant, or is out of date."""


@dataclass(frozen=True)
class ExpectedFailure:
    invariant_id: str
    reason: str
    link: str


def load_baseline(path: Path, catalogue: Catalogue) -> dict[str, ExpectedFailure]:
    """Read and validate ``path`` against ``catalogue``."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BaselineError(f"baseline {path}: not valid TOML: {error}") from error
    unknown_keys = set(document) - {"expected_failure"}
    if unknown_keys:
        raise BaselineError(f"baseline {path}: unknown keys {sorted(unknown_keys)}; expected "
                            "[[expected_failure]] tables")
    entries = document.get("expected_failure", [])
    known = set(catalogue.ids())
    result: dict[str, ExpectedFailure] = {}
    for position, entry in enumerate(entries, 1):
        where = f"baseline {path}, entry #{position}"
        if not isinstance(entry, dict) or set(entry) != {"id", "reason", "link"}:
            raise BaselineError(f"{where}: expected exactly the keys id, reason and link, "
                                f"found {entry!r}")
        values = {k: entry[k] for k in ("id", "reason", "link")}
        for key, value in values.items():
            if not isinstance(value, str) or not value.strip():
                raise BaselineError(f"{where}: {key!r} must be a non-empty string")
        if values["id"] not in known:
            raise BaselineError(f"{where}: no invariant {values['id']!r} in the catalogue")
        if values["id"] in result:
            raise BaselineError(f"{where}: {values['id']} is listed twice")
        result[values["id"]] = ExpectedFailure(values["id"], values["reason"], values["link"])
    return result
