/*
 * mood-edge web display, the part that decides rather than draws: a state message reduced to what
 * the page shows (every field came from the network and is checked here), and the one state
 * machine for what a device's card says. app.js draws from these and nothing else.
 */
'use strict';

(function () {
  // ---- messages ------------------------------------------------------------------------------
  // Control characters and bidi overrides/isolates (U+202E would show a title reversed) become spaces.
  const str = (v, max) => (typeof v === 'string'
    ? v.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ').trim().slice(0, max) : '');
  const int = (v, lo = 0, hi = 1e6) => (Number.isInteger(v) && v >= lo && v <= hi ? v : null);
  const KEY_RE = /^[a-z0-9][a-z0-9:-]{0,79}$/; // a film key (docs/mqtt.md, "Votes")
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

  /** A state payload reduced to what the page shows; throws Error with a reason if unusable. */
  function parseState(text) {
    const data = JSON.parse(text);
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error('state is not a JSON object');
    const mood = str(data.mood, 40);
    if (!mood) throw new Error('state has no "mood"');
    const recs = Array.isArray(data.recommendations) ? data.recommendations.slice(0, 10) : [];
    const films = recs
      .filter((r) => r && typeof r === 'object' && str(r.title, 120))
      .map((r) => ({
        title: str(r.title, 120),
        year: int(r.year, 1870, 2200),
        runtime: int(r.runtime, 1, 10000),
        rating: str(r.rating, 10),
        genres: Array.isArray(r.genres) ? r.genres.map((g) => str(g, 30)).filter(Boolean).slice(0, 5) : [],
        reasons: Array.isArray(r.reasons) ? r.reasons.map((x) => str(x, 160)).filter(Boolean).slice(0, 3) : [],
        owned: r.owned === true, // in the household's own library (recommend.library)
        key: typeof r.key === 'string' && KEY_RE.test(r.key) ? r.key : '', // what a vote names; '' = cannot vote
      }));
    return {
      mood,
      area: str(data.area, 64), // the room it is in (daemon.area): its name on screen
      confidence: num(data.confidence),
      faces: int(data.faces, 0, 1000),
      since: str(data.since, 40),
      camera: str(data.camera, 10),
      strategy: str(data.strategy, 10),
      films,
    };
  }

  // ---- what a display shows: one state machine (edge/mqtt/display_state.py has the same table) ----
  // status: connecting (this page is not connected to the broker), offline (the device's Last
  // Will, or, on a house broker, its room's bridge saying "0": entry.linked === false), stale
  // (nothing heard for settings.staleMs), live; content: waiting, nobody, mood.
  // Everything on a device's card, and the bar's dot, is drawn from this one answer.
  function deviceView(entry, now, link, staleMs) {
    let status;
    if (link !== 'connected') status = 'connecting';
    else if (entry.online === false || entry.linked === false) status = 'offline';
    else if (entry.heard !== null && now - entry.heard > staleMs) status = 'stale';
    else if (entry.online === null && !entry.state) status = 'connecting';
    else status = 'live';
    const content = !entry.state ? 'waiting' : entry.state.mood === 'nobody' ? 'nobody' : 'mood';
    return { status, content };
  }

  const STATUS_WORDS = { live: 'Live', offline: 'Offline', stale: 'No news', connecting: 'Not connected' };

  /** [the status badge, the note under a faded mood] for a device's view. */
  function statusText(view, entry, now) {
    const badge = view.status === 'connecting' && !entry.state ? '' : STATUS_WORDS[view.status];
    const sec = entry.heard === null ? 0 : Math.round((now - entry.heard) / 1000);
    const ago = sec < 90 ? `${sec} s` : `${Math.round(sec / 60)} minutes`;
    const note = view.status === 'offline' && entry.online !== false && entry.linked === false
      ? 'Room not reachable from here · showing the last known mood'
      : view.status === 'offline' ? 'Offline · showing the last known mood'
      : view.status === 'stale' ? `No news for ${ago} · showing the last known mood`
        : 'Not connected to the broker · showing the last known mood';
    return [badge, note];
  }

  // The heading over the picks says what they are for, in the words of the catalog's policy notes:
  // 'lift' for a happy room keeps the good mood going (it is not "lifted"); nobody gets crowd-pleasers.
  const TITLES = {
    happy: ['Films to keep the good mood going', 'Films to match the good mood'],
    sad: ['Films to lift the mood', 'Moving films for a sad mood'],
    angry: ['Films to calm things down', 'Films to let off steam'],
    disgust: ['Something clean and pleasant', 'Dark films for a grim mood'],
    fear: ['Comforting films, no scares', 'Films for those who enjoy the thrill'],
    surprise: ['Films full of wonder', 'Films full of twists and wonder'],
    neutral: ['Films to brighten a calm room', 'A broad mix for a calm room'],
    nobody: ['Crowd-pleasers for whoever walks in', 'Crowd-pleasers for whoever walks in'],
  };

  function picksTitle(mood, strategy) {
    const pair = Object.prototype.hasOwnProperty.call(TITLES, mood) ? TITLES[mood] : null;
    if (!pair || (strategy !== 'lift' && strategy !== 'match')) return 'Films for this mood';
    return pair[strategy === 'lift' ? 0 : 1];
  }


  /** What a device is called on screen: its room (daemon.area), else its id. */
  const nameOf = (entry, id) => (entry && entry.state && entry.state.area) || id;

  /** ``<prefix>-bridge/<device>``: a room's link to the house broker ("1" up, "0" down, mosquitto's
   * bridge notification; docs/house.md) -> [device, linked], or null for any other topic/payload. */
  function bridgeState(topic, prefix, text) {
    const head = `${prefix}-bridge/`;
    if (!topic.startsWith(head)) return null;
    const device = topic.slice(head.length);
    const v = text.trim();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(device) || (v !== '0' && v !== '1')) return null;
    return [device, v === '1'];
  }

  window.MoodEdgeState = { str, parseState, deviceView, statusText, nameOf, bridgeState, picksTitle };
})();
