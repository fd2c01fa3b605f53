"""An example invariant pack: one house rule for the central audit log.

Seed 000 asks for a central audit log of cross-agent coordination; this pack adds an
organisation's own requirement on it (``sources/audit-policy.md``): its entries are
in the order things happened. The pack is what :mod:`conformance.packs` finds through
the ``conformance.packs`` entry point declared in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from conformance.packs import Pack

HERE = Path(__file__).resolve().parent

conformance_pack = Pack(
    prefix="AUD",
    specs=HERE / "specs",
    sources=HERE / "sources",
    checks=("audit_pack.checks",),
    known_bads={"AUD-001": "audit_pack.adapters:backdates_finish"},
)
