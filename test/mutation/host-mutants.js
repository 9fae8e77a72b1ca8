#!/usr/bin/env node
// Mutation testing of the host script: every mutant of
// components/host/smtp-port.sh (test/mutation/shell-mutants.js) is written to
// a temporary copy and the host-script test layer (test/host) runs against it
// under dash, stopping at the first failing test. A mutant is killed when a
// test fails or the run times out, survives when every test passes.
//
//   node test/mutation/host-mutants.js            every mutant
//   MUTANTS=40 node test/mutation/host-mutants.js first 40 (in script order)
//   MUTANTS=sample:40:7 ...                       40 picked with seed 7
//   MUTANTS=ids:drop-command@193:5,const-inc@73:55 ...  those ids only
//   node test/mutation/host-mutants.js --list     print the mutants, run nothing
//   node test/mutation/host-mutants.js --check    every mutant parses (dash -n)
//
// Environment: HOST_MUTANT_JOBS (2 at once), HOST_MUTANT_TIMEOUT (seconds per
// mutant; default 4 x the unmutated run, at least 120),
// HOST_MUTANT_OUT (test/mutation/out/host.json), HOST_MUTANT_FRESH=1 (forget
// earlier results).
//
// Incremental: results already in the output file are kept and not run again
// while the script and the test layer (test/host, test/support, test/fixtures)
// are byte for byte the same as when they were made; so a sample now and
// another later add up, and a full run can be done in parts.
//
// Each run gets its own network namespace (unshare -n, loopback up): the
// stand-in MTA tests listen on fixed loopback ports, so two runs at once, or
// another test run on the machine, would otherwise see each other's servers.
// Each run also gets its own TMPDIR, removed afterwards, and its own mount
// namespace in which /etc, /usr and /var/lib are read-only: a mutant that
// ignores --file or --state-dir would otherwise edit this machine's own
// /etc/services (one did, once) or /var/lib/smtp-port. Such a write fails
// there, so that mutant is killed, as it should be.
"use strict";
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { mutants } = require("./shell-mutants");

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "components", "host", "smtp-port.sh");
const MOCHA = path.join(ROOT, "node_modules", ".bin", "mocha");
const SPEC = "test/host/**/*.test.ts";
// The layer's files in the order mocha runs them: the property tests of hand
// edits last. They take a third of the layer's time, and with --bail a
// mutant a quicker test kills stops there; a survivor runs them all anyway.
const SLOW_LAST = "hand-edits.test.ts";
const SPEC_FILES = fs.readdirSync(path.join(ROOT, "test", "host"))
    .filter(f => f.endsWith(".test.ts"))
    .sort((a, b) => Number(a === SLOW_LAST) - Number(b === SLOW_LAST) || a.localeCompare(b))
    .map(f => path.join("test", "host", f));
if (!SPEC_FILES.some(f => path.basename(f) === SLOW_LAST)) fail(`test/host/${SLOW_LAST} is gone: update SLOW_LAST`);
// The layer's shellcheck test (test/host/smtp-port.test.ts), left out of the
// layer: the runner runs shellcheck on each mutant itself (runLayer).
const LINT_TEST = "host script lint passes shellcheck$";
if (!/describe\("host script lint"[\s\S]*?it\("passes shellcheck"/.test(fs.readFileSync(path.join(ROOT, "test", "host", "smtp-port.test.ts"), "utf8"))) {
    fail(`the test "${LINT_TEST}" is gone from test/host/smtp-port.test.ts: update LINT_TEST`);
}
const READ_ONLY = ["/etc", "/usr", "/var/lib"].map(d => `mount --bind ${d} ${d} && mount -o remount,bind,ro ${d}`).join(" && ");
const OUT = process.env.HOST_MUTANT_OUT || path.join(ROOT, "test", "mutation", "out", "host.json");
const JOBS = Math.max(1, Number(process.env.HOST_MUTANT_JOBS || 2));

function fail(msg) {
    process.stderr.write(`host-mutants: error: ${msg}\n`);
    process.exit(2);
}

/** A small seeded generator (mulberry32), so that a sample is the same every time. */
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** The mutants MUTANTS asks for, in script order. */
function select(all, spec) {
    if (!spec || spec === "all") return all;
    let m;
    if ((m = /^(\d+)$/.exec(spec))) return all.slice(0, Number(m[1]));
    if ((m = /^sample:(\d+)(?::(\d+))?$/.exec(spec))) {
        const n = Number(m[1]), rand = rng(Number(m[2] ?? 1));
        const idx = all.map((_, i) => i);
        for (let i = idx.length - 1; i > 0; i--) {
            const j = Math.floor(rand() * (i + 1));
            [idx[i], idx[j]] = [idx[j], idx[i]];
        }
        // In the order drawn, so that a run stopped half-way (or extended
        // later with a larger N) has still tested a random sample.
        return idx.slice(0, n).map(i => all[i]);
    }
    if ((m = /^ids:(.+)$/.exec(spec))) {
        const want = m[1].split(",").map(s => s.trim()).filter(Boolean);
        const byId = new Map(all.map(x => [x.id, x]));
        const unknown = want.filter(id => !byId.has(id));
        if (unknown.length) fail(`MUTANTS: no mutant with id ${unknown.join(", ")} (see --list)`);
        return all.filter(x => want.includes(x.id));
    }
    fail(`MUTANTS must be a number, sample:N[:SEED], ids:ID,ID or all; got '${spec}'`);
}

// Runs in progress: ended with the runner (Ctrl-C, kill), so that no test
// process or temporary folder of ours outlives it.
const active = new Map(); // pid -> tmp
let onStop = () => {};
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, () => {
        for (const [pid, tmp] of active) {
            try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ }
            fs.rmSync(tmp, { recursive: true, force: true });
        }
        onStop();
        process.stderr.write(`host-mutants: stopped by ${sig}; the results so far are kept\n`);
        process.exit(130);
    });
}

/**
 * Runs the host-script layer against `script`; resolves {status, test, ms, detail}.
 * shellcheck runs first, outside the layer: a mutant it rejects is
 * "invalid", as StrykerJS calls a mutant the type checker rejects, and left
 * out of the score. In the layer, its lint test "killed" such mutants (a
 * dropped line leaves a variable unused: SC2034) that no behaviour test
 * noticed, which made the score say more than the tests do.
 */
function runLayer(script, timeoutMs) {
    return new Promise((resolve) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-mutant-"));
        fs.chmodSync(tmp, 0o755); // some tests run the script as nobody
        const copy = path.join(tmp, "smtp-port.sh");
        fs.writeFileSync(copy, script, { mode: 0o755 });
        const report = path.join(tmp, "mocha.json");
        const t0 = Date.now();
        const lint = spawnSync("shellcheck", ["--shell=sh", copy], { encoding: "utf8" });
        if (lint.status !== 0) {
            fs.rmSync(tmp, { recursive: true, force: true });
            const first = lint.stdout.split("\n").find(l => /SC\d+/.test(l)) || lint.stderr.trim() || `exit ${lint.status}`;
            return resolve({ status: "invalid", ms: Date.now() - t0, test: null, detail: `shellcheck: ${first.trim().slice(0, 200)}` });
        }
        const mocha = [MOCHA, "--bail", "--grep", LINT_TEST, "--invert", "--reporter", "json", "--reporter-option", `output=${report}`, ...SPEC_FILES].map(q).join(" ");
        const child = spawn("unshare", ["-n", "-m", "--propagation", "private", "sh", "-c", `${READ_ONLY} && ip link set lo up && exec ${mocha}`], {
            cwd: ROOT,
            detached: true, // its own process group, so a timeout ends everything it started
            stdio: ["ignore", "ignore", "pipe"],
            env: {
                ...process.env,
                TS_NODE_TRANSPILE_ONLY: "true",
                SMTP_PORT_HOST_SCRIPT: copy,
                SMTP_PORT_TEST_SHELLS: "dash",
                TMPDIR: tmp,
            },
        });
        active.set(child.pid, tmp);
        let stderr = "";
        child.stderr.on("data", (d) => { if (stderr.length < 20000) stderr += d; });
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
        }, timeoutMs);
        child.on("close", (code) => {
            clearTimeout(timer);
            active.delete(child.pid);
            // Whatever the tests left running in this run's group (a stand-in MTA).
            try { process.kill(-child.pid, "SIGKILL"); } catch { /* none left */ }
            const ms = Date.now() - t0;
            let json = null;
            try { json = JSON.parse(fs.readFileSync(report, "utf8")); } catch { /* see below */ }
            fs.rmSync(tmp, { recursive: true, force: true });
            if (timedOut) return resolve({ status: "timeout", ms, test: null, detail: `no result after ${Math.round(timeoutMs / 1000)}s` });
            if (json && json.failures && json.failures.length) {
                const f = json.failures[0];
                const msg = String((f.err && f.err.message) || "").split("\n")[0].slice(0, 200);
                return resolve({ status: "killed", ms, test: f.fullTitle, detail: msg });
            }
            if (code === 0 && json && json.stats && json.stats.passes > 0 && json.stats.failures === 0) {
                return resolve({ status: "survived", ms, test: null, detail: `${json.stats.passes} tests passed` });
            }
            resolve({ status: "error", ms, test: null, detail: `mocha exit ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 300)}` });
        });
    });
}

/** A digest of the script and of every file the host-script layer reads. */
function layerKey(src) {
    const h = require("crypto").createHash("sha256");
    h.update(src);
    const walk = (d) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else { h.update(path.relative(ROOT, p)); h.update(fs.readFileSync(p)); }
        }
    };
    for (const d of ["test/host", "test/support", "test/fixtures"]) walk(path.join(ROOT, d));
    h.update(fs.readFileSync(path.join(ROOT, ".mocharc.json")));
    return h.digest("hex");
}

function q(s) {
    return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

async function main() {
    if (!fs.existsSync(MOCHA)) fail(`${MOCHA} is missing: run npm ci first`);
    const src = fs.readFileSync(SCRIPT, "utf8");
    const all = mutants(src);
    const chosen = select(all, process.env.MUTANTS);
    if (process.argv.includes("--check")) {
        // The operators' own check: every mutant differs from the script and
        // still parses (a syntax error would only be a mutant that lint kills).
        const byOp = {};
        let bad = 0;
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-mutant-check-"));
        for (const m of all) {
            byOp[m.op] = (byOp[m.op] || 0) + 1;
            fs.writeFileSync(path.join(tmp, "m.sh"), m.text);
            const r = spawnSync("dash", ["-n", path.join(tmp, "m.sh")], { encoding: "utf8" });
            if (m.text === src || r.status !== 0) { bad++; process.stderr.write(`bad mutant ${m.id}: ${r.stderr.trim() || "same as the script"}\n`); }
        }
        fs.rmSync(tmp, { recursive: true, force: true });
        process.stdout.write(`${all.length} mutants, ${new Set(all.map(m => m.id)).size} distinct ids, ${bad} bad; by operator: ${JSON.stringify(byOp)}\n`);
        process.exit(bad ? 1 : 0);
    }
    if (process.argv.includes("--list")) {
        for (const m of chosen) process.stdout.write(`${m.id}\t${JSON.stringify(m.from)} -> ${JSON.stringify(m.to)}\n`);
        process.stdout.write(`${chosen.length} of ${all.length} mutants\n`);
        return;
    }
    const key = layerKey(src);
    let earlier = new Map();
    if (!process.env.HOST_MUTANT_FRESH && fs.existsSync(OUT)) {
        try {
            const prev = JSON.parse(fs.readFileSync(OUT, "utf8"));
            if (prev.key === key) earlier = new Map(prev.mutants.filter(r => r.status !== "error").map(r => [r.id, r]));
            else process.stderr.write("host-mutants: the script or its tests changed since the last run: starting afresh\n");
        } catch { /* unreadable: start afresh */ }
    }
    const todo = chosen.filter(m => !earlier.has(m.id));
    for (const tool of ["unshare", "ip", "dash"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) fail(`${tool} is not installed`);
    }
    // The isolation must hold before any mutant runs: /etc/services cannot be written in there.
    const probe = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", `${READ_ONLY} && ! (: >> /etc/services) 2>/dev/null`]);
    if (probe.status !== 0) fail("cannot make /etc, /usr and /var/lib read-only in a mount namespace (unshare -m, as root): no mutant is run where it could edit this machine's files");

    // The unmutated script must pass, and its time sets the timeout.
    process.stderr.write(`host-mutants: ${chosen.length} of ${all.length} mutants selected, ${chosen.length - todo.length} known from the last run, ${todo.length} to run, ${JOBS} at a time\n`);
    if (!todo.length) {
        process.stderr.write("host-mutants: nothing to run; the summary uses the results kept\n");
        return;
    }
    const base = await runLayer(src, 15 * 60_000);
    if (base.status !== "survived") fail(`the unmutated script does not pass the host-script tests (${base.status}: ${base.test || ""} ${base.detail})`);
    const timeoutMs = process.env.HOST_MUTANT_TIMEOUT ? Number(process.env.HOST_MUTANT_TIMEOUT) * 1000 : Math.max(120_000, 4 * base.ms);
    process.stderr.write(`host-mutants: unmutated run ${(base.ms / 1000).toFixed(1)}s (${base.detail}); timeout per mutant ${Math.round(timeoutMs / 1000)}s\n`);

    const t0 = Date.now();
    const fresh = new Map();
    let next = 0, done = 0;
    const save = () => {
        // Everything known for this script and layer, in script order.
        const known = all.map(m => fresh.get(m.id) || earlier.get(m.id)).filter(Boolean);
        const count = (s) => known.filter(r => r.status === s).length;
        const out = {
            tool: "test/mutation/host-mutants.js",
            file: "components/host/smtp-port.sh",
            key,
            layer: `${SPEC} under dash`,
            total: all.length,
            run: known.length,
            jobs: JOBS,
            timeoutSeconds: Math.round(timeoutMs / 1000),
            baselineSeconds: Math.round(base.ms / 100) / 10,
            secondsThisRun: Math.round((Date.now() - t0) / 1000),
            mutantSecondsTotal: Math.round(known.reduce((a, r) => a + r.ms, 0) / 1000),
            finished: new Date().toISOString(),
            counts: { killed: count("killed"), timeout: count("timeout"), survived: count("survived"), invalid: count("invalid"), error: count("error") },
            mutants: known,
        };
        fs.mkdirSync(path.dirname(OUT), { recursive: true });
        fs.writeFileSync(OUT + ".tmp", JSON.stringify(out, null, 1) + "\n");
        fs.renameSync(OUT + ".tmp", OUT);
        return out;
    };
    onStop = save;
    const worker = async () => {
        while (next < todo.length) {
            const m = todo[next++];
            const r = await runLayer(m.text, timeoutMs);
            fresh.set(m.id, { id: m.id, op: m.op, line: m.line, col: m.col, from: m.from, to: m.to, ...r });
            done++;
            if (done % 10 === 0) save(); // an interrupted run keeps what it did
            process.stderr.write(`[${done}/${todo.length}] ${r.status.padEnd(8)} ${m.id} ${(r.ms / 1000).toFixed(1)}s${r.test ? ` (${r.test})` : ""}\n`);
        }
    };
    await Promise.all(Array.from({ length: Math.min(JOBS, todo.length) }, worker));
    const out = save();
    process.stderr.write(`host-mutants: ${out.run} of ${out.total} mutants known: ${out.counts.killed} killed, ${out.counts.timeout} timed out, ${out.counts.survived} survived, ${out.counts.invalid} invalid (shellcheck), ${out.counts.error} errors; this run ${out.secondsThisRun}s; wrote ${path.relative(ROOT, OUT)}\n`);
}

main().catch((e) => fail(e && e.stack || String(e)));
