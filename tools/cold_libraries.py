"""Drop the virtual environment's shared libraries from the page cache, as a reboot would.

Why: peak RSS counts the library pages a process maps, and how many it maps depends on how the
page cache holds them, not on the daemon. On Linux 6.18 (ext4 with large folios) a library that
pip has just written sits in the cache in large folios, and a fault maps a whole folio: the same
daemon on the same clip peaks at 192 MB right after an install and at 140 MB once the libraries
have been read back from disk (as on a Pi after boot); the 52 MB between are clean, shared file
pages, the first the kernel reclaims. tools/test.sh runs this before the suite, so the budget tests
(< 160 MB) measure the daemon as a booted appliance runs it. No root needed: each file is synced,
then ``posix_fadvise(DONTNEED)``; pages a running process maps stay where they are.

    python tools/cold_libraries.py [FOLDER ...]     # default: this interpreter's sys.prefix
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def shared_libraries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.so*") if p.is_file() and not p.is_symlink()]


def drop_from_page_cache(path: Path) -> bool:
    """False where the file could not be opened or the kernel refused (a read-only mount, say)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.fdatasync(fd)  # dirty pages (a fresh install) are not dropped until written
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    if not hasattr(os, "posix_fadvise"):  # macOS: nothing to do, and no large folios to undo
        return 0
    folders = [Path(a) for a in argv] or [Path(sys.prefix)]
    files = [p for folder in folders for p in shared_libraries(folder)]
    dropped = sum(drop_from_page_cache(p) for p in files)
    print(f"cold_libraries: {dropped} of {len(files)} shared libraries dropped from the page cache")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
