"""``mood-edge bridge``: the mosquitto bridge block that joins this room's broker to the house broker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import config as config_mod
from ..errors import ConfigError, read_user_text
from ..mqtt.bridge import DEFAULT_KEEPALIVE_S, HouseBroker, bridge_block, bridge_topic, check_password, \
    connection_name, house_acl, write_private

SUMMARY = "print (or write) the mosquitto bridge from this room's broker to the house broker"

DESCRIPTION = f"""\
Every room's Pi keeps its own mosquitto (install.sh --with-broker); a mosquitto bridge on it
forwards this device's topics to the house broker (Home Assistant's, usually) and brings back what
the house says to it. This prints that bridge for this device (its id from the config), as a
mosquitto conf.d block, or writes it with --write (mode 0640 root:mosquitto: it holds the password).
systemd/install.sh --bridge-to URL --bridge-user NAME does the same and restarts mosquitto.

The block: "connection mood-edge-<device-id>", the house address(es), a unique remote_clientid,
cleansession false, try_private true, TLS with the house's CA (bridge_cafile), and
  <prefix>/<device-id>/#                   out  state, availability, feedback results
  homeassistant/+/mood_edge_<device-id>/#  out  Home Assistant discovery
  <prefix>/<device-id>/feedback            in   what the house says to this room
  homeassistant/status                     in   Home Assistant's birth message
notifications true with notification_topic <prefix>-bridge/<device-id>: mosquitto keeps "1" there
on the house broker while the link is up and leaves "0" (the bridge's Last Will) when it goes
down, so the house shows this room offline (Home Assistant, the TV page, watch). The house notices
a cut link after 1.5 x --keepalive seconds, a dead daemon at once (its Last Will comes through).

The password is read from --password-file or the first line of stdin (--password-stdin), never
from the command line. Without either, the password line is left commented for you to fill in.
The house broker's ACL lines for this room are printed on stderr (docs/house.md).

examples:
  mood-edge bridge --config /etc/mood-edge/config.toml --to mqtts://house.lan:8883 --user livingroom \\
      --cafile /etc/mosquitto/mood-edge/house-ca.crt
  printf '%s\\n' "$PW" | sudo mood-edge bridge -c /etc/mood-edge/config.toml --to mqtts://house.lan:8883 \\
      --user livingroom --cafile /etc/mosquitto/mood-edge/house-ca.crt --password-stdin \\
      --write /etc/mosquitto/conf.d/mood-edge-bridge.conf
  a cluster: --to mqtts://emqx1.lan:8883 --to mqtts://emqx2.lan:8883 (tried in turn; docs/house.md)

exit status:
  0  printed or written;  2  a usage or configuration mistake (nothing written)"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="PATH", help="TOML config file: device id and topic prefixes "
                   "(default: built-in defaults)")
    p.add_argument("--device-id", metavar="ID", help="override mqtt.device_id")
    p.add_argument("--to", dest="to", metavar="URL", action="append", default=[], required=True,
                   help="the house broker, mqtts://host[:port] (8883) or mqtt://host[:port]; repeat for a "
                        "cluster's nodes")
    p.add_argument("--user", required=True, metavar="NAME", help="this room's bridge user on the house broker")
    p.add_argument("--cafile", default="", metavar="PATH", help="the house broker's CA certificate (mqtts://)")
    pw = p.add_mutually_exclusive_group()
    pw.add_argument("--password-file", metavar="PATH", help="read the bridge password from this file")
    pw.add_argument("--password-stdin", action="store_true", help="read it from the first line of stdin")
    p.add_argument("--keepalive", type=int, default=DEFAULT_KEEPALIVE_S, metavar="S",
                   help=f"seconds between the bridge's pings; a cut link shows after 1.5x this "
                        f"(default: {DEFAULT_KEEPALIVE_S})")
    p.add_argument("--write", metavar="PATH", help="write the block to PATH (0640) instead of printing it")


def _password(args: argparse.Namespace) -> str | None:
    if args.password_file:
        text = read_user_text(Path(args.password_file), ConfigError, "a password file")
        return check_password(text.splitlines()[0] if text else "", args.password_file)
    if args.password_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"), "stdin")
    return None


def main(args: argparse.Namespace) -> int:
    cfg = config_mod.load(args.config, {"mqtt.device_id": args.device_id})
    house = HouseBroker.parse(args.to)
    if not house.tls:
        print("mood-edge bridge: warning: mqtt:// sends the bridge password and every message in clear "
              "text over the house network; use mqtts://", file=sys.stderr)
    if args.cafile and not Path(args.cafile).is_file():  # it may be copied there later (install.sh --prefix)
        print(f"mood-edge bridge: warning: --cafile {args.cafile} is not there (yet): mosquitto cannot start the "
              "bridge without it", file=sys.stderr)
    text = bridge_block(cfg, house, args.user, _password(args), args.cafile, args.keepalive)
    if args.write:
        write_private(Path(args.write), text)
        print(f"wrote bridge {connection_name(cfg.mqtt.device_id)} to {args.write}; restart mosquitto to start it",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    print(f"# the house broker's ACL for this room (docs/house.md); its state: "
          f"{bridge_topic(cfg.mqtt.topic_prefix, cfg.mqtt.device_id)}\n"
          + house_acl(cfg, args.user), end="", file=sys.stderr)
    return 0
