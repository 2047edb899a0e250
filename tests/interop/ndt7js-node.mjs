#!/usr/bin/env node
// ndt7js-node.mjs: runs the official ndt7 JavaScript client (@m-lab/ndt7 0.1.4, loaded from
// tests/node_modules UNMODIFIED) under Node 20 against one server, and reports what happened.
//
// ndt7-js 0.1.4 is browser-only: it creates Web Workers whose scripts use a global WebSocket,
// `self` and `postMessage`. This file provides a `Worker` on top of node:worker_threads. Each
// worker thread gets `self`, `postMessage` (to parentPort) and a global `WebSocket` (the `ws`
// package, with our TLS options), runs the library's own worker file with `vm`, and receives
// the main thread's messages through `self.onmessage({data})`. The shim also reports what the
// library hides (trap 2 of spec/interop.md): the real socket error, the close code and reason,
// the negotiated subprotocol and extensions.
//
// Usage:
//   node tests/interop/ndt7js-node.mjs --server HOST:PORT [--protocol ws|wss]
//        [--ca CERT.pem | --insecure] [--metadata k=v ...] [--timeout SEC] [--verbose]
//   --server    host:port of the ndt7 server (no Locate)
//   --protocol  ws or wss (default wss, like the library)
//   --ca        trust this PEM certificate for wss; --insecure skips certificate checks
//   --metadata  extra query parameters (repeatable), e.g. client_name=x or early_exit=250;
//               defaults: client_name=fathom-interop-node, client_version=<this runner's>
//   --timeout   overall limit in seconds (default 45)
//   --verbose   progress lines on stderr
// Output: exactly one JSON object on stdout:
//   {rc, download:{LastClientMeasurement, LastServerMeasurement, nServer, nClient, error,
//    started, completed, endedBy, closeCode, closeReason, protocol, extensions, wsErrors, url},
//    upload:{...}, summary:{...}, errors:[...], warnings:[...], elapsedSec, library}
//   rc is ndt7.test's return value (download rc + upload rc << 4). rc 0 alone is NOT success
//   (trap 1): the library's 12 s timer resolves a hung test with 0.
//   endedBy: "close" (the socket closed), "error", or "library-timeout" (the 12 s timer fired).
//   summary: download/upload Mbit/s from client and server counters, MinRTT, retransmission.
//   warnings: things the protocol tolerates but a test may care about (e.g. close code 1006).
// Exit codes: 0 when both directions completed, each with a LastClientMeasurement and a
//   LastServerMeasurement, ended by a socket close (not the library's timer), with no error and
//   no WebSocket extension negotiated; 1 otherwise (the reasons are in "errors"); 2 bad usage.

import { Worker as ThreadWorker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER_VERSION = '0.1.0';
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));

function usage(msg) {
  process.stderr.write(`ndt7js-node: ${msg}\n` +
    'usage: ndt7js-node.mjs --server HOST:PORT [--protocol ws|wss] [--ca CERT | --insecure] ' +
    '[--metadata k=v ...] [--timeout SEC] [--verbose]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { server: null, protocol: 'wss', ca: null, insecure: false, metadata: {},
    timeout: 45, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--server') o.server = val();
    else if (a === '--protocol') o.protocol = val();
    else if (a === '--ca') o.ca = val();
    else if (a === '--insecure') o.insecure = true;
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--metadata') {
      const kv = val();
      const eq = kv.indexOf('=');
      if (eq <= 0) usage(`--metadata wants k=v, got ${kv}`);
      o.metadata[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === '-h' || a === '--help') usage('help');
    else usage(`unknown argument ${a}`);
  }
  if (!o.server) usage('--server is required');
  if (o.protocol !== 'ws' && o.protocol !== 'wss') usage('--protocol must be ws or wss');
  if (o.ca && o.insecure) usage('--ca and --insecure exclude each other');
  if (!(o.timeout > 0)) usage('--timeout must be a positive number of seconds');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const verbose = (s) => { if (opts.verbose) process.stderr.write(`ndt7js-node: ${s}\n`); };

const ndt7Main = require.resolve('@m-lab/ndt7');
const libDir = path.dirname(ndt7Main);
const wsPath = require.resolve('ws');
const libVersion = JSON.parse(readFileSync(path.join(libDir, '..', 'package.json'), 'utf8')).version;

const wsOptions = {};
if (opts.ca) {
  try { wsOptions.ca = readFileSync(opts.ca, 'utf8'); } catch (e) { usage(`cannot read --ca: ${e.message}`); }
}
if (opts.insecure) wsOptions.rejectUnauthorized = false;

// ------------------------------------------------------------------ per-direction state
const newDir = () => ({
  LastClientMeasurement: null, LastServerMeasurement: null, nServer: 0, nClient: 0, error: null,
  started: false, completed: false, endedBy: null, closeCode: null, closeReason: null,
  protocol: null, extensions: null, wsErrors: [], url: null,
});
const result = { rc: null, download: newDir(), upload: newDir(), summary: null, errors: [], warnings: [],
  elapsedSec: 0, library: `@m-lab/ndt7 ${libVersion}` };
let current = null; // the direction whose worker was created last

// ------------------------------------------------------------------ the Worker shim
// Runs inside each worker thread (eval'd as CommonJS).
const threadSource = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const fs = require('node:fs');
const WS = require(workerData.wsPath);
const diag = (m) => parentPort.postMessage({ __fathomShim: true, ...m });
class ShimWebSocket extends WS {
  constructor(url, protocols) {
    super(url, protocols, workerData.wsOptions);
    diag({ kind: 'connect', url: String(url) });
    this.on('open', () => diag({ kind: 'open', protocol: this.protocol, extensions: this.extensions }));
    this.on('error', (e) => diag({ kind: 'ws-error', message: String(e && e.message || e) }));
    this.on('close', (code, reason) => diag({ kind: 'close', code, reason: String(reason) }));
  }
}
globalThis.WebSocket = ShimWebSocket;
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
vm.runInThisContext(fs.readFileSync(workerData.file, 'utf8'), { filename: workerData.file });
parentPort.on('message', (data) => {
  if (typeof self.onmessage === 'function') self.onmessage({ data });
});
`;

class NodeWorker {
  constructor(filename) {
    const file = path.resolve(libDir, String(filename));
    const dirName = /upload/.test(path.basename(file)) ? 'upload' : 'download';
    current = result[dirName];
    const dir = current;
    this.onmessage = null;
    this._thread = new ThreadWorker(threadSource, { eval: true,
      workerData: { file, wsPath, wsOptions } });
    this._thread.on('message', (data) => {
      if (data && data.__fathomShim) {
        if (data.kind === 'connect') dir.url = data.url;
        else if (data.kind === 'open') { dir.protocol = data.protocol; dir.extensions = data.extensions; }
        else if (data.kind === 'ws-error') dir.wsErrors.push(data.message);
        else if (data.kind === 'close') { dir.closeCode = data.code; dir.closeReason = data.reason; }
        verbose(`${dirName} ${JSON.stringify(data)}`);
        return;
      }
      if (data && data.MsgType === 'complete' && !dir.endedBy) dir.endedBy = 'close';
      if (data && data.MsgType === 'error' && !dir.endedBy) dir.endedBy = 'error';
      if (typeof this.onmessage === 'function') this.onmessage({ data });
    });
    this._thread.on('error', (err) => {
      dir.wsErrors.push(`worker thread crashed: ${err && err.stack || err}`);
      if (typeof this.onmessage === 'function') {
        this.onmessage({ data: { MsgType: 'error', Error: `worker thread crashed: ${err && err.message}` } });
      }
    });
  }
  postMessage(m) { this._thread.postMessage(m); }
  terminate() { this._thread.terminate(); }
}
globalThis.Worker = NodeWorker;

// ------------------------------------------------------------------ derived figures
const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const round = (x, d = 3) => (x === null ? null : Number(x.toFixed(d)));
function summarize() {
  const d = result.download;
  const u = result.upload;
  const dt = d.LastServerMeasurement && d.LastServerMeasurement.TCPInfo;
  const ut = u.LastServerMeasurement && u.LastServerMeasurement.TCPInfo;
  const ua = u.LastServerMeasurement && u.LastServerMeasurement.AppInfo;
  const rate = (bytes, us) => (num(bytes) !== null && num(us) > 0 ? (8 * bytes) / us : null);
  const minRtt = dt && num(dt.MinRTT) > 0 ? dt.MinRTT : ut && num(ut.MinRTT) > 0 ? ut.MinRTT : null;
  return {
    downloadClientMbps: round(num(d.LastClientMeasurement && d.LastClientMeasurement.MeanClientMbps)),
    downloadServerMbps: round(dt ? rate(dt.BytesAcked, dt.ElapsedTime) : null),
    uploadClientMbps: round(num(u.LastClientMeasurement && u.LastClientMeasurement.MeanClientMbps)),
    uploadServerMbps: round(ua ? rate(ua.NumBytes, ua.ElapsedTime)
      : ut ? rate(ut.BytesReceived, ut.ElapsedTime) : null),
    uploadServerSource: ua ? 'AppInfo' : ut ? 'TCPInfo' : null,
    minRttMs: minRtt === null ? null : round(minRtt / 1000),
    downloadRetransPct: dt && num(dt.BytesSent) > 0 ? round((100 * (dt.BytesRetrans || 0)) / dt.BytesSent) : null,
    downloadUUID: (d.LastServerMeasurement && d.LastServerMeasurement.ConnectionInfo
      && d.LastServerMeasurement.ConnectionInfo.UUID) || null,
    uploadUUID: (u.LastServerMeasurement && u.LastServerMeasurement.ConnectionInfo
      && u.LastServerMeasurement.ConnectionInfo.UUID) || null,
  };
}

// ------------------------------------------------------------------ run
const t0 = Date.now();
let finished = false;
function finish(extraError) {
  if (finished) return;
  finished = true;
  if (extraError) result.errors.push(extraError);
  result.elapsedSec = round((Date.now() - t0) / 1000, 2);
  result.summary = summarize();
  for (const name of ['download', 'upload']) {
    const d = result[name];
    if (!d.completed) result.errors.push(`${name}: did not complete`);
    if (!d.LastClientMeasurement) result.errors.push(`${name}: no LastClientMeasurement`);
    if (!d.LastServerMeasurement) result.errors.push(`${name}: no LastServerMeasurement`);
    if (d.error !== null) result.errors.push(`${name}: error callback: ${d.error}`);
    if (d.endedBy === 'library-timeout') {
      result.errors.push(`${name}: ended by ndt7-js's 12 s safety timer, not by a socket close`);
    }
    if (d.extensions) result.errors.push(`${name}: server accepted extension(s) "${d.extensions}"`);
    for (const e of d.wsErrors) result.errors.push(`${name}: websocket: ${e}`);
    // Tolerated by the protocol (spec §1.8), but worth seeing when testing our own server.
    if (d.closeCode !== null && d.closeCode !== 1000 && d.closeCode !== 1005) {
      result.warnings.push(`${name}: socket closed with code ${d.closeCode} "${d.closeReason || ''}"`);
    }
  }
  const ok = result.errors.length === 0;
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  // Worker threads may still hold sockets; leave at once.
  process.exit(ok ? 0 : 1);
}

const ndt7 = require(ndt7Main);
const metadata = { client_name: 'fathom-interop-node', client_version: RUNNER_VERSION, ...opts.metadata };
const config = {
  server: opts.server,
  protocol: opts.protocol,
  userAcceptedDataPolicy: true,
  metadata,
  downloadworkerfile: path.join(libDir, 'ndt7-download-worker.js'),
  uploadworkerfile: path.join(libDir, 'ndt7-upload-worker.js'),
};
const dirCallbacks = (name) => ({
  [`${name}Start`]: () => { result[name].started = true; verbose(`${name} started`); },
  [`${name}Measurement`]: (m) => {
    if (m && m.Source === 'server') result[name].nServer++;
    else result[name].nClient++;
  },
  [`${name}Complete`]: (c) => {
    const d = result[name];
    d.completed = true;
    if (!d.endedBy) d.endedBy = 'library-timeout';
    d.LastClientMeasurement = (c && c.LastClientMeasurement) || null;
    d.LastServerMeasurement = (c && c.LastServerMeasurement) || null;
    verbose(`${name} complete (${d.endedBy})`);
  },
});
const callbacks = {
  ...dirCallbacks('download'),
  ...dirCallbacks('upload'),
  error: (msg) => {
    const text = String(msg);
    if (current) {
      if (current.error === null) current.error = text;
      else current.error += `; ${text}`;
    } else result.errors.push(`error before any worker started: ${text}`);
    verbose(`error: ${text}`);
  },
};

const overall = setTimeout(() => finish(`overall timeout after ${opts.timeout} s`), opts.timeout * 1000);
process.on('uncaughtException', (e) => finish(`uncaught exception: ${e && e.stack || e}`));
process.on('unhandledRejection', (e) => finish(`unhandled rejection: ${e && e.stack || e}`));

verbose(`running @m-lab/ndt7 ${libVersion} against ${opts.protocol}://${opts.server}`);
ndt7.test(config, callbacks).then((rc) => {
  clearTimeout(overall);
  result.rc = rc;
  finish(null);
}, (err) => finish(`ndt7.test rejected: ${err && err.stack || err}`));
