"""callgrind dumps (one per marker, tools/pi/callgrind-mark.c) -> "<tag> <instructions so far>" lines.

    python3 callgrind_marks.py OUT_PREFIX > marks.txt

Each dump holds the instructions (Ir) since the previous one and names its marker in
``desc: Trigger: Client Request: <tag>``; the running sum at each marker is what the qemu plugin
logs, so tools/pi/stage_cost_report.py reads either.
"""

from __future__ import annotations

import glob
import re
import sys


def main(prefix: str) -> int:
    files = [f for f in glob.glob(prefix + ".*") if re.fullmatch(r".*\.\d+", f)]
    files.sort(key=lambda f: int(f.rsplit(".", 1)[1]))
    total = 0
    for path in files:
        tag, ir = None, None
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("desc: Trigger: Client Request: "):
                    tag = line.rsplit(":", 1)[1].strip()
                elif line.startswith(("totals:", "summary:")):
                    ir = int(line.split()[1])
        total += ir or 0
        if tag is not None:
            print(f"{tag} {total}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    raise SystemExit(main(sys.argv[1]))
