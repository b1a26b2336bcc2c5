"""Lines of a user's csv file, each bounded, for :mod:`csv`: the ``csv`` module reads a whole line
before its field-size limit can refuse it, so one 300 MB line cost 684 MB before its error.

Opened as ``utf-8-sig``: a spreadsheet that saved the file with a byte-order mark still names its
first column ``emotion`` (it was ``\\ufeffemotion``, "lacks emotion").
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from edge.errors import DataError


@contextlib.contextmanager
def bounded_lines(path: Path, max_chars: int, expected: str) -> Iterator[Iterator[str]]:
    """The file's lines (for ``csv.reader``), a :class:`DataError` naming the line for one longer than
    ``max_chars``; never more than ``max_chars`` characters of a line in memory."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot read it: {exc.strerror or exc}", path=path, expected=expected) from None
    with f:
        yield _lines(f, path, max_chars)


def _lines(f, path: Path, max_chars: int) -> Iterator[str]:
    number = 0
    while line := f.readline(max_chars + 1):
        number += 1
        if len(line) > max_chars:
            raise DataError(f"a line longer than {max_chars:,} characters", path=path, field=f"line {number}",
                            expected="one face per line")
        yield line
