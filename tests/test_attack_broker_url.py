"""Issue 22 row 9: a broker URL whose password holds ``/`` or ``@`` (people paste passwords as
they are). It must log in with the whole password, and no error may show any part of it."""

from __future__ import annotations

import os
import pwd
import subprocess

import pytest

from edge.config import mask_url, parse_broker
from mqtt_helpers import Mosquitto, publish
from state_helpers import state

PASSWORD = "pa/ss@TOP:SECRET"


@pytest.mark.parametrize("url, user, password, host", [
    ("mqtt://livingroom:qw/er@pi.lan", "livingroom", "qw/er", "pi.lan"),
    ("mqtts://user:TOP@SECRET@broker.lan:8884", "user", "TOP@SECRET", "broker.lan"),
    (f"mqtt://livingroom:{PASSWORD}@127.0.0.1:1884", "livingroom", PASSWORD, "127.0.0.1"),
])
def test_a_password_with_slash_or_at_is_taken_whole_and_the_host_after_the_last_at(url, user, password, host):
    got = parse_broker(url)
    assert (got.username, got.password, got.host) == (user, password, host)
    assert mask_url(url) == f"{url.split('://')[0]}://{user}:***@{url.rsplit('@', 1)[1]}"


@pytest.mark.parametrize("broker", [
    "mqtt://livingroom:qw/er@",                 # no host after the password
    "mqtt://livingroom:qw/er@pi.lan:99999",     # a bad port
    "http://user:TOP@SECRET@pi.lan",            # a wrong scheme
    "mqtt://user:TOP@SECRET@pi lan",            # a space in the host
])
def test_a_config_error_on_a_url_with_slash_or_at_in_the_password_shows_none_of_it(tmp_path, cli, broker):
    conf = tmp_path / "config.toml"
    conf.write_text(f'[mqtt]\nbroker = "{broker}"\n')
    r = cli("watch", "--config", str(conf), "--plain", "--timeout", "3")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "mqtt.broker" in r.stderr or "broker" in r.stderr
    for secret_part in ("qw/er", "qw", "/er@", "TOP", "SECRET"):
        assert secret_part not in r.stderr, r.stderr
    assert ":***@" in r.stderr


def test_a_password_with_slash_and_at_logs_in_to_a_real_broker(cli):
    b = Mosquitto(anonymous=False)
    pwfile = b.dir / "passwd"
    pwfile.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "livingroom", PASSWORD], check=True)
    b.extra_conf = f"password_file {pwfile}\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
    b.start()
    try:
        publish(b.port, "mood-edge/slash1/state", state(device="slash1"), username="livingroom", password=PASSWORD)
        r = cli("watch", "--broker", f"mqtt://livingroom:{PASSWORD}@127.0.0.1:{b.port}", "--plain", "--count", "1",
                "--timeout", "60")
        assert r.returncode == 0 and r.stdout.startswith("slash1: mood=happy"), r.stderr
        assert "pa/ss" not in r.stderr and "SECRET" not in r.stderr  # warned about, never shown
    finally:
        b.stop()
