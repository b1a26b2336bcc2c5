"""The one way face crops may leave the process: ``daemon.debug_save_faces_dir``, off by default.

Crops are PNGs readable by their owner only (they are faces). An unwritable folder is a start-up
error, not a crash on the first face (a crash loop under systemd); a failure later (a full disk)
is logged once and the loop goes on.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..detectors.base import Face
from ..errors import ConfigError
from ..sources.base import Frame
from ..textsafe import clean

log = logging.getLogger("edge.daemon")  # the daemon's own log lines, as before they moved here


def _unsafe(d: Path) -> str | None:
    """Why ``d`` may not hold face crops: another user could read, replace or plant files there."""
    st = d.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        return "it is not a folder (a link or a file)"
    if st.st_uid != os.geteuid():
        return f"it belongs to another user (uid {st.st_uid}, this is uid {os.geteuid()})"
    if st.st_mode & 0o022:
        return f"others can write to it (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def debug_dir(folder: str, origin: str) -> Path:
    """``folder``, made (mode 0700) and checked now: ours, not writable by others, writable by us.

    Otherwise a ConfigError naming the field: a folder another user made (0777, with their files in it)
    would let them swap crops for links and have this daemon (often root) write through them.
    """
    d = Path(folder)
    expected = "a folder this user owns and only it can write (mode 0700), or \"\""
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        problem = _unsafe(d)
        if problem:
            raise ConfigError(f"refused for face crops: {problem}", path=origin,
                              field="daemon.debug_save_faces_dir", expected=expected)
        probe = d / f".mood-edge-write-test-{os.getpid()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write face crops there: {exc.strerror or exc}", path=origin,
                          field="daemon.debug_save_faces_dir", expected=expected) from None
    return d


def _create(path: Path) -> int:
    """A new file (O_EXCL, O_NOFOLLOW): an old crop of ours is removed first, never written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o600)
    except FileExistsError:  # a crop from an earlier run (the folder is ours alone, see debug_dir)
        path.unlink()
        return os.open(path, flags, 0o600)


class FaceCropWriter:
    """Writes each frame's face crops as ``frameNNNNNN-faceI.png``; does nothing without a folder."""

    def __init__(self, folder: Path | None, crop: Callable[[np.ndarray, Face], np.ndarray]) -> None:
        self.folder = folder
        self._crop = crop
        #: the last problem writing a crop, logged once (a full disk must not crash the loop)
        self._problem: str | None = None

    def save(self, frame: Frame, faces: list[Face]) -> None:
        if self.folder is None:
            return
        for i, face in enumerate(faces):
            path = self.folder / f"frame{frame.index:06d}-face{i}.png"
            try:
                ok, png = cv2.imencode(".png", self._crop(frame.gray, face))
                if not ok:
                    raise OSError("PNG encoding failed")
                with os.fdopen(_create(path), "wb") as f:
                    f.write(png.tobytes())
            except OSError as exc:
                problem = exc.strerror or str(exc)
                if problem != self._problem:
                    log.warning("DEBUG: cannot write face crops to %s: %s", clean(self.folder, 300), clean(problem, 200))
                    self._problem = problem
                return
            self._problem = None
