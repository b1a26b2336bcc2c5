"""Broker URLs: ``mqtt://[user[:password]@]host[:port]`` (1883) or ``mqtts://...`` (8883).

People paste passwords into URLs as they are, ``/`` and ``@`` included, so the URL is not split
with :func:`urllib.parse.urlsplit` (which ends the host at the first ``/`` and would print
``pa`` of ``pa/ss`` as the host): the credentials run up to the *last* ``@``, the user name up to
their first ``:``. :func:`mask_url` follows the same rule, so no part of a password is ever shown,
whatever it holds; percent-encoding (``%40`` for ``@``) is decoded as usual.

Kept with the config, which checks ``mqtt.broker`` with it; the publisher (:mod:`edge.mqtt`) reads it
from here, so nothing that reads the config reaches the MQTT package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError

EXPECTED = "mqtt://[user:pass@]host[:port] or mqtts://..."
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str
    password: str


def _split(url: str) -> tuple[str, str | None, str]:
    """``(scheme://, credentials or None, the rest)``: the credentials end at the last ``@``."""
    m = _SCHEME.match(url)
    head, rest = (m.group(0), url[m.end():]) if m else ("", url)
    if "@" not in rest:
        return head, None, rest
    credentials, _, rest = rest.rpartition("@")
    return head, credentials, rest


def mask_url(url: str) -> str:
    """``mqtt://user:secret@host`` -> ``mqtt://user:***@host``; everything after the user name's
    ``:`` up to the last ``@`` is hidden, ``/``, ``@`` and ``:`` in the password included."""
    head, credentials, rest = _split(url)
    if credentials is None:
        return url
    user, colon, _ = credentials.partition(":")
    return f"{head}{user}{':***' if colon else ''}@{rest}"


def parse_broker(url: str, origin: str = "mqtt.broker") -> BrokerUrl:
    """``mqtt://[user:pass@]host[:port]`` (1883) or ``mqtts://...`` (8883)."""
    head, credentials, rest = _split(url)
    # the host part ends where a path, query or fragment would begin; credentials are taken out
    # first so that a "/" or "@" in the password cannot move it
    try:
        parts = urlsplit(head + re.split(r"[/?#]", rest, maxsplit=1)[0])
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 address
        raise ConfigError(f"got {mask_url(url)!r}: {exc}", path=origin, field="broker", expected=EXPECTED) from None
    if (parts.scheme not in ("mqtt", "mqtts") or not parts.hostname
            or any(c.isspace() or not c.isprintable() for c in parts.hostname)):
        raise ConfigError(f"got {mask_url(url)!r}", path=origin, field="broker", expected=EXPECTED)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"bad port in {mask_url(url)!r}", path=origin, field="broker",
                          expected="a port between 1 and 65535") from None
    user, _, password = (credentials or "").partition(":")
    tls = parts.scheme == "mqtts"
    return BrokerUrl(host=parts.hostname, port=port or (8883 if tls else 1883), tls=tls,
                     username=unquote(user), password=unquote(password))
