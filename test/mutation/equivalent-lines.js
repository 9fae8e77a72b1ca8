#!/usr/bin/env node
// node test/mutation/equivalent-lines.js [--fix]: the host-script entries of
// test/mutation/equivalent.json against components/host/smtp-port.sh.
//
// A host mutant's id names its place (`const-dec@852:34`), so a line added
// above it moves it, and the old id then names another mutant or none. Each
// host entry keeps the text of its line (`line`); an entry is good when its
// id names a mutant of the current script with the entry's `from`, on a
// line that still reads `line`.
//
// With --fix, an entry whose line moved (its text found on one line of the
// script only, with the same mutant there, and no entry for it yet) gets
// the new id; any other entry that is not good is printed for a person to
// decide (a line gone or on several lines: read the code again).
// Exit 1 when an entry is left that is not good.
"use strict";
const fs = require("fs");
const path = require("path");
const { mutants } = require("./shell-mutants");

const ROOT = path.resolve(__dirname, "..", "..");
const FILE = "components/host/smtp-port.sh";
const EQUIVALENT = path.join(__dirname, "equivalent.json");

/** `op@LINE:COL#n` with another line number. */
const atLine = (id, line) => id.replace(/@\d+:/, `@${line}:`);
const lineOf = id => Number(/@(\d+):/.exec(id)[1]);

/**
 * The verdict on each host entry: good, moved (to `to`), or not good
 * (`problem`). `entries`: equivalent.json as an object; `script`: the text.
 */
function check(entries, script) {
    const lines = script.split("\n");
    const byId = new Map(mutants(script).map(m => [m.id, m]));
    const out = [];
    const ambiguous = [];
    for (const [key, e] of Object.entries(entries)) {
        if (!key.startsWith(`${FILE}:`)) continue;
        const id = key.slice(FILE.length + 1);
        if (typeof e !== "object" || e.from === undefined || e.line === undefined) {
            out.push({ key, problem: "no `from` or `line` to check it by" });
            continue;
        }
        const good = (candidate) => {
            const m = byId.get(candidate);
            return m !== undefined && m.from === e.from && lines[lineOf(candidate) - 1] === e.line;
        };
        if (good(id)) { out.push({ key, ok: true, shift: 0 }); continue; }
        const places = [];
        lines.forEach((l, i) => { if (l === e.line && good(atLine(id, i + 1))) places.push(atLine(id, i + 1)); });
        if (places.length === 1) out.push(moveTo(key, places[0], entries));
        else if (places.length === 0) out.push({ key, problem: `its line ${JSON.stringify(e.line)} is no longer in the script with that mutant` });
        else ambiguous.push({ key, places });
    }
    // A line that is on several lines now (`return 0`): the place its
    // nearest neighbour among the entries moved by, if that is one of them.
    const shifts = out.filter(v => v.shift !== undefined).map(v => ({ at: lineOf(v.key), shift: v.shift }));
    for (const { key, places } of ambiguous) {
        const at = lineOf(key);
        const near = shifts.reduce((b, s) => (b === null || Math.abs(s.at - at) < Math.abs(b.at - at) ? s : b), null);
        const place = near === null ? undefined : places.find(p => lineOf(p) === at + near.shift);
        out.push(place !== undefined ? moveTo(key, place, entries)
            : { key, problem: `its line is on ${places.length} lines now (${places.map(lineOf).join(", ")}): say which` });
    }
    return out;
}

/** The verdict for an entry whose mutant is now at `place`. */
function moveTo(key, place, entries) {
    const to = `${FILE}:${place}`;
    if (to in entries) return { key, problem: `its line moved to ${place}, which has an entry of its own: remove one` };
    return { key, to, shift: lineOf(place) - lineOf(key) };
}

function main(argv) {
    const fix = argv.includes("--fix");
    const entries = JSON.parse(fs.readFileSync(EQUIVALENT, "utf8"));
    const verdicts = check(entries, fs.readFileSync(path.join(ROOT, FILE), "utf8"));
    let left = 0, moved = 0;
    for (const v of verdicts) {
        if (v.ok) continue;
        if (v.to !== undefined) {
            process.stdout.write(`${fix ? "moved" : "moves"}: ${v.key} -> ${v.to}\n`);
            if (fix) moved++;
            else left++;
            continue;
        }
        process.stdout.write(`not good: ${v.key}: ${v.problem}\n`);
        left++;
    }
    if (moved > 0) {
        const fixed = {};
        const to = new Map(verdicts.filter(v => v.to !== undefined).map(v => [v.key, v.to]));
        for (const [k, e] of Object.entries(entries)) fixed[to.get(k) ?? k] = e;
        fs.writeFileSync(EQUIVALENT, JSON.stringify(fixed, null, 2) + "\n");
    }
    const good = verdicts.filter(v => v.ok).length + moved;
    process.stderr.write(`equivalent-lines: ${good} of ${verdicts.length} host entries good${moved ? ` (${moved} moved)` : ""}${left ? `, ${left} to see to` : ""}\n`);
    return left === 0 ? 0 : 1;
}

module.exports = { check, lineOf };

if (require.main === module) process.exit(main(process.argv.slice(2)));
