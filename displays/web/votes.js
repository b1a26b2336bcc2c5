/*
 * mood-edge web display: the votes beside each pick. Thumbs up, thumbs down and "seen it" are real
 * <button>s, so touch, mouse and Enter work as everywhere; the arrow keys of a TV remote move
 * between them (left/right along a pick, up/down to the same button on the next pick), with a
 * focus ring large enough to see from a sofa. A vote is published on <prefix>/<device>/feedback;
 * the daemon's answer on .../feedback/result says whether it was recorded, and the page says so.
 */
'use strict';

(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const VOTES = ['up', 'down', 'seen'];
  const LABELS = { up: 'Like', down: 'Dislike', seen: 'Seen it' };
  const SENDING = { up: 'Sending thumbs up for', down: 'Sending thumbs down for', seen: 'Marking as seen:' };
  const ANSWER_MS = 8000; // no answer by then: say so (the daemon answers in well under a second)
  // Icons as constant SVG shapes (no emoji font on many TVs), drawn with currentColor.
  const THUMB = ['M3 10h4v10H3z', 'M9 10l3.5-7c1.8 0 2.8 1.3 2.4 3L14 10h5a2 2 0 0 1 2 2.3l-1.2 6A2 2 0 0 1 17.8 20H9z'];
  const ICONS = { up: THUMB, down: THUMB, seen: ['M2 12c4-7 16-7 20 0c-4 7-16 7-20 0z', 'M9 12l2 2l4-4'] };

  const voted = new Map(); // film key -> the vote this page sent (shown pressed while the film is listed)
  const pending = new Map(); // `${device}|${key}|${vote}` -> {timer, title}
  let send = null; // (device, payload) -> bool: publishes, false when not connected

  function icon(vote) {
    const root = document.createElementNS(SVG_NS, 'svg');
    root.setAttribute('viewBox', '0 0 24 24');
    root.setAttribute('class', `icon icon-${vote}`);
    root.setAttribute('aria-hidden', 'true');
    for (const d of ICONS[vote]) {
      const p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      root.appendChild(p);
    }
    return root;
  }

  /** The three buttons of one pick (the film's key is what a vote names; no key, no vote). */
  function fill(li, film) {
    const box = li.querySelector('.votes');
    li.dataset.key = film.key;
    for (const vote of VOTES) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'vote';
      b.dataset.vote = vote;
      b.disabled = !film.key;
      b.setAttribute('aria-pressed', String(voted.get(film.key) === vote));
      b.setAttribute('aria-label', `${LABELS[vote]}: ${film.title}`);
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = LABELS[vote];
      b.appendChild(icon(vote));
      b.appendChild(label);
      box.appendChild(b);
    }
  }

  // an answer stays long enough to be read from the sofa, then the picks have the card again
  const NOTE_MS = 15000;
  const noteTimers = new WeakMap();

  function note(deviceEl, text, kind) {
    const el = deviceEl.querySelector('.vote-note');
    el.textContent = text;
    el.dataset.kind = kind;
    el.hidden = !text;
    clearTimeout(noteTimers.get(el));
    if (kind !== 'sending') noteTimers.set(el, setTimeout(() => { el.hidden = true; }, NOTE_MS));
  }

  function vote(button) {
    const li = button.closest('.film');
    const deviceEl = button.closest('.device');
    if (!li || !deviceEl || !li.dataset.key || !send) return;
    const device = deviceEl.dataset.device;
    const key = li.dataset.key;
    const v = button.dataset.vote;
    const title = li.querySelector('.title').textContent;
    if (!send(device, JSON.stringify({ film: key, vote: v }))) {
      note(deviceEl, 'Not connected to the broker: the vote was not sent', 'bad');
      return;
    }
    voted.set(key, v);
    for (const b of li.querySelectorAll('.vote')) b.setAttribute('aria-pressed', String(b === button));
    const id = `${device}|${key}|${v}`;
    if (pending.has(id)) clearTimeout(pending.get(id).timer);
    const timer = setTimeout(() => {
      pending.delete(id);
      note(deviceEl, `No answer from ${device} about ${title}: is the mood sensor running?`, 'bad');
    }, ANSWER_MS);
    pending.set(id, { timer, title });
    note(deviceEl, `${SENDING[v]} ${title}…`, 'sending');
  }

  /** The daemon's answer (any display's vote, or Home Assistant's): shown on that device's card. */
  function result(deviceEl, device, text, str) {
    let r;
    try {
      r = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!r || typeof r !== 'object' || typeof r.ok !== 'boolean') return;
    const key = str(r.film, 80);
    const v = VOTES.includes(r.vote) ? r.vote : '';
    const id = `${device}|${key}|${v}`;
    if (pending.has(id)) {
      clearTimeout(pending.get(id).timer);
      pending.delete(id);
    }
    if (!r.ok && voted.get(key) === v) voted.delete(key);
    const message = str(r.message, 200);
    note(deviceEl, r.ok ? `✓ ${message || 'Vote recorded'}` : `✗ ${message || 'Vote not recorded'}`,
      r.ok ? 'ok' : 'bad');
  }

  // ---- the remote: arrow keys between the vote buttons, Enter presses (a <button> does that) ----
  const KEYS = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0],
                 Left: [0, -1], Right: [0, 1], Up: [-1, 0], Down: [1, 0] }; // older TV browsers
  const KEY_CODES = { 37: 'ArrowLeft', 38: 'ArrowUp', 39: 'ArrowRight', 40: 'ArrowDown' };

  function rows() {
    return [...document.querySelectorAll('.film')]
      .filter((li) => li.getClientRects().length > 0)
      .map((li) => [...li.querySelectorAll('.vote')].filter((b) => !b.disabled))
      .filter((r) => r.length);
  }

  function onKey(ev) {
    const enter = ev.key === 'Enter' || ev.keyCode === 13; // a remote's OK with nothing in focus: start there
    const move = KEYS[ev.key] || KEYS[KEY_CODES[ev.keyCode]] || (enter && [0, 0]);
    if (!move || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const grid = rows();
    if (!grid.length) return;
    const at = document.activeElement;
    let r = grid.findIndex((row) => row.includes(at));
    let c;
    if (r < 0) {
      if (at && at.closest && at.closest('.login')) return; // typing a login: the arrows are the form's
      r = 0;
      c = 0;
    } else if (enter) {
      return; // Enter on a vote button: the button itself votes
    } else {
      c = grid[r].indexOf(at);
      r = Math.max(0, Math.min(grid.length - 1, r + move[0]));
      c = Math.max(0, Math.min(grid[r].length - 1, c + move[1]));
    }
    ev.preventDefault();
    grid[r][c].focus();
    grid[r][c].scrollIntoView({ block: 'nearest' });
  }

  /** Redraw ``list`` with ``draw`` and give the focus back to the same button of the same place. */
  function keepFocus(list, draw) {
    const at = document.activeElement;
    const li = at && at.classList && at.classList.contains('vote') && list.contains(at) ? at.closest('.film') : null;
    const place = li ? [...list.children].indexOf(li) : -1;
    const v = li ? at.dataset.vote : '';
    draw();
    if (place < 0 || !list.children.length) return;
    const target = list.children[Math.min(place, list.children.length - 1)].querySelector(`.vote[data-vote="${v}"]`);
    if (target && !target.disabled) target.focus();
  }

  function init(main, publish) {
    send = publish;
    main.addEventListener('click', (ev) => {
      const b = ev.target.closest && ev.target.closest('button.vote');
      if (b && !b.disabled) vote(b);
    });
    document.addEventListener('keydown', onKey);
  }

  window.MoodEdgeVotes = { init, fill, result, keepFocus };
})();
