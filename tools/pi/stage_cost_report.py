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
    guest = [line for line in open(guest_path).read().splitlines() if line.strip()]
    summary = next(line.split() for line in guest if line.startswith("stages "))
    stages = summary[1:summary.index("detector")]
    info = dict(zip(summary[summary.index("detector")::2], summary[summary.index("detector") + 1::2]))
    warmup = int(info["warmup"])
    faces = {int(w[1]): int(w[3]) for w in (line.split() for line in guest if line.startswith("frame "))}
    calib = sorted(counts[-k - 1] - counts[-k] for k in range(1, 40) if -k - 1 in counts and -k in counts)
    overhead = statistics.median(calib)
    scenes = [w for w in (line.split() for line in guest) if w[0] == "scene"]
    if not scenes:
        scenes = [["scene", "clip", str(warmup), str(max(faces, default=-1))]]
    out = {"label": label, "detector": info["detector"], "frame_size": info["size"],
           "marker_overhead_instructions": overhead, "scenes": {}}
    print(f"{label}: {info['detector']}, {info['size']}, M instructions per frame (median / mean)")
    print(f"    {'stage':<18} " + " ".join(f"{w[1]:>15}" for w in scenes))
    rows: dict[str, list[str]] = {s: [] for s in stages + ["per frame", "max frame"]}
    for w in scenes:
        name, first, last = w[1], int(w[2]), int(w[3])
        frames = [i for i in range(first, last + 1) if i in faces and (i * 8 + len(stages)) in counts]
        report = scene_report(counts, stages, frames, faces, overhead)
        if len(w) >= 6 and name == "walkin":
            report["walk_in"] = walk_in(counts, stages, int(w[5]), last, faces, overhead)
        out["scenes"][name] = report
        for s in stages:
            rows[s].append(f"{report['median_minstr'][s]:.2f} / {report['mean_minstr'][s]:.2f}")
        t = report["per_frame_minstr"]
        rows["per frame"].append(f"{t['median']:.2f} / {t['mean']:.2f}")
        rows["max frame"].append(f"{t['max']:.2f}")
    for s, cells in rows.items():
        print(f"    {s:<18} " + " ".join(f"{c:>15}" for c in cells))
    for name, report in out["scenes"].items():
        print(f"    {name}: {report['frames']} frames, {report['frames_with_a_face']} with a face")
        if "walk_in" in report:
            wi = report["walk_in"]
            print(f"    walkin: in view at frame {wi['in_view_frame']}, first seen at frame {wi['seen_frame']}, "
                  f"{wi['minstr']:.1f} M instructions in between")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(out if len(out["scenes"]) > 1 else {**out, **out["scenes"]["clip"]}, f, indent=2)
    return 0


def frame_cost(counts: dict[int, int], stages: list[str], i: int, overhead: float) -> list[float]:
    return [counts[i * 8 + j + 1] - counts[i * 8 + j] - overhead for j in range(len(stages))]


def scene_report(counts: dict[int, int], stages: list[str], frames: list[int], faces: dict[int, int],
                 overhead: float) -> dict:
    per_stage = {s: [frame_cost(counts, stages, i, overhead)[j] for i in frames] for j, s in enumerate(stages)}
    totals = [sum(per_stage[s][k] for s in stages) for k in range(len(frames))]
    return {
        "frames": len(frames), "frames_with_a_face": sum(1 for i in frames if faces[i] > 0),
        "median_minstr": {s: round(statistics.median(v) / 1e6, 2) for s, v in per_stage.items()},
        "mean_minstr": {s: round(statistics.fmean(v) / 1e6, 2) for s, v in per_stage.items()},
        "per_frame_minstr": {"median": round(statistics.median(totals) / 1e6, 2),
                             "mean": round(statistics.fmean(totals) / 1e6, 2),
                             "max": round(max(totals) / 1e6, 2)},
    }


def walk_in(counts: dict[int, int], stages: list[str], in_view: int, last: int, faces: dict[int, int],
            overhead: float) -> dict:
    """From the first frame a person is in view to the first frame with a face: frames and
    instructions spent."""
    seen = next((i for i in range(in_view, last + 1) if faces.get(i, 0) > 0), None)
    end = seen if seen is not None else last
    spent = sum(sum(frame_cost(counts, stages, i, overhead)) for i in range(in_view, end + 1))
    return {"in_view_frame": in_view, "seen_frame": seen, "frames": end - in_view + 1,
            "minstr": round(spent / 1e6, 1)}


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    raise SystemExit(main(*sys.argv[1:]))
