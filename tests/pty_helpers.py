"""Running a command on a real terminal (a pty), for tests where what a terminal shows is at stake."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_in_pty(cmd: list[str], timeout: float = 60, env: dict | None = None) -> tuple[int, bytes]:
    """``cmd`` on a 100x30 terminal: its exit status and every byte it wrote there (stdout and stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**os.environ, "COLUMNS": "100", "LINES": "30", **(env or {})})
    os.close(slave)
    out = bytearray()
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        rc = proc.wait(30)
    finally:
        os.close(master)
        proc.kill()
        proc.wait()
    return rc, bytes(out)
