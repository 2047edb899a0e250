// Hostile and malformed input against a running `fathom serve`: every case must get the
// documented answer (status code, close code, or timeout) and never crash the server.
// usage: node bad-input.mjs PORT     prints one line per case; exit 1 if any case failed.
// Cases that leave traces in the archive print "uuid <case> <UUID>" lines for the caller.
import net from "node:net";
import crypto from "node:crypto";

const port = Number(process.argv[2]);
const results = [];
const SUB = "net.measurementlab.ndt.v7";

function connect() {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

// Collects everything the server sends until it closes (or timeout ms).
function collect(sock, timeout = 20000) {
  return new Promise((resolve) => {
    const chunks = [];
    const t = setTimeout(() => { sock.destroy(); resolve({ data: Buffer.concat(chunks), timedOut: true }); }, timeout);
    sock.on("data", (c) => chunks.push(c));
    sock.on("close", () => { clearTimeout(t); resolve({ data: Buffer.concat(chunks), timedOut: false }); });
    sock.on("error", () => {});
  });
}

async function rawRequest(text, timeout) {
  const s = await connect();
  const p = collect(s, timeout);
  s.write(text);
  const r = await p;
  const head = r.data.toString("latin1");
  const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
  return { status: m ? Number(m[1]) : 0, text: head, timedOut: r.timedOut };
}

function upgrade(path, extra = "") {
  const key = crypto.randomBytes(16).toString("base64");
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

function frame(opcode, payload, { mask = true, fin = true, lenOverride } = {}) {
  const len = lenOverride ?? payload.length;
  let hdr;
  if (len < 126) { hdr = Buffer.alloc(2); hdr[1] = len; }
  else if (len < 65536) { hdr = Buffer.alloc(4); hdr[1] = 126; hdr.writeUInt16BE(len, 2); }
  else { hdr = Buffer.alloc(10); hdr[1] = 127; hdr.writeBigUInt64BE(BigInt(len), 2); }
  hdr[0] = (fin ? 0x80 : 0) | opcode;
  if (!mask) return Buffer.concat([hdr, payload]);
  hdr[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([hdr, key, body]);
}

// Parses server frames out of a byte stream after the 101 head.
function parseFrames(buf) {
  const frames = [];
  let off = buf.indexOf("\r\n\r\n") + 4;
  while (off + 2 <= buf.length) {
    const op = buf[off] & 0x0f;
    let len = buf[off + 1] & 0x7f;
    let p = off + 2;
    if (len === 126) { if (p + 2 > buf.length) break; len = buf.readUInt16BE(p); p += 2; }
    else if (len === 127) { if (p + 8 > buf.length) break; len = Number(buf.readBigUInt64BE(p)); p += 8; }
    if (p + len > buf.length) { frames.push({ op, len, partial: true }); break; }
    frames.push({ op, len, payload: op === 2 ? null : buf.subarray(p, p + len) });
    off = p + len;
  }
  return frames;
}

function closeCode(frames) {
  const c = frames.find((f) => f.op === 8);
  return c && c.payload && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : null;
}

async function wsCase(path, afterOpen, { timeout = 20000, proto = SUB } = {}) {
  const s = await connect();
  const p = collect(s, timeout);
  s.write(upgrade(path, proto ? `Sec-WebSocket-Protocol: ${proto}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n` : ""));
  await new Promise((r) => s.once("data", r));
  await afterOpen(s);
  const r = await p;
  const head = r.data.toString("latin1", 0, Math.max(0, r.data.indexOf("\r\n\r\n")));
  const frames = parseFrames(r.data);
  let uuid = null;
  for (const f of frames) if (f.op === 1) { try { uuid = JSON.parse(f.payload.toString()).ConnectionInfo.UUID; } catch {} }
  return { head, frames, code: closeCode(frames), uuid, timedOut: r.timedOut };
}

function expect(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? "ok" : "FAIL"} ${name}${detail !== undefined ? ": " + detail : ""}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  // Silent peer: started first, it runs while the other cases go on.
  const silent = (async () => {
    const s = await connect();
    const t0 = Date.now();
    const r = await collect(s, 20000);
    const secs = (Date.now() - t0) / 1000;
    expect("silent peer is dropped after the 10 s handshake timeout", !r.timedOut && secs >= 9 && secs < 12, `${secs.toFixed(1)} s`);
  })();

  let r = await rawRequest("GET /no/such/thing HTTP/1.1\r\nHost: x\r\n\r\n");
  expect("unknown path gives 404", r.status === 404, r.status);
  r = await rawRequest("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  expect("non-GET gives 405", r.status === 405 && /Allow: GET/i.test(r.text), r.status);
  r = await rawRequest("HELLO THERE\r\n\r\n");
  expect("malformed request gives 400 with a reason", r.status === 400 && (r.text.split("\r\n\r\n")[1] || "").trim().length > 0, r.text.split("\r\n\r\n")[1]);
  r = await rawRequest("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(9000) + "\r\n\r\n");
  expect("oversized head gives 431", r.status === 431, r.status);
  r = await rawRequest("GET /ndt/v7/download?" + "a=1&".repeat(1100) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  expect("over-long query is refused", r.status === 414 || r.status === 400 || r.status === 431, r.status);
  r = await rawRequest("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  expect("/health gives 200", r.status === 200, r.status);
  r = await rawRequest(upgrade("/ndt/v7/download"));
  expect("missing subprotocol gives 400", r.status === 400, r.status);
  r = await rawRequest(upgrade("/ndt/v7/download", `Sec-WebSocket-Protocol: foo, ${SUB}\r\n`));
  expect("subprotocol list gives 400", r.status === 400, r.status);
  r = await rawRequest(upgrade("/ndt/v7/download?early_exit=100", `Sec-WebSocket-Protocol: ${SUB}\r\n`));
  expect("early_exit other than 250 gives 400", r.status === 400, r.status);
  r = await rawRequest(upgrade("/ndt/v7/download?bad=%zz", `Sec-WebSocket-Protocol: ${SUB}\r\n`));
  expect("malformed query escape gives 400", r.status === 400, r.status);
  r = await rawRequest(`GET /ndt/v7/download HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: ${SUB}\r\n\r\n`);
  expect("plain GET on an ndt7 path (no upgrade) is refused", r.status >= 400 && r.status < 500, r.status);

  const w1 = await wsCase("/ndt/v7/download", async (s) => { await sleep(300); s.write(frame(2, Buffer.alloc(0), { lenOverride: 1 << 25 })); });
  expect("101 echoes the subprotocol, declines extensions", /Sec-WebSocket-Protocol: net\.measurementlab\.ndt\.v7/i.test(w1.head) && !/Sec-WebSocket-Extensions/i.test(w1.head), w1.head.split("\r\n")[0]);
  expect("oversized frame gets Close 1009", w1.code === 1009, w1.code);

  const w2 = await wsCase("/ndt/v7/upload", async (s) => { s.write(frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))); });
  expect("invalid UTF-8 text gets Close 1007", w2.code === 1007, w2.code);

  const w3 = await wsCase("/ndt/v7/upload", async (s) => { s.write(frame(2, Buffer.alloc(2048), { mask: false })); });
  expect("unmasked client frame gets Close 1002", w3.code === 1002, w3.code);

  const w4 = await wsCase("/ndt/v7/download", async (s) => { s.write(frame(2, Buffer.alloc(4096))); });
  expect("binary from client during download: test still completes with Close 1000", w4.code === 1000 && w4.frames.filter((f) => f.op === 2).length > 16, `${w4.code}`);
  if (w4.uuid) console.log(`uuid binary-on-download ${w4.uuid}`);

  const w5 = await wsCase("/ndt/v7/download", async (s) => { s.write(frame(1, Buffer.from("this is not json"))); });
  expect("non-JSON text during download: test still completes", w5.code === 1000, `${w5.code}`);
  if (w5.uuid) console.log(`uuid text-not-json ${w5.uuid}`);

  const w6 = await wsCase("/ndt/v7/download", async (s) => { await sleep(1000); s.destroy(); });
  r = await rawRequest("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  expect("abrupt client end during download is tolerated (server still answers)", !!w6.uuid && r.status === 200, r.status);
  if (w6.uuid) console.log(`uuid abrupt-end ${w6.uuid}`);
  const w7 = await wsCase("/ndt/v7/download?client_name=x&mac_address=00:11:22:33:44:55&imei=490154203237518", async () => {});
  expect("download with extra metadata completes", w7.code === 1000, `${w7.code}`);
  if (w7.uuid) console.log(`uuid hostile-metadata ${w7.uuid}`);

  const w8 = await wsCase("/ndt/v7/download", async (s) => {
    await sleep(500);
    s.write(frame(9, Buffer.from("hello")));
    await sleep(500);
    s.write(frame(8, Buffer.from([0x03, 0xe8])));
  });
  const pong = w8.frames.find((f) => f.op === 10);
  expect("ping gets a pong with the same payload", !!pong && pong.payload.toString() === "hello");
  expect("client Close mid-download gets a Close back", w8.code === 1000, `${w8.code}`);

  await silent;
  const failed = results.filter((x) => !x.ok).length;
  console.log(`${results.length - failed} cases passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
