"""Native libraries' own stderr chatter, kept out of the user's terminal the clean way each allows.

* LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` from C++ on the first
  model load; its logger reads no environment variable and exports no setter, so the load runs
  with file descriptor 2 caught and every other line passed on (:func:`without_native_info`).
* FFmpeg, inside OpenCV, prints ``[mjpeg @ 0x...] huffman table decode error`` and the like for
  every damaged frame, ahead of our own one-line error: OpenCV's ``OPENCV_FFMPEG_LOGLEVEL`` (read
  when it first opens a video) keeps only FFmpeg's fatal messages. A user's own setting wins.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import IO, Iterator

#: AV_LOG_FATAL: set on import, before the camera module opens any video
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")

#: what LiteRT prints from C++ on every first model load (its own logger, which no environment
#: variable or exported symbol turns down): not news to a user
_NATIVE_NOISE = re.compile(rb"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.\r?$")


#: set once LiteRT has announced its XNNPACK delegate (it does so once per process): the fast
#: kernels are in use, not a fallback (logged at debug by the model loader, checked by the tests)
announced = {"xnnpack": False}

#: one redirection of fd 2 at a time (two model loads in two threads must not swap stderr)
_LOCK = threading.Lock()


@contextlib.contextmanager
def without_native_info() -> Iterator[None]:
    """Run a block with file descriptor 2 caught in a temporary file, then pass on every line
    but LiteRT's "Created ... XNNPACK delegate" note (anything else, a native warning or error
    from another thread, still reaches stderr, only a moment later)."""
    with _LOCK:
        yield from _caught()


def _scratch() -> IO[bytes]:
    """Where fd 2 goes meanwhile: memory (memfd) where Linux has it, else a temporary file."""
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create("mood-edge-stderr", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()


def _caught() -> Iterator[None]:
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep clean
        yield
        return
    try:
        caught = _scratch()
    except OSError:  # nowhere to put it (a sandbox that refuses both): leave fd 2 alone
        os.close(saved)
        yield
        return
    sys.stderr.flush()  # what Python wrote before goes out first, in order
    with caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read(1 << 20).splitlines(keepends=True)
            kept = [line for line in lines if not _NATIVE_NOISE.match(line.rstrip(b"\n"))]
            announced["xnnpack"] |= len(kept) < len(lines)
            if kept:
                os.write(2, b"".join(kept))
