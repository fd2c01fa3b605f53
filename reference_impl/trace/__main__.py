"""``python -m reference_impl.trace``: the same as the ``rollout-trace`` script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
