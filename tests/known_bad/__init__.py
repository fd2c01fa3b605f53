"""Known-bad orchestrators: each breaks exactly one invariant of the catalogue.

Each module exposes ``conformance_adapter`` and a ``VIOLATES`` constant with the id
of the invariant it breaks. ``tests/test_known_bad.py`` proves the suite fails each
one with that id and passes it on every other invariant.
"""
