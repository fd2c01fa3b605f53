"""Invariants checked on the same state machine share that machine's runs.

Step checks only observe. Under the same settings a machine generates the same
sequences whichever of its step checks are enabled, up to the step where one of them
fails. So one run with the step checks of every selected invariant of a machine
decides them all when it passes. When it fails, the failing invariant is decided (its
shrunk counterexample is the one a run of it alone would report, as far as Hypothesis
shrinks the same failure the same way), and the run is repeated without it: that is
exactly the run its neighbours would have had alone. Under the derandomized ``ci``
profile the verdicts are therefore the ones of one run per invariant, and the work is
one run per machine plus one per failure, instead of one per invariant (about five
times less for the reference implementation).

A run that ends in anything but a violation of one of its enabled invariants (an
adapter that broke the contract, a harness bug) decides every invariant it was
running with that error: each of them would have met it alone too.

Verdicts live in one :class:`SharedRuns` per pytest process, so each xdist worker runs
the machines of the invariants it was given; :mod:`conformance.scheduling` hands all
invariants of one machine to the same worker.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

import hypothesis

from conformance.catalogue import Invariant
from conformance.errors import HarnessError, InvariantViolation
from conformance.loader import LoadedAdapter
from conformance.processes.server import close_under
from conformance.registry import Check, RunContext
from conformance.scratch import make_scratch
from conformance.stateful import STEP_CHECKS, HarnessMachine, run_machine


def machine_of(check: Check) -> type[HarnessMachine] | None:
    """The state machine ``check`` runs on, when it is a step check (else ``None``)."""
    machine = check.machine
    if (machine is None or check.invariant_id not in STEP_CHECKS
            or not issubclass(machine, HarnessMachine)):
        return None
    return machine


@dataclass
class SharedRuns:
    """The verdicts decided so far in this process, by invariant id.

    ``None`` means the invariant held; an exception is what its item raises.
    """

    adapter: LoadedAdapter
    settings: hypothesis.settings
    decided: dict[str, BaseException | None] = field(default_factory=dict)
    #: How many machine runs this process made, for the record (tests read it).
    runs: int = 0

    def decide(self, invariant_id: str, outcome: BaseException | None) -> None:
        """Record a verdict reached outside a shared run (a replayed counterexample)."""
        self.decided[invariant_id] = outcome

    def verdict(
        self, invariant: Invariant, machine: type[HarnessMachine],
        members: Sequence[Invariant],
    ) -> None:
        """Return if ``invariant`` holds, raise what broke it if not.

        ``members`` are the invariants checked on ``machine`` that this process will
        report (``invariant`` among them); the ones not decided yet share the run.
        """
        while invariant.id not in self.decided:
            pending = [m for m in members if m.id not in self.decided]
            if invariant not in pending:
                pending.append(invariant)
            self._run(machine, invariant, pending)
        outcome = self.decided[invariant.id]
        if outcome is not None:
            raise outcome

    def _run(
        self, machine: type[HarnessMachine], invariant: Invariant,
        pending: Sequence[Invariant],
    ) -> None:
        ids = [m.id for m in pending]
        scratch = make_scratch(f"conformance-{machine.__name__}-")
        self.runs += 1
        outcome: BaseException | None = None
        try:
            run_machine(machine, RunContext(self.adapter, invariant, self.settings, scratch),
                        [STEP_CHECKS[i] for i in ids])
        except InvariantViolation as error:
            if error.invariant_id in ids:
                self.decided[error.invariant_id] = error
                return
            outcome = HarnessError(
                f"a run of {machine.__name__} checking {', '.join(ids)} raised a "
                f"violation of {error.invariant_id}, which it was not checking: {error}")
        except Exception as error:
            outcome = error
        finally:
            close_under(scratch)  # a fake CLI process never outlives its world
            shutil.rmtree(scratch, ignore_errors=True)
        # Passed (None), or ended in an error every invariant of the run shares.
        self.decided.update(dict.fromkeys(ids, outcome))
