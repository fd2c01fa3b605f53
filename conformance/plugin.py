"""The pytest plugin (entry point ``pytest11: conformance``). Thin on purpose.

Without an orchestrator selected it only declares its options and stays out of the
way. With ``--orchestrator=NAME`` (or ``orchestrator = "NAME"`` in the ini file) it
loads and validates the catalogue, the checks and the adapter at configure time,
refusing to run with a clear message if any is wrong, and adds one item per
invariant. When no paths are named on the command line, only the suite is
collected; name paths to run your own tests alongside it.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import options
from conformance.baseline import load_baseline
from conformance.catalogue import builtin_catalogue, load_catalogue
from conformance.errors import ConformanceError
from conformance.items import STATE, ConformanceSuite, SuiteState
from conformance.loader import LoadedAdapter, load_adapter, validate
from conformance.profiles import default_profile_name, register_profiles, suite_settings
from conformance.registry import verify
from conformance.replay import FailureStore
from conformance.reporting.collector import ResultCollector
from conformance.scratch import scratch_root
from conformance.shared_runs import SharedRuns

register_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    name = options.orchestrator_name(config)
    if name is None:
        return
    try:
        frozen = options.revision(config)
        if frozen is None:
            catalogue = load_catalogue()
            checks = dict(verify(catalogue))
        else:
            # A frozen revision is of the built-in catalogue: installed packs (even a
            # broken one) take no part in it.
            from conformance.revisions import load_revision

            builtin = builtin_catalogue()
            checks = dict(verify(builtin, packs=False))
            catalogue = load_revision(frozen).restrict(builtin)
            checks = {i.id: checks[i.id] for i in catalogue}
        adapter = _load(config, name)
        baseline_path = options.baseline_file(config)
        baseline = {} if baseline_path is None else load_baseline(baseline_path, catalogue)
        scratch_root()  # a bad CONFORMANCE_SCRATCH stops the run here, not in every item
    except ConformanceError as error:
        raise pytest.UsageError(f"conformance: {error}") from error
    profile = config.getoption("hypothesis_profile", None) or default_profile_name()
    failures = options.failures_dir(config)
    settings = suite_settings(profile)
    config.stash[STATE] = SuiteState(
        adapter, catalogue, checks, settings, profile, baseline,
        None if failures is None else FailureStore(failures), SharedRuns(adapter, settings))
    config.pluginmanager.register(ResultCollector(config), "conformance-results")
    directory = options.report_dir(config)
    if directory is not None and not config.option.xmlpath:
        # pytest's own JUnit XML, carrying invariant ids and levels as properties.
        config.option.xmlpath = str(directory / "junit.xml")
    for area in sorted({i.marker for i in catalogue}):
        config.addinivalue_line("markers", f"{area}: conformance invariants of that area")
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # Suite only: the paths came from testpaths or the invocation directory.
        config.args = []


def _load(config: pytest.Config, name: str) -> LoadedAdapter:
    """The adapter ``name``; an orchestrator command with the driver options."""
    from conformance.driver.adapter import PREFIX, DriverAdapter, anchored, is_command

    if not is_command(name):
        return load_adapter(name)
    timeout = options.driver_timeout(config)
    here = config.invocation_params.dir
    command = anchored(name.removeprefix(PREFIX), here)
    driver = DriverAdapter(command, cwd=here, log_dir=options.driver_log(config),
                           **({} if timeout is None else {"timeout": timeout}))
    # The spec names the anchored command: a stored counterexample replays through
    # the same program from any directory.
    return validate(PREFIX + command, driver)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Keep each state machine's invariants on one worker (see conformance.scheduling)."""
    state = config.stash.get(STATE, None)
    if state is None or config.getvalue("dist") != "load":
        return None
    from conformance.scheduling import MachineScopeScheduling, scopes

    return MachineScopeScheduling(config, log, scopes(state.catalogue, state.checks))


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    claimed = ", ".join(sorted(c.value for c in state.adapter.capabilities)) or "none"
    return [f"conformance: adapter {state.adapter.name} {state.adapter.version} "
            f"(claims: {claimed}); {len(state.catalogue)} invariants; "
            f"catalogue {state.catalogue.digest[:12]}"
            + (f" (revision {state.catalogue.revision})" if state.catalogue.revision else "")
            + f"; hypothesis profile {state.profile}"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if STATE not in config.stash:
        return
    suite = ConformanceSuite.from_parent(session, name="conformance")
    collected: list[pytest.Item | pytest.Collector] = list(suite.collect())
    # Report the suite like any collected node, so "collected N items", xdist's
    # collection and reporting plugins all count it.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(suite.nodeid, "passed", None, collected))
    items.extend(item for item in collected if isinstance(item, pytest.Item))
