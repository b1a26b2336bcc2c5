"""``mood-edge check``: a setup helper. Look through the configured camera for a few seconds and say,
in words, what the daemon would see: faces, their size, how far away they seem, whether that is
inside what these settings read reliably, and what to change if not.

It runs the daemon's own source and detector (same config, same plug-in) and nothing after them:
no classifier, no MQTT. Frames stay in memory and are dropped; nothing is saved or sent.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from dataclasses import dataclass, field

from .. import config as config_mod
from ..config import Config, detector_kinds
from ..detectors import detector_class
from ..detectors.base import Face
from ..detectors.make import make_detector
from ..errors import ConfigError
from ..geometry import distance_m, face_px
from ..sources import choices as source_choices, open_source

log = logging.getLogger("edge.check")

SUMMARY = "look through the camera for a few seconds and say what it sees and what to change"
DESCRIPTION = """\
A setup helper to run once after mounting the camera. It opens the configured camera (or --camera)
for --seconds, runs the configured face detector on every frame and says in words:

  - how many faces it saw, how wide each is in pixels of the capture and roughly how far away that
    is (a face is ~0.15 m wide; camera.hfov_deg gives the lens: 62 Camera Module v2, 66 Module 3,
    102 Module 3 Wide);
  - whether that is inside the range the current settings read reliably (measured with
    `mood-edge bench --distance`);
  - what to change if not: camera.region (zoom on where people sit), camera.width/height,
    detector.kind or its options.

Sit where you would sit to watch TV while it runs. Nothing is saved or sent: no frame, no crop, no
box leaves the process; only this text is printed. Exit status 0 when at least one face was seen
inside the reliable range, 1 when none was, 2 on a configuration or camera mistake.

examples:
  mood-edge check --config /etc/mood-edge/config.toml
  mood-edge check --camera v4l2:0 --seconds 10"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config file (default: built-in defaults)")
    p.add_argument("--camera", metavar="SOURCE", help=f"frame source: {source_choices()}")
    p.add_argument("--detector", choices=list(detector_kinds()), help="face detector plug-in (default: the config's)")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to look (default: 5)")


@dataclass
class Spot:
    """One face followed across frames: where it was last seen and how wide it was each time.

    Faces are told apart by place and size, not by their rank in a frame: a close-up in one part
    of a clip and a face on the sofa in another are two faces, never one averaged into the other.
    """

    box: Face
    widths: list[int] = field(default_factory=list)

    def takes(self, face: Face) -> bool:
        """The same face as last time: overlapping where it was (grown by half) and of a like size."""
        return 0.5 <= face.w / max(1, self.box.w) <= 2.0 and face.iou(self.box.grown(0.5)) > 0


@dataclass
class Seen:
    frames: int = 0
    seconds: float = 0.0
    counts: list[int] = field(default_factory=list)
    #: each face followed across frames, in the order they first appeared (capture pixels)
    spots: list[Spot] = field(default_factory=list)
    capture: tuple[int, int] = (0, 0)
    detect_input: tuple[int, int] = (0, 0)
    #: [x, y, w, h] (fractions) of the part of the picture that moved in most frames (a TV), if any
    restless: list[float] | None = None

    def add(self, faces: list[Face]) -> None:
        """One frame's faces, each matched to the spot it continues (largest face first) or a new one."""
        free = list(self.spots)
        for face in sorted(faces, key=lambda f: f.w, reverse=True):
            spot = next((s for s in free if s.takes(face)), None)
            if spot is None:
                spot = Spot(face)
                self.spots.append(spot)
            else:
                free.remove(spot)
                spot.box = face
            spot.widths.append(face.w)


def look(cfg: Config, seconds: float) -> tuple[Seen, float]:
    """Run source + detector for ``seconds`` (or to the end of a file); returns what was seen and
    the reliable minimum face width in capture pixels."""
    source = open_source(cfg.camera)
    detector = make_detector(cfg.detector)
    seen = Seen()
    reliable = 0.0
    period = 1.0 / cfg.camera.fps if cfg.camera.fps > 0 and source.description.split(":")[0] in ("file", "dir") else 0.0
    t_end = time.monotonic() + seconds
    start = time.monotonic()
    with source:
        while time.monotonic() < t_end or (period and seen.frames < seconds * cfg.camera.fps):
            frame = source.read()
            if frame is None:
                break
            faces: list[Face] = frame.in_gray(detector.detect(frame.detect_image))
            seen.frames += 1
            seen.counts.append(len(faces))
            seen.add(faces)
            seen.capture = (frame.gray.shape[1], frame.gray.shape[0])
            seen.detect_input = (frame.detect_image.shape[1], frame.detect_image.shape[0])
            reliable = detector.reliable_min_px(seen.detect_input[0]) * frame.detect_scale
            if period and seen.frames >= seconds * cfg.camera.fps:
                break  # a file: as many frames as the camera would give in that time
    seen.seconds = time.monotonic() - start
    motion = getattr(detector, "motion", None)
    seen.restless = motion.restless.busy() if motion is not None else None
    return seen, reliable


#: faces reported one by one (a crowd gets the first ones)
MAX_FACES = 8


def describe(cfg: Config, seen: Seen, reliable_px: float) -> tuple[list[str], bool]:
    """The report, line by line, and whether a face was seen inside the reliable range."""
    hfov = cfg.camera.hfov_deg
    w = seen.capture[0]
    det = cfg.detector.kind + (" + tracking" if cfg.detector.track else "")
    lines = [f"camera {cfg.camera.source}: {seen.frames} frames in {seen.seconds:.1f} s, capture "
             f"{seen.capture[0]}x{seen.capture[1]}, detector {det} on {seen.detect_input[0]}x{seen.detect_input[1]}"
             + (f", region {cfg.camera.region}" if cfg.camera.region else "") + "."]
    if not seen.frames:
        return lines + ["No frame arrived: check the camera (`rpicam-hello --list-cameras`, or `v4l2-ctl --list-devices`)."], False
    if seen.restless:
        lines.append(f"Part of the picture moved in most frames: {seen.restless} (x, y, width, height of the frame; "
                     "a TV, a screen?). The daemon leaves such a region out of the face search on its own once it "
                     "has moved for about a minute; to leave it out from the start, add to "
                     f"[detector.{cfg.detector.kind}]:  mask = [{seen.restless}]")
    reach = distance_m(reliable_px, w, hfov)
    lines.append(f"These settings read faces at least {reliable_px:.0f} px wide in this capture: up to about "
                 f"{reach:.1f} m with a {hfov:g} deg lens (camera.hfov_deg).")
    typical = round(statistics.median(seen.counts))
    with_faces = sum(1 for c in seen.counts if c)
    if not with_faces:
        lines.append(f"No face in any of the {seen.frames} frames.")
        lines += advice(cfg, None, reliable_px, w)
        return lines, False
    lines.append(f"Faces: {typical} in most frames ({min(seen.counts)} to {max(seen.counts)}); a face in "
                 f"{100 * with_faces / seen.frames:.0f}% of frames.")
    ok_any = False
    far: float | None = None
    # a face seen in a single frame of many is a false detection or someone passing: not a seat
    spots = [s for s in seen.spots if len(s.widths) >= min(3, seen.frames)] or seen.spots
    for k, spot in enumerate(spots[:MAX_FACES]):
        sizes = spot.widths
        px = statistics.median(sizes)
        d = distance_m(px, w, hfov)
        inside = px >= reliable_px
        ok_any |= inside
        share = 100 * len(sizes) / seen.frames
        verdict = ("inside the reliable range" if inside else
                   f"below the {reliable_px:.0f} px these settings read reliably: it will be missed in many frames")
        lines.append(f"  face {k + 1}: {px:.0f} px wide, about {d:.1f} m away, seen in {share:.0f}% of frames; {verdict}.")
        if not inside:
            far = max(far or 0.0, d)
        elif share < 80:
            lines.append(f"    (seen in only {share:.0f}% of frames: there part of the time, or turned away, moving, badly lit, partly hidden?)")
    if far is not None:
        lines += advice(cfg, far, reliable_px, w)
    else:
        lines.append("Nothing to change: every face seen is inside the range these settings read.")
    return lines, ok_any


def advice(cfg: Config, far_m: float | None, reliable_px: float, width_px: int) -> list[str]:
    """What to change to read a face at ``far_m`` (None: no face seen), most effective first."""
    out = ["What to change:"]
    if far_m is None:
        out.append("  - sit where people usually sit, facing the camera, with the room lit, and run this again;")
        far_m = 4.0  # a sofa in front of a TV
    zoom = reliable_px / face_px(far_m, width_px, cfg.camera.hfov_deg)
    if zoom <= 1.0:
        out.append(f"  - (these settings already reach {far_m:.1f} m: lighting, the angle to the camera or the "
                   "distance are the likelier cause)")
        zoom = 1.0
    if cfg.camera.source == "picamera2":
        out.append(f"  - camera.region: the part of the view where people sit, e.g. [0, 0.25, 1, 0.5]; on the Pi "
                   f"camera it zooms the sensor (no CPU cost); a region at most {min(1.0, 1 / zoom):.0%} of the "
                   f"view wide makes a face at {far_m:.1f} m wide enough;")
    else:
        out.append("  - camera.region: the part of the view where people sit (a software crop on this source: it "
                   "saves detector work but adds no pixels);")
        out.append(f"  - camera.width/height: a larger capture; {far_m:.1f} m needs about "
                   f"{cfg.camera.width * zoom:.0f} px wide with this lens;")
    kind = cfg.detector.kind
    if kind not in ("blazeface_scan", "blazeface_motion"):
        out.append('  - detector.kind = "blazeface_motion" (reads 0.5-6 m from a 1280-wide capture; '
                   'docs/detectors.md);')
    else:
        options = cfg.detector.options.get(kind) or detector_class(kind).Options()
        scan_w = getattr(options, "width", 800) or width_px
        out.append(f"  - [detector.{kind}] width = {min(8192, int(scan_w * zoom + 15) // 16 * 16)}"
                   + (" and camera.lores_width to match" if cfg.camera.source == "picamera2" else "")
                   + ": more detector pixels (the cost grows with the square);")
    out.append("  - or move the camera closer to where people sit.")
    return out


def main(args: argparse.Namespace) -> int:
    if not 0 < args.seconds <= 600:
        raise ConfigError(f"got {args.seconds}", path="command line", field="--seconds", expected="0 to 600 seconds")
    cfg = config_mod.load(args.config)
    config_mod.apply_overrides(cfg, {"camera.source": args.camera, "detector.kind": args.detector})
    cfg.camera.loop = False
    seen, reliable = look(cfg, args.seconds)
    lines, ok = describe(cfg, seen, reliable)
    print("\n".join(lines))
    return 0 if ok else 1
