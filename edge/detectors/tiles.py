"""The BlazeFace scan in fixed-size tiles: its memory bounded by bytes, whatever the frame or region.

An interpreter's memory grows with its input: LiteRT + XNNPACK keep ~200 bytes per model-input
pixel (measured on x86: 26 MB at 384x384, 36 MB at 480x368, 66 MB at 800x608, 141 MB at
1120x848), and the heap kept much of it after the interpreter was dropped. So the scan never
builds an interpreter for the size of a frame or a region: the picture, scaled and mirrored out by
``PAD``, is cut into tiles of at most ``TILE`` model pixels that overlap by ``OVERLAP`` (a face the
scan must read lies whole in one tile, away from its edges); a side shorter than a tile is padded
up to a whole ``SNAP`` step. The interpreters for those few sizes live in a :class:`NetCache` that
drops the least recently used one when a new one would pass ``budget`` bytes, and glibc is told to
give a dropped one's buffers back (:func:`return_freed_memory`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections import OrderedDict
from typing import Callable, Generic, TypeVar

#: the largest tile (width, height) in model pixels: the smallest of which 2x2 cover an 800x600
#: picture mirrored out by PAD with OVERLAP between them (832x632: 2 x 464 - 96, 2 x 364 - 96)
TILE = (464, 368)
#: tiles overlap by this much (model pixels): measured, with 64 a 5 m face (20 px) on a seam was
#: missed in 1 of 4 frames; larger faces than the tiles read are the mid pass's (mid_width)
OVERLAP = 96
#: the scaled picture is mirrored out by this much on every side before it is cut (model pixels):
#: measured, a 20 px face 2 px from a corner is found in 4 of 4 frames with it, 3 of 4 without
PAD = 16
#: a side shorter than a tile is padded up to a multiple of this (few sizes: few interpreters)
SNAP = 64
#: measured: LiteRT + XNNPACK resident bytes per model-input pixel (float32 activations), plus a
#: fixed part per interpreter
BYTES_PER_PX = 200
NET_BASE_BYTES = 1 << 20

N = TypeVar("N")


def net_bytes(w: int, h: int) -> int:
    """What an interpreter with a w x h input keeps resident (measured; see the module docstring)."""
    return NET_BASE_BYTES + BYTES_PER_PX * w * h


#: the mid pass's picture (blazeface_motion's ``mid_width`` 256 of an 800x600 frame): it has a net
#: of its own beside the tile's; on a tile it cost 213 M aarch64 instructions a look instead of ~59 M
MID_NET = (256, 192)
#: the cache's default byte budget: the tile's interpreter (35 MB) and one up to the mid pass's
#: (11 MB) beside it, which also serves regions up to 256x192 (or 192x256)
DEFAULT_BUDGET = net_bytes(*TILE) + net_bytes(*MID_NET)


def net_size(w: int, h: int, tile: tuple[int, int] = TILE, budget: int = DEFAULT_BUDGET) -> tuple[int, int]:
    """The interpreter input for a w x h tile: each side padded up to a whole ``SNAP`` step (at
    most the tile's), or the whole tile when that would not fit in ``budget`` beside the tile's
    interpreter: the tile's (every whole-frame look needs it) is never dropped for a region's."""
    nw, nh = (min(t, -(-n // SNAP) * SNAP) for n, t in ((w, tile[0]), (h, tile[1])))
    return tile if net_bytes(nw, nh) > budget - net_bytes(*tile) else (nw, nh)


def spans(length: int, tile: int, overlap: int = OVERLAP) -> list[tuple[int, int]]:
    """(start, length) of the tiles along one side: evenly spread, overlapping by at least
    ``overlap``, the last one flush with the end."""
    if length <= tile:
        return [(0, length)]
    n = -(-(length - overlap) // (tile - overlap))
    return [(round(i * (length - tile) / (n - 1)), tile) for i in range(n)]


def tiles(width: int, height: int, tile: tuple[int, int] = TILE) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the tiles that cover a width x height picture."""
    return [(x, y, w, h) for y, h in spans(height, tile[1]) for x, w in spans(width, tile[0])]


class NetCache(Generic[N]):
    """Interpreters by input size, least recently used dropped first, bounded by their bytes."""

    def __init__(self, make: Callable[[int, int], N], budget: int = DEFAULT_BUDGET) -> None:
        self.make = make
        self.budget = budget
        self._nets: OrderedDict[tuple[int, int], N] = OrderedDict()
        #: interpreters built so far (a size that keeps coming back and being dropped shows here)
        self.built = 0

    @property
    def bytes(self) -> int:
        return sum(net_bytes(w, h) for w, h in self._nets)

    def sizes(self) -> list[tuple[int, int]]:
        return list(self._nets)

    def get(self, w: int, h: int) -> N:
        net = self._nets.get((w, h))
        if net is not None:
            self._nets.move_to_end((w, h))
            return net
        while self._nets and self.bytes + net_bytes(w, h) > self.budget:
            self._nets.popitem(last=False)
        net = self._nets[(w, h)] = self.make(w, h)
        self.built += 1
        return net


def return_freed_memory() -> None:
    """Ask glibc to give large freed blocks back to the system: with its default dynamic threshold
    a dropped interpreter's buffers stay in the heap, and the next size grows it. No-op elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        return
    if mallopt is not None:
        M_MMAP_THRESHOLD = -3
        mallopt(M_MMAP_THRESHOLD, 1 << 20)  # a fixed threshold: blocks of 1 MB+ are mapped, then unmapped
