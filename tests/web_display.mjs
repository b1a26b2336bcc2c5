// Drives Debian's Chromium with playwright-core for tests/test_web_display.py.
//
// A tiny line protocol so the Python test can publish real MQTT messages between steps:
// each stdin line is a JSON command, each stdout line the JSON answer {ok, result|error}.
//   {"cmd": "open", "url": ..., "width": 1920, "height": 1080, "mobile": false}
//   {"cmd": "wait", "js": "<expression>", "timeout_ms": 30000}   -> polls until it is truthy
//   {"cmd": "snapshot"}                                            -> what the page shows
//   {"cmd": "screenshot", "path": "artifacts/x.png"}
//   {"cmd": "fill", "selector": "#login-user", "value": "tv"}      -> types into a field
//   {"cmd": "click", "selector": "#login button"}
//   {"cmd": "press", "key": "ArrowDown"}                           -> a key of the keyboard (a TV remote)
//   {"cmd": "reload"}                                              -> same context (localStorage kept)
//   {"cmd": "close"}
// Never downloads a browser: CHROMIUM (default /usr/bin/chromium) must exist.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'displays', 'package.json'));
const { chromium } = require('playwright-core');

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // the flags a sandboxed CI box needs; Playwright adds a fresh temporary --user-data-dir itself
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});

let context = null;
let page = null;
const problems = []; // page errors and console errors: the test expects none

async function open({ url, width, height, mobile }) {
  if (context) await context.close();
  problems.length = 0;
  context = await browser.newContext({
    viewport: { width, height },
    deviceScaleFactor: mobile ? 3 : 1,
    isMobile: !!mobile,
    hasTouch: !!mobile,
  });
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(url, { waitUntil: 'load' });
  return { title: await page.title() };
}

// What a viewer sees, read back from the DOM (text as rendered, not as sent).
function snapshot() {
  return page.evaluate(() => {
    const text = (el, sel) => { const x = el.querySelector(sel); return x ? x.textContent.trim() : null; };
    const visible = (el) => !!el && getComputedStyle(el).display !== 'none' && el.getClientRects().length > 0;
    const devices = [...document.querySelectorAll('.device')].map((d) => ({
      device: d.dataset.device,
      mood: d.dataset.mood,
      online: d.dataset.online,
      word: text(d, '.mood-word'),
      status: text(d, '.status'),
      statusKind: d.dataset.status,
      note: visible(d.querySelector('.offline-note')) ? text(d, '.offline-note') : null,
      confidence: text(d, '.confidence'),
      faces: text(d, '.faces'),
      offlineNote: visible(d.querySelector('.offline-note')),
      face: !!d.querySelector('.face svg'),
      films: [...d.querySelectorAll('.films > .film')].map((f) => ({
        title: text(f, '.title'),
        year: text(f, '.year'),
        runtime: text(f, '.runtime'),
        rating: text(f, '.rating'),
        genres: [...f.querySelectorAll('.genres li')].map((g) => g.textContent),
        why: [...f.querySelectorAll('.why li')].map((r) => r.textContent).join(' · '),
        reasons: [...f.querySelectorAll('.why li')].map((r) => r.textContent),
        // a reason is cut off when its text is wider or taller than its box
        reasonsClipped: [...f.querySelectorAll('.why li')].some((r) => r.scrollWidth > r.clientWidth + 1
          || r.scrollHeight > r.clientHeight + 1),
        reasonFontPx: f.querySelector('.why li') ? parseFloat(getComputedStyle(f.querySelector('.why li')).fontSize) : null,
        reasonItalic: f.querySelector('.why li') ? getComputedStyle(f.querySelector('.why li')).fontStyle === 'italic' : null,
        key: f.dataset.key,
        pressed: [...f.querySelectorAll('.vote[aria-pressed="true"]')].map((b) => b.dataset.vote),
        voteButtons: [...f.querySelectorAll('.vote')].filter(visible).map((b) => b.dataset.vote),
        votable: f.querySelectorAll('.vote:not(:disabled)').length === 3,
        owned: visible(f.querySelector('.owned')),
        html: f.querySelector('.title').innerHTML,
      })),
      overflowX: d.scrollWidth > d.clientWidth + 1,
      picksTitle: text(d, '.picks-title'),
      voteNote: visible(d.querySelector('.vote-note')) ? text(d, '.vote-note') : null,
      wordFontPx: parseFloat(getComputedStyle(d.querySelector('.mood-word')).fontSize),
    }));
    const at = document.activeElement;
    const film = at && at.closest ? at.closest('.film') : null;
    return {
      // the focused vote button: which pick (0-based, in page order) and which vote
      focus: film && at.classList.contains('vote') ? {
        film: [...document.querySelectorAll('.film')].indexOf(film), vote: at.dataset.vote,
        ring: getComputedStyle(at).borderColor, title: film.querySelector('.title').textContent } : null,
      conn: document.getElementById('conn').textContent,
      connState: document.getElementById('conn').dataset.state,
      warning: document.getElementById('warning').hidden ? null : document.getElementById('warning').textContent,
      devices,
      pageOverflowX: document.documentElement.scrollWidth > window.innerWidth + 1,
      injected: document.querySelectorAll('.device img, .device script, .device b').length,
      login: document.getElementById('login') && !document.getElementById('login').hidden
        ? document.getElementById('login-why').textContent : null,
    };
  });
}

// Poll an expression through the DevTools protocol: page.waitForFunction(string) evals inside the
// page, which the page's Content-Security-Policy (rightly) forbids.
async function waitFor(js, timeoutMs) {
  const fn = new Function(`return (${js});`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(fn)) return true;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${js}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function handle(msg) {
  switch (msg.cmd) {
    case 'open': return open(msg);
    case 'wait': return waitFor(msg.js, msg.timeout_ms || 30000);
    case 'snapshot': return { ...(await snapshot()), problems: [...problems] };
    case 'screenshot':
      mkdirSync(dirname(msg.path), { recursive: true });
      // finish CSS transitions first, so the confidence bar shows its final width
      await page.screenshot({ path: msg.path, fullPage: !!msg.full_page, animations: 'disabled' });
      return msg.path;
    case 'fill': await page.fill(msg.selector, msg.value, { timeout: 10000 }); return true;
    case 'click': await page.click(msg.selector, { timeout: 10000 }); return true;
    case 'press': await page.keyboard.press(msg.key); return true;
    case 'reload':
      problems.length = 0;
      await page.reload({ waitUntil: 'load' });
      return { title: await page.title() };
    case 'close': return 'bye';
    default: throw new Error(`unknown command ${msg.cmd}`);
  }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let msg;
  let reply;
  try {
    msg = JSON.parse(line);
    reply = { ok: true, result: await handle(msg) };
  } catch (e) {
    reply = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
  if (msg && msg.cmd === 'close') break;
}
if (context) await context.close();
await browser.close();
process.exit(0);
