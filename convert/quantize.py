"""``mood-convert quantize``: placeholder until the real command lands (it is being written)."""

from __future__ import annotations

import argparse

from edge.errors import MoodEdgeError

SUMMARY = "quantize (not implemented yet)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    raise MoodEdgeError("mood-convert quantize is not implemented yet")
