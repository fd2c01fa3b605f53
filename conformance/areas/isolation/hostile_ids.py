"""Agent ids that must be refused: each could escape ``<home>/agents/`` or is unusable.

An agent id becomes a directory name. These are the ids an orchestrator must refuse
(ISO-007), grouped by the rule they break. Every one is built so that, if an
orchestrator wrongly accepts it, whatever it creates stays inside the world's root
(parent traversals go at most two levels up from ``agents/``, absolute paths point
into the world), so a broken orchestrator under test cannot touch the machine
running the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

#: The marker replaced by the world's root in absolute-path ids.
ROOT = "{root}"


@dataclass(frozen=True)
class HostileId:
    """An id template and the rule it breaks."""

    template: str
    rule: str

    def materialize(self, root: Path) -> str:
        return self.template.replace(ROOT, str(root))

    def __repr__(self) -> str:
        shown = self.template if len(self.template) <= 40 else self.template[:37] + "..."
        return f"{shown!r} ({self.rule})"


#: Every character :func:`_name` may use. Given explicitly: without an alphabet
#: ``from_regex`` draws from every UTF-8 character, and Hypothesis then builds a table
#: of all of them on first use (about 4 s, once per process, where no earlier run of
#: the same directory left it in ``.hypothesis/``). The examples are the same.
_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-"


def _name() -> st.SearchStrategy[str]:
    return st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True, alphabet=_NAME_ALPHABET)


def _control() -> st.SearchStrategy[str]:
    return st.sampled_from(["\0", "\n", "\t", "\r", "\x1b", "\x7f", "\x01"])


def hostile_agent_ids() -> st.SearchStrategy[HostileId]:
    """Ids breaking each rule; the plainest of each kind first, for shrinking."""

    def build(rule: str, ids: st.SearchStrategy[str]) -> st.SearchStrategy[HostileId]:
        return ids.map(lambda text: HostileId(text, rule))

    return st.one_of(
        build("empty", st.just("")),
        build("parent directory", st.sampled_from(["..", "."])),
        build("parent traversal", st.builds(
            lambda up, name: up + name,
            st.sampled_from(["../", "../../", "x/../../", "..\\"]), _name())),
        build("path separator", st.builds(
            lambda a, sep, b: a + sep + b, _name(), st.sampled_from(["/", "\\"]), _name())),
        build("absolute path", _name().map(lambda name: f"{ROOT}/escaped-{name}")),
        build("NUL or control character", st.builds(
            lambda a, c, b: a + c + b, _name(), _control(), st.text("abc", max_size=3))),
        build("overlong", st.integers(256, 300).map(lambda n: "a" * n)),
        build("reserved name", st.sampled_from(
            ["CON", "nul", "PRN", "aux", "COM1", "lpt9", "con.txt", "NUL.log"])),
    )
