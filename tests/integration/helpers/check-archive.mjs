// Validates every archive record under DATADIR against the ndt7 archive schema
// (docs/data-format.md; ndt7 spec §3) by parsing, not by grep.
// usage: node check-archive.mjs DATADIR [--count N]
// Prints a JSON array of {file, uuid, direction, nServer, nClient, metadata, fathom} on stdout.
// Exit 0 when every record is valid (and the count matches), 1 otherwise, with reasons on stderr.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const args = process.argv.slice(2);
const datadir = args[0];
let want = -1;
for (let i = 1; i < args.length; i++) if (args[i] === "--count") want = Number(args[++i]);

const problems = [];
const out = [];
const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const nameRe = /^ndt7-(download|upload)-(\d{8})T(\d{6})\.(\d{9})Z\.(.+)\.json\.gz$/;
const requiredTCP = ["RTT", "RTTVar", "BytesAcked", "BytesReceived", "MinRTT", "BusyTime",
  "RWndLimited", "SndBufLimited", "BytesSent", "BytesRetrans", "ElapsedTime"];
const allowedMeta = new Set(["client_name", "client_version", "client_library_name",
  "client_library_version", "client_os", "client_arch", "early_exit", "locate_version", "index",
  "metro_rank"]);

function walk(dir) {
  let files = [];
  if (!fs.existsSync(dir)) return files;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files = files.concat(walk(p));
    else files.push(p);
  }
  return files;
}

function check(cond, file, msg) {
  if (!cond) problems.push(`${path.basename(file)}: ${msg}`);
  return cond;
}

function isInt(v) { return Number.isInteger(v); }

const files = walk(path.join(datadir, "ndt7"));
for (const file of files) {
  const base = path.basename(file);
  if (base.startsWith(".")) { problems.push(`${base}: temporary file left behind`); continue; }
  const m = nameRe.exec(base);
  if (!check(m, file, "file name does not match ndt7-<dir>-<time>.<uuid>.json.gz")) continue;
  const rel = path.relative(path.join(datadir, "ndt7"), path.dirname(file)).split(path.sep);
  check(rel.length === 3 && rel.join("") === m[2], file, `directory ${rel.join("/")} does not match date ${m[2]}`);
  const st = fs.statSync(file);
  check((st.mode & 0o777) === 0o644, file, `mode ${(st.mode & 0o777).toString(8)} is not 644`);
  let doc;
  try {
    const raw = zlib.gunzipSync(fs.readFileSync(file)).toString("utf8");
    check(!raw.endsWith("\n"), file, "trailing newline");
    doc = JSON.parse(raw);
  } catch (e) { problems.push(`${base}: not gzip JSON: ${e.message}`); continue; }
  for (const k of ["GitShortCommit", "Version", "ServerIP", "ClientIP", "StartTime", "EndTime"])
    check(typeof doc[k] === "string", file, `${k} missing or not a string`);
  for (const k of ["ServerPort", "ClientPort"]) check(isInt(doc[k]), file, `${k} not an integer`);
  check(rfc3339.test(doc.StartTime) && rfc3339.test(doc.EndTime), file, "top-level times not RFC 3339");
  check(!doc.ServerIP.includes("[") && !doc.ClientIP.includes("["), file, "IPs must be bare");
  const dir = m[1];
  const other = dir === "download" ? "Upload" : "Download";
  const key = dir === "download" ? "Download" : "Upload";
  check(doc[other] === undefined, file, `both Download and Upload present`);
  const a = doc[key];
  if (!check(a && typeof a === "object", file, `${key} object missing`)) continue;
  check(a.UUID === m[5], file, `UUID ${a.UUID} differs from file name ${m[5]}`);
  check(/^.+_[0-9A-F]{16}$/.test(a.UUID), file, `UUID ${a.UUID} not <prefix>_<16 hex>`);
  check(rfc3339.test(a.StartTime) && rfc3339.test(a.EndTime), file, "ArchivalData times not RFC 3339");
  check(Date.parse(a.EndTime) >= Date.parse(a.StartTime), file, "EndTime before StartTime");
  if (check(Array.isArray(a.ServerMeasurements) && a.ServerMeasurements.length > 0, file, "no ServerMeasurements")) {
    for (const sm of a.ServerMeasurements) {
      const ci = sm.ConnectionInfo;
      if (!check(ci && typeof ci.Client === "string" && typeof ci.Server === "string" && ci.UUID === a.UUID && rfc3339.test(ci.StartTime), file, "bad ConnectionInfo")) break;
      if (!check(sm.TCPInfo && requiredTCP.every((k) => isInt(sm.TCPInfo[k])), file, "TCPInfo lacks required fields")) break;
      if (!check(sm.BBRInfo && isInt(sm.BBRInfo.BW) && isInt(sm.BBRInfo.ElapsedTime), file, "bad BBRInfo")) break;
    }
    const el = a.ServerMeasurements.map((x) => x.TCPInfo.ElapsedTime);
    check(el.every((v, i) => i === 0 || v >= el[i - 1]), file, "ElapsedTime not monotonic");
  }
  check(a.ClientMeasurements === null || Array.isArray(a.ClientMeasurements), file, "ClientMeasurements not null/array");
  if (a.ClientMetadata !== undefined) {
    check(Array.isArray(a.ClientMetadata) && a.ClientMetadata.length > 0, file, "ClientMetadata empty (must be omitted)");
    for (const nv of a.ClientMetadata || []) {
      check(typeof nv.Name === "string" && typeof nv.Value === "string", file, "metadata entry not {Name,Value}");
      check(allowedMeta.has(nv.Name), file, `metadata key ${nv.Name} is not on the allowlist`);
      check(nv.Value.length <= 64, file, `metadata value of ${nv.Name} longer than 64`);
    }
  }
  out.push({ file, uuid: a.UUID, direction: dir, nServer: (a.ServerMeasurements || []).length,
    nClient: a.ClientMeasurements ? a.ClientMeasurements.length : 0,
    metadata: Object.fromEntries((a.ClientMetadata || []).map((nv) => [nv.Name, nv.Value])),
    last: a.ServerMeasurements ? a.ServerMeasurements[a.ServerMeasurements.length - 1] : null,
    fathom: doc.Fathom || null, clientIP: doc.ClientIP, size: st.size });
}
if (want >= 0 && out.length !== want) problems.push(`expected ${want} records, found ${out.length}`);
process.stdout.write(JSON.stringify(out) + "\n");
if (problems.length) { for (const p of problems) console.error("archive: " + p); process.exit(1); }
