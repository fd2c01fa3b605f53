"""Under the ``ci`` profile a verdict is a function of the code alone.

Vendors compare runs across machines and xdist workers; the same adapter must get
the same verdict and the very same shortest counterexample every time, down to
session ids and harness times in the message.
"""

from __future__ import annotations

import pytest

from conformance import InvariantViolation, run_invariant
from conformance.items import counterexample
from conformance.profiles import suite_settings

pytestmark = pytest.mark.slow

#: A known-bad whose counterexample needs real shrinking (a non-Codex profile among
#: many), so a nondeterministic shrinker would show.
KNOWN_BAD = "tests.known_bad.obs_004_not_found_is_ended"
VIOLATES = "OBS-004"


def verdict() -> tuple[str, str, list[str]]:
    with pytest.raises(InvariantViolation) as caught:
        run_invariant(KNOWN_BAD, VIOLATES, settings=suite_settings("ci"))
    error = caught.value
    return error.invariant_id, error.detail, counterexample(error)


def test_the_same_known_bad_gives_the_same_counterexample_twice() -> None:
    first, second = verdict(), verdict()
    assert first[0] == second[0] == VIOLATES
    assert first[2], "no counterexample steps were attached"
    assert first == second


def test_the_ci_profile_is_derandomized_and_keeps_no_database() -> None:
    ci = suite_settings("ci")
    assert ci.derandomize and ci.database is None
    assert ci.deadline is None
