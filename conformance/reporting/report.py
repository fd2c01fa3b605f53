"""The files of ``--conformance-report=DIR``: ``report.json`` (validated by
``conformance/schemas/report.schema.json``), ``summary.md``, and one Shields
endpoint badge per area (``badge-<area>.json``). pytest's JUnit XML goes to
``junit.xml`` in the same directory, with invariant ids and levels as properties.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from conformance.catalogue import Catalogue
from conformance.loader import LoadedAdapter
from conformance.reporting.outcomes import (
    AreaSummary,
    InvariantResult,
    Outcome,
    Verdict,
    summarize,
)

REPORT_SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "report.schema.json"


def suite_version() -> str:
    try:
        return version("orchestrator-conformance")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0+unknown"


def build_report(
    *,
    catalogue: Catalogue,
    adapter: LoadedAdapter,
    results: Mapping[str, InvariantResult],
    profile: str,
    seed: str | None,
    derandomize: bool,
    duration_s: float,
) -> dict[str, Any]:
    """The JSON report as a plain dict (see the schema)."""
    summaries = summarize(catalogue, adapter.capabilities, results)
    invariants = []
    for invariant in catalogue:
        result = results.get(invariant.id, InvariantResult(invariant.id, Outcome.NOT_RUN))
        if not adapter.claims(invariant.area) and result.outcome is Outcome.NOT_RUN:
            result = InvariantResult(invariant.id, Outcome.NOT_CLAIMED)
        entry: dict[str, Any] = {
            "id": invariant.id,
            "title": invariant.title,
            "level": invariant.level.value,
            "area": invariant.area.value,
            "outcome": result.outcome.value,
            "duration_s": round(result.duration_s, 3),
            "source": {"seed": invariant.source.seed, "passage": invariant.source.passage},
            "message": result.message,
            "counterexample": None,
            "baseline": None,
        }
        if result.counterexample or result.snippet:
            entry["counterexample"] = {"steps": result.counterexample,
                                       "snippet": result.snippet, "replay": result.replay}
        if result.baseline_reason is not None:
            entry["baseline"] = {"reason": result.baseline_reason, "link": result.baseline_link}
        invariants.append(entry)
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "suite": {"name": "orchestrator-conformance", "version": suite_version()},
        "catalogue": {"digest": catalogue.digest, "invariants": len(catalogue),
                      "revision": catalogue.revision},
        "adapter": {"spec": adapter.spec, "name": adapter.name, "version": adapter.version,
                    "capabilities": sorted(c.value for c in adapter.capabilities)},
        "run": {"profile": profile, "seed": seed, "derandomize": derandomize,
                "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "duration_s": round(duration_s, 3)},
        "areas": [_area_json(s) for s in summaries],
        "invariants": invariants,
    }


def _area_json(summary: AreaSummary) -> dict[str, Any]:
    return {"area": summary.area.value, "claimed": summary.claimed, "passed": summary.passed,
            "failed": summary.failed, "errored": summary.errored,
            "warnings": summary.warnings, "expected_failures": summary.expected_failures,
            "not_run": summary.not_run, "verdict": summary.verdict.value}


_BADGE_COLOURS = {Verdict.CERTIFIED.value: "brightgreen", Verdict.NOT_CERTIFIED.value: "red",
                  Verdict.NOT_CLAIMED.value: "lightgrey", Verdict.INCOMPLETE.value: "yellow"}


def badge(area: Mapping[str, Any], revision: str | None = None) -> dict[str, Any]:
    """A Shields endpoint badge (https://shields.io/badges/endpoint-badge) for one area
    (naming the frozen revision certified against, if any)."""
    suffix = f" {revision}" if revision else ""
    message = area["verdict"]
    if area["verdict"] == Verdict.CERTIFIED.value and area["warnings"]:
        message = f"certified, {area['warnings']} warning(s)"
    return {"schemaVersion": 1, "label": f"conformance{suffix}: {area['area']}",
            "message": message,
            "color": _BADGE_COLOURS[area["verdict"]]}


def markdown(report: Mapping[str, Any]) -> str:
    """A summary fit for a CI step summary or a pull-request comment."""
    adapter = report["adapter"]
    run = report["run"]
    lines = [
        f"## Conformance: {adapter['name']} {adapter['version']}",
        "",
        f"Suite {report['suite']['version']}, catalogue `{report['catalogue']['digest'][:12]}`"
        + (f" (revision `{report['catalogue']['revision']}`)"
           if report["catalogue"].get("revision") else "") + ", "
        f"profile `{run['profile']}`, {run['duration_s']:.1f} s.",
        "",
        "| Area | Passed | Failed | Warnings | Expected failures | Verdict |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for area in report["areas"]:
        lines.append(f"| {area['area']} | {area['passed']} | {area['failed']} | "
                     f"{area['warnings']} | {area['expected_failures']} | "
                     f"**{area['verdict']}** |")
    failures = [i for i in report["invariants"]
                if i["outcome"] in ("failed", "errored", "unexpected_pass", "expected_failure")]
    if failures:
        lines += ["", "### Failures", ""]
        for item in failures:
            lines += [f"#### {item['id']} ({item['level']}, {item['outcome']}): {item['title']}",
                      ""]
            if item["message"]:
                lines += ["```", item["message"].strip(), "```", ""]
            example = item["counterexample"]
            if example and example.get("snippet"):
                lines += ["Shortest failing sequence:", "", "```python",
                          example["snippet"].strip(), "```", ""]
                if example.get("replay"):
                    lines += [f"Replay: `{example['replay']}`", ""]
            if item["baseline"]:
                lines += [f"Baseline: {item['baseline']['reason']} ({item['baseline']['link']})",
                          ""]
    return "\n".join(lines) + "\n"


def write_report(directory: Path, report: Mapping[str, Any]) -> list[Path]:
    """Write ``report.json``, ``summary.md`` and the badges; return what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "report.json", directory / "summary.md"]
    written[0].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    written[1].write_text(markdown(report), encoding="utf-8")
    for area in report["areas"]:
        path = directory / f"badge-{area['area']}.json"
        revision = report["catalogue"].get("revision")
        path.write_text(json.dumps(badge(area, revision), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
