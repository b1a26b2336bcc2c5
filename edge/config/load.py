"""Reading the config: a TOML file and command-line overrides -> a checked :class:`Config`.

Each value is checked by its field's type and rule (:mod:`edge.fields`), then each section's
``cross_checks``; paths in a file are taken relative to that file. A wrong key, type or value raises
:class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..detectors import kinds as detector_kinds
from ..errors import ConfigError, read_user_text
from ..fields import _checked, _fields
from ..sources import with_base
from .broker_url import mask_url
from . import sections
from .sections import Config


@functools.cache
def _sections() -> dict[str, type]:
    return {name: f.type for name, f in _fields(Config).items() if name != "origin"}


#: values that name files or folders; relative ones are taken relative to the config file
#: (read from the fields' metadata; the section types are still strings here, resolving them costs import time)
PATH_KEYS = tuple(f"{f.name}.{g.name}" for f in dataclasses.fields(Config) if f.name != "origin"
                  for g in dataclasses.fields(getattr(sections, f.type)) if g.metadata.get("path"))


def check_value(key: str, value: Any, origin: str | None = None) -> Any:
    """``value`` for ``section.key`` checked by that key's type and rule (for stages used as a
    library: the same rule and text as the config file); returns it coerced (an int for a float)."""
    section, _, name = key.partition(".")
    f = _fields(_sections()[section])[name]
    return _checked(f, value, origin, key)


def _build_section(cls: type, table: Any, path: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"got {table!r}", path=path, field=section, expected="a [table]")
    fields = _fields(cls)
    obj = cls()
    for key, value in table.items():
        full = f"{section}.{key}"
        if section == "detector" and isinstance(value, dict):
            obj.options[key] = _detector_options(key, value, path)
            continue
        if key not in fields or key == "options" and section == "detector":
            raise ConfigError("unknown key", path=path, field=full,
                              expected="one of " + ", ".join(n for n in fields if n != "options"))
        setattr(obj, key, _checked(fields[key], value, path, full))
    return obj


def _detector_options(kind: str, table: dict[str, Any], path: str) -> Any:
    """A ``[detector.<kind>]`` table -> that plug-in's typed options dataclass."""
    from ..detectors import detector_class  # noqa: PLC0415

    if kind not in detector_kinds():
        raise ConfigError("unknown detector table", path=path, field=f"detector.{kind}",
                          expected="[detector.<kind>] for one of " + ", ".join(detector_kinds()))
    return _build_section(detector_class(kind).Options, table, path, f"detector.{kind}")


def cross_check(cfg: Config, origin: str | None = None, changed: Iterable[str] = ()) -> None:
    """The rules that tie two keys of a section together. The error names ``origin`` (the command
    line) when one of the keys it is about was ``changed`` there, else the file."""
    changed = set(changed)
    for section in _sections():
        obj = getattr(cfg, section)
        for rule in getattr(type(obj), "cross_checks", ()):
            problem = rule.problem(obj, section)
            if problem:
                name, detail, expected = problem
                where = origin if origin and {f"{section}.{k}" for k in rule.keys} & changed else cfg.origin
                raise ConfigError(detail, path=where, field=f"{section}.{name}", expected=expected)


def from_dict(data: dict[str, Any], origin: str = "<dict>") -> Config:
    cfg = _from_dict(data, origin)
    cross_check(cfg)
    return cfg


def _from_dict(data: dict[str, Any], origin: str) -> Config:
    cfg = Config(origin=origin)
    sections = _sections()
    for name, table in data.items():
        if name not in sections:
            raise ConfigError("unknown section", path=origin, field=name,
                              expected="one of " + ", ".join(f"[{s}]" for s in sections))
        setattr(cfg, name, _build_section(sections[name], table, origin, name))
    _resolve_relative_paths(cfg, origin)
    return cfg


def _resolve_relative_paths(cfg: Config, origin: str) -> None:
    """Paths in a config file are relative to that file, as users expect."""
    if origin.startswith("<"):
        return
    base = Path(origin).resolve().parent
    for section, _, key in (k.partition(".") for k in PATH_KEYS):
        obj = getattr(cfg, section)
        value = getattr(obj, key)
        if value and not Path(value).is_absolute():
            setattr(obj, key, str(base / value))
    cfg.camera.source = with_base(cfg.camera.source, base)


def load(path: str | Path | None, overrides: Mapping[str, Any] | None = None,
         origin: str = "command line") -> Config:
    """Load a TOML config (``None`` gives the defaults), then the ``overrides`` (``section.key`` ->
    value; ``None`` values are skipped) from ``origin``; the cross-checks see the final values."""
    if path is None:
        cfg = Config()
    else:
        p = Path(path)
        text = read_user_text(p, ConfigError, "a TOML config file")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", path=p) from None
        cfg = _from_dict(data, origin=str(p))
    apply_overrides(cfg, overrides or {}, origin)
    return cfg


def _set(cfg: Config, key: str, value: Any, origin: str) -> None:
    section, _, name = key.partition(".")
    obj = getattr(cfg, section, None)
    fields = _fields(type(obj)) if dataclasses.is_dataclass(obj) else {}
    if name not in fields:
        raise ConfigError("unknown key", path=origin, field=key)
    setattr(obj, name, _checked(fields[name], value, origin, key))


def set_value(cfg: Config, key: str, value: Any, origin: str = "command line") -> None:
    """Set ``section.key`` with the same checks as the file (for CLI overrides). To set several keys
    that a cross-check ties together, use :func:`apply_overrides`."""
    _set(cfg, key, value, origin)
    cross_check(cfg, origin, (key,))


def apply_overrides(cfg: Config, overrides: Mapping[str, Any], origin: str = "command line") -> None:
    """Set each ``section.key`` -> value (``None`` = not given), then cross-check them together."""
    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in given.items():
        _set(cfg, key, value, origin)
    cross_check(cfg, origin, given)


def to_dict(cfg: Config) -> dict[str, Any]:
    """The effective config, with secrets masked (safe to log)."""
    data = dataclasses.asdict(cfg)
    data.pop("origin", None)
    if data["mqtt"]["password"]:
        data["mqtt"]["password"] = "***"
    data["mqtt"]["broker"] = mask_url(data["mqtt"]["broker"])
    return data
