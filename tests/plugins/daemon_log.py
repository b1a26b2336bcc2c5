"""Watching a running daemon from outside: its log file, and its process through psutil.

The daemon (``python -m edge run``) logs ``%(asctime)s %(levelname)s %(name)s: %(message)s`` lines to
stderr; the tests send them to a file and read it while the daemon runs.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+) ([\w.]+): (.*)$")


@dataclass
class LogLine:
    t: float  # unix time
    level: str
    logger: str
    message: str


class DaemonLog:
    """The daemon's log file, parsed on demand."""

    def __init__(self, path: Path, proc: subprocess.Popen | None = None) -> None:
        self.path = path
        self.proc = proc

    def text(self) -> str:
        return self.path.read_text(errors="replace") if self.path.exists() else ""

    def lines(self) -> list[LogLine]:
        out = []
        for raw in self.text().splitlines():
            m = LINE.match(raw)
            if m:
                t = dt.datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                out.append(LogLine(t, m[2], m[3], m[4]))
        return out

    def matching(self, pattern: str) -> list[LogLine]:
        rx = re.compile(pattern)
        return [line for line in self.lines() if rx.search(line.message)]

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 60.0) -> list[LogLine]:
        """Wait until ``pattern`` matched ``count`` lines; fail early if the daemon exited."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(pattern)
            if len(found) >= count:
                return found
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited ({self.proc.returncode}) before logging {pattern!r} "
                                     f"x{count}:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} logged {len(found)}/{count} times in {timeout}s:\n"
                                   f"{self.text()[-3000:]}")
            time.sleep(0.05)


def stop_daemon(proc: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGTERM and wait; kill if it hangs (the test then fails on the return code)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
