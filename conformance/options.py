"""Every command-line and ini option of the plugin, declared in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

ORCHESTRATOR = "orchestrator"
COMMAND = "orchestrator_command"
DRIVER_LOG = "conformance_driver_log"
DRIVER_TIMEOUT = "conformance_driver_timeout"
REPORT = "conformance_report"
BASELINE = "conformance_baseline"
FAILURES = "conformance_failures"
REVISION = "conformance_revision"

DEFAULT_FAILURES = ".conformance/failures"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "agent-orchestrator conformance suite")
    group.addoption(
        "--orchestrator", dest=ORCHESTRATOR, default=None, metavar="NAME",
        help="run the conformance suite against the adapter NAME: an entry point of the "
             "'conformance.adapters' group, or a module exposing 'conformance_adapter' "
             "(also 'module:attribute'). Without named paths, only the suite runs.",
    )
    group.addoption(
        "--orchestrator-command", dest=COMMAND, default=None, metavar="CMD",
        help="run the conformance suite against a driver program: CMD (shell words, run "
             "from the invocation directory) speaks the driver protocol on its stdin and "
             "stdout, one process per world (see conformance/driver/protocol.py)",
    )
    group.addoption(
        "--conformance-driver-log", dest=DRIVER_LOG, default=None, metavar="DIR",
        help="write a transcript of every message exchanged with each driver process to "
             "DIR (one file per process)",
    )
    group.addoption(
        "--conformance-driver-timeout", dest=DRIVER_TIMEOUT, default=None, type=float,
        metavar="SECONDS",
        help="real seconds a driver may take to answer one request (default 60)",
    )
    group.addoption(
        "--conformance-report", dest=REPORT, default=None, metavar="DIR",
        help="write report.json, summary.md, badge-<area>.json and junit.xml to DIR",
    )
    group.addoption(
        "--conformance-baseline", dest=BASELINE, default=None, metavar="FILE",
        help="TOML file of [[expected_failure]] id/reason/link entries (strict: an "
             "expected failure that passes fails the run)",
    )
    group.addoption(
        "--conformance-failures", dest=FAILURES, default=None, metavar="DIR",
        help=f"where failing counterexamples are stored and replayed first on the next "
             f"run (default: {DEFAULT_FAILURES}; 'none' disables)",
    )
    group.addoption(
        "--conformance-revision", dest=REVISION, default=None, metavar="NAME",
        help="certify against the frozen catalogue revision NAME (specs/revisions/NAME.toml, "
             "or a revision file): exactly its invariants, named in the report")
    parser.addini(ORCHESTRATOR, default="", help="default for --orchestrator (adapter name)")
    parser.addini(REVISION, default="", help="default for --conformance-revision")
    parser.addini(COMMAND, default="", help="default for --orchestrator-command")
    parser.addini(BASELINE, default="", help="default for --conformance-baseline")


def orchestrator_name(config: pytest.Config) -> str | None:
    """The adapter asked for on the command line, else in the ini file, else ``None``.
    An orchestrator command is named ``command:CMD``. Both at once is a usage error."""
    name = str(config.getoption(ORCHESTRATOR) or "").strip()
    command = str(config.getoption(COMMAND) or "").strip()
    if name and command:
        raise pytest.UsageError("conformance: --orchestrator and --orchestrator-command "
                                "name two orchestrators; give one")
    if command:
        return f"command:{command}"
    if name:
        return name
    name = str(config.getini(ORCHESTRATOR) or "").strip()
    command = str(config.getini(COMMAND) or "").strip()
    if name and command:
        raise pytest.UsageError("conformance: the ini options orchestrator and "
                                "orchestrator_command name two orchestrators; give one")
    return f"command:{command}" if command else (name or None)


def driver_log(config: pytest.Config) -> Path | None:
    value = config.getoption(DRIVER_LOG)
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else config.invocation_params.dir / path


def driver_timeout(config: pytest.Config) -> float | None:
    value = config.getoption(DRIVER_TIMEOUT)
    return None if value is None else float(value)


def revision(config: pytest.Config) -> str | None:
    """The frozen revision asked for (a name, or a file relative to the invocation
    directory), else ``None``: the whole catalogue."""
    value = str(config.getoption(REVISION) or config.getini(REVISION) or "").strip()
    if not value:
        return None
    path = Path(value)
    if value.endswith(".toml") and not path.is_absolute():
        return str(config.invocation_params.dir / path)
    return value


def report_dir(config: pytest.Config) -> Path | None:
    value = config.getoption(REPORT)
    return Path(value) if value else None


def baseline_file(config: pytest.Config) -> Path | None:
    value = config.getoption(BASELINE) or config.getini(BASELINE)
    if not value:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else config.rootpath / path


def failures_dir(config: pytest.Config) -> Path | None:
    value = config.getoption(FAILURES) or DEFAULT_FAILURES
    if value == "none":
        return None
    path = Path(value)
    return path if path.is_absolute() else config.invocation_params.dir / path
