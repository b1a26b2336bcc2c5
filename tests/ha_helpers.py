"""A real Home Assistant Core for tests: its own venv (tools/ha-env.sh), config folder and loopback port.

Driven only through its public APIs, as a user's browser or script would: onboarding
(``/api/onboarding/users`` + ``/auth/token``), the REST API (``/api/states``, config-entry flows)
and the websocket API (registries, persistent notifications). Started with ``--skip-pip``: every
requirement is pre-installed by tools/ha-env.sh, so nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import requests
from websockets.sync.client import connect

from mqtt_helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "tools" / "ha-requirements.txt"


def ha_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("homeassistant=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{REQUIREMENTS}: no homeassistant==<version> line")


def ha_python() -> tuple[Path | None, str]:
    """The HA venv's python, or None and the one line that says what is missing."""
    env = Path(os.environ.get("MOOD_EDGE_HA_ENV") or ROOT / ".cache" / f"ha-{ha_version()}")
    python = env / "bin" / "python"
    stamp = env / f".installed-{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]}"
    if not python.exists() or not stamp.exists():
        return None, (f"no Home Assistant {ha_version()} environment at {env} for the current "
                      "tools/ha-requirements.txt: run tools/ha-env.sh (needs Python 3.13: "
                      "MOOD_EDGE_HA_PYTHON, python3.13 on PATH or pyenv)")
    return python, ""


class HomeAssistant:
    """One Home Assistant process on ``config_dir``; restartable, state kept in the folder."""

    def __init__(self, python: Path, config_dir: Path) -> None:
        self.python = python
        self.dir = config_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_id = self.url + "/"
        self.token = ""
        self.refresh_token = ""
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def write_config(self, extra: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "configuration.yaml").write_text(
            "homeassistant:\n  name: mood-edge test\n  time_zone: UTC\n  unit_system: metric\n"
            "  country: GB\n  latitude: 51.5\n  longitude: 0\n  elevation: 0\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "api:\nconfig:\nonboarding:\nsystem_log:\n"
            f"recorder:\n  db_url: sqlite:///{self.dir / 'home-assistant_v2.db'}\n  commit_interval: 1\n"
            "logger:\n  default: info\n" + extra)

    def start(self, timeout: float = 240) -> None:
        self.starts += 1  # one log per start: Home Assistant rotates its log away at start
        log = self.dir / f"home-assistant-{self.starts}.log"
        self.proc = subprocess.Popen([str(self.python), "-m", "homeassistant", "--config", str(self.dir),
                                      "--skip-pip", "--log-file", str(log)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_running(timeout)

    def wait_running(self, timeout: float = 240) -> None:
        """Until the API answers: onboarding before a token exists, then state RUNNING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"Home Assistant exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                if self.token:
                    r = self.get("/api/config")
                    if r.get("state") == "RUNNING":
                        return
                elif requests.get(self.url + "/api/onboarding", timeout=2).ok:
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"Home Assistant did not start in {timeout}s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        """Every start's log, in order."""
        logs = (self.dir / f"home-assistant-{n}.log" for n in range(1, self.starts + 1))
        return "".join(p.read_text(errors="replace") for p in logs if p.exists())

    # --- onboarding and APIs ---------------------------------------------------------------

    def onboard(self) -> None:
        """The first-run steps a new user clicks through, then a token for the API."""
        r = requests.post(self.url + "/api/onboarding/users", timeout=30, json={
            "client_id": self.client_id, "name": "Test", "username": "test", "password": "test-pass-1",
            "language": "en"})
        r.raise_for_status()
        r = requests.post(self.url + "/auth/token", timeout=30, data={
            "grant_type": "authorization_code", "code": r.json()["auth_code"], "client_id": self.client_id})
        r.raise_for_status()
        self.token = r.json()["access_token"]
        self.refresh_token = r.json()["refresh_token"]
        # core_config also starts flows for met, radio_browser and google_translate; without their
        # requirements (--skip-pip) they fail at once, offline, in lines that do not name mood-edge
        self.post("/api/onboarding/core_config", {})
        self.post("/api/onboarding/analytics", {})
        self.post("/api/onboarding/integration", {"client_id": self.client_id, "redirect_uri": self.client_id})

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> Any:
        r = requests.get(self.url + path, headers=self._headers(), timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict) -> Any:
        r = requests.post(self.url + path, headers=self._headers(), json=body, timeout=60)
        if not r.ok:
            raise AssertionError(f"POST {path} -> {r.status_code}: {r.text[:500]}")
        return r.json()

    def ws(self, command: dict) -> Any:
        """One websocket API command, its result (https://developers.home-assistant.io/docs/api/websocket)."""
        with connect(f"ws://127.0.0.1:{self.port}/api/websocket", open_timeout=30) as ws:
            assert json.loads(ws.recv(30))["type"] == "auth_required"
            ws.send(json.dumps({"type": "auth", "access_token": self.token}))
            assert json.loads(ws.recv(30))["type"] == "auth_ok"
            ws.send(json.dumps({"id": 1, **command}))
            while True:
                msg = json.loads(ws.recv(60))
                if msg.get("id") == 1 and msg.get("type") == "result":
                    assert msg["success"], msg
                    return msg["result"]

    def set_up_mqtt(self, port: int, username: str, password: str) -> dict:
        """Settings -> Devices & services -> Add integration -> MQTT, as the UI does it."""
        flow = self.post("/api/config/config_entries/flow", {"handler": "mqtt", "show_advanced_options": False})
        assert flow["type"] == "form" and flow["step_id"] == "broker", flow
        done = self.post(f"/api/config/config_entries/flow/{flow['flow_id']}",
                         {"broker": "127.0.0.1", "port": port, "username": username, "password": password})
        assert done["type"] == "create_entry", done
        return done

    # --- states ---------------------------------------------------------------------------

    def states(self) -> dict[str, dict]:
        return {s["entity_id"]: s for s in self.get("/api/states")}

    def state(self, entity_id: str) -> dict | None:
        return self.states().get(entity_id)

    def wait_state(self, entity_id: str, ok: Callable[[dict], bool], timeout: float = 120) -> dict:
        """Poll until ``ok(state)``; the last state seen in the error when it never comes."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.state(entity_id)
            if last is not None and ok(last):
                return last
            time.sleep(0.5)
        raise AssertionError(f"{entity_id} never got there in {timeout}s; last: {last}")

    def wait_states(self, ok: Callable[[dict[str, dict]], bool], timeout: float = 120) -> dict[str, dict]:
        """Poll every state until ``ok(states)``; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            if ok(states):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"Home Assistant's states never got there in {timeout}s: "
                                     + json.dumps({k: v["state"] for k, v in states.items() if "mood" in k}))
            time.sleep(0.5)

    def notifications(self) -> list[dict]:
        return self.ws({"type": "persistent_notification/get"})


# --- the dashboard, in Home Assistant's own frontend ------------------------------------------------

_DEEP_TEXT = """(() => {
  const all = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) { all.push(el); if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document);
  const text = all.some((el) => el.shadowRoot && (el.shadowRoot.textContent || '').includes(%s));
  const icons = all.filter((el) => el.tagName === 'HA-ICON');  // icons come in lazily loaded chunks
  return text && icons.length > 0 && icons.every((i) => {
    const svg = i.shadowRoot && i.shadowRoot.querySelector('ha-svg-icon');
    return svg && svg.path;
  });
})()"""


def screenshot_dashboard(ha: HomeAssistant, text: str, path: Path) -> None:
    """The Overview dashboard in headless Chromium (tests/web_display.mjs), logged in with our tokens,
    once ``text`` shows somewhere in its shadow DOM."""
    tokens = {"hassUrl": ha.url, "clientId": ha.client_id, "access_token": ha.token, "refresh_token": ha.refresh_token,
              "token_type": "Bearer", "expires_in": 1800, "expires": int(time.time() * 1000) + 1_700_000}
    proc = subprocess.Popen(["node", str(ROOT / "tests" / "web_display.mjs")], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(cmd: str, **kw: Any) -> Any:
        proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline())
        assert answer.get("ok"), answer
        return answer.get("result")

    try:
        # a page of the same origin that runs no script, to hand the frontend its tokens, then the dashboard
        send("open", url=ha.url + "/manifest.json", width=1100, height=700, mobile=False)
        send("wait", js=f"(localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))}), true)")
        send("wait", js="(location.replace('/lovelace/0'), true)")
        try:
            for _ in range(20):  # while it navigates, a poll meets "Execution context was destroyed"
                try:
                    send("wait", js=_DEEP_TEXT % json.dumps(text), timeout_ms=90_000)
                    break
                except AssertionError as exc:
                    if "context was destroyed" not in str(exc):
                        raise
                    time.sleep(0.5)
        finally:
            send("screenshot", path=str(path))  # what it showed instead, when the wait failed
    finally:
        proc.stdin.close()
        proc.wait(30)


#: run in Home Assistant's own venv: renders an MQTT sensor's json_attributes_template the way its MQTT
#: integration does (Template.async_render_with_possible_json_value on the payload, json_loads, HA's own
#: friendly_name and icon added) and sizes the result the way its recorder does (json_bytes_strip_null
#: against MAX_STATE_ATTRS_BYTES, over which it drops the attributes with a warning)
_ATTRIBUTES_SCRIPT = """
import asyncio, json, sys, tempfile
from homeassistant.components.recorder.db_schema import MAX_STATE_ATTRS_BYTES
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes_strip_null
from homeassistant.helpers.template import Template
from homeassistant.util.json import json_loads

async def main():
    req = json.load(sys.stdin)
    hass = HomeAssistant(tempfile.mkdtemp())
    template = Template(req["template"], hass)
    out = []
    for payload in req["payloads"]:
        attrs = json_loads(template.async_render_with_possible_json_value(payload, None))
        attrs.update(req["added_by_ha"])
        out.append({"attributes": attrs, "stored_bytes": len(json_bytes_strip_null(attrs))})
    print(json.dumps({"limit": MAX_STATE_ATTRS_BYTES, "states": out}))

asyncio.run(main())
"""


def attributes_home_assistant_stores(python: Path, discovery: dict[str, Any], payloads: list[bytes]
                                     ) -> tuple[int, list[dict[str, Any]]]:
    """(the recorder's limit, [{"attributes", "stored_bytes"}] per state payload) as Home Assistant
    computes them from this sensor's discovery config."""
    request = {"template": discovery["json_attributes_template"],
               "payloads": [p.decode("utf-8") for p in payloads],
               "added_by_ha": {"friendly_name": discovery["device"]["name"] + " " + discovery["name"],
                               "icon": discovery["icon"]}}
    run = subprocess.run([str(python), "-c", _ATTRIBUTES_SCRIPT], input=json.dumps(request), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    return answer["limit"], answer["states"]
