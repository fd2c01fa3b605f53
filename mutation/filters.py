"""Which mutants are not run, and why: a deterministic sample, and equivalent mutants.

Cosmic Ray generates every mutant of a module; a filter marks the ones not to run as
skipped, with the reason in the result's output, and the report counts them apart:

* **equivalent by construction**: a mutation inside a type annotation (the package
  uses ``from __future__ import annotations``: annotations are never evaluated), in
  an ``if TYPE_CHECKING:`` block (never executed), or in the arguments of a logging
  call (log text is not behaviour any invariant specifies);
* **reviewed as equivalent**: listed in ``mutation/equivalent.toml`` with the reason
  the behaviour it changes is one the spec allows;
* **not in the sample**: the run tests a deterministic sample per area (the mutants
  with the smallest digests of where they are and what they change), so the same
  code gives the same sample on every machine.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REVIEWED = Path(__file__).with_name("equivalent.toml")

_LOG_NAMES = frozenset({"log", "logger", "logging", "_log"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})


@dataclass(frozen=True)
class Site:
    """Where a mutant is, in terms that survive unrelated edits to its module."""

    module: str
    operator: str
    line: int
    column: int
    code: str
    occurrence: int

    @property
    def key(self) -> str:
        return f"{self.module}:{self.operator}:{self.code}:{self.column}:{self.occurrence}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()


@functools.cache
def _source(path: str) -> tuple[list[str], ast.Module]:
    text = Path(path).read_text(encoding="utf-8")
    return text.splitlines(), ast.parse(text)


def site(root: Path, module: str, operator: str, start: Sequence[int], occurrence: int) -> Site:
    lines, _ = _source(str(root / module))
    line = int(start[0])
    code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return Site(module, operator.split("/")[-1], line, int(start[1]), code, occurrence)


def _spans(node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]] | None:
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    return (node.lineno, node.col_offset), (end_line, end_col)  # type: ignore[attr-defined]


def _inside(position: tuple[int, int], node: ast.AST) -> bool:
    span = _spans(node)
    return span is not None and span[0] <= position <= span[1]


def _never_run(tree: ast.Module) -> Iterable[tuple[ast.AST, str]]:
    """The parts of a module whose mutation cannot change what the code does."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            yield node.annotation, "in a type annotation (never evaluated)"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            yield node.returns, "in a type annotation (never evaluated)"
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation, "in a type annotation (never evaluated)"
        elif isinstance(node, ast.If) and (
                (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
                or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")):
            yield node, "in an 'if TYPE_CHECKING:' block (never executed)"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in _LOG_METHODS and isinstance(node.func.value, ast.Name)
              and node.func.value.id in _LOG_NAMES):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                yield argument, "in the text of a log message (not specified behaviour)"


#: Operators that swap identity and equality: the same test for enum members and None.
_IDENTITY_SWAPS = frozenset({"ReplaceComparisonOperator_Is_Eq",
                             "ReplaceComparisonOperator_IsNot_NotEq"})


def _singleton(node: ast.expr) -> bool:
    """``None``, or ``SomeEnum.MEMBER`` (a capitalised class, an upper-case member)."""
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    return (isinstance(node, ast.Attribute) and node.attr.isupper()
            and isinstance(node.value, ast.Name) and node.value.id[:1].isupper())


def _identity_of_singletons(tree: ast.Module, position: tuple[int, int]) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and _inside(position, node) and all(
                _singleton(c) for c in node.comparators):
            return True
    return False


def equivalent_by_construction(root: Path, module: str, start: Sequence[int],
                               operator: str = "") -> str | None:
    """Why a mutation at ``start`` cannot change behaviour, or ``None``."""
    _, tree = _source(str(root / module))
    position = (int(start[0]), int(start[1]))
    for node, reason in _never_run(tree):
        if _inside(position, node):
            return reason
    if operator.split("/")[-1] in _IDENTITY_SWAPS and _identity_of_singletons(tree, position):
        return "'is' and '==' agree on enum members and None"
    if operator.split("/")[-1] == "ReplaceBinaryOperator_Mul_Div" and _in_signature_marker(
            tree, position):
        return ("a parameter list's '*' turned into '/': every call names the keyword "
                "arguments it passes, and still works")
    return None


def _in_signature_marker(tree: ast.Module, position: tuple[int, int]) -> bool:
    """Whether ``position`` is in a function's parameter list, outside every default."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = (node.lineno, node.col_offset)
            body = node.body[0]
            if not (start <= position < (body.lineno, body.col_offset)):
                continue
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            return not any(_inside(position, d) for d in defaults)
    return False


@dataclass(frozen=True)
class Reviewed:
    """One entry of ``equivalent.toml``: survivors judged equivalent, and why.

    An entry names a module and the code of one line; ``operators`` (a list, or
    ``["*"]`` for every operator), ``column`` and ``occurrence`` narrow it down (``None``
    matches any).
    """

    module: str
    operators: tuple[str, ...]
    code: str
    column: int | None
    reason: str
    occurrence: int | None = None

    def matches(self, where: Site) -> bool:
        return (where.module == self.module and where.code == self.code
                and ("*" in self.operators or where.operator in self.operators)
                and (self.column is None or where.column == self.column)
                and (self.occurrence is None or where.occurrence == self.occurrence))


class Reviews:
    """Every entry of ``equivalent.toml``, and which ones matched nothing (stale)."""

    def __init__(self, entries: list[Reviewed]) -> None:
        self.entries = entries
        self.used: set[int] = set()

    def find(self, where: Site) -> Reviewed | None:
        for number, entry in enumerate(self.entries):
            if entry.matches(where):
                self.used.add(number)
                return entry
        return None

    def stale(self) -> list[Reviewed]:
        return [e for n, e in enumerate(self.entries) if n not in self.used]


def reviewed(path: Path = REVIEWED) -> Reviews:
    """The reviewed equivalent mutants."""
    if not path.is_file():
        return Reviews([])
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries: list[Reviewed] = []
    for raw in data.get("equivalent", []):
        operators = raw.get("operators", raw.get("operator", "*"))
        entry = Reviewed(raw["module"], tuple([operators] if isinstance(operators, str)
                                              else operators),
                         raw["code"], raw.get("column"), raw["reason"].strip(),
                         raw.get("occurrence"))
        if not entry.reason:
            raise ValueError(f"{path}: the entry for {entry.module} {entry.code!r} gives no "
                             "reason")
        entries.append(entry)
    return Reviews(entries)


def sample(sites: Iterable[Site], size: int | None) -> set[str]:
    """The keys of the ``size`` sites with the smallest digests (all if ``None``)."""
    ordered = sorted(sites, key=lambda s: s.digest)
    chosen = ordered if size is None else ordered[:size]
    return {s.key for s in chosen}


__all__ = ["REVIEWED", "Reviewed", "Reviews", "Site", "equivalent_by_construction", "reviewed",
           "sample", "site"]
