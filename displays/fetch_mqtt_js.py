#!/usr/bin/env python3
"""Put mqtt.js's browser build into a folder, for hosts without Node (the Pi, the demo).

usage: fetch_mqtt_js.py [--out DIR] [--tarball FILE] [--registry URL] [--offline] [--quiet]

The version and its sha512 come from displays/package-lock.json, so this gets exactly the file
`npm ci` would (displays/vendor.mjs copies the same three files):

  DIR/mqtt.min.js        the browser bundle (dist/mqtt.min.js of the npm package)
  DIR/mqtt.LICENSE       its licence (MIT)
  DIR/mqtt.package.json  its package.json (name and version, for the record)

Where it comes from, the first that works:
  1. DIR already holds that version: nothing to do;
  2. displays/node_modules/mqtt, when `npm ci` was run in this checkout (npm checked it);
  3. --tarball FILE, an mqtt-<version>.tgz you copied over (for a host with no internet);
  4. the npm registry (--registry, $npm_config_registry, default https://registry.npmjs.org),
     downloaded once; skipped with --offline.
A tarball from 3 or 4 must match the lock file's sha512, or nothing is written.

Only the Python standard library is used. Exit status 0 when DIR holds mqtt.js afterwards,
1 (with one line on stderr) when it could not be had.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "package-lock.json"
FILES = ("mqtt.min.js", "mqtt.LICENSE", "mqtt.package.json")
MAX_TARBALL = 20 * 1024 * 1024


class Unavailable(Exception):
    """mqtt.js cannot be had from this source; the message says why, in one line."""


def locked() -> tuple[str, str]:
    """(version, integrity) of mqtt in package-lock.json."""
    try:
        entry = json.loads(LOCK.read_text(encoding="utf-8"))["packages"]["node_modules/mqtt"]
        return entry["version"], entry["integrity"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Unavailable(f"{LOCK}: no mqtt version and integrity in it ({exc})") from None


def installed_version(out: Path) -> str | None:
    try:
        if not all((out / f).is_file() for f in FILES):
            return None
        return json.loads((out / "mqtt.package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None


def check_integrity(data: bytes, integrity: str, origin: str) -> None:
    algo, _, want = integrity.partition("-")
    if algo not in ("sha512", "sha384", "sha256"):
        raise Unavailable(f"{LOCK}: unsupported integrity {integrity[:20]}…")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != want:
        raise Unavailable(f"{origin}: {algo} does not match package-lock.json (a different or damaged file)")


def from_tarball(data: bytes, origin: str) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
            licence = next((n for n in names if n.lower().startswith("package/licen")), None)
            wanted = {"mqtt.min.js": "package/dist/mqtt.min.js", "mqtt.package.json": "package/package.json",
                      "mqtt.LICENSE": licence}
            out = {}
            for name, member in wanted.items():
                f = tar.extractfile(member) if member in names else None
                if f is None:
                    raise Unavailable(f"{origin}: no {member or 'package/LICENSE'} in the tarball")
                out[name] = f.read()
            return out
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise Unavailable(f"{origin}: not a readable .tgz ({exc})") from None


def from_node_modules(version: str) -> dict[str, bytes]:
    pkg = HERE / "node_modules" / "mqtt"
    try:
        meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
        licence = next(p for p in sorted(pkg.iterdir()) if p.name.lower().startswith("licen"))
        if meta.get("version") != version:
            raise Unavailable(f"{pkg} is version {meta.get('version')}, the lock file wants {version}")
        return {"mqtt.min.js": (pkg / "dist" / "mqtt.min.js").read_bytes(),
                "mqtt.package.json": (pkg / "package.json").read_bytes(), "mqtt.LICENSE": licence.read_bytes()}
    except (OSError, ValueError, StopIteration):
        raise Unavailable(f"{pkg}: not there (run `npm ci` in displays/)") from None


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - https registry URL
            data = resp.read(MAX_TARBALL + 1)
    except (OSError, ValueError) as exc:
        raise Unavailable(f"cannot download {url} ({getattr(exc, 'reason', exc)})") from None
    if len(data) > MAX_TARBALL:
        raise Unavailable(f"{url}: larger than {MAX_TARBALL} bytes")
    return data


def write(out: Path, files: dict[str, bytes]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mosquitto serves it as its own user
        os.replace(tmp, out / name)


def fetch(out: Path, tarball: Path | None = None, registry: str | None = None, offline: bool = False) -> str:
    """Make ``out`` hold the locked mqtt.js; returns where it came from."""
    version, integrity = locked()
    if installed_version(out) == version:
        return f"already there (mqtt.js {version})"
    reasons = []
    try:
        write(out, from_node_modules(version))
        return f"copied from displays/node_modules (mqtt.js {version})"
    except Unavailable as exc:
        reasons.append(str(exc))
    if tarball is not None:
        try:
            data = tarball.read_bytes()
        except OSError as exc:
            raise Unavailable(f"{tarball}: cannot read it ({exc.strerror})") from None
        check_integrity(data, integrity, str(tarball))
        write(out, from_tarball(data, str(tarball)))
        return f"unpacked {tarball} (mqtt.js {version}, sha512 checked)"
    if offline:
        raise Unavailable("; ".join(reasons) + "; and --offline forbids the registry")
    base = (registry or os.environ.get("npm_config_registry") or "https://registry.npmjs.org").rstrip("/")
    url = f"{base}/mqtt/-/mqtt-{version}.tgz"
    data = download(url)
    check_integrity(data, integrity, url)
    write(out, from_tarball(data, url))
    return f"downloaded {url} (sha512 checked)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fetch_mqtt_js.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    p.add_argument("--out", type=Path, default=HERE / "web" / "vendor", help="folder to fill (default: web/vendor)")
    p.add_argument("--tarball", type=Path, help="a local mqtt-<version>.tgz instead of the registry")
    p.add_argument("--registry", help="npm registry URL (default: $npm_config_registry or registry.npmjs.org)")
    p.add_argument("--offline", action="store_true", help="never download")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = p.parse_args(argv)
    try:
        how = fetch(args.out, args.tarball, args.registry, args.offline)
    except Unavailable as exc:
        print(f"fetch_mqtt_js.py: mqtt.js not available: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"fetch_mqtt_js.py: {args.out}: {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
