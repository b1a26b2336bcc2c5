"""Training-time changes to a batch of faces: the ways a living-room camera changes a face, and mixup.

Stateless random ops keyed by a seed (the run's seed and the batch number), so a run is repeatable.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def augment(x: Any, seed: Any, size: int, small: float = 0.35) -> Any:
    """One batch (B, S, S, 1) in [-1, 1], randomly changed the ways a living-room camera changes a face.

    Stateless random ops keyed by ``seed`` (the run's seed and the batch number), so a run is repeatable.
    ``small`` is the share of faces shrunk to sofa size and scaled back up.
    """
    import tensorflow as tf  # noqa: PLC0415

    b = tf.shape(x)[0]
    s = float(size)

    def uniform(i: int, shape: Any, lo: float, hi: float) -> Any:
        return tf.random.stateless_uniform(shape, seed=seed + tf.constant([0, 1000003], tf.int64) * i,
                                           minval=lo, maxval=hi)

    # mirror image
    x = tf.where(uniform(1, [b, 1, 1, 1], 0, 1) < 0.5, tf.image.flip_left_right(x), x)
    # rotation +-10 degrees, zoom 0.85-1.15, shifts of +-10%, in one resampling
    theta = uniform(2, [b], -np.pi / 18, np.pi / 18)
    zoom = uniform(3, [b], 0.85, 1.15)
    tx, ty = uniform(4, [b], -0.1 * s, 0.1 * s), uniform(5, [b], -0.1 * s, 0.1 * s)
    c = (s - 1) / 2
    a0, a1 = tf.cos(theta) / zoom, -tf.sin(theta) / zoom
    b0, b1 = tf.sin(theta) / zoom, tf.cos(theta) / zoom
    transform = tf.stack([a0, a1, c - a0 * c - a1 * c + tx, b0, b1, c - b0 * c - b1 * c + ty,
                          tf.zeros([b]), tf.zeros([b])], axis=1)
    x = tf.raw_ops.ImageProjectiveTransformV3(images=x, transforms=transform, output_shape=[size, size],
                                              fill_value=0.0, interpolation="BILINEAR", fill_mode="NEAREST")
    # contrast 0.7-1.3 around the face's mean, brightness +-0.2
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * uniform(6, [b, 1, 1, 1], 0.7, 1.3) + mean + uniform(7, [b, 1, 1, 1], -0.2, 0.2)
    # a face seen from the sofa: down to 14-40 px and back up (a share `small` of the batch)
    side = tf.cast(tf.round(uniform(8, [], 14.0, 40.0)), tf.int32)
    shrunk = tf.image.resize(tf.image.resize(x, [side, side], method="area"), [size, size], method="bilinear")
    x = tf.where(uniform(9, [b, 1, 1, 1], 0, 1) < small, shrunk, x)
    # random erasing: a grey rectangle of 15-45% of each side on 30% of the faces
    h, w = uniform(10, [b, 1, 1], 0.15 * s, 0.45 * s), uniform(11, [b, 1, 1], 0.15 * s, 0.45 * s)
    y0, x0 = uniform(12, [b, 1, 1], 0, 1) * (s - h), uniform(13, [b, 1, 1], 0, 1) * (s - w)
    grid = tf.range(size, dtype=tf.float32)
    inside = ((grid[None, :, None] >= y0) & (grid[None, :, None] < y0 + h)
              & (grid[None, None, :] >= x0) & (grid[None, None, :] < x0 + w))
    erase = inside & (uniform(14, [b, 1, 1], 0, 1) < 0.3)
    x = tf.where(erase[..., None], tf.zeros_like(x), x)
    return tf.clip_by_value(x, -1.0, 1.0)


def mixup(x: Any, y: Any, seed: Any, alpha: float) -> tuple[Any, Any]:
    """Blend each face with another of the batch (and their votes the same way): between two readings,
    the model learns the in-between that FER+'s split votes already describe."""
    import tensorflow as tf  # noqa: PLC0415

    b = tf.shape(x)[0]
    s = seed + tf.constant([0, 7919], tf.int64)
    g1 = tf.random.stateless_gamma([b], seed=s, alpha=alpha)
    g2 = tf.random.stateless_gamma([b], seed=s + tf.constant([0, 1], tf.int64), alpha=alpha)
    lam = g1 / (g1 + g2 + 1e-12)
    lam = tf.maximum(lam, 1.0 - lam)  # the face keeps the larger share: its own reading stays the main one
    xr, yr = tf.reverse(x, [0]), tf.reverse(y, [0])
    return (lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * xr,
            lam[:, None] * y + (1 - lam[:, None]) * yr)
