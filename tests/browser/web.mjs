#!/usr/bin/env node
// web.mjs: drives Debian's chromium (headless, through playwright-core) through Fathom's
// speed-test page, the way a visitor would, and reports the page's result.
//
// Usage:
//   node tests/browser/web.mjs --url http://127.0.0.1:PORT/ [--screenshot out.png]
//        [--live-screenshot during.png]
//        [--idle-screenshot before.png] [--timeout SEC] [--viewport WxH] [--chromium PATH]
//        [--runs N] [--color-scheme light|dark] [--strict-close]
//   --url         the page (http → the page uses ws, https → wss; certificate errors ignored)
//   --screenshot  save a full-page PNG of the finished (or failed) page here
//   --live-screenshot  also save one taken about 5 s into the download phase
//   --idle-screenshot  also save one of the page before Start (the consent screen)
//   --timeout     limit for the whole run in seconds (default 60)
//   --viewport    window size, default 1280x800 (a phone: 390x844)
//   --chromium    browser binary, default $CHROMIUM or /usr/bin/chromium
//   --runs        run the test N times in one page visit: Start, then "Run again" (default 1);
//                 the timeout applies to each run
//   --color-scheme  emulate the light (default) or dark system setting
//   --strict-close  fail (not just warn) when ndt7-js's 12 s timer ended a direction
// What it checks, in order:
//   - the page loads with no page error, console error, failed request or HTTP error status;
//   - nothing is measured before consent: no WebSocket opens in the first second, and the
//     page shows a link to /privacy and an enabled Start button;
//   - after a click on Start, <body data-state> reaches "done" within the timeout;
//   - window.fathomResult.done is true, download and upload Mbit/s (client and server) are
//     positive numbers, both test IDs are present, the numbers shown on the page match it;
//   - each direction ended because its socket closed, not by ndt7-js's 12 s safety timer
//     (seen by wrapping Worker in an init script; trap 1 of spec/interop.md). Only a warning
//     unless --strict-close: a CPU-bound browser can take over 2 s to read the data queued
//     ahead of the server's Close frame, so the timer can win with a correct server;
//   - exactly two WebSockets (…/ndt/v7/download, …/ndt/v7/upload) with the scheme matching
//     the page's, and no WebSocket frame error (playwright's "socketerror") or error logged in
//     the workers' console (where Chromium reports a failed handshake) at any time.
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
    'usage: web.mjs --url URL [--screenshot PNG] [--live-screenshot PNG] [--idle-screenshot PNG] [--timeout SEC] [--viewport WxH] [--chromium PATH] [--runs N] [--color-scheme light|dark] [--strict-close]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, screenshot: null, liveScreenshot: null, idleScreenshot: null, timeout: 60, viewport: '1280x800',
    chromium: process.env.CHROMIUM || '/usr/bin/chromium', runs: 1, colorScheme: 'light',
    strictClose: false };
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
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--strict-close') o.strictClose = true;
    else if (a === '--color-scheme') o.colorScheme = val();
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
  if (!(Number.isInteger(o.runs) && o.runs >= 1)) usage('--runs must be a positive integer');
  if (o.colorScheme !== 'light' && o.colorScheme !== 'dark') usage('--color-scheme is light or dark');
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
const warnings = [];
const sockets = [];
const t0 = Date.now();
let deadline = t0 + opts.timeout * 1000;
const left = () => Math.max(1000, deadline - Date.now());

// The page's result must be complete, and what it shows must be what it computed.
async function checkResult(page, result, runNo) {
  const shown = await page.evaluate(() => {
    const get = (f) => document.querySelector(`[data-field="${f}"]`).textContent;
    return { dl: get('download-mbps'), dlServer: get('download-server-mbps'), ul: get('upload-mbps'),
      dlId: get('download-uuid'), ulId: get('upload-uuid') };
  });
  const bad = (text) => problems.push(`run ${runNo}: ${text}`);
  const isPos = (x) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const near = (text, x) => {
    const v = Number(String(text).replace(/,/g, ''));
    return Number.isFinite(v) && Math.abs(v - x) <= Math.max(0.01, Math.abs(x) * 0.01);
  };
  if (!result) return bad('window.fathomResult is missing');
  if (result.done !== true) bad('fathomResult.done is not true');
  for (const [k, v] of [['download.mbps', result.download.mbps],
    ['download.serverMbps', result.download.serverMbps], ['upload.mbps', result.upload.mbps],
    ['upload.clientMbps', result.upload.clientMbps]]) {
    if (!isPos(v)) bad(`${k} is not a positive number: ${v}`);
  }
  for (const dir of ['download', 'upload']) {
    if (typeof result[dir].uuid !== 'string' || result[dir].uuid === '') bad(`${dir}.uuid is missing`);
  }
  if (!near(shown.dl, result.download.mbps)) bad(`shown download ${shown.dl} ≠ ${result.download.mbps}`);
  if (!near(shown.dlServer, result.download.serverMbps)) {
    bad(`shown server-side download ${shown.dlServer} ≠ ${result.download.serverMbps}`);
  }
  if (!near(shown.ul, result.upload.mbps)) bad(`shown upload ${shown.ul} ≠ ${result.upload.mbps}`);
  if (shown.dlId !== result.download.uuid || shown.ulId !== result.upload.uuid) {
    bad('shown test IDs differ from fathomResult');
  }
  log(`run ${runNo}: download ${result.download.mbps} Mbit/s (server-side ` +
    `${result.download.serverMbps}), upload ${result.upload.mbps} Mbit/s, ` +
    `${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

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
    colorScheme: opts.colorScheme,
  });
  // Test-only instrumentation (the page itself is not changed): wrap Worker to see whether each
  // ndt7-js worker reported its socket's close ("complete") before the library terminated it.
  // If not, the library's 12 s safety timer ended the test: trap 1, rc 0 is not success.
  await context.addInitScript(() => {
    const Native = window.Worker;
    if (typeof Native !== 'function') return;
    window.__fathomWorkers = [];
    window.Worker = class extends Native {
      constructor(url, options) {
        super(url, options);
        const rec = { url: String(url), created: performance.now(), complete: false, error: false,
          terminatedAfterMs: null };
        window.__fathomWorkers.push(rec);
        this.addEventListener('message', (ev) => {
          const type = ev.data && ev.data.MsgType;
          if (rec.terminatedAfterMs !== null) return;
          if (type === 'complete') rec.complete = true;
          if (type === 'error') rec.error = true;
        });
        const terminate = this.terminate.bind(this);
        this.terminate = () => {
          if (rec.terminatedAfterMs === null) rec.terminatedAfterMs = performance.now() - rec.created;
          terminate();
        };
      }
    };
  });
  const page = context.pages()[0] || await context.newPage();

  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  // Errors inside the ndt7-js workers (e.g. a failed WebSocket handshake) show up here.
  page.on('worker', (worker) => {
    worker.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`worker console error: ${msg.text()}`);
    });
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

  for (let runNo = 1; runNo <= opts.runs; runNo++) {
    if (runNo > 1) {
      deadline = Date.now() + opts.timeout * 1000;
      await page.getByRole('button', { name: 'Run again' }).click();
      log(`clicked Run again (run ${runNo})`);
    } else {
      await startButton.click();
      log('clicked Start');
    }
    await page.waitForFunction(() => document.body.dataset.state !== 'done', null, { timeout: left() });
    if (opts.liveScreenshot && runNo === 1) {
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
      const why = await page.evaluate(() => document.getElementById('failed-detail').textContent);
      problems.push(`run ${runNo}: the page ended in state "${state}": ${why}`);
      break;
    }
    await checkResult(page, result, runNo);
  }

  const workers = await page.evaluate(() => window.__fathomWorkers || null);
  if (!workers) problems.push('could not instrument Worker');
  else {
    workers.forEach((w, i) => {
      const name = `run ${Math.floor(i / 2) + 1} ${/upload/.test(w.url) ? 'upload' : 'download'}`;
      if (!w.complete && !w.error) {
        (opts.strictClose ? problems : warnings).push(`${name}: ended by ndt7-js's 12 s safety ` +
          `timer (${(w.terminatedAfterMs / 1000).toFixed(1)} s after the worker started), not by ` +
          'the socket closing');
      }
    });
    if (problems.length === 0 && workers.length !== 2 * opts.runs) {
      problems.push(`expected ${2 * opts.runs} ndt7-js workers, saw ${workers.length}`);
    }
  }
  const paths = sockets.map((s) => new URL(s.url).pathname);
  const wantPaths = Array(opts.runs).fill('/ndt/v7/download /ndt/v7/upload').join(' ');
  if (problems.length === 0 && paths.join(' ') !== wantPaths) {
    problems.push(`expected a download and an upload WebSocket per run, saw: ${paths.join(', ') || 'none'}`);
  }
  for (const s of sockets) {
    if (new URL(s.url).protocol !== wantScheme) problems.push(`${s.url} does not use ${wantScheme}`);
    if (s.framesReceived === 0) problems.push(`no frame received on ${s.url}`);
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
for (const w of warnings) log(`warning: ${w}`);
if (problems.length === 0) exitCode = 0;
else {
  const counts = new Map();
  for (const p of problems) counts.set(p, (counts.get(p) || 0) + 1);
  for (const [p, n] of counts) log(`FAIL: ${p}${n > 1 ? ` (${n} times)` : ''}`);
}
process.exit(exitCode);
