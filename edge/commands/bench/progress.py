"""A progress bar on stderr for the benchmarks' long phases."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per phase otherwise
    (logs and CI stay readable). No tqdm needed on the Pi."""

    def __init__(self, label: str, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, max(1, total), 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self._t0 = time.monotonic()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.tty and (time.monotonic() - self._last > 0.1 or self.done >= self.total):
            self._last = time.monotonic()
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            self.stream.write(f"\r{self.label:<28} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        took = time.monotonic() - self._t0
        if self.tty:
            self.stream.write(f"  {took:.1f}s\n")
        else:
            self.stream.write(f"{self.label:<28} {self.done}/{self.total} in {took:.1f}s\n")
        self.stream.flush()
