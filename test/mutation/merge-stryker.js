#!/usr/bin/env node
// node test/mutation/merge-stryker.js RERUN.json...: folds StrykerJS reports
// of partial re-runs (a `mutate` list of files or line ranges) into
// test/mutation/out/stryker.json, the report the summary is made from.
//
// A file whose source differs from the base's is taken whole from the
// re-run (its old verdicts are of other code), so a changed file must be
// re-run whole, not by lines. For a file with the same
// source, each mutant the re-run ran replaces the base's verdict; the others
// keep theirs. Mutants are matched by place, mutator and replacement.
"use strict";
const fs = require("fs");
const path = require("path");

const BASE = path.join(__dirname, "out", "stryker.json");

function fail(msg) {
    process.stderr.write(`merge-stryker: error: ${msg}\n`);
    process.exit(2);
}

const key = (m) => {
    const { start: s, end: e } = m.location;
    return `${s.line}:${s.column}-${e.line}:${e.column}|${m.mutatorName}|${m.replacement}`;
};

function main(reruns) {
    if (!reruns.length) fail("usage: merge-stryker.js RERUN.json... (merged into test/mutation/out/stryker.json)");
    if (!fs.existsSync(BASE)) fail(`${path.relative(process.cwd(), BASE)} is missing: run StrykerJS once (npm run mutation -- stryker)`);
    const base = JSON.parse(fs.readFileSync(BASE, "utf8"));
    for (const file of reruns) {
        const rerun = JSON.parse(fs.readFileSync(file, "utf8"));
        let updated = 0, changed = 0;
        const replaced = [];
        for (const [name, f] of Object.entries(rerun.files)) {
            const old = base.files[name];
            if (!old || old.source !== f.source) {
                base.files[name] = f;
                replaced.push(name);
                continue;
            }
            const ran = new Map(f.mutants.map(m => [key(m), m]));
            for (const m of old.mutants) {
                const n = ran.get(key(m));
                if (!n) continue;
                updated++;
                if (n.status !== m.status) changed++;
                Object.assign(m, { status: n.status, statusReason: n.statusReason, killedBy: n.killedBy, coveredBy: n.coveredBy });
            }
        }
        process.stderr.write(`merge-stryker: ${file}: ${updated} verdicts re-run (${changed} changed)` +
            `${replaced.length ? `; taken whole (new source): ${replaced.join(", ")}` : ""}\n`);
    }
    fs.writeFileSync(BASE, JSON.stringify(base));
}

main(process.argv.slice(2));
