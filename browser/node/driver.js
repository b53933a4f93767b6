// Drives Debian's Chromium for the Go tests of the browser package, over JSON lines:
// stdin  {"id": 1, "cmd": "click", "page": "A", "selector": "..."}
// stdout {"id": 1, "ok": true, "result": ...} or {"id": 1, "ok": false, "error": "..."}
// Each named page has a browser context of its own (its own cookies: another user).
// argv[2] is a JSON object: {"executablePath": "/usr/bin/chromium", "timeoutMs": 15000}.
import { createInterface } from 'node:readline';

import { chromium } from 'playwright-core';

const opts = JSON.parse(process.argv[2] || '{}');
const TIMEOUT = opts.timeoutMs || 15000;

const browser = await chromium.launch({
  executablePath: opts.executablePath || '/usr/bin/chromium',
  headless: true,
  timeout: TIMEOUT * 2,
  // playwright-core gives the browser a fresh temporary user-data-dir of its own.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

/** @type {Map<string, {context: import('playwright-core').BrowserContext, page: import('playwright-core').Page, errors: string[], console: string[]}>} */
const pages = new Map();

function pageOf(name) {
  const p = pages.get(name);
  if (!p) throw new Error(`no page ${JSON.stringify(name)}`);
  return p;
}

const commands = {
  async open({ page: name, width = 640, height = 720 }) {
    const context = await browser.newContext({ viewport: { width, height } });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    const entry = { context, page, errors: [], console: [] };
    page.on('pageerror', (err) => entry.errors.push(String(err && err.stack || err)));
    page.on('console', (m) => entry.console.push(`${m.type()}: ${m.text()}`));
    pages.set(name, entry);
    return null;
  },
  async goto({ page, url }) {
    const res = await pageOf(page).page.goto(url, { waitUntil: 'load' });
    return res ? res.status() : 0;
  },
  async click({ page, selector }) {
    await pageOf(page).page.locator(selector).click();
    return null;
  },
  /** fill types value into the first element of selector (an input). */
  async fill({ page, selector, value }) {
    await pageOf(page).page.locator(selector).first().fill(value);
    return null;
  },
  /** wait until selector is attached, detached, visible or hidden (state). */
  async wait({ page, selector, state = 'attached' }) {
    await pageOf(page).page.locator(selector).first().waitFor({ state });
    return null;
  },
  /** waitText waits until the first element of selector contains text. */
  async waitText({ page, selector, text }) {
    await pageOf(page).page.waitForFunction(
      ([sel, want]) => { const el = document.querySelector(sel); return !!el && el.textContent.includes(want); },
      [selector, text], { timeout: TIMEOUT });
    return null;
  },
  async text({ page, selector }) {
    return pageOf(page).page.evaluate((sel) => { const el = document.querySelector(sel); return el ? el.textContent : null; }, selector);
  },
  async attr({ page, selector, name }) {
    return pageOf(page).page.evaluate(([sel, n]) => { const el = document.querySelector(sel); return el ? el.getAttribute(n) : null; }, [selector, name]);
  },
  async count({ page, selector }) {
    return pageOf(page).page.locator(selector).count();
  },
  async screenshot({ page, path }) {
    await pageOf(page).page.screenshot({ path });
    return null;
  },
  /** sideBySide saves one image of several pages next to each other, each under its label. */
  async sideBySide({ pages: names, labels = [], path }) {
    const shots = [];
    for (const n of names) shots.push((await pageOf(n).page.screenshot()).toString('base64'));
    const ctx = await browser.newContext({ viewport: { width: 660 * names.length + 20, height: 800 } });
    try {
      const page = await ctx.newPage();
      const cells = shots.map((b64, i) => `<figure><figcaption>${escapeHTML(labels[i] || names[i])}</figcaption>` +
        `<img src="data:image/png;base64,${b64}"></figure>`).join('');
      await page.setContent(`<!doctype html><style>body{margin:0;padding:10px;background:#d8dde3;display:inline-flex;gap:10px;` +
        `font:14px system-ui,sans-serif}figure{margin:0;background:#fff;box-shadow:0 1px 4px #0003}` +
        `figcaption{padding:4px 8px;background:#345;color:#fff}img{display:block}</style>${cells}`);
      await page.locator('body').screenshot({ path });
    } finally {
      await ctx.close();
    }
    return null;
  },
  async errors({ page }) {
    return pageOf(page).errors;
  },
  async console({ page }) {
    return pageOf(page).console;
  },
  async close({ page }) {
    await pageOf(page).context.close();
    pages.delete(page);
    return null;
  },
};

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

reply({ id: 0, ok: true, result: { version: browser.version() } });

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    reply({ id: -1, ok: false, error: 'bad JSON: ' + err.message });
    continue;
  }
  const fn = commands[msg.cmd];
  if (!fn) {
    reply({ id: msg.id, ok: false, error: 'unknown command ' + msg.cmd });
    continue;
  }
  try {
    reply({ id: msg.id, ok: true, result: await fn(msg) });
  } catch (err) {
    reply({ id: msg.id, ok: false, error: String(err && err.message || err) });
  }
}
await browser.close();
