"""Gathers invariant results from test reports (also from xdist workers), prints the
verdict table at the end of the run, and writes the report files."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance.items import STATE, InvariantItem
from conformance.options import report_dir
from conformance.reporting.outcomes import InvariantResult, Verdict, summarize
from conformance.reporting.report import build_report, write_report

_COLOURS = {Verdict.CERTIFIED: "green", Verdict.NOT_CERTIFIED: "red",
            Verdict.INCOMPLETE: "yellow", Verdict.NOT_CLAIMED: "white"}


class ResultCollector:
    """A pytest plugin object registered when an orchestrator is selected."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, InvariantResult] = {}
        self.started = time.perf_counter()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Any:
        report = yield
        if isinstance(item, InvariantItem) and item.result is not None and call.when == "call":
            report.conformance = item.result.to_wire()
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "conformance", None)
        if isinstance(data, dict):
            result = InvariantResult.from_wire(data)
            result.duration_s = report.duration
            self.results[result.invariant_id] = result

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = self.config.stash[STATE]
        summaries = summarize(state.catalogue, state.adapter.capabilities, self.results)
        revision = state.catalogue.revision
        terminalreporter.write_sep("=", f"conformance: {state.adapter.name} "
                                        f"{state.adapter.version}"
                                        + (f", revision {revision}" if revision else ""))
        header = (f"{'area':<15} {'passed':>6} {'failed':>6} {'warnings':>8} "
                  f"{'expected':>8}  verdict")
        terminalreporter.write_line(header)
        for s in summaries:
            line = (f"{s.area.value:<15} {s.passed:>6} {s.failed:>6} {s.warnings:>8} "
                    f"{s.expected_failures:>8}  ")
            terminalreporter.write(line)
            terminalreporter.write_line(s.verdict.value, **{_COLOURS[s.verdict]: True,
                                                            "bold": True})
        directory = report_dir(self.config)
        if directory is not None and not hasattr(self.config, "workerinput"):
            terminalreporter.write_line(f"conformance report written to {directory}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        directory = report_dir(self.config)
        if directory is None or hasattr(self.config, "workerinput"):
            return
        state = self.config.stash[STATE]
        seed = self.config.getoption("hypothesis_seed", None)
        report = build_report(
            catalogue=state.catalogue, adapter=state.adapter, results=self.results,
            profile=state.profile, seed=None if seed is None else str(seed),
            derandomize=bool(state.settings.derandomize),
            duration_s=time.perf_counter() - self.started,
        )
        write_report(directory, report)
