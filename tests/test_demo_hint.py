"""After the demo, the commands the README names work: the demo says how to reach them."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path


def _hint_in(prefix: Path, path_env: str) -> str:
    code = "import sys; from edge.commands.demo import activate_hint; print(activate_hint())"
    env = {**os.environ, "PATH": path_env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([str(prefix / "bin" / "python"), "-c", code], env=env, text=True,
                          capture_output=True, check=True, cwd=prefix.parent).stdout.strip()


def _venv_with_launcher(tmp_path: Path) -> Path:
    prefix = tmp_path / ".venv-edge"
    venv.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=True).create(prefix)
    (prefix / "bin" / "mood-edge").write_text("#!/bin/sh\n")
    (prefix / "bin" / "mood-edge").chmod(0o755)
    return prefix


def test_a_demo_run_from_its_venv_names_the_activate_line(tmp_path):
    prefix = _venv_with_launcher(tmp_path)
    hint = _hint_in(prefix, "/usr/bin:/bin")
    assert "source .venv-edge/bin/activate" in hint and "mood-edge check" in hint


def test_with_the_venv_activated_the_demo_adds_no_hint(tmp_path):
    prefix = _venv_with_launcher(tmp_path)
    assert _hint_in(prefix, f"{prefix / 'bin'}:/usr/bin:/bin") == "None"

