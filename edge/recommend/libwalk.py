"""Walking a household's film folder: no recursion, bounded, and inside the folder.

The folder is written by whoever can write to the media share, so the walk assumes the worst:

* an explicit stack, not recursion (1,200 nested folders once raised ``RecursionError`` out of
  ``os.walk`` and stopped the daemon); folders deeper than :data:`MAX_DEPTH` levels and entries past
  :data:`MAX_ENTRIES` are not read, each said in one log line;
* symbolic links (to files or folders) are followed only while they point inside the library; a link
  out (to ``/``, to a root-only file) is skipped unless the user sets
  ``recommend.library_follow_outside_links`` (``mood-convert catalog --follow-outside-links``);
* each folder is entered once (by device and inode), so link loops cost nothing.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..textsafe import clean

VIDEO_EXTENSIONS = frozenset({".mkv", ".mp4", ".m4v", ".avi", ".mov", ".wmv", ".mpg", ".mpeg", ".ts", ".m2ts",
                              ".webm", ".iso", ".divx", ".ogv", ".flv", ".vob"})
#: folders of bonus material (Plex, Jellyfin and Kodi conventions), never films
EXTRAS_DIRS = frozenset({"extras", "featurettes", "behind the scenes", "deleted scenes", "interviews", "scenes",
                         "shorts", "trailers", "trailer", "other", "samples", "sample", "bonus", "specials",
                         "@eadir", "#recycle", "$recycle.bin", "lost+found"})
_EXTRA_SUFFIX = re.compile(r"[-_. ](trailer|sample|featurette|behindthescenes|deleted|interview|scene|short|other)$",
                           re.I)
#: Kodi's deepest usual layout is Films/Genre/Title (Year)/VIDEO_TS: 24 levels is generous
MAX_DEPTH = 24
#: files and folders looked at in one walk (a large library has tens of thousands)
MAX_ENTRIES = 500_000


def _count(items: list[str], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def is_extra(stem: str) -> bool:
    return bool(_EXTRA_SUFFIX.search(stem))


@dataclass
class Walk:
    """What a walk found, and what it did not read (each kind logged once by :meth:`log_problems`)."""
    top: Path
    follow_outside: bool = False
    videos: list[Path] = field(default_factory=list)
    too_deep: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    loops: int = 0
    entries: int = 0
    stopped: bool = False

    def __post_init__(self) -> None:
        self._real_top = os.path.realpath(self.top)

    def inside(self, path: str | Path) -> bool:
        """``path``, links resolved, is in the library (or the user lets links lead out of it)."""
        if self.follow_outside:
            return True
        real = os.path.realpath(path)
        return real == self._real_top or real.startswith(self._real_top.rstrip(os.sep) + os.sep)

    def problems(self) -> list[str]:
        """One line per kind of thing not read (names cleaned and bounded)."""
        lines = []
        if self.stopped:
            lines.append(f"library {clean(self.top)}: stopped reading after {MAX_ENTRIES} files and folders (more "
                         f"than a film library holds); using the {len(self.videos)} videos found so far")
        if self.too_deep:
            lines.append(f"library: {_count(self.too_deep, 'folder')} deeper than {MAX_DEPTH} levels not read "
                         f"(first: {clean(self.too_deep[0], 300)})")
        if self.outside:
            lines.append(f"library: {_count(self.outside, 'link')} pointing outside {clean(self.top)} not followed "
                         f"(first: {clean(self.outside[0], 300)}); set recommend.library_follow_outside_links "
                         "= true to follow them")
        if self.unreadable:
            lines.append(f"library: {_count(self.unreadable, 'folder')} could not be read "
                         f"(first: {clean(self.unreadable[0], 300)})")
        return lines

    def log_problems(self, log: logging.Logger) -> None:
        for line in self.problems():
            log.warning("%s", line)
        if self.loops:
            log.debug("library: %d folders reached twice (links) read once", self.loops)


def _listing(walk: Walk, folder: str) -> list[os.DirEntry[str]] | None:
    try:
        with os.scandir(folder) as it:
            entries = []
            for entry in it:
                walk.entries += 1
                if walk.entries > MAX_ENTRIES:
                    walk.stopped = True
                    break
                entries.append(entry)
            return entries
    except OSError:
        walk.unreadable.append(folder)
        return None


def _split(walk: Walk, entries: list[os.DirEntry[str]]) -> tuple[list[str], list[str]]:
    """(folder names, file names) worth a look: no hidden ones, no links out of the library."""
    dirs, files = [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_symlink() and not walk.inside(entry.path):
                walk.outside.append(entry.path)
            elif entry.is_dir():
                dirs.append(entry.name)
            elif entry.is_file():
                files.append(entry.name)
        except (OSError, ValueError):
            continue
    return sorted(dirs), sorted(files)


def walk_library(top: Path, follow_outside: bool = False) -> Walk:
    """Every film's video (or DVD/Blu-ray folder) under ``top``, in name order; extras left out."""
    walk = Walk(top=top, follow_outside=follow_outside)
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, int]] = [(str(top), 0)]
    while stack and not walk.stopped:
        folder, depth = stack.pop()
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:  # a link loop, or two links to one folder
            walk.loops += 1
            continue
        seen.add((st.st_dev, st.st_ino))
        entries = _listing(walk, folder)
        if entries is None:
            continue
        dirs, files = _split(walk, entries)
        here = Path(folder)
        if {d.upper() for d in dirs} & {"VIDEO_TS", "BDMV"}:  # a disc copy: the folder is the film
            walk.videos.append(here)
            continue
        dirs = [d for d in dirs if d.lower() not in EXTRAS_DIRS]
        if not any(f.lower() in ("tvshow.nfo", "season.nfo") for f in files):  # a TV show's episodes are not films
            for f in files:
                p = here / f
                if p.suffix.lower() in VIDEO_EXTENSIONS and not is_extra(p.stem):
                    walk.videos.append(p)
        if dirs and depth >= MAX_DEPTH:
            walk.too_deep.extend(os.path.join(folder, d) for d in dirs)
            continue
        stack.extend((os.path.join(folder, d), depth + 1) for d in reversed(dirs))
    return walk
