"""Shared fixtures: a real mosquitto per test session (and per test where a test breaks it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from mqtt_helpers import Mosquitto, Subscriber  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def broker() -> Mosquitto:
    """One mosquitto for tests that only publish and subscribe."""
    b = Mosquitto().start()
    yield b
    b.stop()


@pytest.fixture
def own_broker() -> Mosquitto:
    """A mosquitto this test may stop, restart or reconfigure."""
    b = Mosquitto().start()
    yield b
    b.stop()


@pytest.fixture
def subscriber_factory():
    subs: list[Subscriber] = []

    def make(port: int, topics: list[str]) -> Subscriber:
        s = Subscriber(port, topics)
        subs.append(s)
        return s

    yield make
    for s in subs:
        s.close()


def run_cli(*args: str, timeout: float = 120, env: dict | None = None, cwd: Path | None = None,
            module: str = "edge") -> subprocess.CompletedProcess:
    """Run ``python -m edge ...`` (or ``-m convert``) as a user would, capturing its output."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or ROOT)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def notify_socket():
    """The NOTIFY_SOCKET systemd would own (tests/notify_helpers.py)."""
    from notify_helpers import NotifySocket

    s = NotifySocket()
    yield s
    s.close()


@pytest.fixture(scope="module")
def shipped_catalog():
    """catalog.json as it ships: the films a household library is matched against."""
    from edge.paths import default_catalog
    from edge.recommend.catalog import load_catalog

    return load_catalog(default_catalog())


@pytest.fixture
def no_hang():
    """A blocking open or read in the test fails it after 60 s instead of hanging the run."""
    def expired(signum, frame):
        raise TimeoutError("blocked for 60 s (a FIFO opened or read without O_NONBLOCK?)")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)

