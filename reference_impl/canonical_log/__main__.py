"""``python -m reference_impl.canonical_log``: the ``acp-log`` CLI."""

from reference_impl.canonical_log.cli import main

raise SystemExit(main())
