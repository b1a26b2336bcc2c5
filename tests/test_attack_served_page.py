"""Issue 22, "also seen": the TV page served by mosquitto (``http_dir``) comes without
``Content-Type`` or ``X-Content-Type-Options``, and mosquitto cannot be told to send them.

So the page must be safe without them: it names its own charset and Content-Security-Policy in
its first kilobyte (where a browser looks when no header says), the broker serves only the files
install.sh laid down (nothing a user or a message can write), and the script never turns text
from a message into markup. Real install.sh, real mosquitto on the installed config.
"""

from __future__ import annotations

import re
import urllib.request

from test_web_served import ROOT, get, pi  # noqa: F401 - fixture


def _headers(port: int, path: str) -> dict[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return {k.lower(): v for k, v in r.headers.items()}


def test_without_a_content_type_header_the_page_names_its_charset_and_policy_in_its_first_kilobyte(pi):
    status, body = get(pi.ws, "/")
    assert status == 200
    head = body[:1024].decode("ascii", "replace")
    assert body.lstrip().lower().startswith(b"<!doctype html>")  # sniffed as HTML, in standards mode
    assert '<meta charset="utf-8">' in head
    policy = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]+)"', head)
    assert policy, "the policy must be a meta tag: mosquitto sends no headers"
    for rule in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "base-uri 'none'",
                 "form-action 'none'"):
        assert rule in policy.group(1)
    # what the notes say: mosquitto cannot send these headers
    assert "x-content-type-options" not in _headers(pi.ws, "/")


def test_the_broker_serves_only_the_files_install_laid_down(pi):
    served = sorted(p.relative_to(pi.etc / "web").as_posix() for p in (pi.etc / "web").rglob("*") if p.is_file())
    shipped = sorted(p.relative_to(ROOT / "displays/web").as_posix()
                     for p in (ROOT / "displays/web").rglob("*") if p.is_file())
    assert set(shipped) <= set(served) and "vendor/mqtt.min.js" in served
    assert all(name.startswith("vendor/mqtt.") for name in set(served) - set(shipped))  # mqtt.js and its licence
    assert (pi.etc / "web").stat().st_mode & 0o022 == 0  # nobody else may add a file to sniff


def test_the_page_script_never_turns_message_text_into_markup():
    code = "".join(p.read_text() for p in sorted((ROOT / "displays/web").glob("*.js")))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setAttribute(\"on", "srcdoc"):
        assert sink not in code, sink
    assert "textContent" in code
