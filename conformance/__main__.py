"""``python -m conformance``: the ``conformance`` command line (:mod:`conformance.cli`)."""

import sys

from conformance.cli import main

sys.exit(main())
