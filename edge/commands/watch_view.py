"""What ``mood-edge watch`` prints: one line per event (``--plain``) or the refreshing screen.

The screen says what the TV page says (displays/web/state.js): the same status words from
edge.mqtt.display_state, times in local time, and every line fitted to the terminal's width, so an
80-column terminal never wraps a word in two.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from ..mqtt.display_state import STATUS_WORDS, display_view
from ..mqtt.messages import Availability, BadPayload, Event, ReceivedState

#: the word and the emoji shown for each mood; anything else is shown as sent
MOOD_EMOJI = {
    "happy": "😄", "sad": "😢", "angry": "😠", "disgust": "🤢", "fear": "😨",
    "surprise": "😮", "neutral": "😐", "nobody": "🪑",
}


# -- output ----------------------------------------------------------------------------------------
def plain_line(event: ReceivedState | Availability) -> str:
    """One line per event, stable and greppable (``--plain``)."""
    if isinstance(event, Availability):
        return f"{event.device}: {'online' if event.online else 'offline'}{' (bridge)' if event.bridge else ''}"
    conf = f"{event.confidence * 100:.0f}%" if event.confidence is not None else "?"
    faces = event.faces if event.faces is not None else "?"
    films = "; ".join(f.label() for f in event.films) or "-"
    line = f"{event.device}: mood={event.mood}"
    if event.mood != "nobody":  # an empty room has no face count or confidence to show (display_state)
        line += f" confidence={conf} faces={faces}"
    if event.camera:
        line += f" camera={event.camera}"
    return f"{line} films={films}"


@dataclass
class DeviceView:
    state: ReceivedState | None = None
    online: bool | None = None
    #: its room's link to this (house) broker, when it has a bridge: False shows it offline
    linked: bool | None = None
    #: monotonic time of its last state or availability message
    seen: float = field(default_factory=time.monotonic)


class Screen:
    """The refreshing full-screen view (alternate screen, redrawn on every event)."""

    BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
    GREEN, RED, YELLOW, CYAN = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[36m"

    def __init__(self, out: TextIO, title: str, stale_after_s: float = 0.0) -> None:
        self.out = out
        self.title = title
        self.stale_after_s = stale_after_s
        self.devices: dict[str, DeviceView] = {}
        self.notes: list[str] = []
        self.connected = False
        #: why there is no connection yet, shown in the title line
        self.status = ""

    def __enter__(self) -> "Screen":
        self.out.write("\x1b[?1049h\x1b[2J\x1b[?25l")
        self.draw()
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.write("\x1b[?25h\x1b[?1049l")
        self.out.flush()

    def apply(self, event: Event) -> None:
        view = self.devices.setdefault(event.device, DeviceView())
        if not isinstance(event, BadPayload):
            view.seen = time.monotonic()
        if isinstance(event, ReceivedState):
            view.state = event
            for w in event.warnings:
                self.note(f"{event.device}: {w}")
        elif isinstance(event, Availability) and event.bridge:
            view.linked = event.online
        elif isinstance(event, Availability):
            view.online = event.online
        else:
            self.note(f"{event.device}: {event.text}")

    def note(self, text: str) -> None:
        self.notes = (self.notes + [f"{time.strftime('%H:%M:%S')} {text}"])[-3:]

    def draw(self) -> None:
        width = max(40, shutil.get_terminal_size((80, 24)).columns)
        link = (f"{self.GREEN}Connected{self.RESET}" if self.connected
                else f"{self.YELLOW}{STATUS_WORDS['connecting']}{self.RESET}")
        lines = [_fit(f"{self.BOLD}{self.title}{self.RESET}  {link}", width)]
        if not self.connected and self.status:  # why, wrapped between words
            lines += [f"{self.YELLOW}{part}{self.RESET}" for part in textwrap.wrap(self.status, width - 1)]
        lines.append("")
        if not self.devices:
            lines.append(f"{self.DIM}waiting for a device to publish…{self.RESET}")
        for name in sorted(self.devices):
            lines += [_fit(line, width) for line in self._device_lines(name, self.devices[name], width)]
        if self.notes:
            lines += ["", *(_fit(f"{self.YELLOW}! {n}{self.RESET}", width) for n in self.notes)]
        # home, overwrite each line and clear its rest, then clear below: no flicker
        self.out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
        self.out.flush()

    def _device_lines(self, name: str, view: DeviceView, width: int) -> list[str]:
        B, D, R = self.BOLD, self.DIM, self.RESET
        s = view.state
        age = time.monotonic() - view.seen
        shown = display_view(connected=self.connected, online=False if view.linked is False else view.online,
                             mood=s.mood if s else None,
                             heard_s_ago=age, stale_after_s=self.stale_after_s)
        word = STATUS_WORDS[shown.status]
        status = {"live": f"{self.GREEN}● {word}{R}", "offline": f"{self.RED}● {word.upper()}{R}",
                  "stale": f"{self.YELLOW}● {word} for {_ago(age)}{R}",
                  "connecting": f"{D}● {word}{R}"}[shown.status]
        out = [f"{B}{self.CYAN}{s.name if s else name}{R}  {status}"]
        if s is None:
            return out + [f"  {D}no state yet{R}", ""]
        stale = f"  {D}(last known){R}" if shown.faded else ""
        if shown.content == "nobody":
            out.append(f"  {MOOD_EMOJI['nobody']}  {B}NOBODY HERE{R}{stale}")
        else:
            out.append(f"  {MOOD_EMOJI.get(s.mood, '•')}  {B}{s.mood.upper()}{R}{stale}")
        if s.confidence is not None and shown.content == "mood":
            filled = round(max(0.0, min(1.0, s.confidence)) * 20)
            out.append(f"  confidence {'█' * filled}{'░' * (20 - filled)} {s.confidence * 100:.0f}%")
        faces = "" if shown.content == "nobody" else f"faces {'?' if s.faces is None else s.faces} · "
        extra = f"camera {s.camera} · " if s.camera and s.camera != "ok" else ""
        since = local_time(s.since)
        out.append(f"  {faces}{extra}{f'since {since}' if since else ''}".rstrip(" ·"))
        if s.films:
            out.append(f"  {B}films{R}{f' ({s.strategy})' if s.strategy else ''}:")
        for i, f in enumerate(s.films, 1):
            out.append(_fit(f"   {i}. {B}{f.label()}{R}  {D}{f.details()}{R}", width))
            if f.reasons:
                out.append(_fit(f"      {D}why: {'; '.join(f.reasons)}{R}", width))
        return out + [""]


def _ago(seconds: float) -> str:
    """As the page says it: seconds under 90 s, then minutes."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} minutes"


def local_time(since: str) -> str:
    """``since`` (ISO 8601 UTC from the daemon) as this machine's local time, hours and minutes as
    the page shows it, with the date when it is not today; anything unreadable is shown as sent."""
    try:
        when = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return since
    if when.tzinfo is None:
        return since
    local = when.astimezone()
    return local.strftime("%H:%M" if local.date() == datetime.now().astimezone().date() else "%Y-%m-%d %H:%M")


def _fit(line: str, width: int) -> str:
    """Cut a line to the terminal width, counting only visible characters."""
    visible = 0
    out = []
    for part in re.split(r"(\x1b\[[0-9;?]*[A-Za-z])", line):
        if part.startswith("\x1b["):
            out.append(part)
            continue
        room = width - 1 - visible
        if len(part) > room:
            out.append(part[: max(0, room - 1)] + "…")
            out.append(Screen.RESET)
            return "".join(out)
        out.append(part)
        visible += len(part)
    return "".join(out)
