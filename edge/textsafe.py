"""One sanitiser for every string that reaches a terminal, a log line or a message from outside.

File names, .nfo text, network payloads and config values can hold escape sequences (ESC, BEL, CSI:
they set a terminal's title, clear its screen, forge log lines), newlines, bidi overrides and lone
surrogates (which no terminal encoding can print). :func:`clean` turns each into something printable and
bounds the length, so one hostile value can neither rewrite a screen nor make one huge log line.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 and C1 controls (newline and tab included), zero-width and bidi-override characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
#: lone UTF-16 surrogates (e.g. "\ud800" from JSON): valid in a Python str, unprintable in UTF-8
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(value: Any, limit: int = 200) -> str:
    """``value`` as one printable line of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", str(value))).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
