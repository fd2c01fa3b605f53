"""ISO-004: the prompt summary is the prompt's first line, however long it is.

"Summary" taken to mean "the headline": the first line of the prompt goes into the
main history as is. Short prompts look fine; a one-paragraph brief (a single line
of several hundred characters, as users paste them) lands whole in the main
history, far past the 200-character summary the seed allows there.
"""

from __future__ import annotations

from pathlib import Path

from conformance.contract import World
from reference_impl.isolation import IsolationComponent, TempDirs
from reference_impl.isolation.history import Invocation, MainHistory
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-004"


class HeadlineHistory(MainHistory):
    def _write(self, invocation: Invocation, event: str, finished_at: float | None,
               status: str) -> None:
        super()._write(invocation, event, finished_at, status)
        # Rewrite the line just written with the headline as its summary.
        lines = self.path.read_text(encoding="utf-8").splitlines()
        headline = (invocation.prompt.splitlines() or [""])[0]
        lines[-1] = lines[-1].replace('"prompt_summary":', '"prompt_summary_short":', 1)
        lines[-1] = lines[-1][:-1] + ', "prompt_summary": ' + _json(headline) + "}"
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _json(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


class HeadlineComponent(IsolationComponent):
    def __init__(self, world: World, temp_dirs: TempDirs) -> None:
        super().__init__(world, temp_dirs)
        self.history = HeadlineHistory(Path(world.home))


class Headlines(ReferenceOrchestrator):
    isolation_component_type = HeadlineComponent


conformance_adapter = adapter_for(Headlines, "known-bad-iso-004-headline")
