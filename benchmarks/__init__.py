"""Benchmarks of the suite and the reference implementation (issue 6).

Run ``python -m benchmarks`` from the repository root. It measures, on the machine it
runs on, what the project promises to keep fast: certification wall time per
Hypothesis profile with and without xdist, state-machine steps per second, canonical
log append throughput next to a raw append, index latency at 10,000 sessions and
lost mappings under concurrent writers, and how fast and how briefly each known-bad
orchestrator is caught. Each figure is printed next to its target (PASS/MISS and by
how much) and written to ``benchmarks/results/latest.json``.

Nothing here is a test: timings depend on the machine, so they are reported, never
asserted. File names avoid pytest's ``test_*`` pattern and the package lives outside
``tests/`` so no pytest run collects it.
"""
