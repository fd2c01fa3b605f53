"""The fake CLIs as processes: executables on ``PATH`` that the harness plays.

* :mod:`~conformance.processes.bin` writes the ``codex``, ``claude`` and ``gemini``
  executables of a world;
* :mod:`~conformance.processes.puppet` is what they run: the CLI's edges (command
  lines, stdout, exit codes, hooks, signals), nothing on its own clock;
* :mod:`~conformance.processes.wire` is the socket protocol between a puppet and
  its harness;
* :mod:`~conformance.processes.server` is the harness side, playing every puppet of
  a world on its fake hosts;
* :mod:`~conformance.processes.models` is where the fakes send their model requests,
  and :mod:`~conformance.processes.model_server` the harness's model that answers them
  (a :mod:`~conformance.processes.local_http` server, as the reference's relay is);
* :mod:`~conformance.processes.watch` sees an orchestrator's reads of session files
  (its polls) with inotify.

The puppet imports only :mod:`~conformance.processes.wire` and
:mod:`~conformance.processes.models`, as plain modules, so
nothing here may import the rest of the package at import time.
"""
