"""`mood-edge demo` as a newcomer runs it: the terminal view and the TV page it serves, live.

The demo runs for real (embedded amqtt broker with a websockets listener, the daemon on the
bundled clip); headless Chromium opens the URL it prints and must show the mood and films.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_web_display import CHROMIUM, NODE, Browser, only, sel  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
URL_LINE = re.compile(r"^TV page: (http://127\.0\.0\.1:\d+/\S*)", re.M)

pytest.importorskip("amqtt")


def demo(*args: str, env: dict | None = None) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.Popen([sys.executable, "-m", "edge", "demo", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**base, **(env or {})})


def read_until(proc: subprocess.Popen, pattern: str, timeout: float = 60) -> str:
    """stdout up to and including the first line matching ``pattern``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"no line matching {pattern!r}; got:\n{''.join(seen)}{proc.stderr.read()[-2000:]}")


@pytest.mark.skipif(NODE is None or not Path(CHROMIUM).exists(), reason="needs node and Chromium")
@pytest.mark.skipif(not (ROOT / "displays/web/vendor/mqtt.min.js").is_file(), reason="no vendored mqtt.js")
def test_the_demo_prints_a_url_whose_page_shows_the_mood_and_films_live():
    proc = demo("--seconds", "25", "--no-browser")
    browser = None
    try:
        head = read_until(proc, r"^TV page: ")
        url = URL_LINE.search(head).group(1)
        browser = Browser()
        browser.send("open", url=url, width=1920, height=1080)
        browser.wait(f"{sel('demo')} && {sel('demo')}.querySelectorAll('.film').length === 5", timeout_ms=40000)
        browser.wait(f"{sel('demo')}.dataset.mood === 'happy'", timeout_ms=40000)  # the clip's smiling face
        snap = browser.send("snapshot")
        d = only(snap, "demo")
        assert d["word"] == "Happy" and d["status"] == "Live" and len(d["films"]) == 5
        assert all(f["title"] and f["year"] for f in d["films"])
        assert snap["problems"] == []
        browser.send("screenshot", path=str(ROOT / "artifacts" / "demo-page.png"))
        browser.send("open", url=url, width=1280, height=720)  # the TV reloads the page: one display goes
        browser.wait(f"{sel('demo')} && {sel('demo')}.dataset.status === 'live'", timeout_ms=40000)
        browser.close()  # and the TV is switched off while messages are on their way to it
        browser = None
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        assert "demo: mood=happy" in head + out  # the terminal view is still there
        assert "Traceback" not in out + err and "never retrieved" not in err, err[-3000:]
        assert not re.search(r"demo: mood=nobody .*faces=[1-9]", head + out)  # one story: nobody has no faces
    finally:
        if browser:
            browser.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_without_mqtt_js_the_demo_says_so_in_one_line_and_carries_on_in_the_terminal(tmp_path):
    data = tmp_path / "data"
    (data / "displays").mkdir(parents=True)
    for name in ("models", "samples", "catalog.json"):
        (data / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "displays/web", data / "displays/web", ignore=shutil.ignore_patterns("vendor"))
    proc = demo("--seconds", "6", env={"MOOD_EDGE_DATA": str(data)})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    (line,) = [l for l in out.splitlines() if l.startswith("TV page:")]
    assert "mqtt.min.js is missing" in line and line.endswith("carrying on in the terminal")
    assert "demo: online" in out and "mood=" in out and "Traceback" not in err


def test_the_demo_opens_the_page_with_the_users_browser(tmp_path):
    opened = tmp_path / "opened"
    fake = tmp_path / "browser"
    fake.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    fake.chmod(0o755)
    proc = demo("--seconds", "3", env={"BROWSER": str(fake)})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    if not (ROOT / "displays/web/vendor/mqtt.min.js").is_file():
        pytest.skip("no vendored mqtt.js: the page is not served")
    url = URL_LINE.search(out).group(1)
    assert f"(opened with {fake})" in out
    deadline = time.monotonic() + 10
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened.read_text().strip() == url
