"""The rollout-trace bundle format (seed 003), as the suite reads it.

A bundle is ``manifest.json`` + append-only ``trace.jsonl`` + ``payloads/`` files (see
:mod:`.bundle`); each line is one event of schema version 1 (:mod:`.events`). The strict
reducer (:mod:`.reducer`) is the format's reference semantics: it rebuilds threads,
turns, tool calls and parent/child edges from the durable file alone and raises a
:class:`~.errors.TraceError` subclass for every event it cannot explain.

These modules live in ``conformance`` rather than in the reference implementation
because the trace invariants judge any orchestrator's bundles with them: a vendor is
judged by the format, never by the reference's writer. ``reference_impl.trace`` keeps
the writer (``TraceRecorder``), the renderers and the ``rollout-trace`` command, and
re-exports everything here under its old names. :mod:`.scan` adds the lenient,
line-by-line reading the checks use to look at bundles the reducer rejects.
"""

from __future__ import annotations
