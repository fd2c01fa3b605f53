"""Project-wide pytest set-up for this repository's own tests.

``pytester`` lets tests run the conformance plugin end to end in a fresh pytest
session, exactly as a vendor's CI would.
"""

pytest_plugins = ("pytester",)
