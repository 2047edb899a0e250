#!/usr/bin/env node
// web.mjs: drives Debian's chromium (headless, through playwright-core) through Fathom's
// speed-test page, the way a visitor would, and reports the page's result.
//
// Usage:
//   node tests/browser/web.mjs --url http://127.0.0.1:PORT/ [--screenshot out.png]
//        [--live-screenshot during.png]
//        [--idle-screenshot before.png] [--timeout SEC] [--viewport WxH] [--chromium PATH]
//   --url         the page (http → the page uses ws, https → wss; certificate errors ignored)
//   --screenshot  save a full-page PNG of the finished (or failed) page here
//   --live-screenshot  also save one taken about 5 s into the download phase
//   --idle-screenshot  also save one of the page before Start (the consent screen)
//   --timeout     limit for the whole run in seconds (default 60)
//   --viewport    window size, default 1280x800 (a phone: 390x844)
//   --chromium    browser binary, default $CHROMIUM or /usr/bin/chromium
// What it checks, in order:
//   - the page loads with no page error, console error, failed request or HTTP error status;
//   - nothing is measured before consent: no WebSocket opens in the first second, and the
//     page shows a link to /privacy and an enabled Start button;
//   - after a click on Start, <body data-state> reaches "done" within the timeout;
//   - window.fathomResult.done is true, download and upload Mbit/s (client and server) are
//     positive numbers, both test IDs are present, the numbers shown on the page match it;
//   - exactly two WebSockets (…/ndt/v7/download, …/ndt/v7/upload) with the scheme matching
//     the page's, and no WebSocket error (playwright's "socketerror" carries the real reason,
//     which ndt7-js hides) at any time.
// It does not judge speed: the browser is CPU-bound on small machines.
// Output: window.fathomResult as JSON on stdout (null when the page never produced one);
//   diagnostics and the reasons of a failure on stderr.
// Exit codes: 0 all checks passed, 1 a check failed, 2 bad usage, 77 chromium not found (skip).

import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));

function usage(msg) {
  process.stderr.write(`web.mjs: ${msg}\n` +
    'usage: web.mjs --url URL [--screenshot PNG] [--live-screenshot PNG] [--idle-screenshot PNG] [--timeout SEC] [--viewport WxH] [--chromium PATH]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, screenshot: null, liveScreenshot: null, idleScreenshot: null, timeout: 60, viewport: '1280x800',
    chromium: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--url') o.url = val();
    else if (a === '--screenshot') o.screenshot = path.resolve(val());
    else if (a === '--idle-screenshot') o.idleScreenshot = path.resolve(val());
    else if (a === '--live-screenshot') o.liveScreenshot = path.resolve(val());
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--viewport') o.viewport = val();
    else if (a === '--chromium') o.chromium = val();
    else if (a === '-h' || a === '--help') usage('help');
    else usage(`unknown argument ${a}`);
  }
  if (!o.url) usage('--url is required');
  let u;
  try { u = new URL(o.url); } catch { usage(`bad --url ${o.url}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') usage('--url must be http or https');
  const m = /^(\d+)x(\d+)$/.exec(o.viewport);
  if (!m) usage('--viewport wants WxH, e.g. 390x844');
  o.size = { width: Number(m[1]), height: Number(m[2]) };
  if (!(o.timeout > 0)) usage('--timeout must be positive');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (s) => process.stderr.write(`web.mjs: ${s}\n`);

if (!existsSync(opts.chromium)) {
  log(`skip: no chromium at ${opts.chromium} (apt-get install chromium)`);
  process.exit(77);
}

const { chromium } = require('playwright-core');
const pageUrl = new URL(opts.url);
const wantScheme = pageUrl.protocol === 'https:' ? 'wss:' : 'ws:';
const problems = [];
const sockets = [];
const t0 = Date.now();
const deadline = t0 + opts.timeout * 1000;
const left = () => Math.max(1000, deadline - Date.now());

const profile = mkdtempSync(path.join(tmpdir(), 'fathom-chromium-'));
let context = null;
let result = null;
let exitCode = 1;

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: opts.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: opts.size,
  });
  const page = context.pages()[0] || await context.newPage();

  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => {
    problems.push(`request failed: ${req.url()}: ${req.failure() && req.failure().errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  page.on('websocket', (ws) => {
    const rec = { url: ws.url(), at: (Date.now() - t0) / 1000, framesReceived: 0, closed: false };
    sockets.push(rec);
    log(`websocket ${rec.url}`);
    ws.on('socketerror', (err) => problems.push(`websocket error on ${rec.url}: ${err}`));
    ws.on('framereceived', () => { rec.framesReceived++; });
    ws.on('close', () => { rec.closed = true; });
  });

  await page.goto(opts.url, { waitUntil: 'load', timeout: left() });

  // Consent first: nothing may run before the click.
  await page.waitForTimeout(1000);
  if (sockets.length > 0) problems.push('a WebSocket opened before Start was pressed');
  if (await page.locator('a[href="/privacy"]').count() === 0) problems.push('no link to /privacy');
  const startButton = page.getByRole('button', { name: 'Start' });
  if (!(await startButton.isEnabled())) problems.push('the Start button is not enabled');
  if (await page.evaluate(() => document.body.dataset.state) !== 'idle') {
    problems.push('the page is not idle before Start');
  }

  if (opts.idleScreenshot) {
    await page.screenshot({ path: opts.idleScreenshot, fullPage: true });
    log(`idle screenshot ${opts.idleScreenshot}`);
  }

  await startButton.click();
  log('clicked Start');
  if (opts.liveScreenshot) {
    await page.waitForFunction(() => document.body.dataset.phase === 'download', null,
      { timeout: left() });
    await page.waitForTimeout(5000);
    await page.screenshot({ path: opts.liveScreenshot, fullPage: true });
    log(`live screenshot ${opts.liveScreenshot}`);
  }
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state),
    null, { timeout: left(), polling: 250 });
  const state = await page.evaluate(() => document.body.dataset.state);
  result = await page.evaluate(() => window.fathomResult || null);
  if (state !== 'done') {
    const why = await page.evaluate(() => document.getElementById('failed-text').textContent);
    problems.push(`the page ended in state "${state}": ${why}`);
  }

  // What the page shows must be what it computed.
  const shown = await page.evaluate(() => {
    const get = (f) => document.querySelector(`[data-field="${f}"]`).textContent;
    return { dl: get('download-mbps'), dlServer: get('download-server-mbps'), ul: get('upload-mbps'),
      dlId: get('download-uuid'), ulId: get('upload-uuid') };
  });
  const isPos = (x) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const near = (text, x) => {
    const v = Number(String(text).replace(/,/g, ''));
    return Number.isFinite(v) && Math.abs(v - x) <= Math.max(0.01, Math.abs(x) * 0.01);
  };
  if (!result) problems.push('window.fathomResult is missing');
  else if (state === 'done') {
    if (result.done !== true) problems.push('fathomResult.done is not true');
    for (const [k, v] of [['download.mbps', result.download.mbps],
      ['download.serverMbps', result.download.serverMbps], ['upload.mbps', result.upload.mbps],
      ['upload.clientMbps', result.upload.clientMbps]]) {
      if (!isPos(v)) problems.push(`${k} is not a positive number: ${v}`);
    }
    for (const dir of ['download', 'upload']) {
      if (typeof result[dir].uuid !== 'string' || result[dir].uuid === '') {
        problems.push(`${dir}.uuid is missing`);
      }
    }
    if (!near(shown.dl, result.download.mbps)) problems.push(`shown download ${shown.dl} ≠ ${result.download.mbps}`);
    if (!near(shown.dlServer, result.download.serverMbps)) {
      problems.push(`shown server-side download ${shown.dlServer} ≠ ${result.download.serverMbps}`);
    }
    if (!near(shown.ul, result.upload.mbps)) problems.push(`shown upload ${shown.ul} ≠ ${result.upload.mbps}`);
    if (shown.dlId !== result.download.uuid || shown.ulId !== result.upload.uuid) {
      problems.push('shown test IDs differ from fathomResult');
    }
  }
  const paths = sockets.map((s) => new URL(s.url).pathname);
  if (paths.join(' ') !== '/ndt/v7/download /ndt/v7/upload') {
    problems.push(`expected one download and one upload WebSocket, saw: ${paths.join(', ') || 'none'}`);
  }
  for (const s of sockets) {
    if (new URL(s.url).protocol !== wantScheme) problems.push(`${s.url} does not use ${wantScheme}`);
    if (s.framesReceived === 0) problems.push(`no frame received on ${s.url}`);
  }
  if (result) {
    log(`download ${result.download && result.download.mbps} Mbit/s (server-side ` +
      `${result.download && result.download.serverMbps}), upload ${result.upload && result.upload.mbps} ` +
      `Mbit/s, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
} catch (err) {
  problems.push(`${err && err.name}: ${err && err.message}`);
  if (context && !result) {
    try { result = await context.pages()[0].evaluate(() => window.fathomResult || null); } catch { /* gone */ }
  }
} finally {
  if (context && opts.screenshot) {
    try {
      await context.pages()[0].screenshot({ path: opts.screenshot, fullPage: true });
      log(`screenshot ${opts.screenshot}`);
    } catch (err) {
      problems.push(`screenshot failed: ${err.message}`);
    }
  }
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}

process.stdout.write(JSON.stringify(result, null, 2) + '\n');
if (problems.length === 0) exitCode = 0;
else for (const p of problems) log(`FAIL: ${p}`);
process.exit(exitCode);
