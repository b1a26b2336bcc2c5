"""displays/fetch_mqtt_js.py: mqtt.js for hosts without Node, only ever the file the lock names.

A copy of the script runs in a temporary displays/ folder whose package-lock.json names a tarball
built here from the real mqtt package (displays/node_modules/mqtt, as `npm ci` left it), so the
integrity check is exercised for real without the network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "displays" / "node_modules" / "mqtt"

pytestmark = pytest.mark.skipif(not (PKG / "dist" / "mqtt.min.js").is_file(),
                                reason="needs displays/node_modules/mqtt (npm --prefix displays ci)")


def tarball() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel in ("package.json", "LICENSE.md", "dist/mqtt.min.js"):
            tar.add(PKG / rel, arcname=f"package/{rel}")
    return buf.getvalue()


@pytest.fixture
def displays(tmp_path):
    """A displays/ folder without node_modules, its lock naming our tarball's sha512."""
    d = tmp_path / "displays"
    d.mkdir()
    shutil.copy(ROOT / "displays" / "fetch_mqtt_js.py", d)
    data = tarball()
    version = json.loads((PKG / "package.json").read_text())["version"]
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    (d / "package-lock.json").write_text(json.dumps(
        {"packages": {"node_modules/mqtt": {"version": version, "integrity": integrity}}}))
    (tmp_path / "mqtt.tgz").write_bytes(data)
    return d


def fetch(d: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(d / "fetch_mqtt_js.py"), *args], capture_output=True, text=True,
                          timeout=60)


def test_a_tarball_matching_the_lock_is_unpacked_into_the_vendor_folder(displays):
    run = fetch(displays, "--tarball", str(displays.parent / "mqtt.tgz"), "--offline")
    assert run.returncode == 0, run.stderr
    out = displays / "web" / "vendor"
    assert (out / "mqtt.min.js").read_bytes() == (PKG / "dist" / "mqtt.min.js").read_bytes()
    assert (out / "mqtt.LICENSE").read_bytes() == (PKG / "LICENSE.md").read_bytes()
    assert "sha512 checked" in run.stdout
    again = fetch(displays, "--offline")
    assert again.returncode == 0 and "already there" in again.stdout


def test_a_tarball_that_does_not_match_the_lock_is_refused_and_nothing_written(displays, tmp_path):
    other = tmp_path / "other.tgz"
    other.write_bytes(tarball()[:-10] + b"x" * 10)
    run = fetch(displays, "--tarball", str(other), "--out", str(tmp_path / "v"))
    assert run.returncode == 1 and "does not match package-lock.json" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists()


def test_with_nothing_to_copy_and_no_network_allowed_it_says_why_in_one_line(displays, tmp_path):
    run = fetch(displays, "--offline", "--out", str(tmp_path / "v"))
    assert run.returncode == 1
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("fetch_mqtt_js.py: mqtt.js not available:") and "--offline" in line
