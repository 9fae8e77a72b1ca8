#!/usr/bin/env node
// Which lines of components/host/smtp-port.sh the host-script test layer
// runs, and which of the script's mutants sit on lines it never runs: those
// survive any test run (unless equivalent), so they are the cheapest holes to
// find, without running a single mutant.
//
//   node test/mutation/host-coverage.js            run the layer, then report
//   node test/mutation/host-coverage.js --ids A,B  also say, for those mutant
//                                                  ids, whether their line ran
//
// How: the layer runs once under bash (--posix) against a copy of the script
// whose first line (the #! line, a comment to the shell) turns on xtrace with
// the line number in PS4, written to a file per process through
// BASH_XTRACEFD. The copy has the same line count, so its line numbers are
// the script's. Bash is not dash, the shell the mutation runner uses: a line
// only one shell reaches is counted as bash sees it. Lines inside an awk
// program are never traced (awk is not the shell); the report counts their
// mutants apart, as "in awk", and says nothing about them.
//
// Output: a summary on stdout; the mutants on lines that did not run, with
// their source line, in test/mutation/out/host-coverage.md (not committed).
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { lex, mutants, SQ } = require("./shell-mutants");

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "components", "host", "smtp-port.sh");
const MOCHA = path.join(ROOT, "node_modules", ".bin", "mocha");
const OUT = path.join(ROOT, "test", "mutation", "out", "host-coverage.md");

/** The script with its #! line replaced by one that turns tracing on (bash only). */
function traced(src, traceDir) {
    const nl = src.indexOf("\n");
    if (!src.startsWith("#!")) throw new Error("smtp-port.sh no longer starts with #!: the coverage copy replaces that line");
    // One file per shell process ($$ is the script's pid, shared by its
    // subshells, which append): a trace is never interleaved mid-line across
    // unrelated runs.
    const on = `if [ -n "\${BASH_VERSION:-}" ]; then exec 29>>"${traceDir}/trace.$$"; BASH_XTRACEFD=29; PS4='+@\${LINENO}@ '; set -x; fi`;
    return on + src.slice(nl);
}

/** Line numbers that appear in the trace files. */
function linesRun(traceDir) {
    const run = new Set();
    for (const f of fs.readdirSync(traceDir)) {
        const text = fs.readFileSync(path.join(traceDir, f), "latin1");
        for (const m of text.matchAll(/^\++@(\d+)@ /gm)) run.add(Number(m[1]));
    }
    return run;
}

/** Offset of the start of each line (1-based line numbers). */
function lineStarts(src) {
    const starts = [0, 0];
    for (let i = 0; i < src.length; i++) if (src[i] === "\n") starts.push(i + 1);
    return starts;
}

function main() {
    const idsArg = process.argv.indexOf("--ids");
    const ids = idsArg > 0 ? process.argv[idsArg + 1].split(",").filter(Boolean) : [];
    const src = fs.readFileSync(SCRIPT, "utf8");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-coverage-"));
    const traceDir = path.join(tmp, "trace");
    fs.mkdirSync(traceDir);
    fs.chmodSync(tmp, 0o755);
    fs.chmodSync(traceDir, 0o1777); // some tests run the script as nobody
    const copy = path.join(tmp, "smtp-port.sh");
    fs.writeFileSync(copy, traced(src, traceDir), { mode: 0o755 });
    try {
        const t0 = Date.now();
        const report = path.join(tmp, "mocha.json");
        const r = spawnSync(MOCHA, ["--reporter", "json", "--reporter-option", `output=${report}`, "test/host/**/*.test.ts"], {
            cwd: ROOT,
            stdio: ["ignore", "ignore", "inherit"],
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", SMTP_PORT_HOST_SCRIPT: copy, SMTP_PORT_TEST_SHELLS: "bash" },
        });
        // The layer's own failures (shellcheck on the copy's first line, say)
        // do not matter here: the trace is what the layer ran. They are named.
        let failed = [];
        try { failed = JSON.parse(fs.readFileSync(report, "utf8")).failures.map(f => f.fullTitle); } catch { failed = ["(no mocha report)"]; }
        const run = linesRun(traceDir);
        if (run.size === 0) throw new Error("no line was traced: did the layer run the copy (SMTP_PORT_HOST_SCRIPT)?");
        const { ctx, sqKind } = lex(src);
        const starts = lineStarts(src);
        const srcLines = src.split("\n");
        const all = mutants(src);
        const inAwk = (m) => { const k = starts[m.line] + m.col - 1; return ctx[k] === SQ && sqKind[k] === "awk"; };
        const shell = all.filter(m => !inAwk(m));
        const equivalent = require("./equivalent.json");
        const isEquivalent = (m) => Object.prototype.hasOwnProperty.call(equivalent, `components/host/smtp-port.sh:${m.id}`);
        // bash traces commands, not case patterns: a pattern line with no
        // command on it never shows. Its arm ran when its first command (the
        // next line that is not a comment) did;
        // an empty arm (`pat) ;;`) cannot be told either way.
        const pattern = (line) => /^[^#]*\)\s*(;;)?\s*$/.test(srcLines[line - 1]) && !/\$\(/.test(srcLines[line - 1]);
        const emptyArm = (line) => pattern(line) && /;;\s*$/.test(srcLines[line - 1]);
        const below = (line) => { let k = line + 1; while (k <= srcLines.length && /^\s*(#.*)?$/.test(srcLines[k - 1])) k++; return k; };
        const ran = (line) => run.has(line) || (pattern(line) && !emptyArm(line) && run.has(below(line)));
        const notRun = shell.filter(m => !ran(m.line) && !emptyArm(m.line) && !isEquivalent(m));
        const patterns = shell.filter(m => !run.has(m.line) && emptyArm(m.line));
        const byLine = new Map();
        for (const m of notRun) byLine.set(m.line, [...(byLine.get(m.line) || []), m]);
        const L = [`# Host script: mutants on lines the host layer did not run (bash trace)`, "",
            `${all.length} mutants: ${all.length - shell.length} in awk (not traced), ${shell.length} in shell code; ` +
            `${notRun.length} of them, not listed as equivalent, on ${byLine.size} lines that did not run; ${patterns.length} in empty case arms (\`pat) ;;\`: never traced, left out). ` +
            `Layer exit ${r.status}, ${Math.round((Date.now() - t0) / 1000)} s.`, "",
            "A line of a command that spans several lines may show here though it ran: bash gives a command the number of one of its lines.", "",
            "| line | mutants | source |", "| ---: | --- | --- |"];
        for (const [line, ms] of [...byLine].sort((a, b) => a[0] - b[0])) {
            L.push(`| ${line} | ${ms.map(m => "`" + m.id + "`").join(" ")} | \`${srcLines[line - 1].trim().replace(/\|/g, "\\|").slice(0, 90)}\` |`);
        }
        fs.mkdirSync(path.dirname(OUT), { recursive: true });
        fs.writeFileSync(OUT, L.join("\n") + "\n");
        console.log(L[2]);
        for (const t of failed) console.log(`failed under the traced copy: ${t}`);
        console.log(`wrote ${path.relative(ROOT, OUT)}`);
        for (const id of ids) {
            const m = all.find(x => x.id === id);
            if (!m) console.log(`${id}: no such mutant`);
            else console.log(`${id}: ${inAwk(m) ? "in awk" : ran(m.line) ? "line ran" : emptyArm(m.line) ? "empty case arm (not traced)" : "line did not run"}`);
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    try { main(); } catch (e) { console.error(`host-coverage: ${e.message}`); process.exit(1); }
}

module.exports = { traced, linesRun };
