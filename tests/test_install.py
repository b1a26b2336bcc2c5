"""systemd/install.sh, run for real against a temporary root.

``--prefix ROOT --dry-run`` lays every file down under ROOT and prints (``+ ...``) the steps that
would act on this machine (apt, venv/pip, ownership, systemctl) instead of running them, so the
test never touches this machine's packages or services. The files it lays down are checked
against the repository, for idempotency, and for what --uninstall / --purge leave behind.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from edge import config as config_mod

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "systemd" / "install.sh"
UNIT = ROOT / "systemd" / "mood-edge.service"


def install(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL), "--prefix", str(root), "--dry-run", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


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
    assert all(s[0] in ("apt-get", "env", "systemctl", "chgrp", "chmod", "rm") or s[0].endswith(("python3", "pip"))
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
    for name in ("passwd", "passwd-displays"):
        assert (etc / "mood-edge" / name).read_text() == ""
        assert (etc / "mood-edge" / name).stat().st_mode & 0o777 == 0o640
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
    for option in ("--with-broker", "--uninstall", "--purge", "--prefix", "--dry-run", "--no-start"):
        assert option in run.stdout


@pytest.mark.parametrize("bad", ["--frobnicate", "--prefix"])
def test_bad_options_are_refused_with_a_message(bad, tmp_path):
    run = subprocess.run(["bash", str(INSTALL), bad], capture_output=True, text=True)
    assert run.returncode == 2 and "install.sh: error:" in run.stderr
