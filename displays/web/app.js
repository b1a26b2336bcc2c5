/*
 * mood-edge web display: subscribes to <prefix>/<device>/state, .../availability and
 * .../feedback/result over MQTT-over-WebSockets (mqtt.js, vendored by `npm install` in displays/)
 * and shows the room's mood and film picks, large enough to read from a sofa, with votes beside
 * each pick (votes.js) that it publishes on <prefix>/<device>/feedback.
 *
 * URL parameters (all optional): broker=ws://host:9001  username=  device=<id>|all  prefix=mood-edge
 *   stale=180 (seconds without a message before a device shows as stale: three 60 s heartbeats)
 * With no broker= the page connects back to where it came from (mosquitto's http_dir serves it on
 * the websockets port). A broker that wants a login gets one typed into the page, never the URL.
 *
 * Every message field comes from the network: it is only ever written with textContent or as a
 * checked attribute value, never as HTML.
 */
'use strict';

(function () {
  const MOODS = {
    happy: 'Happy', sad: 'Sad', angry: 'Angry', disgust: 'Disgusted', fear: 'Afraid',
    surprise: 'Surprised', neutral: 'Neutral', nobody: 'Nobody here',
  };
  const DEVICE_RE = /^[A-Za-z0-9_-]{1,64}$/;
  // A state message is ~2-20 KB; the shipped broker refuses packets over 64 KiB. Larger ones are
  // not decoded or parsed (a 24 MB state would hang the page on every retained delivery).
  const MAX_MESSAGE_BYTES = 64 * 1024;
  const own = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

  function param(params, name, fallback) {
    const v = params.get(name);
    return v === null || v === '' ? fallback : v;
  }

  // Served by the broker itself (mosquitto http_dir): the same host and port, wss: for an https page.
  function defaultBroker() {
    if ((location.protocol === 'http:' || location.protocol === 'https:') && location.host) {
      return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
    }
    return 'ws://localhost:9001';
  }

  function readSettings(search) {
    const params = new URLSearchParams(search);
    const s = {
      broker: param(params, 'broker', defaultBroker()),
      username: param(params, 'username', undefined),
      password: undefined, // typed into the login form, never taken from the URL
      passwordInUrl: params.has('password'),
      device: param(params, 'device', 'all'),
      prefix: param(params, 'prefix', 'mood-edge'),
      staleMs: Number(param(params, 'stale', '180')) * 1000,
      errors: [],
    };
    if (!(s.staleMs >= 1000 && s.staleMs <= 86400000)) s.errors.push('stale must be 1 to 86400 seconds');
    if (!/^wss?:\/\/[^/]+/.test(s.broker)) s.errors.push('broker must be ws://host:port or wss://host:port');
    if (s.device !== 'all' && !DEVICE_RE.test(s.device)) s.errors.push('device must be "all" or letters, digits, - and _');
    if (/[#+]/.test(s.prefix) || s.prefix.endsWith('/') || !s.prefix) s.errors.push('prefix must be a topic without wildcards');
    return s;
  }

  const { str, parseState, deviceView, statusText, nameOf, bridgeState, picksTitle } = window.MoodEdgeState;
  const { drawFace } = window.MoodEdgeFaces;
  const votes = window.MoodEdgeVotes;
  let link = 'connecting'; // this page's broker connection: connecting | connected | error
  let settings = { staleMs: 180000 };
  const viewOf = (entry, now) => deviceView(entry, now, link, settings.staleMs);

  function deviceOf(topic, prefix) {
    if (!topic.startsWith(prefix + '/')) return null;
    const parts = topic.slice(prefix.length + 1).split('/');
    if (parts.length < 2 || parts.length > 3 || !DEVICE_RE.test(parts[0])) return null;
    return { device: parts[0], kind: parts.slice(1).join('/') };
  }

  // ---- rendering -----------------------------------------------------------------------------
  const main = document.getElementById('devices');
  const notice = document.getElementById('notice');
  const warning = document.getElementById('warning');
  const conn = document.getElementById('conn');
  const devices = new Map(); // id -> {el, state, online}
  const order = []; // device ids, sorted: a new one is placed by binary search, not a full re-sort

  function q(el, sel) { return el.querySelector(sel); }

  // Element.replaceChildren is missing in older TV browsers
  function replaceChildren(parent, children) {
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    for (const c of children) parent.appendChild(c);
  }

  function deviceEntry(id) {
    let entry = devices.get(id);
    if (entry) return entry;
    const el = document.getElementById('device-template').content.firstElementChild.cloneNode(true);
    el.dataset.device = id;
    q(el, '.name').textContent = id;
    entry = { el, state: null, online: null, linked: null, face: '', heard: null, drawn: null };
    devices.set(id, entry);
    // keep devices in name order
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order[mid] < id) lo = mid + 1; else hi = mid;
    }
    order.splice(lo, 0, id);
    const after = order[lo + 1];
    main.insertBefore(el, after !== undefined ? devices.get(after).el : null);
    main.dataset.count = String(devices.size);
    notice.hidden = true;
    return entry;
  }

  function formatSince(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '';
    return 'since ' + new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function renderFilms(list, films) {
    const tpl = document.getElementById('film-template').content.firstElementChild;
    const items = films.map((f) => {
      const li = tpl.cloneNode(true);
      q(li, '.title').textContent = f.title;
      q(li, '.year').textContent = f.year ? String(f.year) : '';
      q(li, '.runtime').textContent = f.runtime ? `${f.runtime} min` : '';
      q(li, '.rating').textContent = f.rating;
      const genres = q(li, '.genres');
      for (const g of f.genres) {
        const chip = document.createElement('li');
        chip.textContent = g;
        genres.appendChild(chip);
      }
      for (const r of f.reasons) { // each reason whole, never cut off
        const item = document.createElement('li');
        item.textContent = r;
        q(li, '.why').appendChild(item);
      }
      votes.fill(li, f);
      q(li, '.owned').hidden = !f.owned;
      li.dataset.owned = String(f.owned);
      return li;
    });
    votes.keepFocus(list, () => replaceChildren(list, items));
  }

  function render(entry, now = Date.now()) {
    const { el, state, online } = entry;
    const view = viewOf(entry, now);
    el.dataset.online = online === null ? 'unknown' : String(online);
    q(el, '.name').textContent = nameOf(entry, el.dataset.device);
    el.dataset.status = view.status;
    el.dataset.content = view.content;
    [q(el, '.status').textContent, q(el, '.offline-note').textContent] = statusText(view, entry, now);
    if (!state) {
      el.dataset.mood = 'none';
      q(el, '.mood-word').textContent = 'No mood yet';
      return;
    }
    if (entry.drawn === state) return; // a timer tick: only the status above can have changed
    entry.drawn = state;
    el.dataset.mood = own(MOODS, state.mood) ? state.mood : 'other';
    if (entry.face !== state.mood) {
      replaceChildren(q(el, '.face'), [drawFace(state.mood)]);
      entry.face = state.mood;
    }
    q(el, '.mood-word').textContent = own(MOODS, state.mood) ? MOODS[state.mood] : state.mood;
    const pct = state.confidence === null ? null : Math.round(Math.max(0, Math.min(1, state.confidence)) * 100);
    q(el, '.fill').style.width = `${pct || 0}%`;
    q(el, '.confidence').textContent = pct === null ? '' : `${pct}% sure`;
    // an empty room has no face count (the daemon sends 0 with "nobody"; a display never shows both)
    q(el, '.faces').textContent = view.content !== 'mood' || state.faces === null ? ''
      : state.faces === 1 ? '1 face' : `${state.faces} faces`;
    q(el, '.since').textContent = formatSince(state.since);
    el.dataset.camera = state.camera === 'down' ? 'down' : 'ok';
    q(el, '.picks-title').textContent = picksTitle(state.mood, state.strategy);
    renderFilms(q(el, '.films'), state.films);
    el.dataset.films = String(state.films.length);
  }

  function warn(text) {
    console.warn('mood-edge:', text);
    warning.textContent = text;
    warning.hidden = false;
  }

  function setConn(state, text) {
    conn.dataset.state = state;
    conn.textContent = text;
  }

  // The bar: the broker link while it is not up; once it is, the devices' own status, so its
  // green "live" never stands beside a device that is offline, stale or not yet heard from.
  let linkText = 'connecting…';
  function renderBar(now) {
    if (link !== 'connected') { setConn(link, linkText); return; }
    const views = order.map((id) => [id, viewOf(devices.get(id), now).status]);
    const worst = ['offline', 'stale', 'connecting'].find((st) => views.some(([, v]) => v === st));
    if (!views.length) setConn('connecting', 'connected · waiting for a mood sensor');
    else if (!worst) setConn('connected', 'live');
    else {
      const ids = views.filter(([, v]) => v === worst).map(([id]) => id);
      const who = ids.length === 1 ? nameOf(devices.get(ids[0]), ids[0]) : `${ids.length} sensors`;
      const words = { offline: 'offline', stale: 'no news', connecting: 'waiting' }[worst];
      setConn(worst === 'offline' ? 'error' : 'connecting', `${who} ${words}`);
    }
  }

  function renderAll() {
    const now = Date.now();
    for (const entry of devices.values()) render(entry, now);
    renderBar(now);
  }

  function setLink(state, text) {
    link = state;
    linkText = text;
    renderAll();
  }

  // ---- login -------------------------------------------------------------------------------
  // A display account can only read and vote, but its password still stays out of URLs (history, logs,
  // screenshots): the page asks for it and, if allowed, keeps it in this screen's localStorage.
  const loginForm = document.getElementById('login');
  const storeKey = (broker) => `mood-edge-login:${broker}`;

  function storedLogin(broker) {
    try {
      const v = JSON.parse(window.localStorage.getItem(storeKey(broker)) || 'null');
      return v && typeof v.username === 'string' && typeof v.password === 'string' ? v : null;
    } catch (e) {
      return null; // storage disabled (private mode) or garbage: ask again
    }
  }

  function saveLogin(broker, login) {
    try {
      if (login) window.localStorage.setItem(storeKey(broker), JSON.stringify(login));
      else window.localStorage.removeItem(storeKey(broker));
    } catch (e) { /* storage disabled: the login lasts until the page is reloaded */ }
  }

  function askLogin(why, username, onLogin) {
    document.getElementById('login-why').textContent = why;
    const user = document.getElementById('login-user');
    const pass = document.getElementById('login-pass');
    if (username && !user.value) user.value = username;
    pass.value = '';
    loginForm.hidden = false;
    notice.hidden = true;
    (user.value ? pass : user).focus();
    loginForm.onsubmit = (ev) => {
      ev.preventDefault();
      if (!user.value || !pass.value) return;
      loginForm.hidden = true;
      const login = { username: user.value, password: pass.value };
      saveLogin(loginForm.dataset.broker, document.getElementById('login-remember').checked ? login : null);
      pass.value = '';
      onLogin(login);
    };
  }

  // ---- MQTT ----------------------------------------------------------------------------------
  function start() {
    const s = readSettings(location.search);
    if (s.errors.length) {
      setConn('error', 'bad URL parameters');
      notice.textContent = s.errors.join('; ');
      return;
    }
    if (typeof window.mqtt === 'undefined') {
      setConn('error', 'mqtt.js missing');
      notice.textContent = 'vendor/mqtt.min.js is missing: run "npm install" in displays/ '
        + '(or re-run install.sh --with-broker on the Pi).';
      return;
    }
    if (s.passwordInUrl) warn('the password in the URL was ignored: log in on this page instead');
    loginForm.dataset.broker = s.broker;
    settings = s;
    setInterval(renderAll, 5000); // stale is a matter of time passing, not of a message arriving
    const level = s.device === 'all' ? '+' : s.device;
    // availability first, so a retained "offline" is known before the retained state is drawn
    const topics = [`${s.prefix}/${level}/availability`, `${s.prefix}/${level}/state`,
      `${s.prefix}/${level}/feedback/result`,
      `${s.prefix}-bridge/${level}`];
    let client = null;
    votes.init(main, (device, payload) => {
      if (!client || !client.connected) return false;
      client.publish(`${s.prefix}/${device}/feedback`, payload, { qos: 1 });
      return true;
    });
    const brokerName = s.broker.replace(/\/\/[^@/]*@/, '//');
    notice.textContent = `Waiting for ${s.device === 'all' ? 'a mood sensor' : s.device} on ${brokerName}…`;
    const decoder = new TextDecoder('utf-8', { fatal: false });

    function onMessage(topic, payload) {
      const link = payload.length <= 8 && bridgeState(topic, s.prefix, decoder.decode(payload));
      if (link) { // on a house broker: a room whose bridge is down is offline here
        deviceEntry(link[0]).linked = link[1];
        renderAll();
        return;
      }
      const where = deviceOf(topic, s.prefix);
      if (!where) return;
      if (payload.length > MAX_MESSAGE_BYTES) {
        warn(`${where.device}: ignored a ${payload.length}-byte message (the limit is ${MAX_MESSAGE_BYTES})`);
        return;
      }
      const text = decoder.decode(payload);
      if (where.kind === 'availability') {
        const v = text.trim();
        if (v !== 'online' && v !== 'offline') {
          if (v) warn(`${where.device}: availability "${str(v, 20)}" is neither online nor offline`);
          return;
        }
        const entry = deviceEntry(where.device);
        entry.online = v === 'online';
        entry.heard = Date.now();
        renderAll();
      } else if (where.kind === 'state') {
        if (!text) return; // retained state cleared
        let state;
        try {
          state = parseState(text);
        } catch (e) {
          warn(`${where.device}: ignored a bad state message (${e.message})`);
          return;
        }
        const entry = deviceEntry(where.device);
        entry.state = state;
        entry.heard = Date.now();
        renderAll();
        warning.hidden = true;
      } else if (where.kind === 'feedback/result' && devices.has(where.device)) {
        votes.result(devices.get(where.device).el, where.device, text, str);
      }
    }

    function connect(login) {
      setLink('connecting', `connecting to ${brokerName}…`);
      const c = window.mqtt.connect(s.broker, {
        username: login ? login.username : s.username,
        password: login ? login.password : undefined,
        clientId: 'mood-edge-web-' + Math.random().toString(16).slice(2, 10),
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 3000,
        connectTimeout: 10000,
      });
      c.on('connect', () => {
        setLink('connected', 'live');
        c.subscribe(topics, { qos: 1 }, (err) => { if (err) warn(`cannot subscribe: ${err.message}`); });
      });
      c.on('reconnect', () => setLink('connecting', `reconnecting to ${brokerName}…`));
      c.on('offline', () => setLink('error', `broker ${brokerName} unreachable · retrying`));
      c.on('error', (err) => {
        // CONNACK 4 (bad user name or password) or 5 (not authorised): ask, do not retry blindly
        if (err && (err.code === 4 || err.code === 5)) {
          c.end(true);
          if (login) saveLogin(s.broker, null);
          setLink('error', 'login needed');
          askLogin(login ? 'That user name or password was not accepted.'
            : `${brokerName} asks for a display login.`, login ? login.username : s.username, connect);
          return;
        }
        setLink('error', `broker: ${err && err.message ? err.message : 'error'}`);
      });
      c.on('message', onMessage);
      client = c;
      window.moodEdge = { client: c, devices }; // for debugging from the console
    }

    connect(storedLogin(s.broker));
  }

  start();
})();
