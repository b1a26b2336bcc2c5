"""systemd/install.sh, run for real against a temporary root.

``--prefix ROOT --dry-run`` lays every file down under ROOT and prints (``+ ...``) the steps that
would act on this machine (apt, venv/pip, ownership, systemctl) instead of running them, so the
test never touches this machine's packages or services. The files it lays down are checked
against the repository, for idempotency, and for what --uninstall / --purge leave behind.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from edge import config as config_mod

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "systemd" / "install.sh"
UNIT = ROOT / "systemd" / "mood-edge.service"


def install(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL), "--prefix", str(root), "--dry-run", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **raspberry_pi_os(), **(env or {})})


_FAKES = Path(tempfile.mkdtemp(prefix="test-install-"))
atexit.register(shutil.rmtree, _FAKES, True)


def apt_cache(candidate: str | None) -> str:
    """A stand-in for apt-cache whose `policy python3-picamera2` shows this candidate
    (None: apt has never heard of the package, as on Debian without the Raspberry Pi repository)."""
    script = _FAKES / f"apt-cache-{candidate}"
    body = "" if candidate is None else f"echo 'python3-picamera2:'; echo '  Installed: (none)'; echo '  Candidate: {candidate}'"
    script.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'policy python3-picamera2' ] || exit 1\n{body}\n")
    script.chmod(0o755)
    return str(script)


def raspberry_pi_os() -> dict[str, str]:
    """What install.sh asks of the machine, as on a booted Raspberry Pi OS: apt has python3-picamera2
    and systemd runs as init (SYSTEMD_DIR stands for /run/systemd/system)."""
    booted = _FAKES / "run-systemd-system"
    booted.mkdir(exist_ok=True)
    return {"APT_CACHE": apt_cache("0.3.31-1"), "SYSTEMD_DIR": str(booted)}


NOT_BOOTED = {"SYSTEMD_DIR": "/nonexistent/run/systemd/system"}


def ok(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def steps(run: subprocess.CompletedProcess) -> list[list[str]]:
    """The system steps it printed instead of running, as argument lists."""
    return [shlex.split(line[2:]) for line in run.stdout.splitlines() if line.startswith("+ ")]


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def exec_start_binary() -> str:
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    return line.removeprefix("ExecStart=").split()[0]


def test_it_installs_the_unit_as_shipped(tmp_path):
    ok(install(tmp_path))
    assert (tmp_path / "etc/systemd/system/mood-edge.service").read_text() == UNIT.read_text()


def test_it_installs_a_default_config_that_loads_with_the_defaults(tmp_path):
    ok(install(tmp_path))
    installed = tmp_path / "etc/mood-edge/config.toml"
    assert installed.read_text() == (ROOT / "config.example.toml").read_text()
    cfg = config_mod.load(installed)
    assert cfg == config_mod.Config()
    assert cfg.camera.source == "picamera2"


def test_the_default_config_documents_every_key():
    import dataclasses
    import re

    text = (ROOT / "config.example.toml").read_text()
    for section in dataclasses.fields(config_mod.Config):
        if section.name == "origin":
            continue
        body = text.split(f"[{section.name}]\n", 1)[1].split("\n[", 1)[0]
        for key in dataclasses.fields(section.type if isinstance(section.type, type)
                                      else getattr(config_mod, section.type)):
            assert re.search(rf"^(# )?{key.name} = ", body, re.M), f"[{section.name}] {key.name} is not documented"


def test_the_venv_it_makes_is_where_the_unit_runs_the_daemon_from(tmp_path):
    run = ok(install(tmp_path))
    venv = Path(exec_start_binary()).parent.parent
    made = [s for s in steps(run) if s[1:3] == ["-m", "venv"]]
    assert made and made[0][3:] == ["--system-site-packages", f"{tmp_path}{venv}"]
    pip = next(s for s in steps(run) if s[0].endswith("/pip") and "install" in s)
    assert pip[0] == f"{tmp_path}{venv}/bin/pip"
    assert pip[-1] == str(ROOT)  # this checkout, without extras: no TensorFlow


def test_the_package_it_pip_installs_does_not_need_tensorflow():
    import ast

    setup = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(setup) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    requires = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "install_requires"))
    assert requires and not any("tensorflow" in r.lower() for r in requires), requires


def test_apt_gets_picamera2_and_venv_but_no_broker_unless_asked(tmp_path):
    apt = next(s for s in steps(ok(install(tmp_path))) if "apt-get" in s and "install" in s)
    assert {"python3-picamera2", "python3-venv"} <= set(apt)
    assert "mosquitto" not in apt
    apt = next(s for s in steps(ok(install(tmp_path, "--with-broker"))) if "apt-get" in s and "install" in s)
    assert {"mosquitto", "mosquitto-clients"} <= set(apt)


def test_it_enables_and_starts_the_service(tmp_path):
    printed = [" ".join(s) for s in steps(ok(install(tmp_path)))]
    assert printed[-3:] == ["systemctl daemon-reload", "systemctl enable mood-edge.service",
                            "systemctl restart mood-edge.service"]
    printed = [" ".join(s) for s in steps(ok(install(tmp_path, "--no-start")))]
    assert "systemctl restart mood-edge.service" not in printed


def test_every_system_step_is_only_printed_under_a_prefix(tmp_path):
    run = ok(install(tmp_path, "--with-broker"))
    assert all(s[0] in ("apt-get", "env", "systemctl", "chgrp", "chmod", "rm", "groupadd")
               or s[0].endswith(("python3", "pip"))
               for s in steps(run)), steps(run)
    assert not (tmp_path / "opt/mood-edge/venv").exists()


def test_a_prefix_without_dry_run_is_refused(tmp_path):
    run = subprocess.run(["bash", str(INSTALL), "--prefix", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2
    assert "needs --dry-run" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_destdir_works_like_prefix(tmp_path):
    run = subprocess.run(["bash", str(INSTALL), "--dry-run"], capture_output=True, text=True,
                         env={**os.environ, "DESTDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "etc/systemd/system/mood-edge.service").exists()


def test_running_it_twice_changes_nothing(tmp_path):
    ok(install(tmp_path, "--with-broker"))
    first = tree(tmp_path)
    second = ok(install(tmp_path, "--with-broker"))
    assert tree(tmp_path) == first
    assert "installed" not in second.stdout.replace("unchanged", "")


def test_an_edited_config_is_never_overwritten(tmp_path):
    ok(install(tmp_path))
    config = tmp_path / "etc/mood-edge/config.toml"
    config.write_text('[camera]\nsource = "v4l2:0"\n')
    run = ok(install(tmp_path))
    assert config.read_text() == '[camera]\nsource = "v4l2:0"\n'
    assert "kept your /etc/mood-edge/config.toml" in run.stdout
    assert (tmp_path / "etc/mood-edge/config.example.toml").read_text() == (ROOT / "config.example.toml").read_text()


def test_numpy_is_held_at_the_system_version_for_picamera2(tmp_path):
    """Bookworm's apt picamera2/simplejpeg are built for numpy 1.24: a venv numpy 2 would break them."""
    fake_bookworm_python = tmp_path / "python3"
    fake_bookworm_python.write_text("#!/bin/sh\necho 1.24.2\n")  # stands in for /usr/bin/python3 -c '...'
    fake_bookworm_python.chmod(0o755)
    root = tmp_path / "root"
    run = ok(install(root, env={"SYSTEM_PYTHON": str(fake_bookworm_python)}))
    constraints = (root / "opt/mood-edge/constraints.txt").read_text().splitlines()
    assert "numpy==1.24.2" in constraints and "opencv-python-headless<4.12" in constraints
    pip = next(s for s in steps(run) if s[0].endswith("/pip"))
    assert pip[pip.index("--constraint") + 1] == f"{root}/opt/mood-edge/constraints.txt"


def test_with_numpy_2_on_the_system_opencv_is_not_held_back(tmp_path):
    ok(install(tmp_path, env={"SYSTEM_PYTHON": sys.executable}))
    import numpy

    constraints = (tmp_path / "opt/mood-edge/constraints.txt").read_text().splitlines()
    assert f"numpy=={numpy.__version__}" in constraints
    assert not any(line.startswith("opencv") for line in constraints)


def test_the_broker_files_are_laid_down_with_certificates(tmp_path):
    ok(install(tmp_path, "--with-broker"))
    etc = tmp_path / "etc/mosquitto"
    assert (etc / "conf.d/mood-edge.conf").read_text() == (ROOT / "systemd/mosquitto/mood-edge.conf").read_text()
    for name in ("acl", "acl-displays"):
        assert (etc / "mood-edge" / name).read_text() == (ROOT / "systemd/mosquitto" / name).read_text()
    assert (etc / "mood-edge/passwd-displays").read_text() == ""
    # two users: the daemon on this Pi, whose password is its systemd credential (local-broker.conf),
    # and `mood-edge watch` on this Pi
    assert [line.split(":")[0] for line in (etc / "mood-edge/passwd").read_text().splitlines()] == \
        ["mood-edge-local", "mood-edge-watch"]
    for name in ("passwd", "passwd-displays"):
        assert (etc / "mood-edge" / name).stat().st_mode & 0o777 == 0o640
    secret = tmp_path / "etc/mood-edge/mqtt-password"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) >= 20
    dropin = (tmp_path / "etc/systemd/system/mood-edge.service.d/local-broker.conf").read_text()
    assert "LoadCredential=mqtt-password:/etc/mood-edge/mqtt-password" in dropin
    assert "Environment=MOOD_EDGE_MQTT_USERNAME=mood-edge-local" in dropin
    certs = etc / "mood-edge/certs"
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(certs / "ca.crt"), str(certs / "server.crt")],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert os.access(tmp_path / "opt/mood-edge/bin/mood-edge-user.sh", os.X_OK)


def test_existing_certificates_are_kept(tmp_path):
    ok(install(tmp_path, "--with-broker"))
    ca = (tmp_path / "etc/mosquitto/mood-edge/certs/ca.crt").read_bytes()
    run = ok(install(tmp_path, "--with-broker"))
    assert (tmp_path / "etc/mosquitto/mood-edge/certs/ca.crt").read_bytes() == ca
    assert "kept the TLS certificates" in run.stdout


def test_uninstall_removes_the_service_and_venv_but_keeps_the_config(tmp_path):
    ok(install(tmp_path))
    (tmp_path / "opt/mood-edge/venv/bin").mkdir(parents=True)  # as a real install would have made
    run = ok(install(tmp_path, "--uninstall"))
    assert ["systemctl", "disable", "--now", "mood-edge.service"] in steps(run)
    assert not (tmp_path / "etc/systemd/system/mood-edge.service").exists()
    assert not (tmp_path / "opt/mood-edge").exists()
    assert (tmp_path / "etc/mood-edge/config.toml").exists()


def test_uninstall_purge_removes_config_and_state(tmp_path):
    ok(install(tmp_path, "--with-broker"))
    for state in ("var/lib/mood-edge", "var/lib/private/mood-edge"):
        (tmp_path / state).mkdir(parents=True)
        (tmp_path / state / "recommend-history.json").write_text("[]")
    ok(install(tmp_path, "--uninstall", "--purge", "--with-broker"))
    left = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()]
    assert left == []


def test_purge_without_uninstall_is_refused(tmp_path):
    run = install(tmp_path, "--purge")
    assert run.returncode == 2 and "--purge only goes with --uninstall" in run.stderr


def test_help_describes_the_options():
    run = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True)
    assert run.returncode == 0
    for option in ("--with-broker", "--uninstall", "--purge", "--prefix", "--dry-run", "--no-start", "--no-picamera2"):
        assert option in run.stdout


@pytest.mark.parametrize("bad", ["--frobnicate", "--prefix"])
def test_bad_options_are_refused_with_a_message(bad, tmp_path):
    run = subprocess.run(["bash", str(INSTALL), bad], capture_output=True, text=True)
    assert run.returncode == 2 and "install.sh: error:" in run.stderr


# --- Where the Raspberry Pi apt repository is absent (Debian, Ubuntu, an x86 box with a USB webcam)

def apt_install(run: subprocess.CompletedProcess) -> list[str]:
    return next(s for s in steps(run) if "apt-get" in s and "install" in s)


@pytest.mark.parametrize("candidate", [None, "(none)"], ids=["unknown-package", "no-candidate"])
def test_without_picamera2_in_apt_it_says_so_in_one_line_and_installs_for_usb_cameras(tmp_path, candidate):
    run = ok(install(tmp_path, env={"APT_CACHE": apt_cache(candidate)}))
    said = [line for line in run.stdout.splitlines() if "python3-picamera2" in line]
    assert len(said) == 1 and "Raspberry Pi OS repository" in said[0] and "USB" in said[0], run.stdout
    assert "python3-picamera2" not in apt_install(run) and "python3-venv" in apt_install(run)
    assert any(s[0].endswith("/pip") for s in steps(run))  # and it carries on


def test_without_picamera2_a_new_config_uses_the_first_usb_camera(tmp_path):
    ok(install(tmp_path, env={"APT_CACHE": apt_cache(None)}))
    cfg = config_mod.load(tmp_path / "etc/mood-edge/config.toml")
    assert cfg.camera.source == "v4l2:0"
    cfg.camera.source = "picamera2"
    assert cfg == config_mod.Config()  # nothing else differs from the defaults


def test_without_picamera2_a_config_asking_for_the_pi_camera_stops_it_before_installing(tmp_path):
    config = tmp_path / "etc/mood-edge/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[camera]\nsource = "picamera2"\n')
    run = install(tmp_path, env={"APT_CACHE": apt_cache("(none)")})
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "/etc/mood-edge/config.toml" in run.stderr
    assert "python3-picamera2" in run.stderr and 'v4l2:0' in run.stderr
    assert not [s for s in steps(run) if "install" in s]  # neither apt nor pip ran
    assert not (tmp_path / "etc/systemd/system/mood-edge.service").exists()
    assert config.read_text() == '[camera]\nsource = "picamera2"\n'


def test_without_picamera2_a_usb_camera_config_installs(tmp_path):
    config = tmp_path / "etc/mood-edge/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[camera]\n# source = "picamera2"\nsource = "v4l2:/dev/video2"\n')
    ok(install(tmp_path, env={"APT_CACHE": apt_cache(None)}))
    assert config.read_text().endswith('source = "v4l2:/dev/video2"\n')


def test_without_picamera2_running_it_twice_changes_nothing(tmp_path):
    env = {"APT_CACHE": apt_cache(None)}
    ok(install(tmp_path, env=env))
    first = tree(tmp_path)
    second = ok(install(tmp_path, env=env))
    assert tree(tmp_path) == first
    assert "unchanged /etc/mood-edge/config.toml" in second.stdout


def test_no_picamera2_skips_it_even_where_apt_has_it(tmp_path):
    run = ok(install(tmp_path, "--no-picamera2"))
    assert "python3-picamera2" not in apt_install(run)
    assert "--no-picamera2: installing without the Pi camera" in run.stdout
    assert config_mod.load(tmp_path / "etc/mood-edge/config.toml").camera.source == "v4l2:0"


def test_no_picamera2_with_a_config_asking_for_it_installs_with_a_warning(tmp_path):
    ok(install(tmp_path))  # the default config: source = "picamera2"
    run = ok(install(tmp_path, "--no-picamera2", env={"APT_CACHE": apt_cache(None)}))
    assert "python3-picamera2" not in apt_install(run)
    assert 'warning: /etc/mood-edge/config.toml asks for camera.source = "picamera2"' in run.stdout


# --- Where systemd is not running as init (a chroot, a container, an image build)

def test_without_systemd_running_it_enables_offline_and_starts_nothing(tmp_path):
    run = ok(install(tmp_path, env=NOT_BOOTED))
    printed = [" ".join(s) for s in steps(run)]
    assert "env SYSTEMD_OFFLINE=1 systemctl enable mood-edge.service" in printed
    assert not [p for p in printed if p.startswith("systemctl")]  # no daemon-reload, no restart
    assert ("systemd is not running here (no /nonexistent/run/systemd/system: a chroot, container or image "
            "build): enabled mood-edge.service without starting it") in run.stdout
    assert "install.sh: started" not in run.stdout


def test_without_systemd_running_the_broker_is_enabled_not_restarted(tmp_path):
    printed = [" ".join(s) for s in steps(ok(install(tmp_path, "--with-broker", env=NOT_BOOTED)))]
    assert "env SYSTEMD_OFFLINE=1 systemctl enable mosquitto" in printed
    assert not [p for p in printed if p.startswith("systemctl")]


def test_without_systemd_running_uninstall_disables_offline(tmp_path):
    ok(install(tmp_path, env=NOT_BOOTED))
    run = ok(install(tmp_path, "--uninstall", env=NOT_BOOTED))
    printed = [" ".join(s) for s in steps(run)]
    assert printed == ["env SYSTEMD_OFFLINE=1 systemctl disable mood-edge.service"]
    assert not (tmp_path / "etc/systemd/system/mood-edge.service").exists()


def test_it_says_started_only_when_it_started(tmp_path):
    """A dry run starts nothing, so it never claims to have."""
    run = ok(install(tmp_path))
    assert "install.sh: started" not in run.stdout and "dry run: nothing was started" in run.stdout
    assert "install.sh: started" not in ok(install(tmp_path, "--no-start")).stdout


def test_uninstalling_twice_is_harmless(tmp_path):
    ok(install(tmp_path))
    ok(install(tmp_path, "--uninstall"))
    run = ok(install(tmp_path, "--uninstall"))
    assert not [s for s in steps(run) if "disable" in s]


def test_watch_on_the_pi_gets_a_login_that_root_and_group_mood_edge_may_read(tmp_path):
    run = ok(install(tmp_path, "--with-broker"))
    login = tmp_path / "etc/mood-edge/watch-login"
    assert login.stat().st_mode & 0o777 == 0o640
    from edge.mqtt.credentials import read_login_file
    user, password = read_login_file(login)
    assert user == "mood-edge-watch" and len(password) >= 20
    assert ["chgrp", "mood-edge", str(login)] in steps(run)
    if subprocess.run(["getent", "group", "mood-edge"], capture_output=True).returncode != 0:
        assert ["groupadd", "--system", "mood-edge"] in steps(run)
    assert os.readlink(tmp_path / "usr/local/bin/mood-edge") == exec_start_binary()


def test_the_server_certificate_names_this_hosts_addresses(tmp_path):
    ok(install(tmp_path, "--with-broker"))
    san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                          str(tmp_path / "etc/mosquitto/mood-edge/certs/server.crt")],
                         capture_output=True, text=True, check=True).stdout
    addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    for address in (a for a in addresses if ":" not in a):
        assert f"IP Address:{address}" in san


def test_uninstall_removes_the_command_link(tmp_path):
    ok(install(tmp_path))
    ok(install(tmp_path, "--uninstall"))
    assert not os.path.lexists(tmp_path / "usr/local/bin/mood-edge")
