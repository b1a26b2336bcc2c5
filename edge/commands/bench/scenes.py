"""The distance benchmark's frames: real faces (scikit-image's astronaut, matplotlib's Grace Hopper)
scaled to the width they would have at a given distance and pasted into real empty scenes.

Read from the installed wheels, never copied or downloaded; seeded, so every run builds the same set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import SourceError
from ...geometry import face_px

DEFAULT_DISTANCES = (0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 6.0)


# --- the real images ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    name: str
    #: BGR head and shoulders
    image: np.ndarray
    #: the face box (x, y, w, h) in ``image``
    face: tuple[int, int, int, int]


def _skimage(name: str) -> np.ndarray:
    import skimage.data  # noqa: PLC0415 - the benchmark's data, not the daemon's

    rgb = getattr(skimage.data, name)()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else cv2.cvtColor(rgb, cv2.COLOR_GRAY2BGR)


def _matplotlib_sample(name: str) -> np.ndarray | None:
    try:
        import matplotlib  # noqa: PLC0415
    except ImportError:
        return None
    path = Path(matplotlib.get_data_path()) / "sample_data" / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return image


def _skimage_file(name: str) -> np.ndarray | None:
    import skimage  # noqa: PLC0415

    image = cv2.imread(str(Path(skimage.__file__).parent / "data" / name), cv2.IMREAD_COLOR)
    return image


def people() -> list[Person]:
    """The faces: head and shoulders cut from public-domain portraits, and their mirror images.
    Face boxes were measured once (BlazeFace on the full-size photo)."""
    out: list[Person] = []
    astro = _skimage("astronaut")[0:330, 60:390]
    out.append(Person("astronaut", astro, (178 - 60, 81, 94, 94)))
    grace = _matplotlib_sample("grace_hopper.jpg")
    if grace is not None:
        out.append(Person("grace_hopper", grace[30:600, 0:512], (166, 143 - 30, 201, 200)))
    mirrored = []
    for p in out:
        x, y, w, h = p.face
        mirrored.append(Person(p.name + "_mirrored", np.ascontiguousarray(p.image[:, ::-1]),
                               (p.image.shape[1] - x - w, y, w, h)))
    return out + mirrored


def scenes() -> list[tuple[str, np.ndarray]]:
    """Real photographs with nobody in them."""
    found: list[tuple[str, np.ndarray]] = [(n, _skimage(n)) for n in ("coffee", "rocket", "chelsea", "brick")]
    for name, image in (("motorcycle", _skimage_file("motorcycle_left.png")),
                        ("present", _matplotlib_sample("Minduka_Present_Blue_Pack.png"))):
        if image is not None:
            found.append((name, image))
    return found


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height, centre-crop: a scene at the capture size."""
    h, w = image.shape[:2]
    s = max(width / w, height / h)
    big = cv2.resize(image, (max(width, round(w * s)), max(height, round(h * s))), interpolation=cv2.INTER_LINEAR)
    y0, x0 = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return np.ascontiguousarray(big[y0:y0 + height, x0:x0 + width])


@dataclass
class Sample:
    frame: np.ndarray
    distance: float | None
    #: the face box in the frame, or None on an empty scene
    truth: tuple[int, int, int, int] | None = None
    person: str = ""
    scene: str = ""


def compose(scene: np.ndarray, person: Person, px: float, rng: np.random.Generator) -> tuple[np.ndarray, tuple]:
    """``person`` scaled so the face is ``px`` wide, pasted at a random place (a sofa: the lower
    two thirds, anywhere across); returns the frame and the face box in it."""
    H, W = scene.shape[:2]
    s = px / person.face[2]
    ph, pw = person.image.shape[:2]
    nw, nh = max(1, round(pw * s)), max(1, round(ph * s))
    patch = cv2.resize(person.image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    # keep the face inside the frame; the shoulders may be cut by the frame edge
    fx, fy, fw, fh = (round(v * s) for v in person.face)
    x = int(rng.integers(-fx, max(-fx + 1, W - fx - fw)))
    lo = max(-fy, H // 3 - fy - fh // 2)
    y = int(rng.integers(min(lo, H - fy - fh - 1), max(lo + 1, H - fy - fh)))
    frame = scene.copy()
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + nw), min(H, y + nh)
    frame[y0:y1, x0:x1] = patch[y0 - y:y1 - y, x0 - x:x1 - x]
    return frame, (x + fx, y + fy, fw, fh)


def build_set(width: int, height: int, distances: tuple[float, ...] = DEFAULT_DISTANCES, per_distance: int = 12,
              empty: int = 12, hfov_deg: float = 62.0, seed: int = 13) -> list[Sample]:
    """A fixed, seeded set of frames: ``per_distance`` per distance (people x scenes in turn) and
    ``empty`` empty scenes (the scenes, shifted and mirrored)."""
    rng = np.random.default_rng(seed)
    try:
        folks, rooms = people(), scenes()
    except ImportError:
        raise SourceError("the distance benchmark needs scikit-image for its offline faces and scenes",
                          path="scikit-image", expected="`pip install scikit-image` (or `pip install .[bench]`)") from None
    if not folks or not rooms:
        raise SourceError("no offline images for the distance benchmark", path="scikit-image",
                          expected="scikit-image installed (astronaut, coffee, ...)")
    backgrounds = [(name, cover(image, width, height)) for name, image in rooms]
    out: list[Sample] = []
    for d in distances:
        px = face_px(d, width, hfov_deg)
        for i in range(per_distance):
            person = folks[i % len(folks)]
            name, scene = backgrounds[(i + int(d * 2)) % len(backgrounds)]
            frame, truth = compose(scene, person, px, rng)
            out.append(Sample(frame, d, truth, person.name, name))
    for i in range(empty):
        name, image = rooms[i % len(rooms)]
        if (i // len(rooms)) % 2:
            image = np.ascontiguousarray(image[:, ::-1])
        zoom = 1.0 + 0.25 * (i // len(rooms))
        big = cover(image, round(width * zoom), round(height * zoom))
        out.append(Sample(np.ascontiguousarray(big[:height, :width]), None, None, "", name))
    return out
