"""Broker credentials and TLS: where the user name and password come from, a warning when a password
sits on a command line, and setting both up on a client. Nothing here imports paho at run time
(edge/mqtt/client.py is the one module that talks to it; it hands its client in)."""

from __future__ import annotations

import logging
import os
import ssl
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import MqttConfig, parse_broker
from ..errors import ConfigError, read_user_text

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

log = logging.getLogger("edge.mqtt")

#: a password file holds one line; a larger one is a mistake (or a device)
MAX_PASSWORD_FILE_BYTES = 64 * 1024


def warn_password_on_command_line(url: str | None, option: str = "--broker") -> None:
    """Say so when a password came in a command-line URL: every local user can read it in
    /proc/PID/cmdline (and ``ps``), for as long as the process runs."""
    if not url:
        return
    try:
        password = parse_broker(url, origin=option).password
    except ConfigError:
        return  # the URL's own check reports it
    if password:
        log.warning("%s carries a password: every user of this machine can read it in the process list. "
                    "Use MOOD_EDGE_MQTT_PASSWORD or mqtt.password_file instead (the URL keeps only the user name)",
                    option)


#: the systemd credential (LoadCredential=mqtt-password:...) that holds the password
CREDENTIAL = "mqtt-password"


def resolve_credentials(cfg: MqttConfig, origin: str = "mqtt.broker") -> tuple[str, str]:
    """Username and password from the URL, the config, a file, a systemd credential or the
    environment (precedence: environment > credential > file > config > URL). Never logged.
    The credential is how install.sh --with-broker hands the daemon its local broker password."""
    url = parse_broker(cfg.broker, origin=origin)
    username = os.environ.get("MOOD_EDGE_MQTT_USERNAME") or cfg.username or url.username
    password = cfg.password or url.password
    files = [(cfg.password_file, "mqtt.password_file")] if cfg.password_file else []
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and os.path.isfile(os.path.join(credentials, CREDENTIAL)):
        files.append((os.path.join(credentials, CREDENTIAL), f"systemd credential {CREDENTIAL}"))
    for path, what in files:
        password = read_user_text(path, ConfigError, "a readable file holding the password",
                                  max_bytes=MAX_PASSWORD_FILE_BYTES, field=what).strip()
    password = os.environ.get("MOOD_EDGE_MQTT_PASSWORD") or password
    return username, password


#: where install.sh --with-broker keeps the login of `mood-edge watch` on the Pi (root and group
#: mood-edge may read it): the loopback listener takes no anonymous clients
WATCH_LOGIN = "/etc/mood-edge/watch-login"
WATCH_GROUP = "mood-edge"


def read_login_file(path: str | Path) -> tuple[str, str]:
    """``username`` and ``password`` from a login file (TOML) such as install.sh's watch-login."""
    try:
        text = read_user_text(path, ConfigError, "a TOML file with username and password",
                              max_bytes=MAX_PASSWORD_FILE_BYTES)
    except ConfigError as exc:
        if os.path.exists(path) and not os.access(path, os.R_OK):
            raise ConfigError("cannot read it: permission denied", path=path,
                              expected=f"root, or a member of group {WATCH_GROUP} (sudo usermod -aG {WATCH_GROUP} "
                                       "$USER, then log in again)") from None
        raise exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", path=path, expected='username = "..." and password = "..."') \
            from None
    login = tuple(data.get(key) for key in ("username", "password"))
    if not all(isinstance(v, str) and v for v in login):
        raise ConfigError("has no username and password", path=path, field="username / password",
                          expected="two non-empty strings")
    return login[0], login[1]


# -- credentials and TLS -------------------------------------------------------------------------
def configure_auth(client: mqtt.Client, cfg: MqttConfig, origin: str = "mqtt.broker") -> None:
    """Credentials, and TLS when the URL is ``mqtts://`` or ``mqtt.tls`` is set."""
    username, password = resolve_credentials(cfg, origin)
    if username:
        client.username_pw_set(username, password or None)
    if parse_broker(cfg.broker, origin=origin).tls or cfg.tls:
        _setup_tls(client, cfg)


def _setup_tls(client: mqtt.Client, cfg: MqttConfig) -> None:
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(cfg, key)
        if value and not Path(value).is_file():
            raise ConfigError("no such file", path=value, field=f"mqtt.{key}", expected="a PEM file")
    if bool(cfg.cert_file) != bool(cfg.key_file):
        raise ConfigError("a client certificate needs both files", field="mqtt.cert_file / mqtt.key_file",
                          expected="both set or both empty")
    try:
        client.tls_set(ca_certs=cfg.ca_file or None, certfile=cfg.cert_file or None,
                       keyfile=cfg.key_file or None,
                       cert_reqs=ssl.CERT_NONE if cfg.tls_insecure else ssl.CERT_REQUIRED)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise ConfigError(f"cannot set up TLS: {exc}", field="mqtt.ca_file",
                          expected="PEM CA / certificate / key files") from None
    if cfg.tls_insecure:
        log.warning("mqtt.tls_insecure is on: the broker's certificate is NOT verified")
        client.tls_insecure_set(True)
