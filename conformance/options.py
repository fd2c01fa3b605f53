"""Every command-line and ini option of the plugin, declared in one place."""

from __future__ import annotations

import pytest

ORCHESTRATOR = "orchestrator"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "agent-orchestrator conformance suite")
    group.addoption(
        "--orchestrator", dest=ORCHESTRATOR, default=None, metavar="NAME",
        help="run the conformance suite against the adapter NAME: an entry point of the "
             "'conformance.adapters' group, or a module exposing 'conformance_adapter' "
             "(also 'module:attribute'). Without named paths, only the suite runs.",
    )
    parser.addini(ORCHESTRATOR, default="",
                  help="default for --orchestrator (adapter name)")


def orchestrator_name(config: pytest.Config) -> str | None:
    """The adapter asked for on the command line, else in the ini file, else ``None``."""
    value = config.getoption(ORCHESTRATOR) or config.getini(ORCHESTRATOR)
    return str(value).strip() or None
