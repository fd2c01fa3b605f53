"""Certification reports: outcomes per invariant, verdicts per area, and the files a
vendor publishes (JSON with a JSON Schema, Markdown, Shields badges)."""
