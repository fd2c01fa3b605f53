"""What a benchmark section reports, and how it is printed and saved.

A section returns tables of already formatted cells (for people), targets (a figure
next to the bound it must meet, with PASS/MISS and the margin), notes that explain
the figures, and ``data``: the raw numbers, for the JSON file. Keeping the raw data
apart from the formatting means the JSON never has to be parsed back out of text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Table:
    """A titled table of formatted cells; every row has one cell per column."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Target:
    """A measured figure and the bound the project set for it.

    ``kind`` ``"max"``: the figure must stay under ``bound`` (at most, with
    ``inclusive``); ``"min"``: it must reach at least ``bound``. ``measured`` None means
    it could not be measured (``missing`` says why), which is a MISS: a target nobody
    can show is met is not met.
    """

    label: str
    measured: float | None
    bound: float
    unit: str
    kind: Literal["max", "min"]
    inclusive: bool = False
    digits: int = 2
    missing: str = "not measured"

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        if self.kind == "max":
            return self.measured <= self.bound if self.inclusive else self.measured < self.bound
        return self.measured >= self.bound

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"

    def show(self, value: float) -> str:
        text = f"{value:,.{self.digits}f}"
        return f"{text}x" if self.unit == "x" else f"{text} {self.unit}".rstrip()

    @property
    def requirement(self) -> str:
        sign = ("<=" if self.inclusive else "<") if self.kind == "max" else ">="
        return f"{sign} {self.show(self.bound)}"

    @property
    def measured_text(self) -> str:
        return self.missing if self.measured is None else self.show(self.measured)

    @property
    def margin(self) -> str:
        """How far the figure is from the bound, in its unit and relative to the bound."""
        if self.measured is None:
            return "-"
        diff = abs(self.measured - self.bound)
        if diff == 0:
            return "at the bound"
        relative = f" ({diff / abs(self.bound):.0%})" if self.bound else ""
        if self.kind == "max":
            word = "under" if self.measured <= self.bound else "over"
        else:
            word = "above" if self.measured >= self.bound else "short"
        return f"{self.show(diff)} {word}{relative}"

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "measured": self.measured,
            "bound": self.bound,
            "unit": self.unit,
            "kind": self.kind,
            "inclusive": self.inclusive,
            "verdict": self.verdict,
            "margin": self.margin,
            **({"missing": self.missing} if self.measured is None else {}),
        }


@dataclass
class Section:
    """Everything one benchmark section found."""

    name: str
    title: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "seconds": self.seconds,
            "targets": [t.to_json() for t in self.targets],
            "notes": self.notes,
            "data": self.data,
        }


def render_table(table: Table) -> str:
    """A plain-text table: a header, a rule, and left-aligned columns."""
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    out = [table.title, line(table.columns), line(["-" * w for w in widths])]
    out.extend(line(row) for row in table.rows)
    return "\n".join(out)


def targets_table(title: str, targets: Sequence[Target]) -> Table:
    return Table(
        title,
        ("target", "measured", "required", "verdict", "margin"),
        tuple((t.label, t.measured_text, t.requirement, t.verdict, t.margin) for t in targets),
    )


def render_section(section: Section) -> str:
    heading = f"== {section.title} ({section.seconds:.1f} s) "
    parts = [heading.ljust(88, "=")]
    parts.extend(render_table(t) for t in section.tables)
    if section.targets:
        parts.append(render_table(targets_table("Targets", section.targets)))
    if section.notes:
        parts.append("\n".join(f"note: {n}" for n in section.notes))
    return "\n\n".join(parts)


def render_summary(sections: Sequence[Section]) -> str:
    targets = [t for s in sections for t in s.targets]
    if not targets:
        return "no targets measured"
    missed = [t for t in targets if not t.passed]
    table = targets_table(
        f"Summary: {len(targets) - len(missed)} of {len(targets)} targets met", targets
    )
    return "== Summary ".ljust(88, "=") + "\n\n" + render_table(table)
