// Runs real ndt7 download connections against `fathom serve` carrying hostile query-string
// metadata (hardware identifiers, MAC and IMEI shapes, service plans, signal strengths,
// e-mail addresses, over-long values, control characters, duplicates, tokens). Each
// connection completes the WebSocket upgrade, reads a little, then closes cleanly.
// usage: node hostile-metadata.mjs PORT [strict]
// Prints "secret <value>" lines (strings that must never be stored) and "uuid <UUID>" lines.
// In strict mode, checks every hostile key gets 400 naming the key instead. Exit 1 on failure.
import net from "node:net";
import crypto from "node:crypto";

const port = Number(process.argv[2]);
const strict = process.argv[3] === "strict";
const long = "L".repeat(65);
// [key, value]: every value (and every non-allowlisted key) is a secret.
const hostile = [
  ["mac_address", "00:11:22:33:44:55"],
  ["wifi_bssid", "AA-BB-CC-DD-EE-FF"],
  ["imei", "490154203237518"],
  ["meid", "A0000049015420"],
  ["hardware_id", "HWID-7f3e9a0c2b"],
  ["serial_number", "C02XK0JHJG5H"],
  ["android_id", "9774d56d682e549c"],
  ["service_plan", "GoldFiber-1000-unlimited"],
  ["isp_plan", "Premium500-contract-4711"],
  ["signal_strength", "-67dBm-cell-rsrp"],
  ["rssi", "-71rssi-secret"],
  ["email", "alice.secret@example.org"],
  ["user", "bob.secret@example.net"],
  ["client_name", long + "-overlong"],            // allowed key, value too long: dropped
  ["client_os", "linux\r\nX-Injected: evil-ctrl"],  // control characters: dropped
  ["client_arch", "arm\u0000nul-ctrl"],
  ["Client_Name", "case-variant-secret"],           // keys are case-sensitive
  ["client_name%00", "nul-key-secret"],
];
const allowed = [["client_name", "hostile-test"], ["client_version", "1.0"]];

function secrets() {
  const s = [];
  for (const [k, v] of hostile) {
    s.push(v.length > 64 ? v.slice(0, 70) : v.replace(/[\r\n\u0000]/g, "").slice(0, 40));
    if (!["client_name", "client_os", "client_arch"].includes(k)) s.push(k);
  }
  s.push("duplicate-second-secret", "eyJhbGciOiJFZERTQSJ9.secret-token");
  return s;
}

function enc(s) { return encodeURIComponent(s).replace(/%2500/g, "%00"); }

function request(query) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const chunks = [];
    let uuid = null, done = false;
    const finish = (status) => {
      if (done) return;
      done = true;
      s.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const st = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: status === 101 || !st ? status : Number(st[1]), uuid, text });
    };
    s.on("connect", () => {
      const key = crypto.randomBytes(16).toString("base64");
      s.write(`GET /ndt/v7/download?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n` +
        `User-Agent: secret-agent/1.0\r\nCookie: session=secret-cookie\r\n\r\n`);
    });
    s.on("data", (c) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const head = all.toString("latin1");
      const st = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (st && st[1] !== "101" && head.includes("\r\n\r\n")) setTimeout(() => finish(Number(st[1])), 50);
      const m = /"UUID":"([^"]+)"/.exec(head);
      if (m && !uuid) {
        uuid = m[1];
        // Got a measurement: close cleanly (masked Close 1000).
        const mask = crypto.randomBytes(4);
        const payload = Buffer.from([0x03, 0xe8]);
        for (let i = 0; i < 2; i++) payload[i] ^= mask[i & 3];
        s.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, payload]));
        setTimeout(() => finish(101), 300);
      }
    });
    s.on("error", () => finish(0));
    s.on("close", () => finish(0));
    setTimeout(() => finish(-1), 15000);
  });
}

let failed = 0;
for (const s of secrets()) console.log("secret " + s);
if (strict) {
  for (const [k, v] of hostile) {
    const r = await request(allowed.filter(([a]) => a !== k).map(([a, b]) => `${a}=${enc(b)}`).concat(`${enc(k)}=${enc(v)}`).join("&"));
    const body = r.text.split("\r\n\r\n")[1] || "";
    const keyShown = k.replace(/%00/g, "?").slice(0, 20);
    const ok = r.status === 400 && body.includes("metadata refused") && body.includes(keyShown.replace(/[^\x21-\x7e]/g, "?").slice(0, 10));
    console.log(`${ok ? "ok" : "FAIL"} strict ${k}: ${r.status} ${body.trim()}`);
    if (!ok) failed++;
  }
} else {
  // One connection with everything at once, then one per hostile pair, plus duplicates and a token.
  const all = allowed.concat(hostile).map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
  const cases = [all,
    "client_name=first-wins&client_name=duplicate-second-secret",
    "access_token=eyJhbGciOiJFZERTQSJ9.secret-token&client_name=token-case",
    ...hostile.map(([k, v]) => `client_version=2.0&${enc(k)}=${enc(v)}`)];
  for (const q of cases) {
    const r = await request(q);
    const ok = r.status === 101 && r.uuid;
    console.log(`${ok ? "ok" : "FAIL"} ${q.slice(0, 60)}: ${r.status}`);
    if (ok) console.log("uuid " + r.uuid); else failed++;
  }
}
process.exit(failed ? 1 : 0);
