"""``mood-edge bench --distance --positions``: is a face found wherever it sits in the frame?

A seat, not a person, must never go unseen. The distance benchmark places each face at a random
place; here every face is placed at each of nine positions — the four corners, the middle of the
four edges, the centre — with its box 2 px inside the frame (the shoulders may be cut by the edge),
at every distance, on the benchmark's real empty scenes. Groups put three and four people in one
frame, side by side along the sofa row. Per distance it reports the mean over the positions and the
worst position; false faces are counted on the benchmark's empty scenes.

Each frame is a still: the detector is reset before it, so a tracking or motion-gated detector
answers with its whole-frame search (what it does on its first frame, and every ``full_every``).
Counts, never times, are what this module compares.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from ...detectors.base import Detector
from ...geometry import face_px
from .distance import CameraView, matches
from .scenes import Person, build_set, cover, people, scenes

log = logging.getLogger(__name__)

#: name -> (u, v): where the face's box sits in the room left for it (0 = left/top, 1 = right/bottom)
POSITIONS: dict[str, tuple[float, float]] = {
    "top-left": (0, 0), "top": (0.5, 0), "top-right": (1, 0),
    "left": (0, 0.5), "centre": (0.5, 0.5), "right": (1, 0.5),
    "bottom-left": (0, 1), "bottom": (0.5, 1), "bottom-right": (1, 1),
}
MARGIN = 2


@dataclass
class Shot:
    frame: np.ndarray
    distance: float | None
    position: str
    truths: list[tuple[int, int, int, int]] = field(default_factory=list)


def place(frame: np.ndarray, person: Person, px: float, fx: int, fy: int) -> tuple[int, int, int, int]:
    """``person`` scaled so the face is ``px`` wide, its face's top-left at (fx, fy), in place."""
    H, W = frame.shape[:2]
    s = px / person.face[2]
    ph, pw = person.image.shape[:2]
    nw, nh = max(1, round(pw * s)), max(1, round(ph * s))
    patch = cv2.resize(person.image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x, y = fx - round(person.face[0] * s), fy - round(person.face[1] * s)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + nw), min(H, y + nh)
    frame[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]
    fw, fh = (round(v * s) for v in person.face[2:])
    return fx, fy, fw, fh


def build_shots(width: int, height: int, distances: tuple[float, ...], hfov_deg: float = 62.0,
                groups: tuple[int, ...] = (3, 4)) -> list[Shot]:
    """Every person at every position and distance, then the groups, on the scenes in turn."""
    folks = people()
    rooms = [cover(image, width, height) for _, image in scenes()]
    out: list[Shot] = []
    k = 0
    for d in distances:
        px = face_px(d, width, hfov_deg)
        fw = round(px)
        fh = round(px * max(p.face[3] / p.face[2] for p in folks))
        for name, (u, v) in POSITIONS.items():
            fx = MARGIN + round(u * max(0, width - fw - 2 * MARGIN))
            fy = MARGIN + round(v * max(0, height - fh - 2 * MARGIN))
            for person in folks:
                frame = rooms[k % len(rooms)].copy()
                k += 1
                out.append(Shot(frame, d, name, [place(frame, person, px, fx, fy)]))
        for n in groups:  # n people along the sofa row (the middle third of the height)
            if n * px * 1.6 > width:
                continue
            frame = rooms[k % len(rooms)].copy()
            k += 1
            truths = [place(frame, folks[i % len(folks)], px, round((i + 0.5) * width / n - px / 2),
                            round(height * 0.5 - px / 2)) for i in range(n)]
            out.append(Shot(frame, d, f"group of {n}", truths))
    return out


def evaluate(make: Callable[[], Detector], shots: list[Shot], view: CameraView, empty: int = 24) -> dict[str, Any]:
    """Per distance: faces found per position, the mean over positions, the worst; false faces."""
    det = make()
    per: dict[str, dict[str, list[int]]] = {}
    for shot in shots:
        if hasattr(det, "reset"):
            det.reset()
        image, back = view.detect_image(shot.frame)
        faces = [f.scaled(back) for f in det.detect(image)]
        found = sum(1 for t in shot.truths if any(matches(f, t) for f in faces))
        cell = per.setdefault(f"{shot.distance:g}", {}).setdefault(shot.position, [0, 0])
        cell[0] += found
        cell[1] += len(shot.truths)
    rows = {}
    for d, positions in per.items():
        pct = {p: round(100.0 * f / n, 1) for p, (f, n) in positions.items()}
        seats = {p: v for p, v in pct.items() if not p.startswith("group")}
        worst = min(seats, key=lambda p: seats[p])
        rows[d] = {"positions": pct, "mean_pct": round(sum(seats.values()) / len(seats), 1),
                   "worst": worst, "worst_pct": seats[worst],
                   "groups_pct": round(100.0 * sum(positions[p][0] for p in positions if p.startswith("group"))
                                       / max(1, sum(positions[p][1] for p in positions if p.startswith("group"))), 1)
                   if any(p.startswith("group") for p in positions) else None}
    width, height = shots[0].frame.shape[1], shots[0].frame.shape[0]
    empties = build_set(width, height, (), per_distance=0, empty=empty)
    with_face = 0
    for s in empties:
        if hasattr(det, "reset"):
            det.reset()
        image, _ = view.detect_image(s.frame)
        with_face += int(bool(det.detect(image)))
    return {"rows": rows, "empty_frames": len(empties), "empty_frames_with_a_face": with_face}


def format_table(title: str, result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [f"{title}: faces found % by position (each of {len(people())} people at each of the "
             f"{len(POSITIONS)} positions; groups of 3 and 4 people)", "",
             "| distance | mean of positions | worst position | groups | " + " | ".join(POSITIONS) + " |",
             "|" + "---|" * (4 + len(POSITIONS))]
    for d, row in rows.items():
        groups = f"{row['groups_pct']:.0f}%" if row["groups_pct"] is not None else "–"
        cells = " | ".join(f"{row['positions'].get(p, 0):.0f}%" for p in POSITIONS)
        lines.append(f"| {d} m | {row['mean_pct']:.1f}% | {row['worst']} {row['worst_pct']:.0f}% | {groups} | {cells} |")
    lines.append(f"\nempty scenes: a face in {result['empty_frames_with_a_face']} of {result['empty_frames']} frames")
    return "\n".join(lines)


def run(cfg: Any, *, width: int, height: int, distances: tuple[float, ...], empty: int,
        kinds: tuple[str, ...] = ("blazeface_scan",)) -> dict[str, Any]:
    """The configured detector and each of ``kinds`` (the registry's keys, default settings otherwise)
    over every position; the frames are those the camera would give the detector."""
    import dataclasses  # noqa: PLC0415

    from ...detectors.make import make_detector  # noqa: PLC0415

    view = CameraView((cfg.camera.lores_width, cfg.camera.lores_height) if cfg.camera.source == "picamera2" else None)
    shots = build_shots(width, height, distances, cfg.camera.hfov_deg)
    out: dict[str, Any] = {}
    chosen = [("default", cfg.detector)] + [(k, dataclasses.replace(cfg.detector, kind=k, options={}))
                                            for k in kinds if k != cfg.detector.kind]
    for key, det_cfg in chosen:
        result = evaluate(lambda c=det_cfg: make_detector(c), shots, view, empty)
        result["title"] = f"{key} ({det_cfg.kind}{' + tracking' if det_cfg.track else ''})"
        out[key] = result
    return out
