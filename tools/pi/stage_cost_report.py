"""Turn the insn-count plugin's marker log into instructions per frame per stage.

    python3 stage_cost_report.py MARKS GUEST_OUTPUT LABEL [JSON]

MARKS: lines "<tag> <instructions so far>" (tools/pi/insn-count.c); GUEST_OUTPUT: what
tools/pi/stage_cost.py printed (its stage names, warm-up and faces per frame). Each stage's cost is
the difference between the markers around it less one marker's own cost (the median of the
back-to-back markers). Prints one table row per stage (median and mean over the measured frames,
in millions of aarch64 instructions) and writes them as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys


def main(marks_path: str, guest_path: str, label: str, json_path: str | None = None) -> int:
    counts: dict[int, int] = {}
    for line in open(marks_path):
        tag, _, n = line.partition(" ")
        if tag != "end":
            counts[int(tag)] = int(n)
    guest = open(guest_path).read().splitlines()
    summary = next(line.split() for line in guest if line.startswith("stages "))
    stages = summary[1:summary.index("detector")]
    info = dict(zip(summary[summary.index("detector")::2], summary[summary.index("detector") + 1::2]))
    warmup = int(info["warmup"])
    faces = {int(w[1]): int(w[3]) for w in (line.split() for line in guest if line.startswith("frame "))}
    calib = sorted(counts[-k - 1] - counts[-k] for k in range(1, 40) if -k - 1 in counts and -k in counts)
    overhead = statistics.median(calib)
    frames = sorted(i for i in faces if i >= warmup and (i * 8 + len(stages)) in counts)
    per_stage = {s: [counts[i * 8 + j + 1] - counts[i * 8 + j] - overhead for i in frames]
                 for j, s in enumerate(stages)}
    totals = [sum(per_stage[s][k] for s in stages) for k in range(len(frames))]
    with_face = [k for k, i in enumerate(frames) if faces[i] > 0]
    report = {
        "label": label, "detector": info["detector"], "frame_size": info["size"], "frames": len(frames),
        "frames_with_a_face": len(with_face), "marker_overhead_instructions": overhead,
        "median_minstr": {s: round(statistics.median(v) / 1e6, 2) for s, v in per_stage.items()},
        "mean_minstr": {s: round(statistics.fmean(v) / 1e6, 2) for s, v in per_stage.items()},
        "per_frame_minstr": {"median": round(statistics.median(totals) / 1e6, 2),
                             "mean": round(statistics.fmean(totals) / 1e6, 2),
                             "max": round(max(totals) / 1e6, 2)},
    }
    print(f"{label}: {info['detector']}, {info['size']}, {len(frames)} frames "
          f"({len(with_face)} with a face), M aarch64 instructions per frame")
    print(f"    {'stage':<18} {'median':>8} {'mean':>8}")
    for s in stages:
        print(f"    {s:<18} {report['median_minstr'][s]:>8.2f} {report['mean_minstr'][s]:>8.2f}")
    t = report["per_frame_minstr"]
    print(f"    {'per frame':<18} {t['median']:>8.2f} {t['mean']:>8.2f}   (max {t['max']:.2f})")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    raise SystemExit(main(*sys.argv[1:]))
