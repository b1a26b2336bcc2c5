"""``python -m edge.config --example > config.example.toml``: the example, written from the fields."""

import sys

from .example import main

sys.exit(main(sys.argv[1:]))
