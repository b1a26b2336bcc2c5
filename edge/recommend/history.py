"""The no-repeat window: the films shown last, kept in ``recommend-history.json`` across restarts.

Read as hostile (edge/recommend/statefile.py): a year of ``1e999``, a title that is not text, a
symlink or a FIFO sets the file aside with one line and the window starts empty. Every value is
checked as the config checks its own: a year is a whole number in the catalog's range.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

from ..textsafe import clean
from .catalog import MAX_TITLE, YEAR_MAX, YEAR_MIN, Catalog
from .statefile import read_state, set_aside, write_state

log = logging.getLogger(__name__)

STATE_SCHEMA = 1
#: the history's file name under daemon.state_dir
HISTORY_FILE = "recommend-history.json"
#: 100,000 (title, year) pairs are about 5 MB
MAX_HISTORY_BYTES = 16 << 20


def _entry(item: object) -> tuple[str, int]:
    if not isinstance(item, list) or len(item) != 2:
        raise ValueError("an entry is not a [title, year] pair")
    title, year = item
    if not isinstance(title, str) or not 0 < len(title) <= MAX_TITLE:
        raise ValueError(f"a title is {clean(repr(title), 40)}, not text of 1-{MAX_TITLE} characters")
    if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"a year is {clean(repr(year), 30)}, not a whole year between {YEAR_MIN} and {YEAR_MAX}")
    return title, year


class PickHistory:
    """Film indices, oldest first, at most ``size`` of them."""

    def __init__(self, catalog: Catalog, size: int, path: Path | None) -> None:
        self.catalog = catalog
        self.size = size
        self.path = path
        self.shown: deque[int] = deque(maxlen=size)
        if path is not None and size:
            self._load(path)

    def _load(self, path: Path) -> None:
        data = read_state(path, "recommendation history", MAX_HISTORY_BYTES)
        if data is None:
            return
        try:
            if not isinstance(data, dict) or data.get("schema") != STATE_SCHEMA or not isinstance(data.get("shown"), list):
                raise ValueError(f'not {{"schema": {STATE_SCHEMA}, "shown": [[title, year], ...]}}')
            pairs = [_entry(item) for item in data["shown"]]
        except ValueError as exc:
            set_aside(path, "recommendation history", str(exc))
            return
        for title, year in pairs:
            idx = self.catalog.find(title, year)
            if idx is not None:
                self.add(idx)
        log.debug("recommendation history: %d films from %s", len(self.shown), path)

    def save(self) -> None:
        if self.path is None or not self.size:
            return
        films = self.catalog.films
        write_state(self.path, {"schema": STATE_SCHEMA, "shown": [[films[i].title, films[i].year] for i in self.shown]},
                    "recommendation history")

    def add(self, idx: int) -> None:
        if not self.size:
            return
        try:
            self.shown.remove(idx)
        except ValueError:
            pass
        self.shown.append(idx)
