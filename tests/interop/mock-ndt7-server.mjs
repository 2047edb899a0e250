#!/usr/bin/env node
// mock-ndt7-server.mjs: a small ndt7 server written in Node with `ws`, for testing the
// JavaScript side of Fathom (the Node interop runner and the web page) without `fathom serve`.
//
// THIS IS A MOCK, NOT GROUND TRUTH. It follows the wire protocol of spec/ndt7.md §1 closely
// enough for the official ndt7-js client to complete a run, but its measurements are made up
// from what Node can see:
//   - TCPInfo.BytesAcked / BytesSent are the socket's bytesWritten (bytes handed to the kernel,
//     not bytes acknowledged), BytesReceived is the socket's bytesRead, BytesRetrans is 0;
//   - TCPInfo.RTT / MinRTT are WebSocket ping/pong round trips measured in user space;
//   - there is no BBRInfo, no archive, no tokens, no limits; early_exit=250 is accepted (other
//     values get 400) but the download still runs its full duration;
//   - a "Fathom" object carries {"Mock": true, "SteadyStateMbps": ...} so that the web page's
//     code path for it is exercised, and so nobody mistakes these records for real ones.
// Do not compare figures from it with `fathom serve`; use it to check that a client drives the
// protocol correctly, and (with --fault) that a client notices a broken server.
//
// Usage:
//   node tests/interop/mock-ndt7-server.mjs [--listen HOST:PORT] [--tls CERT KEY] [--web DIR]
//        [--duration SEC] [--fault MODE] [--quiet]
//   --listen    address to bind (default 127.0.0.1:0, i.e. a free port)
//   --tls       serve https/wss with this PEM certificate and key (default: http/ws)
//   --web       serve the files of DIR at / (index.html for /); /privacy and /health are built in
//   --duration  length of each subtest in seconds (default 10)
//   --fault     misbehave on purpose, to check that clients detect it:
//                 no-close         never close, and no hard cap (the client must end the test)
//                 no-measurements  send no text measurements
//                 garbage-text     send a non-JSON text message instead of measurements
//                 reject           answer every ndt7 upgrade with 400
//                 no-subprotocol   complete the upgrade without echoing the subprotocol
// On start it prints one line to stdout: "listening ws|wss HOST:PORT". Then it logs one JSON line
// per finished subtest to stderr (unless --quiet). It runs until killed (SIGINT/SIGTERM exit 0).
// Exit codes: 0 on signal, 2 on bad usage or when it cannot listen.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, statSync, createReadStream, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebSocketServer } = require('ws');

const SUBPROTOCOL = 'net.measurementlab.ndt.v7';
const MIN_MSG = 1 << 13;
const MAX_MSG = 1 << 20;

function usage(msg) {
  process.stderr.write(`mock-ndt7-server: ${msg}\n` +
    'usage: mock-ndt7-server.mjs [--listen HOST:PORT] [--tls CERT KEY] [--web DIR] ' +
    '[--duration SEC] [--fault MODE] [--quiet]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { listen: '127.0.0.1:0', tls: null, web: null, duration: 10, fault: 'none', quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const need = (n) => {
      if (i + n >= argv.length) usage(`${a} needs ${n} argument(s)`);
      const v = argv.slice(i + 1, i + 1 + n);
      i += n;
      return v;
    };
    if (a === '--listen') o.listen = need(1)[0];
    else if (a === '--tls') { const [c, k] = need(2); o.tls = { cert: c, key: k }; }
    else if (a === '--web') o.web = path.resolve(need(1)[0]);
    else if (a === '--duration') o.duration = Number(need(1)[0]);
    else if (a === '--fault') o.fault = need(1)[0];
    else if (a === '--quiet') o.quiet = true;
    else if (a === '-h' || a === '--help') usage('help');
    else usage(`unknown argument ${a}`);
  }
  const faults = ['none', 'no-close', 'no-measurements', 'garbage-text', 'reject', 'no-subprotocol'];
  if (!faults.includes(o.fault)) usage(`--fault must be one of ${faults.join(', ')}`);
  if (!(o.duration > 0 && o.duration <= 60)) usage('--duration must be in (0, 60]');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(o.listen);
  if (!m) usage('--listen wants HOST:PORT or [V6]:PORT');
  o.host = m[1] || m[2] || '127.0.0.1';
  o.port = Number(m[3]);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const bootSec = Math.floor(Date.now() / 1000);
let connCounter = 0;

function log(obj) {
  if (!opts.quiet) process.stderr.write(JSON.stringify(obj) + '\n');
}

function hostPort(addr, port) {
  return addr && addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

// Memoryless interval: exponential with mean 250 ms, clamped to [25, 625] ms (spec §1.7).
function memorylessMs() {
  const v = -Math.log(1 - Math.random()) * 250;
  return Math.min(625, Math.max(25, v));
}

// ---------------------------------------------------------------- static files
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

const MOCK_PRIVACY = '<!doctype html><meta charset="utf-8"><title>Privacy (mock)</title>' +
  '<h1>Privacy policy placeholder</h1><p>This is mock-ndt7-server. A real Fathom server ' +
  'serves its operator\'s privacy policy here.</p>';

function serveHttp(req, res) {
  const url = new URL(req.url, 'http://x');
  const send = (code, type, body) => {
    res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
  if (url.pathname === '/health') return send(200, 'text/plain', 'ok\n');
  if (url.pathname.startsWith('/ndt/v7/')) return send(400, 'text/plain', 'websocket upgrade required\n');
  if (!opts.web) return send(404, 'text/plain', 'not found\n');
  let rel;
  try { rel = decodeURIComponent(url.pathname); } catch { return send(400, 'text/plain', 'bad path\n'); }
  if (rel.endsWith('/')) rel += 'index.html';
  if (rel === '/privacy' && !existsSync(path.join(opts.web, 'privacy.html'))) {
    return send(200, 'text/html; charset=utf-8', MOCK_PRIVACY);
  }
  if (rel === '/privacy') rel = '/privacy.html';
  const file = path.join(opts.web, path.normalize(rel));
  if (!file.startsWith(opts.web + path.sep)) return send(403, 'text/plain', 'forbidden\n');
  let st;
  try { st = statSync(file); } catch { return send(404, 'text/plain', 'not found\n'); }
  if (!st.isFile()) return send(404, 'text/plain', 'not found\n');
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
    'Content-Length': st.size, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}

// ---------------------------------------------------------------- ndt7
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false, // decline permessage-deflate, as ndt7 servers must
  maxPayload: 1 << 24,
  handleProtocols: (protocols) => (opts.fault === 'no-subprotocol' ? false : SUBPROTOCOL),
});

function onUpgrade(req, socket, head) {
  const url = new URL(req.url, 'http://x');
  const subtest = url.pathname === '/ndt/v7/download' ? 'download'
    : url.pathname === '/ndt/v7/upload' ? 'upload' : null;
  const refuse = (code, why) => {
    socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    log({ refused: code, why, path: url.pathname });
  };
  if (!subtest) return refuse(404, 'Not Found');
  if (req.headers['sec-websocket-protocol'] !== SUBPROTOCOL) return refuse(400, 'Bad Request');
  const ee = url.searchParams.get('early_exit');
  if (ee !== null && ee !== '250') return refuse(400, 'Bad Request');
  if (opts.fault === 'reject') return refuse(400, 'Bad Request');
  wss.handleUpgrade(req, socket, head, (ws) => runSubtest(ws, req, subtest, url));
}

function runSubtest(ws, req, subtest, url) {
  const sock = req.socket;
  const start = process.hrtime.bigint();
  const startTime = new Date().toISOString();
  const elapsedUs = () => Number((process.hrtime.bigint() - start) / 1000n);
  connCounter++;
  const uuid = `mock-${hostname()}_${bootSec}_${connCounter.toString(16).toUpperCase().padStart(16, '0')}`;
  const connInfo = {
    Client: hostPort(sock.remoteAddress, sock.remotePort),
    Server: hostPort(sock.localAddress, sock.localPort),
    UUID: uuid,
    StartTime: startTime,
  };
  const bytesWritten0 = sock.bytesWritten;
  const bytesRead0 = sock.bytesRead;
  let appBytes = 0; // download: payload bytes sent; upload: payload bytes received
  let rttUs = 0;
  let minRttUs = 0;
  let stopped = false;
  let nMeasurements = 0;
  let clientTexts = 0;
  let closeCode = null;
  let timer = null;
  let pingAt = null;
  const samples = []; // [elapsedUs, appBytes] for the steady-state estimate

  // A crude steady-state figure: the rate over the second half of the samples so far.
  const steadyMbps = () => {
    if (samples.length < 4) return null;
    const a = samples[Math.floor(samples.length / 2)];
    const b = samples[samples.length - 1];
    return b[0] > a[0] ? (8 * (b[1] - a[1])) / (b[0] - a[0]) : null;
  };

  const measurement = () => {
    const el = elapsedUs();
    samples.push([el, appBytes]);
    const m = {
      ConnectionInfo: connInfo,
      TCPInfo: {
        State: 1,
        RTT: rttUs,
        MinRTT: minRttUs,
        BytesAcked: sock.bytesWritten - bytesWritten0,
        BytesSent: sock.bytesWritten - bytesWritten0,
        BytesRetrans: 0,
        BytesReceived: sock.bytesRead - bytesRead0,
        ElapsedTime: el,
      },
      Fathom: { Mock: true, SteadyStateMbps: steadyMbps() },
    };
    if (subtest === 'upload') m.AppInfo = { NumBytes: appBytes, ElapsedTime: el };
    return m;
  };

  const sendMeasurement = () => {
    if (stopped || ws.readyState !== ws.OPEN) return;
    if (opts.fault === 'garbage-text') ws.send('this is not JSON');
    else if (opts.fault !== 'no-measurements') {
      ws.send(JSON.stringify(measurement()));
      nMeasurements++;
    }
    pingAt = process.hrtime.bigint();
    ws.ping(Buffer.from(String(BigInt(Date.now()) * 1000000n)));
    timer = setTimeout(sendMeasurement, memorylessMs());
  };

  // Download sender: scaled binary messages (spec §1.6). Writes at most 4 MiB per turn of the
  // event loop, and waits for 'drain' while 1 MiB or more is queued in user space (more would
  // only delay the Close frame behind queued data).
  let msg = randomBytes(MIN_MSG);
  let total = 0;
  const pump = () => {
    if (stopped || ws.readyState !== ws.OPEN) return;
    for (let sent = 0; sent < 4 * MAX_MSG;) {
      if (ws.bufferedAmount >= MAX_MSG) {
        sock.once('drain', pump);
        return;
      }
      ws.send(msg, { binary: true });
      appBytes += msg.length;
      total += msg.length;
      sent += msg.length;
      if (msg.length < MAX_MSG && msg.length <= total / 16) msg = randomBytes(msg.length * 2);
    }
    setImmediate(pump);
  };

  ws.on('pong', () => {
    if (pingAt === null) return;
    rttUs = Number((process.hrtime.bigint() - pingAt) / 1000n);
    if (minRttUs === 0 || rttUs < minRttUs) minRttUs = rttUs;
    pingAt = null;
  });

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      if (subtest === 'upload') appBytes += data.length;
      return; // binary on download: ignored (a real server stops reading)
    }
    clientTexts++;
    try { JSON.parse(data.toString()); } catch { log({ uuid, warning: 'non-JSON text from client' }); }
  });

  const finish = (why) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    clearTimeout(hardCap);
    const el = elapsedUs();
    const mbps = el > 0 ? (8 * appBytes) / el : 0;
    log({ subtest, uuid, why, closeCode, elapsedSec: el / 1e6, appBytes, mbps: Number(mbps.toFixed(1)),
      measurementsSent: nMeasurements, clientTexts, minRttUs,
      metadata: Object.fromEntries(url.searchParams) });
  };

  const endTimer = setTimeout(() => {
    if (opts.fault === 'no-close') return;
    if (ws.readyState === ws.OPEN) {
      if (opts.fault !== 'no-measurements' && opts.fault !== 'garbage-text') {
        ws.send(JSON.stringify(measurement())); // final sample at close
        nMeasurements++;
      }
      ws.close(1000, 'Done sending');
    }
    finish('done');
  }, opts.duration * 1000);
  const hardCap = opts.fault === 'no-close' ? null
    : setTimeout(() => { finish('hard-cap'); ws.terminate(); }, (opts.duration + 5) * 1000);

  ws.on('close', (code) => {
    closeCode = code;
    clearTimeout(endTimer);
    finish('peer-closed');
  });
  ws.on('error', (err) => log({ uuid, error: err.message }));

  timer = setTimeout(sendMeasurement, memorylessMs());
  if (subtest === 'download') pump();
}

// ---------------------------------------------------------------- main
let server;
try {
  server = opts.tls
    ? createHttpsServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key),
      ALPNProtocols: ['http/1.1'] }, serveHttp)
    : createHttpServer(serveHttp);
} catch (err) {
  usage(`cannot read TLS files: ${err.message}`);
}
server.on('upgrade', onUpgrade);
server.on('error', (err) => { process.stderr.write(`mock-ndt7-server: ${err.message}\n`); process.exit(2); });
server.listen(opts.port, opts.host, () => {
  const a = server.address();
  process.stdout.write(`listening ${opts.tls ? 'wss' : 'ws'} ${hostPort(a.address, a.port)}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
