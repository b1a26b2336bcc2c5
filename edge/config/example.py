"""config.example.toml, written from the config's fields: their defaults and docs are its one source.

``python -m edge.config --example > config.example.toml`` rewrites it; a test checks that the committed
file is what this makes. The detector plug-ins' ``[detector.<kind>]`` tables come from their
``Options`` dataclasses (the ``#:`` comments above each field). Not imported by the daemon.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

from .. import config as config_mod
from ..detectors import detector_class, kinds

HEADER = """\
# mood-edge configuration.
#
# systemd/install.sh copies this file to /etc/mood-edge/config.toml (and never overwrites one that
# is already there); the service reads it with "mood-edge run --config /etc/mood-edge/config.toml".
# After editing:  sudo systemctl restart mood-edge   and check   journalctl -u mood-edge -f
#
# Every key is shown with its default value. Keys that are commented out have a default computed
# at run time (described next to them); uncomment them to override. A wrong key, type or value
# stops the daemon with one line naming this file, the key and what was expected.
# Relative paths are relative to this file.
#
# Written from the fields in edge/config/sections.py and edge/detectors/ (python -m edge.config --example).
"""


def toml_value(value: Any) -> str:
    """A default as TOML writes it (the config's types only: strings, numbers, booleans, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _comment(text: str, prefix: str = "# ") -> list[str]:
    return [(prefix + line).rstrip() for line in inspect.cleandoc(text).splitlines()] if text.strip() else []


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def _section(name: str, cls: type) -> list[str]:
    lines = [f"[{name}]"]
    for f in dataclasses.fields(cls):
        lines += _comment(f.metadata["doc"])
        example = f.metadata.get("example")
        lines.append(f"# {f.name} = {example}" if example is not None else f"{f.name} = {toml_value(_default(f))}")
    return lines


def source_docs(cls: type) -> dict[str, str]:
    """A dataclass's ``#:`` comments, by the field they stand above (a plug-in's options), its own
    over those of the classes it takes fields from (the motion settings, defined once in edge.motion)."""
    docs: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        docs.update(_own_docs(klass))
    return docs


def _own_docs(cls: type) -> dict[str, str]:
    docs: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        m = re.match(r"(\w+)\s*:", stripped)
        if m and pending:
            docs[m[1]] = "\n".join(pending)
        pending = []
    return docs


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _plugin_table(kind: str) -> list[str]:
    """A ``[detector.<kind>]`` table, commented out: every option is optional."""
    options = detector_class(kind).Options
    docs = source_docs(options)
    lines = [f"# [detector.{kind}]"]
    for f in dataclasses.fields(options):
        if f.name in docs:
            lines += _comment(_sentence(docs[f.name]), "# # ")
        lines.append(f"# {f.name} = {toml_value(_default(f))}")
    return lines


def render() -> str:
    """The whole example file."""
    blocks = [HEADER.rstrip("\n")]
    for name, cls in config_mod._sections().items():
        blocks.append("\n".join(_section(name, cls)))
        if name == "detector":
            blocks += ["\n".join(_plugin_table(kind)) for kind in kinds()]
    return "\n\n".join(blocks) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edge.config", description=__doc__.split("\n\n")[0])
    p.add_argument("--example", action="store_true", help="print config.example.toml, made from the fields")
    p.add_argument("--write", metavar="PATH", type=Path, help="write it to PATH instead")
    args = p.parse_args(argv)
    if not (args.example or args.write):
        p.print_help()
        return 2
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
