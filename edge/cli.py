"""A small sub-command framework shared by ``mood-edge`` and ``mood-convert``.

Each sub-command lives in its own module, which provides:

* ``SUMMARY``: one line for the command list,
* ``DESCRIPTION``: the man-page-like text shown by ``<cmd> --help`` (optional),
* ``add_arguments(parser)``: its options,
* ``main(args) -> int``: the work; raises :class:`edge.errors.MoodEdgeError` for user mistakes.

Only the chosen sub-command's module is imported; the command list reads the others' ``SUMMARY``
from their source without running it, so ``mood-edge --help`` loads neither OpenCV nor numpy nor paho.
A module should still keep optional dependencies (matplotlib, amqtt; TensorFlow in ``convert/``) inside
functions, so a training-only dependency never loads on the Pi.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import logging
import sys
from typing import Callable, Sequence

from .errors import MoodEdgeError
from .textsafe import clean

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


def summary_of(module_name: str) -> str:
    """A sub-command module's ``SUMMARY``, read from its source: importing it would load its dependencies."""
    spec = importlib.util.find_spec(module_name)
    try:
        tree = ast.parse(open(spec.origin, encoding="utf-8").read()) if spec and spec.origin else None
    except (OSError, SyntaxError, ValueError):
        tree = None
    for node in tree.body if tree else []:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SUMMARY" for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return ""


def chosen_command(argv: Sequence[str], commands: dict[str, str]) -> str | None:
    """The sub-command named in ``argv`` (the first word that is one), if any."""
    return next((a for a in argv if a in commands), None)


def build_parser(prog: str, description: str, epilog: str, version: str,
                 commands: dict[str, str], chosen: str | None = None) -> argparse.ArgumentParser:
    """The full parser of ``chosen`` (every command's when None) and one-line entries for the rest."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=_ManPageFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="verbosity of the logs written to stderr (default: INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in commands.items():
        if chosen is not None and name != chosen:
            sub.add_parser(name, help=summary_of(module_name))
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=getattr(module, "SUMMARY", ""),
                           description=getattr(module, "DESCRIPTION", getattr(module, "SUMMARY", "")),
                           formatter_class=_ManPageFormatter)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def run(prog: str, description: str, epilog: str, version: str, commands: dict[str, str],
        argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog, description, epilog, version, commands,
                          chosen=chosen_command(argv, commands) or "")
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    main: Callable[[argparse.Namespace], int] = args._main
    try:
        return int(main(args) or 0)
    except MoodEdgeError as exc:
        print(f"{prog}: error: {clean(exc, 2000)}", file=sys.stderr)  # names from files: no raw control bytes
        return 2
    except KeyboardInterrupt:
        return 130
