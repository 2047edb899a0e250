// Checks the JSON-lines output of `fathom test --format json` (spec §5.4 shape).
// usage: node check-client-json.mjs OUTPUT.jsonl [--expect download,upload] [--fqdn NAME]
// Every line must be JSON; the last is the summary. For each expected subtest: the events
// starting -> connected -> measurement* -> complete, Throughput > 0, Latency present,
// a UUID. Prints "<download UUID> <upload UUID>" on success, reasons on stderr otherwise.
import fs from "node:fs";

const args = process.argv.slice(2);
const file = args[0];
let expect = ["download", "upload"];
let fqdn = null;
for (let i = 1; i < args.length; i++) {
  if (args[i] === "--expect") expect = args[++i].split(",").filter(Boolean);
  else if (args[i] === "--fqdn") fqdn = args[++i];
}
const fail = (m) => { console.error("check-client-json: " + m); process.exit(1); };
const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
if (lines.length === 0) fail("no output");
let parsed;
try { parsed = lines.map((l) => JSON.parse(l)); } catch (e) { fail("invalid JSON line: " + e.message); }
const summary = parsed[parsed.length - 1];
if ("Key" in summary) fail("last line is not the summary: " + lines[lines.length - 1]);
for (const k of ["ServerFQDN", "ServerIP", "ClientIP", "Download", "Upload"])
  if (!(k in summary)) fail("summary lacks " + k);
const events = parsed.slice(0, -1);
const uuids = [];
for (const test of ["download", "upload"]) {
  const key = test === "download" ? "Download" : "Upload";
  const ev = events.filter((e) => e.Value && e.Value.Test === test);
  if (!expect.includes(test)) {
    if (summary[key] !== null) fail(key + " should be null");
    if (ev.length) fail("events for " + test + " which was not requested");
    continue;
  }
  const keys = ev.map((e) => e.Key);
  if (keys[0] !== "starting" || keys[1] !== "connected" || keys[keys.length - 1] !== "complete")
    fail(test + ": bad event order " + keys.join(","));
  const conn = ev[1].Value;
  if (fqdn && conn.Server !== fqdn) fail(test + ": connected to " + conn.Server + ", want " + fqdn);
  const meas = ev.filter((e) => e.Key === "measurement").map((e) => e.Value);
  const client = meas.filter((m) => m.Origin === "client");
  const server = meas.filter((m) => m.Origin === "server");
  if (client.length < 3) fail(test + ": only " + client.length + " client measurements");
  if (server.length < 3) fail(test + ": only " + server.length + " server measurements");
  if (!client.every((m) => m.AppInfo && Number.isInteger(m.AppInfo.NumBytes))) fail(test + ": client measurement without AppInfo");
  const s = summary[key];
  if (!s) fail(key + " is null");
  if (!(s.Throughput && s.Throughput.Unit === "Mbit/s" && s.Throughput.Value > 0)) fail(key + ": bad throughput " + JSON.stringify(s.Throughput));
  if (!(s.Latency && s.Latency.Unit === "ms" && s.Latency.Value >= 0)) fail(key + ": no latency");
  if (!s.UUID) fail(key + ": no UUID");
  const last = server[server.length - 1];
  if (!last.ConnectionInfo || last.ConnectionInfo.UUID !== s.UUID) fail(key + ": UUID differs from ConnectionInfo");
  const wantSrc = test === "download" ? "client-appinfo" : "server-appinfo";
  if (s.ThroughputSource !== wantSrc) fail(key + ": ThroughputSource " + s.ThroughputSource + ", want " + wantSrc);
  uuids.push(s.UUID);
}
if (fqdn && summary.ServerFQDN !== fqdn) fail("ServerFQDN " + summary.ServerFQDN + ", want " + fqdn);
console.log(uuids.join(" "));
