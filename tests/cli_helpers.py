"""What every test of a user's mistake on the command line asserts: exit status 2 and one error line."""

from __future__ import annotations

import subprocess


def one_line_error(run: subprocess.CompletedProcess, *needles: str) -> str:
    """The command exited with 2, no traceback, and exactly one line of its stderr says "error",
    holding every needle; returns that line."""
    assert run.returncode == 2, run.stdout + run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, run.stderr[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]
