"""Run the real daemon as a user would: ``python -m edge run`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from faces import astronaut_gray, empty_room, write_images

ROOT = Path(__file__).resolve().parent.parent

FAST = """\
[camera]
fps = 30
retry_s = 0.2
retry_max_s = 1.0
[mood]
dwell_s = 0.3
nobody_after_s = 0.5
[mqtt]
heartbeat_s = 1.0
reconnect_min_s = 1
reconnect_max_s = 2
[recommend]
seed = 7
"""


def fast_config(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "config.toml"
    p.write_text(FAST + extra)
    return p


def astronaut_folder(tmp_path: Path, n: int = 3) -> Path:
    return write_images(tmp_path / "astronaut", [astronaut_gray()] * n)


def empty_folder(tmp_path: Path, n: int = 3) -> Path:
    return write_images(tmp_path / "empty", [empty_room()] * n)


def daemon_cmd(config: Path, camera: str, broker: str, device: str, state_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edge", "run", "--config", str(config), "--camera", camera,
            "--broker", broker, "--device-id", device, "--state-dir", str(state_dir), *extra]


def start_daemon(cmd: list[str], env: dict | None = None, log_path: Path | None = None) -> subprocess.Popen:
    out = open(log_path, "w") if log_path else subprocess.PIPE
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


#: runs ``argv`` and prints its peak RSS in kB (RUSAGE_CHILDREN of a process whose only child it is)
RSS_WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'rc', r.returncode)")


def peak_rss(cmd: list[str], timeout: float = 240) -> tuple[int, int, str]:
    """(peak RSS in MB, exit code, stderr) of ``cmd``."""
    run = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *cmd], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    line = [x for x in run.stdout.splitlines() if x.startswith("peak-rss-kb")][-1].split()
    return int(line[1]) // 1024, int(line[3]), run.stderr
