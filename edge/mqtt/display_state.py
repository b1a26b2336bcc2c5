"""What a display shows for one device: one small state machine, so no screen tells two stories.

Every display (the TV page in displays/web/app.js, ``mood-edge watch``, Home Assistant through its
availability and ``expire_after``) works it out from the same inputs, in the same order:

========== ================================================================ ==========================
status     when                                                             the last mood is shown
========== ================================================================ ==========================
connecting the display is not (or no longer) connected to the broker        faded, "last known"
offline    the device's availability says ``offline`` (its Last Will)       faded, "last known"
stale      connected and not offline, but nothing heard for                 faded, "last known"
           ``STALE_AFTER_HEARTBEATS`` heartbeats (a hung daemon, a cut link)
live       connected, not offline, heard from recently                      as it is
========== ================================================================ ==========================

and, independently, what the last state says (``content``): ``waiting`` (no state yet),
``nobody`` (an empty room: no face count, no confidence) or ``mood`` (the mood with its face
count, both from that one message). A "live" mark is only ever shown with status ``live``.
The daemon's smoother sends ``faces`` = the faces behind the published mood, so "nobody" always
comes with 0 faces (edge/mood.py).
"""

from __future__ import annotations

from dataclasses import dataclass

#: a device is stale after this many heartbeats (``mqtt.heartbeat_s``) without a message
STALE_AFTER_HEARTBEATS = 3
STATUSES = ("connecting", "offline", "stale", "live")
#: the words every display uses for each status (displays/web/state.js STATUS_WORDS)
STATUS_WORDS = {"live": "Live", "offline": "Offline", "stale": "No news", "connecting": "Not connected"}
CONTENTS = ("waiting", "nobody", "mood")


@dataclass(frozen=True)
class DisplayView:
    status: str
    content: str

    @property
    def faded(self) -> bool:
        """The mood on screen is the last known one, not the room now."""
        return self.status != "live"


def display_view(*, connected: bool, online: bool | None, mood: str | None, heard_s_ago: float | None,
                 stale_after_s: float) -> DisplayView:
    """The one view of a device. ``mood`` is the last state's mood (None: no state yet);
    ``heard_s_ago`` how long since its last message of any kind (None: never)."""
    if not connected:
        status = "connecting"
    elif online is False:
        status = "offline"
    elif heard_s_ago is not None and stale_after_s > 0 and heard_s_ago > stale_after_s:
        status = "stale"
    elif online is None and mood is None:
        status = "connecting"  # connected, but this device has said nothing yet
    else:
        status = "live"
    content = "waiting" if mood is None else "nobody" if mood == "nobody" else "mood"
    return DisplayView(status, content)
