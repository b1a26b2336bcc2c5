"""``mood-edge``: the daemon and its tools."""

from __future__ import annotations

import os
import sys
from typing import Sequence

# numpy's BLAS would start a thread per core for the taste model's small solves (a few hundred votes):
# on a shared core that made a refit 10x slower (190 ms against 16 ms). Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from . import __version__
from .cli import run

COMMANDS = {
    "run": "edge.commands.daemon",
    "watch": "edge.commands.watch",
    "bench": "edge.commands.bench",
    "demo": "edge.commands.demo",
    "check": "edge.commands.check",
    "bridge": "edge.commands.bridge",
    "recommend": "edge.commands.recommend",
    "taste": "edge.commands.taste",
}

DESCRIPTION = """\
mood-edge reads a camera, finds faces, classifies each face's expression with a full-integer
int8 TFLite model, smooths that into a stable room mood, picks movies for it from catalog.json
and publishes mood and picks over MQTT to every display that subscribes.

Frames and face crops never leave the process: only the mood, its probabilities, the number of
faces and the movie picks are published."""

EPILOG = """\
topics:
  mood-edge/<device-id>/state         retained JSON: mood, confidence, probabilities, faces,
                                      since, recommendations, schema
  mood-edge/<device-id>/availability  retained "online" / "offline" (Last Will)
  mood-edge-bridge/<device-id>        retained "1" / "0": this room's link to the house broker
                                      (mosquitto's bridge notification, see "mood-edge bridge")

files:
  /etc/mood-edge/config.toml          config read by the systemd unit (see config.example.toml)

Run "mood-edge COMMAND --help" for the options of each command."""


def main(argv: Sequence[str] | None = None) -> int:
    return run("mood-edge", DESCRIPTION, EPILOG, __version__, COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
