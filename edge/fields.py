"""Typed fields with a default, a doc and a rule: what the config's sections and the detector
plug-ins' options are made of, and how a TOML value is checked against one.

Kept apart from :mod:`edge.config` so that a stage that owns a config section (the detectors' own
``DetectorConfig``) builds it without importing the config, which imports the stages' registries.
A wrong value raises :class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import field
from typing import Any, Callable, Iterable, get_args, get_origin, get_type_hints

from .errors import ConfigError

#: upper bounds for durations: beyond them a value is a typo, and time.sleep() overflows on huge ones
HOUR, DAY = 3600, 86400
#: more threads than this is a typo (the interpreter takes a C int; a Pi has 4 cores)
MAX_THREADS = 64

# --- rules: what a value must be beyond its type --------------------------------------------------

class Rule:
    """A test beyond the type, and what was expected when it fails (a callable when the text comes
    from a registry, so it is read when needed, not at import). Plain classes here, not dataclasses:
    each @dataclass runs generated code at import (about 1 ms each on this x86 host, more on a Pi)."""

    __slots__ = ("test", "text")

    def __init__(self, test: Callable[[Any], bool], text: str | Callable[[], str]) -> None:
        self.test, self.text = test, text

    @property
    def expected(self) -> str:
        return self.text() if callable(self.text) else self.text


def choice_text(names: Iterable[str]) -> str:
    """``"a" or "b" or "c"``: the expected text of a choice, as every error shows it."""
    return " or ".join(f'"{n}"' for n in names)


def one_of(choices: Callable[[], Iterable[str]]) -> Rule:
    """A choice among the names a registry holds (asked each time, so a plug-in added is a choice)."""
    return Rule(lambda v: v in tuple(choices()), lambda: choice_text(choices()))


def between(low: float, high: float, text: str) -> Rule:
    return Rule(lambda v: low <= v <= high, text)


#: the shortest duration any time setting may name: a loop waiting less spins (a camera retried
#: every 1e-308 s gave 399,407 OpenCV warning lines in 8 s)
MIN_SECONDS = 0.1


def seconds(most: int) -> Rule:
    """A duration of at least :data:`MIN_SECONDS` and at most ``most`` seconds (``time.sleep``
    and ``Event.wait`` overflow on huge ones)."""
    return Rule(lambda v: MIN_SECONDS <= v <= most, f"{MIN_SECONDS} to {most} seconds")


def rate(most: float, longest_s: int) -> Rule:
    """0 (as fast as possible) or a rate whose period is :func:`seconds`' range: at most ``most``
    per second, at least one per ``longest_s`` seconds (1e-308 frames a second is a wait of 1e308 s)."""
    return Rule(lambda v: v == 0 or 1 / longest_s <= v <= most,
                f"0 (unlimited) or a rate from 1/{longest_s} (one every {longest_s} s) to {most} per second")


#: the longest name of one folder or file and of a whole path on Linux (NAME_MAX, PATH_MAX - 1)
NAME_MAX_BYTES, PATH_MAX_BYTES = 255, 4095


def path_ok(v: str) -> bool:
    """A name the OS could open: no NUL (Python raises ValueError, not OSError), no component over
    NAME_MAX and no path over PATH_MAX bytes (open() fails with "File name too long" otherwise)."""
    raw = v.encode("utf-8", "surrogateescape")
    return b"\0" not in raw and len(raw) <= PATH_MAX_BYTES and all(len(c) <= NAME_MAX_BYTES for c in raw.split(b"/"))


PATH_EXPECTED = (f"a file or folder path: no NUL character, no name in it over {NAME_MAX_BYTES} bytes, "
                 f"at most {PATH_MAX_BYTES} bytes in all")
#: a value naming a file or folder (relative ones are relative to the config file)
PATH_RULE = Rule(path_ok, PATH_EXPECTED)


def box_ok(v: list[float]) -> bool:
    """[x, y, width, height], fractions of the frame: inside it and not empty ([1, 1, 1, 1] starts at
    the far corner and covers nothing)."""
    if len(v) != 4:
        return False
    x, y, w, h = v
    return 0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9


BOX_EXPECTED = "[x, y, width, height] as fractions of the frame (0..1, inside it, width and height > 0)"
PIXELS = between(1, 8192, "a number of pixels from 1 to 8192")
THREADS = between(1, MAX_THREADS, f"1 to {MAX_THREADS} threads")
FRACTION = between(0, 1, "a number between 0 and 1")


def setting(default: Any = dataclasses.MISSING, *, doc: str, rule: Rule | None = None, path: bool = False,
            factory: Callable[[], Any] | None = None, example: str | None = None,
            mask: Callable[[Any], str] | None = None) -> Any:
    """A config field: its default (or ``factory`` for one computed at run time), its ``doc`` for
    config.example.toml ("" = described with the key above it), its ``rule``; ``path`` for file
    names; ``example``: shown commented out as ``# key = <example>`` (a default computed at run time
    or unset); ``mask``: how a wrong value is shown in an error (a secret's: never as it is)."""
    meta = {"doc": doc, "rule": PATH_RULE if path else rule, "path": path, "example": example, "mask": mask}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


class AtMost:
    """``low`` may not exceed ``high`` (two keys of one section)."""

    __slots__ = ("low", "high", "why")

    def __init__(self, low: str, high: str, why: str) -> None:
        self.low, self.high, self.why = low, high, why

    @property
    def keys(self) -> tuple[str, str]:
        return (self.low, self.high)

    def problem(self, obj: Any, section: str) -> tuple[str, str, str] | None:
        lo, hi = getattr(obj, self.low), getattr(obj, self.high)
        if lo <= hi:
            return None
        return (self.low, f"got {lo!r}, above {section}.{self.high} = {hi!r}",
                f"at most {section}.{self.high}: {self.why}")


class Together:
    """Two keys that are set both or neither."""

    __slots__ = ("a", "b", "why")

    def __init__(self, a: str, b: str, why: str) -> None:
        self.a, self.b, self.why = a, b, why

    @property
    def keys(self) -> tuple[str, str]:
        return (self.a, self.b)

    def problem(self, obj: Any, section: str) -> tuple[str, str, str] | None:
        va, vb = getattr(obj, self.a), getattr(obj, self.b)
        if bool(va) == bool(vb):
            return None
        given, missing = (self.a, self.b) if va else (self.b, self.a)
        shown = _shown(getattr(obj, given), _fields(type(obj))[given].mask)
        return (given, f"got {shown} without {section}.{missing}",
                f"both {section}.{self.a} and {section}.{self.b}, or neither: {self.why}")


# --- reading: types and rules ------------------------------------------------------------------

class _Field:
    __slots__ = ("type", "rule", "mask")

    def __init__(self, tp: Any, rule: Rule | None, mask: Callable[[Any], str] | None = None) -> None:
        self.type, self.rule, self.mask = tp, rule, mask


@functools.cache
def _fields(cls: type) -> dict[str, _Field]:
    """A section's keys -> resolved type and rule, once per class (get_type_hints is slow)."""
    hints = get_type_hints(cls)
    checks = getattr(cls, "checks", {})  # a detector plug-in's options carry their rules beside them
    out = {}
    for f in dataclasses.fields(cls):
        rule = f.metadata.get("rule")
        if rule is None and f.name in checks:
            rule = Rule(*checks[f.name])
        out[f.name] = _Field(hints[f.name], rule, f.metadata.get("mask"))
    return out


def _type_name(tp: Any) -> str:
    if get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return "a list of " + _type_name(get_args(tp)[0]).removeprefix("a ").removeprefix("an ") + "s"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            type(None): "unset"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, path: str, key: str, mask: Callable[[Any], str] | None = None) -> Any:
    """Check a TOML value against a dataclass field type (ints are accepted for floats)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, path, key, mask)
            except ConfigError:
                pass
        raise ConfigError(f"got {_shown(value, mask)}", path=path, field=key, expected=_type_name(tp))
    if get_origin(tp) is dict:  # detector.options: only built from [detector.<kind>] tables
        raise ConfigError(f"got {_shown(value, mask)}", path=path, field=key,
                          expected="[detector.<kind>] tables, not a value")
    if get_origin(tp) is list:
        if not isinstance(value, list):
            raise ConfigError(f"got {_shown(value, mask)}", path=path, field=key, expected=_type_name(tp))
        return [_coerce(v, get_args(tp)[0], path, key, mask) for v in value]
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        try:
            value = float(value) if ok else value
        except OverflowError:  # an integer beyond any float
            ok = False
        if ok and not math.isfinite(value):  # nan or inf: no setting means "never" or "always"
            raise ConfigError(f"got {value!r}", path=path, field=key, expected="a finite number")
    elif tp is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - only the types above are used
        ok = isinstance(value, tp)
    if not ok:
        raise ConfigError(f"got {_shown(value, mask)}", path=path, field=key, expected=_type_name(tp))
    return value


def _shown(value: Any, mask: Callable[[Any], str] | None = None) -> str:
    """A value for an error message, with secrets masked (error messages end up in the journal)."""
    if mask is not None:
        return mask(value)
    if isinstance(value, str) and len(value) > 80:  # one line, not 70,000 characters of it
        return f"{value[:60]!r}... ({len(value)} characters)"
    return repr(value)


def _checked(f: _Field, value: Any, path: str | None, key: str) -> Any:
    value = _coerce(value, f.type, path, key, f.mask)
    if f.rule and value is not None and not f.rule.test(value):
        raise ConfigError(f"got {_shown(value, f.mask)}", path=path, field=key, expected=f.rule.expected)
    return value


