#!/usr/bin/env node
// The mutation report: reads StrykerJS's JSON report (test/mutation/out/
// stryker.json) and the host-script runner's (test/mutation/out/host.json),
// subtracts the mutants test/mutation/equivalent.json lists as equivalent,
// adds test/mutation/survivor-notes.json's note on what test would kill a
// survivor, and writes test/mutation/summary.md (score per file, survivors,
// with the hand-kept runs.md and killed-since.md beside this script) and
// test/mutation/summary.json (the same, for programs).
//
// Ids are "<file>:<mutator>@<line>:<column>" (1-based, of the unmutated
// file; "#2", "#3" when one place has several mutants of one kind), the same
// from run to run while the file does not change.
"use strict";
const fs = require("fs");
const path = require("path");
const { lineOf } = require("./equivalent-lines");
const { spawnSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..", "..");
const HERE = __dirname;
const OUT = path.join(HERE, "out");
const TARGET = 90;

/** A hand-kept part of the summary (test/mutation/NAME), or null. */
function include(name) {
    const file = path.join(HERE, name);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : null;
}

function readJson(file) {
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : null;
}

/**
 * equivalent.json: id -> why (a string), or id -> {why, from, line?} where
 * from is the original text and line (host script) the text of its line,
 * both checked.
 */
function loadEquivalents() {
    const raw = readJson(path.join(HERE, "equivalent.json")) || {};
    const eq = new Map();
    for (const [id, v] of Object.entries(raw)) {
        if (id.startsWith("$")) continue; // "$comment"
        eq.set(id, typeof v === "string" ? { why: v } : v);
    }
    return eq;
}

const oneLine = (s, n = 90) => {
    const t = String(s).replace(/\s*\n\s*/g, " ⏎ ");
    return t.length > n ? t.slice(0, n - 1) + "…" : t;
};
const md = (s) => String(s).replace(/\|/g, "\\|").replace(/`/g, "ˋ");
const pct = (k, d) => (d ? Math.floor((1000 * k) / d) / 10 : null);

/** Stryker's report as our records: {id, file, op, line, col, from, to, status, detail}. */
function strykerMutants(report) {
    const out = [];
    for (const [file, f] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
        const lines = f.source.split("\n");
        const offset = (p) => lines.slice(0, p.line - 1).reduce((a, l) => a + l.length + 1, 0) + p.column - 1;
        const seen = new Map();
        const ms = [...f.mutants].sort((a, b) => a.location.start.line - b.location.start.line
            || a.location.start.column - b.location.start.column || a.mutatorName.localeCompare(b.mutatorName)
            || String(a.replacement).localeCompare(String(b.replacement)));
        for (const m of ms) {
            const s = m.location.start;
            let id = `${file}:${m.mutatorName}@${s.line}:${s.column}`;
            const k = seen.get(id) || 0;
            seen.set(id, k + 1);
            if (k) id += `#${k + 1}`;
            const status = { Killed: "killed", Timeout: "timeout", Survived: "survived", NoCoverage: "no coverage",
                CompileError: "invalid", RuntimeError: "invalid", Ignored: "ignored", Pending: "pending" }[m.status] || m.status;
            out.push({
                id, file, op: m.mutatorName, line: s.line, col: s.column,
                from: f.source.slice(offset(s), offset(m.location.end)),
                to: m.replacement ?? "",
                status,
                detail: m.statusReason || "",
            });
        }
    }
    return out;
}

function hostMutants(host) {
    return host.mutants.map(m => ({
        id: `${host.file}:${m.id}`, file: host.file, op: m.op, line: m.line, col: m.col, from: m.from, to: m.to,
        status: m.status, detail: m.test ? `${m.test}: ${m.detail}` : m.detail,
    }));
}

/** Counts and score of a list of records, equivalents already marked. */
function tally(list) {
    const c = { mutants: list.length, killed: 0, timeout: 0, survived: 0, "no coverage": 0, equivalent: 0, invalid: 0, ignored: 0, error: 0 };
    for (const m of list) {
        if (m.equivalent) c.equivalent++;
        else if (m.status in c) c[m.status]++;
        else c.error++;
    }
    const detected = c.killed + c.timeout;
    const valid = detected + c.survived + c["no coverage"];
    return { ...c, score: pct(detected, valid) };
}

/** A 95% interval (Wilson) for a score measured on a sample. */
function wilson(k, n) {
    if (!n) return null;
    const z = 1.96, p = k / n, d = 1 + (z * z) / n;
    const c = (p + (z * z) / (2 * n)) / d, h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
    return [Math.floor(1000 * (c - h)) / 10, Math.ceil(1000 * (c + h)) / 10];
}

function git(...args) {
    const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : "";
}

/** The host script's line a host mutant is on, as the script reads now. */
function scriptLine(m) {
    if (scriptLine.lines === undefined) scriptLine.lines = fs.readFileSync(path.join(ROOT, "components", "host", "smtp-port.sh"), "utf8").split("\n");
    return scriptLine.lines[lineOf(m.id) - 1];
}

/**
 * The TypeScript/JS part of the committed summary.json, for a report made
 * where StrykerJS's raw report is not (out/ is not committed, and a full
 * StrykerJS run takes hours): its totals, file rows, survivors and
 * equivalents, with the commit whose code it measured and the measured files
 * that changed since (git), which the summary names. Null when there is none.
 */
function carriedTypescript() {
    const prev = readJson(path.join(HERE, "summary.json"));
    if (!prev || !prev.typescript) return null;
    const isTs = (x) => !x.file.startsWith("components/host/");
    const measured = prev.typescript.commit || String(prev.commit).split(" ")[0];
    const files = prev.files.filter(isTs);
    const changed = git("diff", "--name-only", measured, "--", ...files.map(f => f.file)).split("\n").filter(Boolean);
    return {
        total: { ...prev.typescript, commit: measured },
        files,
        survivors: prev.survivors.filter(isTs),
        equivalent: prev.equivalent.filter(e => !e.id.startsWith("components/host/")),
        changed,
    };
}

function main() {
    const stryker = readJson(path.join(OUT, "stryker.json"));
    const host = readJson(path.join(OUT, "host.json"));
    const carried = stryker ? null : carriedTypescript();
    if (!stryker && !host) {
        process.stderr.write("report: no results in test/mutation/out (run npm run mutation first)\n");
        process.exit(2);
    }
    const eq = loadEquivalents();
    const all = [...(stryker ? strykerMutants(stryker) : []), ...(host ? hostMutants(host) : [])];
    const byId = new Map(all.map(m => [m.id, m]));
    const stale = [];
    for (const [id, e] of eq) {
        const m = byId.get(id);
        // An id of a file that was not run this time is neither used nor stale.
        const fileRun = all.some(x => id.startsWith(x.file + ":"));
        if (!m) { if (fileRun && (!id.startsWith("components/host/") || (host && host.run === host.total))) stale.push({ id, why: e.why, reason: "no such mutant now" }); continue; }
        if (e.from !== undefined && e.from !== m.from) { stale.push({ id, why: e.why, reason: `the original text is now ${JSON.stringify(m.from)}` }); continue; }
        // A host id names a place: the same operator and text on another line is another mutant.
        if (e.line !== undefined && scriptLine(m) !== e.line) { stale.push({ id, why: e.why, reason: `its line now reads ${JSON.stringify(scriptLine(m))} (node test/mutation/equivalent-lines.js --fix moves an entry whose line moved)` }); continue; }
        m.equivalent = e.why;
    }

    // Survivor notes: id -> the test that would kill it (kept by hand, like equivalent.json).
    const notesRaw = readJson(path.join(HERE, "survivor-notes.json")) || {};
    for (const [id, v] of Object.entries(notesRaw)) {
        const m = byId.get(id);
        if (m && !id.startsWith("$")) m.note = typeof v === "string" ? v : v.test;
    }

    const files = [...new Set(all.map(m => m.file))];
    const perFile = files.map(f => ({ file: f, ...tally(all.filter(m => m.file === f)) }));
    const ts = all.filter(m => !m.file.startsWith("components/host/"));
    const sh = all.filter(m => m.file.startsWith("components/host/"));
    const tsTotal = tally(ts), shTotal = tally(sh);
    const survivors = [...(carried ? carried.survivors : []),
        ...all.filter(m => !m.equivalent && (m.status === "survived" || m.status === "no coverage"))];
    const equivalents = [...(carried ? carried.equivalent.map(e => ({ ...e, equivalent: e.why })) : []), ...all.filter(m => m.equivalent)];
    if (carried) perFile.unshift(...carried.files);
    const hostSampled = host && host.run < host.total;
    const shInterval = hostSampled ? wilson(shTotal.killed + shTotal.timeout, shTotal.killed + shTotal.timeout + shTotal.survived + shTotal["no coverage"]) : null;
    const strykerSeconds = Number((fs.existsSync(path.join(OUT, "stryker.seconds")) && fs.readFileSync(path.join(OUT, "stryker.seconds"), "utf8")) || 0) || null;

    const commit = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--", "components", "test", ":!test/mutation") ? " (with uncommitted changes)" : "";
    const summary = {
        generated: new Date().toISOString(),
        commit: commit + dirty,
        target: TARGET,
        typescript: stryker ? { tool: "StrykerJS", ...tsTotal, seconds: strykerSeconds, commit } : carried ? carried.total : null,
        host: host ? {
            tool: host.tool, layer: host.layer, ...shTotal, ranOf: [host.run, host.total], interval95: shInterval,
            timeoutSeconds: host.timeoutSeconds, mutantSeconds: host.mutantSecondsTotal, jobs: host.jobs,
        } : null,
        files: perFile,
        survivors: survivors.map(({ equivalent, ...m }) => m), // note: survivor-notes.json's test that would kill it
        equivalent: equivalents.map(m => ({ id: m.id, why: m.equivalent, from: m.from, to: m.to })),
        staleEquivalents: stale,
        errors: all.filter(m => m.status === "error").map(({ equivalent, ...m }) => m),
    };
    fs.writeFileSync(path.join(HERE, "summary.json"), JSON.stringify(summary, null, 1) + "\n");

    const L = [];
    L.push("# Mutation testing: latest summary", "");
    L.push(`Made by \`npm run mutation\` (docs/mutation.md) on the code of commit ${commit}${dirty}, ${summary.generated.slice(0, 16).replace("T", " ")} UTC. Target: at least ${TARGET}% killed for the TypeScript/JS components and for the host script, every other survivor listed in test/mutation/equivalent.json with why.`, "");
    // Which runs the reports come from, and what was killed after them: kept
    // by hand beside this script, since the reports cannot say it.
    const runs = include("runs.md");
    if (runs) L.push(runs, "");
    L.push("Score = (killed + timed out) / (killed + timed out + survived + no coverage); equivalent mutants are left out, and so are mutants the type checker rejects (invalid) and static mutants a run with `ignoreStatic` did not run (not run).", "");
    L.push("## Scores", "");
    L.push("| file | mutants | killed | timed out | survived | no coverage | equivalent | invalid | not run | score |");
    L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const row = (name, t) => L.push(`| ${name} | ${t.mutants} | ${t.killed} | ${t.timeout} | ${t.survived} | ${t["no coverage"]} | ${t.equivalent} | ${t.invalid} | ${t.ignored} | ${t.score ?? "-"}% |`);
    for (const p of perFile.filter(p => !p.file.startsWith("components/host/"))) row(p.file, p);
    if (stryker) row("**TypeScript/JS (StrykerJS)**", tsTotal);
    if (carried) row(`**TypeScript/JS (StrykerJS, as measured on ${carried.total.commit})**`, carried.total);
    if (host) row(`**${host.file}** (own runner${hostSampled ? `, sample of ${host.run} of ${host.total}` : ""})`, shTotal);
    L.push("");
    if (hostSampled) {
        L.push(`The host script's figure is from a sample of ${host.run} of its ${host.total} mutants: the score of all of them is between ${shInterval[0]}% and ${shInterval[1]}% (95%). \`MUTANTS=all npm run mutation -- host\` runs the rest (earlier results are kept).`, "");
    }
    if (carried) {
        L.push(`The TypeScript/JS rows are carried from the summary of commit ${carried.total.commit}: StrykerJS's report (test/mutation/out/stryker.json) was not there when this summary was made. ${carried.changed.length
            ? `**Changed since, so not measured as they are now:** ${carried.changed.map(f => `\`${f}\``).join(", ")}; re-run StrykerJS on them (docs/mutation.md).`
            : "None of the files it measured has changed since."}`, "");
    }
    const times = [];
    if (strykerSeconds) times.push(`StrykerJS ${Math.round(strykerSeconds / 60)} min`);
    if (host) times.push(`host script: ${Math.round(host.mutantSecondsTotal / 60)} min of mutant runs at ${host.jobs} at a time (≈ ${Math.round(host.mutantSecondsTotal / host.jobs / 60)} min), unmutated run ${host.baselineSeconds}s, timeout ${host.timeoutSeconds}s per mutant`);
    if (times.length) L.push(`Time: ${times.join("; ")}.`, "");

    L.push("## Survivors", "");
    if (!survivors.length) L.push("None.", "");
    for (const f of new Set(survivors.map(m => m.file))) {
        const s = survivors.filter(m => m.file === f);
        if (!s.length) continue;
        L.push(`### ${f} (${s.length})`, "");
        const notes = s.some(m => m.note);
        L.push(`| id | line | original | mutated |${notes ? " a test that would kill it |" : ""}`, `| --- | ---: | --- | --- |${notes ? " --- |" : ""}`);
        for (const m of s) {
            L.push(`| \`${md(m.id.slice(f.length + 1))}\`${m.status === "no coverage" ? " (no coverage)" : ""} | ${m.line} | \`${md(oneLine(m.from, 70))}\` | \`${md(oneLine(m.to, 40))}\` |${notes ? ` ${md(m.note || "")} |` : ""}`);
        }
        L.push("");
    }
    const since = include("killed-since.md");
    if (since) L.push("## Killed since the run", "", since, "");
    L.push("## Equivalent mutants (left out of the scores)", "");
    if (!equivalents.length) L.push("None listed.", "");
    else {
        L.push("| id | original | mutated | why |", "| --- | --- | --- | --- |");
        for (const m of equivalents) L.push(`| \`${md(m.id)}\` | \`${md(oneLine(m.from, 50))}\` | \`${md(oneLine(m.to, 50))}\` | ${md(m.equivalent)} |`);
        L.push("");
    }
    if (stale.length) {
        L.push("## Stale entries of equivalent.json (not used)", "");
        for (const s of stale) L.push(`- \`${md(s.id)}\`: ${md(s.reason)} (was: ${md(s.why)})`);
        L.push("");
    }
    if (summary.errors.length) {
        L.push("## Runs that gave no verdict (left out)", "");
        for (const m of summary.errors) L.push(`- \`${md(m.id)}\`: ${md(oneLine(m.detail, 200))}`);
        L.push("");
    }
    fs.writeFileSync(path.join(HERE, "summary.md"), L.join("\n"));
    const say = (name, t) => `${name} ${t.score ?? "-"}% (${t.killed + t.timeout} killed, ${t.survived + t["no coverage"]} survived, ${t.equivalent} equivalent)`;
    if (carried && carried.changed.length) process.stderr.write(`report: carried TypeScript/JS results are older than ${carried.changed.join(", ")}\n`);
    process.stderr.write(`report: ${[stryker && say("TypeScript/JS", tsTotal), carried && say(`TypeScript/JS (carried from ${carried.total.commit})`, carried.total), host && say(`host script${hostSampled ? " (sample)" : ""}`, shTotal)].filter(Boolean).join("; ")}; wrote test/mutation/summary.md and summary.json\n`);
}

main();
