"""The ``mood-edge`` commands (run, watch, bench, demo, check): they wire the stages together."""
