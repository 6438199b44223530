"""Benchmarks of livecert: ``python -m benchmarks COMMAND [options]``.

``python -m benchmarks COMMAND --help`` gives a command's options.  Every
command but ``manifest`` (which writes the suite's CSV manifest) writes JSON
results whose ``metadata`` holds the git commit, machine, Python and library
versions and the date.  ``python -m benchmarks DATA_DIR ...`` (no command)
still runs ``suite``.  Exit codes: 0 done, 2 a usage or data problem (one
line on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "suite": ("benchmarks.suite", "speed and accuracy of verify() on the clips of a manifest"),
    "blink": ("benchmarks.blink", "blink pipeline speed and event accuracy on the ZJU clips"),
    "session": ("benchmarks.session", "live-session push() latency and headless demo fps"),
    "digits": ("benchmarks.digits", "read-digits cost over blink mode; error rates on one-by-one readings"),
    "spoof": ("benchmarks.spoof", "presentation-attack check's cost per frame at 640x480"),
    "degrade": ("benchmarks.degrade", "blink, photo attacks and matching on dim, small, blurred, low-fps clips"),
    "match-threshold": ("benchmarks.match_threshold", "choose and report the face-match threshold"),
    "descriptor": ("benchmarks.descriptor", "face descriptor ms per face, dlib vs ONNX Runtime"),
    "mesh-onnx": ("benchmarks.mesh_ort", "face mesh model on ONNX Runtime vs MediaPipe: accuracy, ms per frame"),
    "batch": ("benchmarks.batch", "livecert batch: throughput 1 vs 2 workers vs Ray, memory per worker, resume"),
    "ledger": ("benchmarks.ledger", "certification ledger: due, suspend-overdue, concurrent writes, audit"),
    "serve": ("benchmarks.serve", "livecert serve on loopback: sessions/min, latency, memory, kill and restart"),
    "manifest": ("benchmarks.make_manifest", "write the manifest of the shared data folder"),
}


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser: one subcommand per benchmark module.

    Each module provides ``add_arguments(parser)`` and ``run(args) -> int``.

    Parameters
    ----------
    command : str, optional
        Import only this subcommand's module (the others keep their one-line
        help); default all of them.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_text, parents=[common])
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the subcommand; its exit code."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in and args_in[0] not in COMMANDS and not args_in[0].startswith("-"):
        args_in.insert(0, "suite")  # the form before subcommands: python -m benchmarks DATA_DIR ...
    command = args_in[0] if args_in and args_in[0] in COMMANDS else None
    args = parser(command).parse_args(args_in)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=f"benchmarks {args.command}: %(message)s",
        stream=sys.stderr,
    )
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
