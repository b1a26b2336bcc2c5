"""The mosquitto bridge that joins a room's broker to the house broker: one ``conf.d`` block per device.

mosquitto does the work (``mosquitto.conf(5)``, "Configuring Bridges"); this module only writes its
block, so ``mood-edge bridge`` and ``install.sh --bridge-to`` say the same thing:

* ``topic <prefix>/<id>/# out``: the room's state, availability (the daemon's Last Will comes
  through too) and feedback results go to the house;
* ``<prefix>/<id>/feedback in`` and Home Assistant's ``<discovery>/status in``: what the house
  says to this room; discovery ``<discovery>/+/mood_edge_<id>/# out``;
* ``notification_topic <prefix>-bridge/<id>``: mosquitto publishes ``1`` (retained) on the house
  broker when the link comes up and leaves ``0`` there as the bridge's Last Will, so the house
  sees a room whose link is down as offline (Home Assistant's availability list, the TV page,
  ``watch``), not as a stale "live". It is *outside* ``<prefix>/<id>/#`` on purpose: mosquitto
  also publishes the state on the room's own broker, and there, under the ``out`` pattern, the
  ``0`` of a cut link was queued and delivered to the house *after* the ``1`` of the reconnect,
  leaving the room offline for good. Outside it, the room's displays do not see it either
  (their ACL grants ``<prefix>/#``): a room whose house is away is still live at home;
* ``cleansession false`` (a reconnect does not flood the house with every retained message; what
  was published while the house was away is queued and delivered), ``try_private true`` (a mosquitto
  house does not echo a room's own messages back: no loops), TLS with the house's CA.

Nothing is relayed by us: the house may be any broker that takes a bridge (EMQX, VerneMQ, HiveMQ,
docs/house.md). The block carries the bridge user's password: it is written 0640 root:mosquitto
(0600 where there is no mosquitto group or we are not root). Not 0600 root: mosquitto reads conf.d
as root only at start; a reload (``systemctl reload mosquitto``, after adding a user) reads it again
as user mosquitto, and a file it cannot open there stops that reload at the file, skipping the rest
of conf.d.
"""

from __future__ import annotations

import grp
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import ConfigError
from ..config.broker_url import parse_broker
from .messages import bridge_topic

#: a seconds value for keepalive_interval: the house notices a cut link after 1.5x this
DEFAULT_KEEPALIVE_S = 30
_USER = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_HOST = re.compile(r"[A-Za-z0-9_.-]{1,253}")


def connection_name(device_id: str) -> str:
    return f"mood-edge-{device_id}"


def remote_client_id(device_id: str) -> str:
    """Unique per room: two bridges with one client id would take turns disconnecting each other."""
    return f"mood-edge-bridge-{device_id}"


@dataclass(frozen=True)
class HouseBroker:
    """Where the bridge goes: one or more ``host:port`` (several: a cluster's nodes, tried in turn)."""

    addresses: tuple[tuple[str, int], ...]
    tls: bool

    @classmethod
    def parse(cls, urls: list[str], origin: str = "--to") -> "HouseBroker":
        if not urls:
            raise ConfigError("no house broker given", field=origin, expected="mqtts://house.lan:8883")
        parsed = []
        for url in urls:
            b = parse_broker(url, origin)
            if b.username or b.password:
                raise ConfigError("credentials do not belong in the URL (every local user can read a command line)",
                                  field=origin, expected="--user NAME and the password on stdin or in a file")
            if not _HOST.fullmatch(b.host):  # mosquitto splits "address" at ":": no IPv6 literal
                raise ConfigError(f"got host {b.host!r}", field=origin,
                                  expected="a host name or IPv4 address (for IPv6, a host name)")
            parsed.append(b)
        if len({b.tls for b in parsed}) > 1:
            raise ConfigError("mixes mqtt:// and mqtts://", field=origin, expected="every address with the same scheme")
        return cls(tuple((b.host, b.port) for b in parsed), parsed[0].tls)


def check_user(name: str) -> str:
    if not _USER.fullmatch(name):
        raise ConfigError(f"got {name!r}", field="--user", expected="1-64 letters, digits, '.', '@', '-' or '_'")
    return name


def check_password(password: str, where: str) -> str:
    """mosquitto reads ``remote_password`` to the end of its line, surrounding blanks dropped."""
    if not password or password != password.strip() or not password.isprintable() or len(password) > 256:
        raise ConfigError("the password is empty, has control characters or surrounding blanks, or is "
                          "longer than 256 characters", path=where, expected="one line of printable text")
    return password


def _path_value(path: str, field: str) -> str:
    if not path or not path.isprintable() or path != path.strip():
        raise ConfigError(f"got {path!r}", field=field, expected="a file path on one line")
    return path


def bridge_block(cfg: Config, house: HouseBroker, username: str, password: str | None, cafile: str,
                 keepalive_s: int = DEFAULT_KEEPALIVE_S) -> str:
    """The ``conf.d`` text for this device's bridge (``password`` None: the line is left for you)."""
    device = cfg.mqtt.device_id
    prefix, discovery = cfg.mqtt.topic_prefix, cfg.homeassistant.discovery_prefix
    if house.tls and not cafile:
        raise ConfigError("an mqtts:// house broker needs its CA certificate", field="--cafile",
                          expected="the house broker's ca.crt")
    if not 5 <= keepalive_s <= 65535:
        raise ConfigError(f"got {keepalive_s}", field="--keepalive", expected="5 to 65535 seconds")
    if any(c.isspace() for c in prefix + discovery):
        raise ConfigError("a topic prefix with blanks cannot go in a bridge topic line",
                          path=cfg.origin, field="mqtt.topic_prefix", expected="no spaces")
    lines = [
        f"# mood-edge bridge: this room ({device}) -> the house broker. Written by `mood-edge bridge`",
        "# (or systemd/install.sh --bridge-to); holds the bridge password: root and mosquitto only (0640).",
        "# Restart mosquitto after changing it (a reload does not restart bridges). docs/house.md",
        f"connection {connection_name(device)}",
        "address " + " ".join(f"{h}:{p}" for h, p in house.addresses),
    ]
    if len(house.addresses) > 1:
        lines.append("round_robin false")  # the first address is the primary; the others while it is down
    lines += [
        f"remote_clientid {remote_client_id(device)}",
        f"remote_username {check_user(username)}",
        f"remote_password {check_password(password, '--password')}" if password is not None
        else "#remote_password <the bridge user's password>",
        "bridge_protocol_version mqttv311",
        "cleansession false",
        "try_private true",
        "start_type automatic",
        "restart_timeout 2 20",
        f"keepalive_interval {keepalive_s}",
        "notifications true",
        f"notification_topic {bridge_topic(prefix, device)}",
        "# what this room tells the house",
        f"topic {prefix}/{device}/# out 1",
        f"topic {discovery}/+/mood_edge_{device}/# out 1",
        "# what the house tells this room",
        f"topic {prefix}/{device}/feedback in 1",
        f"topic {discovery}/status in 1",
    ]
    if house.tls:
        lines += [f"bridge_cafile {_path_value(cafile, '--cafile')}", "bridge_tls_version tlsv1.2",
                  "bridge_insecure false"]
    return "\n".join(lines) + "\n"


def house_acl(cfg: Config, username: str) -> str:
    """The house broker's ACL lines for this room's bridge user (docs/house.md)."""
    device, prefix = cfg.mqtt.device_id, cfg.mqtt.topic_prefix
    discovery = cfg.homeassistant.discovery_prefix
    return (f"user {username}\n"
            f"topic write {prefix}/{device}/#\n"
            f"topic write {discovery}/+/mood_edge_{device}/#\n"
            f"topic write {bridge_topic(prefix, device)}\n"
            f"topic read {prefix}/{device}/feedback\n"
            f"topic read {discovery}/status\n")


def write_private(path: Path, text: str, group: str = "mosquitto") -> None:
    """Write ``text`` to ``path``, readable by root and ``group`` only (0640; 0600 without it),
    atomically: a reader sees the old file or the new one."""
    gid = None
    if os.geteuid() == 0:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if gid is not None:
            os.chown(tmp, 0, gid)
        os.chmod(tmp, 0o640 if gid is not None else 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
