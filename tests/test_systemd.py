"""systemd/mood-edge.service: what systemd itself says about the unit, and the daemon in its sandbox.

``systemd-analyze verify`` must be clean and ``systemd-analyze security --offline=true`` must
score an overall exposure of at most 2.0. verify checks that ExecStart's binary exists, so it
runs on a temporary copy whose ExecStart points at this interpreter (``python -m edge run ...``)
instead of /opt/mood-edge/venv/bin/mood-edge, which only exists on an installed Pi.

The sandbox test runs the real daemon (real frames, the shipped model, a real mosquitto) under
the unit's own ``SystemCallFilter=`` (expanded by ``systemd-analyze syscall-filter`` and loaded
with libseccomp, denied calls failing with EPERM as ``SystemCallErrorNumber=EPERM`` says) and
``MemoryDenyWriteExecute=`` (the kernel's equivalent, ``prctl(PR_SET_MDWE)``, Linux 6.3+), to
show LiteRT + XNNPACK, OpenCV, NumPy and paho need neither a forbidden call nor W+X memory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from daemon_helpers import astronaut_folder, fast_config  # noqa: E402

from edge.paths import default_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "mood-edge.service"
ANALYZE = shutil.which("systemd-analyze")
EXEC_START = "/opt/mood-edge/venv/bin/mood-edge run --config /etc/mood-edge/config.toml"
MAX_EXPOSURE = 2.0

needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian: systemd)")


def unit_entries(text: str) -> dict[str, list[str]]:
    """``Section.Key`` -> every value in order (systemd allows a key many times)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


@pytest.fixture(scope="module")
def unit() -> dict[str, list[str]]:
    return unit_entries(UNIT.read_text())


def one(unit: dict[str, list[str]], key: str) -> str:
    values = unit.get(key, [])
    assert len(values) == 1, f"{key}: expected one value, got {values}"
    return values[0]


def verifiable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify requires that)."""
    text = UNIT.read_text()
    assert f"ExecStart={EXEC_START}" in text
    copy = tmp_path / "mood-edge.service"
    copy.write_text(text.replace(f"ExecStart={EXEC_START}",
                                 f"ExecStart={sys.executable} -m edge run --config /etc/mood-edge/config.toml"))
    return copy


def security_report(path: Path) -> str:
    run = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", str(path)],
                         capture_output=True, text=True, timeout=120)
    return run.stdout + run.stderr


# --- systemd's own checks -------------------------------------------------------------------------

@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path):
    run = subprocess.run([ANALYZE, "verify", "--man=no", str(verifiable_copy(tmp_path))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "" and run.stderr.strip() == "", run.stdout + run.stderr


@needs_analyze
def test_the_overall_exposure_is_at_most_2():
    report = security_report(UNIT)
    match = re.search(r"Overall exposure level for mood-edge\.service: (\d+\.\d+)", report)
    assert match, report
    assert float(match.group(1)) <= MAX_EXPOSURE, report


@needs_analyze
def test_systemd_understands_the_camera_device_classes():
    report = security_report(UNIT)
    line = next(x for x in report.splitlines() if "DeviceAllow=" in x)
    for spec in ("char-video4linux:rw", "char-media:rw", "char-dma_heap:rw"):
        assert spec in line, line


# --- what the unit promises -----------------------------------------------------------------------

def test_it_is_a_notify_service_with_a_watchdog(unit):
    assert one(unit, "Service.Type") == "notify"
    assert one(unit, "Service.NotifyAccess") == "main"
    assert int(one(unit, "Service.WatchdogSec")) > 0


def test_it_restarts_on_failure_with_a_start_limit(unit):
    assert one(unit, "Service.Restart") == "on-failure"
    assert int(one(unit, "Service.RestartSec")) > 0
    assert int(one(unit, "Unit.StartLimitBurst")) > 1
    assert int(one(unit, "Unit.StartLimitIntervalSec")) > int(one(unit, "Service.RestartSec")) * int(
        one(unit, "Unit.StartLimitBurst"))


def test_it_starts_after_the_network_is_online(unit):
    assert "network-online.target" in one(unit, "Unit.After").split()
    assert "network-online.target" in one(unit, "Unit.Wants").split()
    assert one(unit, "Install.WantedBy") == "multi-user.target"


def test_it_runs_the_installed_daemon_with_the_etc_config(unit):
    assert one(unit, "Service.ExecStart") == EXEC_START


def test_state_config_and_logs_go_where_systemd_manages_them(unit):
    assert one(unit, "Service.StateDirectory") == "mood-edge"  # $STATE_DIRECTORY for the daemon
    assert one(unit, "Service.ConfigurationDirectory") == "mood-edge"
    assert one(unit, "Service.StandardOutput") == "journal"
    assert one(unit, "Service.StandardError") == "journal"


def test_it_runs_as_an_unprivileged_user_in_the_video_group(unit):
    assert one(unit, "Service.DynamicUser") == "yes"
    assert one(unit, "Service.SupplementaryGroups") == "video"
    assert one(unit, "Service.CapabilityBoundingSet") == ""
    assert one(unit, "Service.NoNewPrivileges") == "yes"


def test_only_camera_devices_are_allowed(unit):
    assert one(unit, "Service.DevicePolicy") == "closed"
    assert sorted(unit["Service.DeviceAllow"]) == ["char-dma_heap rw", "char-media rw", "char-video4linux rw"]


@pytest.mark.parametrize("key, value", [
    ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
    ("MemoryDenyWriteExecute", "yes"), ("RestrictNamespaces", "yes"), ("LockPersonality", "yes"),
    ("SystemCallArchitectures", "native"), ("SystemCallErrorNumber", "EPERM"),
])
def test_it_is_hardened(unit, key, value):
    assert one(unit, f"Service.{key}") == value


def test_only_the_socket_families_it_needs(unit):
    assert set(one(unit, "Service.RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6",
                                                                         "AF_NETLINK"}


# --- the daemon inside the unit's sandbox ---------------------------------------------------------

def expand_syscall_set(name: str, cache: dict[str, set[str]]) -> set[str]:
    if not name.startswith("@"):
        return {name}
    if name not in cache:
        out = subprocess.run([ANALYZE, "syscall-filter", "--no-pager", name], capture_output=True, text=True,
                             check=True).stdout
        members: set[str] = set()
        for line in out.splitlines()[1:]:
            item = line.strip()
            if item and not item.startswith("#"):
                members |= expand_syscall_set(item, cache)
        cache[name] = members
    return cache[name]


def unit_syscall_allow_list(unit: dict[str, list[str]]) -> list[str]:
    """SystemCallFilter= as systemd reads it: the first allow-list, minus every ``~`` list after it."""
    cache: dict[str, set[str]] = {}
    allowed: set[str] = set()
    for value in unit["Service.SystemCallFilter"]:
        deny = value.startswith("~")
        names = set().union(*(expand_syscall_set(n, cache) for n in value.lstrip("~").split()))
        allowed = allowed - names if deny else allowed | names
    return sorted(allowed)


#: applies the sandbox to this very process, proves it bites, then runs `python -m edge ...`
SANDBOX_LAUNCHER = r"""
import ctypes, errno, json, mmap, os, runpy, sys
libc = ctypes.CDLL(None, use_errno=True)
if os.environ.get("SANDBOX_MDWE") == "1":
    PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        sys.exit(77)
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        sys.exit("sandbox: W+X memory was still allowed")
    except PermissionError:
        pass
seccomp = ctypes.CDLL("libseccomp.so.2")
seccomp.seccomp_init.restype = ctypes.c_void_p
seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
ctx = ctypes.c_void_p(seccomp.seccomp_init(0x00050000 | errno.EPERM))  # SCMP_ACT_ERRNO(EPERM)
for name in json.loads(os.environ.pop("SANDBOX_SYSCALLS")):
    nr = seccomp.seccomp_syscall_resolve_name(name.encode())
    if nr >= 0 and seccomp.seccomp_rule_add(ctx, ctypes.c_uint32(0x7FFF0000), ctypes.c_int(nr), ctypes.c_uint(0)):
        sys.exit(f"sandbox: cannot allow {name}")
if seccomp.seccomp_load(ctx) != 0:
    sys.exit("sandbox: seccomp_load failed")
try:
    os.sched_setaffinity(0, os.sched_getaffinity(0))  # @resources is denied by the unit
    sys.exit("sandbox: the filter did not deny sched_setaffinity")
except PermissionError:
    print("sandbox: active", file=sys.stderr, flush=True)
sys.argv = ["edge", *sys.argv[1:]]
runpy.run_module("edge", run_name="__main__", alter_sys=True)
"""


def _libseccomp_available() -> bool:
    import ctypes

    try:
        ctypes.CDLL("libseccomp.so.2")
        return True
    except OSError:
        return False


@needs_analyze
@pytest.mark.skipif(not _libseccomp_available(), reason="libseccomp.so.2 is not installed (Debian: libseccomp2)")
@pytest.mark.skipif(not default_model().exists(), reason=f"the shipped model {default_model()} is not built yet")
def test_the_daemon_runs_under_the_units_syscall_filter_and_no_wx_memory(unit, tmp_path, broker,
                                                                          subscriber_factory):
    assert one(unit, "Service.MemoryDenyWriteExecute") == "yes"
    sub = subscriber_factory(broker.port, ["mood-edge/sandbox/#"])
    cmd = [sys.executable, "-c", SANDBOX_LAUNCHER, "--log-level", "DEBUG", "run", "--config", str(fast_config(tmp_path)),
           "--camera", f"dir:{astronaut_folder(tmp_path)}", "--loop", "--frames", "20",
           "--broker", broker.url, "--device-id", "sandbox", "--state-dir", str(tmp_path / "state")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SANDBOX_MDWE": "1",
           "SANDBOX_SYSCALLS": json.dumps(unit_syscall_allow_list(unit))}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    if run.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+) to stand in for MemoryDenyWriteExecute=")
    assert "sandbox: active" in run.stderr, run.stderr
    assert run.returncode == 0, run.stderr
    state = json.loads(sub.wait_for("mood-edge/sandbox/state").payload)
    assert state["schema"] == 1 and state["device"] == "sandbox"
    assert "XNNPACK delegate)" in run.stderr  # the fast kernels, not a fallback (edge/native.py hides LiteRT's note)
