"""``rollout-trace``: reduce a bundle and print the reconstructed graph.

Usage::

    rollout-trace reduce BUNDLE_DIR [--format text|dot|mermaid]

Exit status: 0 on success, 1 when the bundle cannot be reduced (the message names the
line or ``seq`` and the reason, so it can be acted on without a debugger), 2 for usage
errors. Replay is the same strict reducer the recorder validates against; the command
never prints a partial graph for a trace it could not fully explain.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.trace_format.errors import TraceError
from conformance.trace_format.reducer import reduce_bundle

from .render import RENDERERS

PROG = "rollout-trace"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Inspect rollout-trace bundles (manifest.json + trace.jsonl)."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    reduce = commands.add_parser("reduce", help="replay a bundle and print its thread/edge graph")
    reduce.add_argument("bundle_dir", metavar="BUNDLE_DIR", help="the rollout's bundle directory")
    reduce.add_argument(
        "--format",
        choices=sorted(RENDERERS),
        default="text",
        help="output format (default: text)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (try 'reduce')", file=sys.stderr)
        return 2
    try:
        graph = reduce_bundle(args.bundle_dir)
    except TraceError as err:
        print(f"{PROG}: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROG}: cannot read {args.bundle_dir}: {err}", file=sys.stderr)
        return 1
    sys.stdout.write(RENDERERS[args.format](graph))
    return 0


__all__ = ["main"]
