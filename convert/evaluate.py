"""``mood-convert evaluate``: placeholder until the real command lands (it is being written)."""

from __future__ import annotations

import argparse

from edge.errors import MoodEdgeError

SUMMARY = "evaluate (not implemented yet)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    raise MoodEdgeError("mood-convert evaluate is not implemented yet")
