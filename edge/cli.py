"""A small sub-command framework shared by ``mood-edge`` and ``mood-convert``.

Each sub-command lives in its own module, which provides:

* ``SUMMARY``: one line for the command list,
* ``DESCRIPTION``: the man-page-like text shown by ``<cmd> --help`` (optional),
* ``add_arguments(parser)``: its options,
* ``main(args) -> int``: the work; raises :class:`edge.errors.MoodEdgeError` for user mistakes.

Every sub-command module is imported to build the parser, so a module must keep its heavy or
optional dependencies (TensorFlow, matplotlib, amqtt) inside functions: ``--help`` stays fast and
a training-only dependency never loads on the Pi.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Callable, Sequence

from .errors import MoodEdgeError

log = logging.getLogger(__name__)


class _ManPageFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_parser(prog: str, description: str, epilog: str, version: str,
                 commands: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=_ManPageFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="verbosity of the logs written to stderr (default: INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in commands.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=getattr(module, "SUMMARY", ""),
                           description=getattr(module, "DESCRIPTION", getattr(module, "SUMMARY", "")),
                           formatter_class=_ManPageFormatter)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def run(prog: str, description: str, epilog: str, version: str, commands: dict[str, str],
        argv: Sequence[str] | None = None) -> int:
    parser = build_parser(prog, description, epilog, version, commands)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    main: Callable[[argparse.Namespace], int] = args._main
    try:
        return int(main(args) or 0)
    except MoodEdgeError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
