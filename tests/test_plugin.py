"""The pytest plugin end to end: a fresh pytest session per test, run in-process by
``pytester`` exactly as a vendor's CI would run it.

The plugin is found through the ``pytest11`` entry point of the installed package;
the known-bad modules are importable because the editable install puts the
repository root on ``sys.path``. Runs that only need to pass use the fast ``dev``
profile; runs whose verdicts are compared use the derandomized ``ci`` profile and
``-k`` to keep them short.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator

import hypothesis
import pytest

from conformance.catalogue import Catalogue, load_catalogue
from conformance.contract import Capability
from conformance.items import InvariantItem
from conformance.loader import ENTRY_POINT_GROUP
from reference_impl import conformance_adapter as reference

pytestmark = pytest.mark.slow

BAD = "tests.known_bad.obs_002_polls_codex_at_once"
QUIET = ("-p", "no:cacheprovider")
DEV = (*QUIET, "--hypothesis-profile=dev")
CI = (*QUIET, "--hypothesis-profile=ci")


@pytest.fixture(autouse=True)
def keep_hypothesis_profile() -> Iterator[None]:
    """An inner session loads its ``--hypothesis-profile`` globally; undo that, so the
    outer session's own property tests keep their settings."""
    name = hypothesis.settings.get_current_profile_name()
    yield
    hypothesis.settings.load_profile(name)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def outcomes(reprec: pytest.HookRecorder) -> dict[str, str]:
    """``{item name: passed|failed|skipped}`` from an inline run."""
    found: dict[str, str] = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        name = report.nodeid.rsplit("::", 1)[-1]
        if report.when == "call" or report.outcome != "passed":
            found[name] = report.outcome
    return found


def collect(pytester: pytest.Pytester, *args: str) -> list[pytest.Item]:
    """The items a ``--collect-only`` session ends up with (the suite adds its items in
    ``pytest_collection_modifyitems``, so they are read from the finished session)."""
    reprec = pytester.inline_run("--collect-only", *QUIET, *args)
    return list(reprec.getcall("pytest_collection_finish").session.items)


def claimed_ids(catalogue: Catalogue, claims: frozenset[Capability]) -> list[str]:
    return [i.id for i in catalogue if i.area in claims]


# -- collection and selection -------------------------------------------------------


def test_every_invariant_is_an_item_named_id_and_title(
    pytester: pytest.Pytester, catalogue: Catalogue
) -> None:
    items = collect(pytester, "--orchestrator=reference_impl")
    assert all(isinstance(item, InvariantItem) for item in items)
    assert [item.name for item in items] == [f"{i.id} {i.title}" for i in catalogue]
    for item in items:
        assert isinstance(item, InvariantItem)
        assert item.get_closest_marker(item.invariant.marker) is not None
        assert ("invariant_id", item.invariant.id) in item.user_properties


def test_reference_passes_the_suite(pytester: pytest.Pytester, catalogue: Catalogue) -> None:
    """The spine's area end to end; every invariant of every area is run against the
    reference, one test each, by ``test_known_bad.py``."""
    assert reference.capabilities >= {Capability.OBSERVABILITY}
    result = pytester.runpytest("--orchestrator=reference_impl", *DEV, "-m", "observability")
    observability = catalogue.in_area(Capability.OBSERVABILITY)
    result.assert_outcomes(passed=len(observability),
                           deselected=len(catalogue) - len(observability))
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"conformance: adapter reference_impl*{len(catalogue)} "
                                 "invariants*"])


def test_k_selects_one_invariant(pytester: pytest.Pytester, catalogue: Catalogue) -> None:
    result = pytester.runpytest("--orchestrator=reference_impl", *DEV, "-k", "OBS-001")
    result.assert_outcomes(passed=1, deselected=len(catalogue) - 1)


def test_m_selects_an_area(pytester: pytest.Pytester, catalogue: Catalogue) -> None:
    items = collect(pytester, "--orchestrator=reference_impl", "-m", "observability")
    selected = [item.invariant.id for item in items if isinstance(item, InvariantItem)]
    assert selected == [i.id for i in catalogue.in_area(Capability.OBSERVABILITY)]
    assert all(i.startswith("OBS-") for i in selected) and len(selected) == len(items)


def test_not_observable_through_processes_is_reported_not_passed(
    pytester: pytest.Pytester, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec author may mark an invariant ``not_observable_with_processes``: for an
    adapter that launches processes, its item is skipped as not observable (never run,
    never passed) and its area is incomplete; in-process it runs as ever."""
    marked = [dataclasses.replace(i, observed=dataclasses.replace(
                  i.observed, not_observable_with_processes="the fakes cannot show it"))
              if i.id == "OBS-001" and i.observed is not None else i for i in catalogue]
    blind = dataclasses.replace(catalogue, invariants=tuple(marked))
    monkeypatch.setattr("conformance.plugin.load_catalogue", lambda: blind)
    result = pytester.runpytest("--orchestrator=reference_impl.processes", *DEV,
                                "-k", "OBS-001", "-rs")
    result.assert_outcomes(skipped=1, deselected=len(catalogue) - 1)
    result.stdout.fnmatch_lines(["observability *0 *0 *0 *0 *incomplete*",
                                 "*not observable for an orchestrator that launches "
                                 "processes: the fakes cannot show it*"])
    result = pytester.runpytest("--orchestrator=reference_impl", *DEV, "-k", "OBS-001")
    result.assert_outcomes(passed=1, deselected=len(catalogue) - 1)


def test_faults_that_cannot_reach_a_driver_are_reported_not_observable(
    pytester: pytest.Pytester, catalogue: Catalogue
) -> None:
    """PER-007's disk faults and CLOG-014's power cuts act in the harness's process: for
    an orchestrator behind a driver they are reported not observable (never passed), as
    the catalogue says (``not_observable_out_of_process``); no world is run for them."""
    blind = sorted(i.id for i in catalogue if i.observed is not None
                   and i.observed.not_observable_out_of_process)
    assert blind == ["CLOG-014", "PER-007"]
    driver = f"{sys.executable} -m reference_impl.driver"
    result = pytester.runpytest(f"--orchestrator-command={driver}", *DEV,
                                "-k", "PER-007 or CLOG-014", "-rs")
    result.assert_outcomes(skipped=2, deselected=len(catalogue) - 2)
    result.stdout.fnmatch_lines(["*not observable for an orchestrator in another process: "
                                 "its disk faults*"])


# -- failures -----------------------------------------------------------------------


def test_known_bad_fails_with_a_readable_report(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--orchestrator={BAD}", *CI, "-k", "OBS-002")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    for expected in ("OBS-002", "VIOLATED", "shortest failing sequence", "known-bad-obs-002"):
        assert expected in output, f"{expected!r} missing from the report:\n{output}"
    # The machine's first step is an initial spawn (`first_spawn`), later ones the `spawn`
    # rule; the shortest sequence may use either, but it must show the spawn as a call.
    assert re.search(r"= state\.(first_)?spawn\(profile=codex\(", output), (
        f"no spawn call in the counterexample:\n{output}")


def test_parallel_run_gives_the_same_outcomes(pytester: pytest.Pytester) -> None:
    args = (f"--orchestrator={BAD}", *CI, "-k", "OBS-002 or OBS-003")
    single = outcomes(pytester.inline_run(*args))
    parallel = outcomes(pytester.inline_run(*args, "-n", "2"))
    assert single == parallel
    assert sorted(single.values()) == ["failed", "passed"]


# -- usage errors -------------------------------------------------------------------


def test_unknown_adapter_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--orchestrator=no_such_orchestrator_anywhere", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "no_such_orchestrator_anywhere" in errors
    assert ENTRY_POINT_GROUP in errors
    assert "importable module" in errors


def test_module_without_adapter_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(adapterless_module="VALUE = 1\n")
    result = pytester.runpytest("--orchestrator=adapterless_module", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*adapterless_module*has no attribute 'conformance_adapter'*"])


def test_incomplete_adapter_lists_everything_missing(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(incomplete_adapter=(
        "class Adapter:\n"
        "    name = 'half-done'\n"
        "    capabilities = frozenset({'observability', 'telepathy'})\n"
        "conformance_adapter = Adapter()\n"))
    result = pytester.runpytest("--orchestrator=incomplete_adapter", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    for expected in ("incomplete", "'version'", "start(world)", "'telepathy'"):
        assert expected in errors, f"{expected!r} missing from:\n{errors}"


# -- how the plugin fits into an ordinary run ---------------------------------------


def test_without_orchestrator_the_plugin_stays_out_of_the_way(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    reprec = pytester.inline_run(*QUIET)
    reprec.assertoutcome(passed=1)
    assert list(outcomes(reprec)) == ["test_own"]
    result = pytester.runpytest(*QUIET)
    assert "conformance:" not in result.stdout.str()


def test_orchestrator_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\norchestrator = "reference_impl"\n')
    pytester.makepyfile(test_own="def test_own():\n    assert True\n")
    result = pytester.runpytest(*DEV, "-m", "observability", "-k", "OBS-003")
    # Suite only: the project's own test file is not collected without a named path.
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["conformance: adapter reference_impl*"])


def test_named_path_runs_alongside_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    reprec = pytester.inline_run("--orchestrator=reference_impl", *DEV, "test_mine.py",
                                 "-k", "OBS-001 or test_mine")
    found = outcomes(reprec)
    assert found.pop("test_mine") == "passed"
    assert [name.split()[0] for name in found] == ["OBS-001"]
    assert set(found.values()) == {"passed"}


PARTIAL = (
    "from conformance.contract import Capability\n"
    "from reference_impl.orchestrator import ReferenceOrchestrator\n"
    "from tests.known_bad._base import adapter_for\n"
    "conformance_adapter = adapter_for(ReferenceOrchestrator, 'partial',\n"
    "                                  frozenset({{Capability.{claim}}}))\n"
)


def test_unclaimed_area_is_skipped_as_not_claimed(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(isolation_only=PARTIAL.format(claim="ISOLATION"))
    reprec = pytester.inline_run("--orchestrator=isolation_only", *DEV, "-m", "observability")
    passed, skipped, failed = reprec.listoutcomes()
    assert not passed and not failed and skipped
    for report in skipped:
        assert isinstance(report.longrepr, tuple)
        reason = report.longrepr[2]
        assert "not claimed" in reason and "'observability'" in reason, reason


def test_claimed_area_runs_and_the_rest_is_skipped(
    pytester: pytest.Pytester, catalogue: Catalogue
) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(observability_only=PARTIAL.format(claim="OBSERVABILITY"))
    # One claimed invariant runs (enough to show claimed areas run); the others are
    # deselected, and every unclaimed one is reported.
    reprec = pytester.inline_run("--orchestrator=observability_only", *DEV,
                                 "-k", "OBS-001 or not OBS-")
    passed, skipped, failed = reprec.listoutcomes()
    assert not failed
    assert [r.nodeid.rsplit("::", 1)[-1].split()[0] for r in passed] == ["OBS-001"]
    obs = claimed_ids(catalogue, frozenset({Capability.OBSERVABILITY}))
    assert len(skipped) == len(catalogue) - len(obs)
    assert all("not claimed" in r.longrepr[2] for r in skipped if isinstance(r.longrepr, tuple))
