"""Turn the insn-count plugin's marker log into instructions per frame per stage.

    python3 stage_cost_report.py MARKS GUEST_OUTPUT LABEL [JSON]

MARKS: lines "<tag> <instructions so far>" (tools/pi/insn-count.c); GUEST_OUTPUT: what
tools/pi/stage_cost.py printed (its stage names, warm-up and faces per frame). Each stage's cost is
the difference between the markers around it less one marker's own cost (the median of the
back-to-back markers). Prints one table row per stage (median and mean over the measured frames,
in millions of aarch64 instructions), then per scene the frame's cost (median / mean / largest),
first sight (from the frame a face comes into view to the first frame it is found, both counted)
and the scene's first frame (a fresh pipeline's whole-frame look), and writes them as JSON.
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
        extra = {k: int(v) for k, v in zip(w[4::2], w[5::2])}
        frames = [i for i in range(first, last + 1) if i in faces and (i * 8 + len(stages)) in counts]
        report = scene_report(counts, stages, frames, faces, overhead)
        start = extra.get("start", first)
        if start in faces and (start * 8 + len(stages)) in counts:
            report["first_frame_minstr"] = round(sum(frame_cost(counts, stages, start, overhead)) / 1e6, 1)
        if start < first:
            before = scene_report(counts, stages, list(range(start, first)), faces, overhead)
            report["before_measured"] = {"frames": before["frames"], "per_frame_minstr": before["per_frame_minstr"]}
        if "in_view" in extra:
            report["first_sight"] = first_sight(counts, stages, extra["in_view"], last, faces, overhead)
        if "look_every" in extra:  # the scheduled looks: the costliest frame after the scene's first
            later = [i for i in frames if i != start]
            report["look_every"] = extra["look_every"]
            report["scheduled_look_max_minstr"] = scene_report(counts, stages, later, faces, overhead)[
                "per_frame_minstr"]["max"] if later else None
        if "left_out" in extra:
            report["left_out"] = bool(extra["left_out"])
            report["restless_frames"] = extra.get("restless_frames")
        out["scenes"][name] = report
        for s in stages:
            rows[s].append(f"{report['median_minstr'][s]:.2f} / {report['mean_minstr'][s]:.2f}")
        t = report["per_frame_minstr"]
        rows["per frame"].append(f"{t['median']:.2f} / {t['mean']:.2f}")
        rows["max frame"].append(f"{t['max']:.2f}")
    for s, cells in rows.items():
        print(f"    {s:<18} " + " ".join(f"{c:>15}" for c in cells))
    if len(scenes) > 1 or "start" in scenes[0]:
        print_scenes(out["scenes"])
        out["targets"] = targets(out["scenes"])
    if json_path:
        with open(json_path, "w") as f:
            json.dump(out if "clip" not in out["scenes"] else {**out, **out["scenes"]["clip"]}, f, indent=2)
    return 0


def print_scenes(scenes: dict[str, dict]) -> None:
    """One line per scene: per frame (median / mean / largest), first sight, the first frame's look."""
    print(f"\n    {'scene':<8} {'frames':>6} {'with a face':>11} {'M instr/frame: median / mean / largest':>40} "
          f"{'first sight (M, frames)':>24} {'first frame (M)':>16}")
    for name, r in scenes.items():
        t = r["per_frame_minstr"]
        fs = r.get("first_sight")
        sight = "-" if fs is None else ("not seen" if fs["seen_frame"] is None else f"{fs['minstr']:.1f}, {fs['frames']}")
        print(f"    {name:<8} {r['frames']:>6} {r['frames_with_a_face']:>11} "
              f"{t['median']:>18.1f} / {t['mean']:>7.1f} / {t['max']:>7.1f} {sight:>24} "
              f"{r.get('first_frame_minstr', float('nan')):>16.1f}")
        if "before_measured" in r:
            b = r["before_measured"]
            note = (f"; the TV {'was' if r.get('left_out') else 'was NOT'} left out by then "
                    f"(restless_frames = {r.get('restless_frames')})") if "left_out" in r else ""
            print(f"    {'':<8} before those: {b['frames']} frames, {b['per_frame_minstr']['median']:.1f} / "
                  f"{b['per_frame_minstr']['mean']:.1f} / {b['per_frame_minstr']['max']:.1f}{note}")


#: issue 31's aims on a Pi 4 (M aarch64 instructions): a whole-frame look, first sight of a close
#: face; and a playing TV at most this many times an empty room
LOOK_MAX, CLOSE_SIGHT_MAX, TV_TIMES_EMPTY = 700.0, 500.0, 2.0


def targets(scenes: dict[str, dict]) -> dict[str, dict]:
    """Each aim the scenes can answer: the figure, the limit and whether it is met (printed too)."""
    found: dict[str, dict] = {}
    if "first_frame_minstr" in scenes.get("empty", {}):
        found["whole-frame look at start, at once (the empty room's first frame)"] = (scenes["empty"]["first_frame_minstr"], LOOK_MAX)
    if scenes.get("idle", {}).get("scheduled_look_max_minstr") is not None:
        found["scheduled whole-frame look, its costliest frame (spread over frames)"] = (
            scenes["idle"]["scheduled_look_max_minstr"], LOOK_MAX)
    sight = scenes.get("close", {}).get("first_sight")
    if sight is not None:
        found["first sight of a close face (1 m, walking in)"] = (
            sight["minstr"] if sight["seen_frame"] is not None else float("inf"), CLOSE_SIGHT_MAX)
    if "tv" in scenes and "empty" in scenes:
        tv, empty = scenes["tv"]["per_frame_minstr"], scenes["empty"]["per_frame_minstr"]
        found["a playing TV / an empty room (medians)"] = (round(tv["median"] / empty["median"], 2), TV_TIMES_EMPTY)
    if found:
        print()
    out = {}
    for what, (value, limit) in found.items():
        out[what] = {"value": value, "limit": limit, "met": value <= limit}
        print(f"    {what}: {value} (aim <= {limit}): {'met' if value <= limit else 'NOT met'}")
    return out


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


def first_sight(counts: dict[int, int], stages: list[str], in_view: int, last: int, faces: dict[int, int],
                overhead: float) -> dict:
    """From the first frame a face is in view to the first frame with a face, both counted: frames
    and instructions spent."""
    seen = next((i for i in range(in_view, last + 1) if faces.get(i, 0) > 0), None)
    end = seen if seen is not None else last
    spent = sum(sum(frame_cost(counts, stages, i, overhead)) for i in range(in_view, end + 1))
    return {"in_view_frame": in_view, "seen_frame": seen, "frames": end - in_view + 1,
            "minstr": round(spent / 1e6, 1)}


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    raise SystemExit(main(*sys.argv[1:]))
