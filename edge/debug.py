"""The one way face crops may leave the process: ``daemon.debug_save_faces_dir``, off by default.

Crops are PNGs readable by their owner only (they are faces). An unwritable folder is a start-up
error, not a crash on the first face (a crash loop under systemd); a failure later (a full disk)
is logged once and the loop goes on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .camera import Frame
from .detect import Face
from .errors import ConfigError

log = logging.getLogger("edge.daemon")  # the daemon's own log lines, as before they moved here


def debug_dir(folder: str, origin: str) -> Path:
    """``folder``, made (mode 0700) and checked writable now, or a ConfigError naming the field."""
    d = Path(folder)
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = d / f".mood-edge-write-test-{os.getpid()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write face crops there: {exc.strerror or exc}", path=origin,
                          field="daemon.debug_save_faces_dir", expected="a folder this user can write, or \"\"") from None
    return d


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
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(png.tobytes())
            except OSError as exc:
                problem = exc.strerror or str(exc)
                if problem != self._problem:
                    log.warning("DEBUG: cannot write face crops to %s: %s", self.folder, problem)
                    self._problem = problem
                return
            self._problem = None
