"""Frozen revisions of the catalogue: what a certification was against, for ever.

The catalogue grows: a spec author adds an invariant, and a vendor certified last
month would not be certified today against the same words. A *revision* freezes a
set of invariants: ``specs/revisions/<name>.toml`` lists their ids, each with a digest
of its level and statement. ``--conformance-revision=NAME`` runs exactly those, and the
report, its summary and its badges name the revision and carry its digest instead of
the whole catalogue's, so adding an invariant never changes what an old revision
certifies, nor a byte of its report (timestamps and durations aside).

A revision is checked against the catalogue before anything runs: an invariant it
names that is gone, or whose statement or level changed since it was frozen, is a
:class:`~conformance.errors.CatalogueError` naming the ids (a statement is never
edited under a frozen revision: add an invariant, or freeze a new revision). Titles,
sources and the ``observed`` texts may be reworded.

File shape::

    # comments
    name = "2026-12"
    [invariants]
    "OBS-001" = "<sha256 of the level and the whitespace-normalised statement>"
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from conformance.catalogue import Catalogue, Invariant, specs_dir
from conformance.errors import CatalogueError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def statement_digest(invariant: Invariant) -> str:
    """What a revision freezes of an invariant: its level and its statement, with
    whitespace normalised (re-wrapping a paragraph is not a change)."""
    text = f"{invariant.level.value}\n{' '.join(invariant.statement.split())}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Revision:
    """A frozen set of invariants, by id, with the digest of each one's statement."""

    name: str
    digests: dict[str, str]

    @property
    def digest(self) -> str:
        """The revision's own digest: of its name and every (id, digest) pair."""
        text = "\n".join([self.name, *(f"{k}={v}" for k, v in sorted(self.digests.items()))])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def check(self, catalogue: Catalogue) -> None:
        """Raise :class:`CatalogueError` if an invariant it names is gone or changed."""
        known = {i.id: i for i in catalogue}
        gone = sorted(i for i in self.digests if i not in known)
        changed = sorted(i for i, d in self.digests.items()
                         if i in known and statement_digest(known[i]) != d)
        problems = []
        if gone:
            problems.append(f"{', '.join(gone)} no longer in the catalogue")
        if changed:
            problems.append(f"the statement or level of {', '.join(changed)} changed since "
                            "it was frozen")
        if problems:
            raise CatalogueError(
                f"revision {self.name!r}: {'; '.join(problems)}. A frozen revision certifies "
                "exactly what it froze: restore the statement, or add a new invariant and "
                "freeze a new revision (conformance freeze NAME).")

    def restrict(self, catalogue: Catalogue) -> Catalogue:
        """The catalogue of this revision: its invariants only, its digest, its name."""
        self.check(catalogue)
        return dataclasses.replace(
            catalogue, invariants=tuple(i for i in catalogue if i.id in self.digests),
            digest=self.digest, revision=self.name)


def revisions_dir() -> Path:
    return specs_dir() / "revisions"


def load_revision(name_or_path: str) -> Revision:
    """The revision ``NAME`` of ``specs/revisions/``, or the revision file at a path."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        if not NAME_PATTERN.match(name_or_path):
            raise CatalogueError(f"{name_or_path!r} is neither a revision name nor a file")
        path = revisions_dir() / f"{name_or_path}.toml"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        names = sorted(p.stem for p in revisions_dir().glob("*.toml")) \
            if revisions_dir().is_dir() else []
        raise CatalogueError(f"no revision {name_or_path!r} (frozen revisions: "
                             f"{', '.join(names) or 'none'})") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CatalogueError(f"{path}: not a readable revision: {error}") from None
    name, digests = document.get("name"), document.get("invariants")
    if set(document) != {"name", "invariants"} or not isinstance(name, str) \
            or not NAME_PATTERN.match(name) or not isinstance(digests, dict) or not digests \
            or not all(isinstance(k, str) and isinstance(v, str) and re.fullmatch(
                "[0-9a-f]{64}", v) for k, v in digests.items()):
        raise CatalogueError(f"{path}: a revision is 'name' (a short name) and a table "
                             "'invariants' of id = \"sha256\" entries, and nothing else")
    return Revision(name, dict(digests))


def freeze(name: str, catalogue: Catalogue, directory: Path | None = None) -> Path:
    """Write the revision ``name`` of ``catalogue`` (refusing one that exists)."""
    if not NAME_PATTERN.match(name):
        raise CatalogueError(f"{name!r} is not a revision name (letters, digits, . _ -)")
    target = (directory or revisions_dir()) / f"{name}.toml"
    if target.exists():
        raise CatalogueError(f"revision {name!r} exists already ({target}): a frozen "
                             "revision is never rewritten")
    lines = [f"# Revision {name} of the invariant catalogue, frozen by `conformance freeze`.",
             "# Each id is frozen with a digest of its level and statement; never edit them.",
             f'name = "{name}"', "", "[invariants]",
             *(f'"{i.id}" = "{statement_digest(i)}"' for i in catalogue)]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


__all__ = ["Revision", "freeze", "load_revision", "revisions_dir", "statement_digest"]
