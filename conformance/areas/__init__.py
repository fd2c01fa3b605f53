"""The areas of the catalogue, one package each: everything a spec author needs in one folder.

An area package holds its state machine (``machine.py``), its checks (``checks*.py``:
importing them registers every check with :mod:`conformance.registry`) and whatever
model the checks compare the orchestrator's files with (the canonical log's
``journal.py``, the trace area's ``observed.py``). Shared pieces stay at the top of
the package: the harness, the fakes, the fault model (:mod:`conformance.faults`) and
the machine base (:mod:`conformance.stateful`).
"""
