// Validates JSON documents against docs/ndt7-record.schema.json with a small structural
// validator (the draft 2020-12 keywords the schema uses: type, required, properties,
// additionalProperties:false, items, enum, pattern, minimum, maximum, maxLength, minItems,
// oneOf, not, $ref to #/$defs). No npm dependency.
// usage: node check-schema.mjs SCHEMA FILE.jsonl   (one document per line); exit 1 on failure.
import fs from "node:fs";

const schema = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const lines = fs.readFileSync(process.argv[3], "utf8").split("\n").filter((l) => l.trim());

function typeOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (Number.isInteger(v)) return "integer";
  return typeof v;
}

function check(s, v, path, errs) {
  if (s.$ref) s = s.$ref.split("/").slice(1).reduce((o, k) => o[k], schema);
  if (s.type) {
    const types = [].concat(s.type);
    const t = typeOf(v);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) {
      errs.push(`${path}: ${t} is not ${types.join("|")}`);
      return;
    }
  }
  if (s.enum && !s.enum.includes(v)) errs.push(`${path}: ${JSON.stringify(v)} not in enum`);
  if (typeof v === "string") {
    if (s.pattern && !new RegExp(s.pattern, "u").test(v)) errs.push(`${path}: ${JSON.stringify(v)} !~ ${s.pattern}`);
    if (s.maxLength !== undefined && [...v].length > s.maxLength) errs.push(`${path}: longer than ${s.maxLength}`);
  }
  if (typeof v === "number") {
    if (s.minimum !== undefined && v < s.minimum) errs.push(`${path}: below ${s.minimum}`);
    if (s.maximum !== undefined && v > s.maximum) errs.push(`${path}: above ${s.maximum}`);
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(`${path}: fewer than ${s.minItems} items`);
    if (s.items) v.forEach((x, i) => check(s.items, x, `${path}[${i}]`, errs));
  }
  if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const k of s.required || []) if (!(k in v)) errs.push(`${path}: missing ${k}`);
    for (const [k, x] of Object.entries(v)) {
      if (s.properties && s.properties[k]) check(s.properties[k], x, `${path}.${k}`, errs);
      else if (s.additionalProperties === false) errs.push(`${path}: unexpected key ${k}`);
    }
  }
  if (s.oneOf) {
    const n = s.oneOf.filter((alt) => { const e = []; check(alt, v, path, e); return e.length === 0; }).length;
    if (n !== 1) errs.push(`${path}: matches ${n} of oneOf`);
  }
  if (s.not) { const e = []; check(s.not, v, path, e); if (e.length === 0) errs.push(`${path}: matches not`); }
}

let bad = 0;
lines.forEach((l, i) => {
  const errs = [];
  check(schema, JSON.parse(l), "$", errs);
  if (errs.length) { bad++; if (bad <= 5) console.error(`document ${i + 1}: ${errs.slice(0, 5).join("; ")}`); }
});
console.log(`${lines.length - bad}/${lines.length} documents match the schema`);
process.exit(bad ? 1 : 0);
