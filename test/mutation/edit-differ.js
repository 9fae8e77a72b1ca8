#!/usr/bin/env node
// node test/mutation/edit-differ.js MUTANT_ID [TRIES] [SEED]: looks for a
// hand edit that a host-script mutant handles differently from the script.
//
// Each try writes a small services file, applies port 17, edits the result
// by hand (lines inserted, deleted, changed, copied, swapped, or the whole
// file rewritten from a few lines), then runs revert, apply or status with
// both scripts under dash and compares their stdout, stderr and the file.
// The first difference is made as small as it goes (lines left out while the
// two still differ) and printed as the test to write; none in TRIES says
// only that these edits do not tell them apart, not that the mutant is
// equivalent. Made for the awk alignment of hand edits (unmanage), where a
// survivor's input is hard to find by reading (docs/mutation.md).
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { mutants } = require("./shell-mutants");

const SCRIPT = path.join(__dirname, "..", "..", "components", "host", "smtp-port.sh");
// The user's own copy of a line smtp-port comments ("#smtp 25/tcp mail") is
// among the original lines: with it, the file smtp-port writes has two
// identical lines of different owners, which is where alignments differ.
const ORIGINAL_LINES = ["x 1/tcp", "y 2/tcp", "smtp 25/tcp mail", "qotd 17/tcp quote", "qotd 17/udp quote", "# c", "", "w 4/tcp smtp", "#smtp 25/tcp mail"];
const EDIT_LINES = [...ORIGINAL_LINES, "#qotd 17/tcp quote", "smtp 17/tcp mail", "smtp\t\t17/tcp\t\tmail"];
const SECOND_RUNS = [["revert"], ["apply", "--port", "17"], ["apply", "--port", "18"], ["status", "--port", "17"]];

function fail(msg) {
    process.stderr.write(`edit-differ: error: ${msg}\n`);
    process.exit(2);
}

/** A seeded generator (the same tries for the same seed). */
function generator(seed) {
    let s = seed;
    const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    return { next, int: (n) => Math.floor(next() * n), pick: (a) => a[Math.floor(next() * a.length)] };
}

/** A hand edit: a function of the applied text, as a list of small changes or a new file. */
function handEdit(g) {
    if (g.next() < 0.3) {
        const text = Array.from({ length: 2 + g.int(5) }, () => g.pick(EDIT_LINES)).join("\n") + "\n";
        return () => text;
    }
    const ops = Array.from({ length: 1 + g.int(4) }, () => [g.int(5), g.next(), g.pick(EDIT_LINES), g.next()]);
    return (applied) => {
        const L = applied.split("\n");
        L.pop();
        for (const [kind, at, line, other] of ops) {
            const i = Math.min(Math.floor(at * (L.length + 1)), L.length), j = Math.floor(other * L.length);
            if (kind === 0) L.splice(i, 0, line);
            else if (L.length === 0) continue;
            else if (kind === 1) L.splice(Math.min(i, L.length - 1), 1);
            else if (kind === 2) L[Math.min(i, L.length - 1)] = line;
            else if (kind === 3) L.splice(i, 0, L[j]);
            else if (L.length > 1) { const a = Math.min(i, L.length - 1); [L[a], L[j]] = [L[j], L[a]]; }
        }
        return L.join("\n") + (L.length ? "\n" : "");
    };
}

function runBoth(dir, scripts, original, edit, second) {
    return scripts.map((script) => {
        const file = path.join(dir, "services"), state = path.join(dir, "state");
        fs.rmSync(state, { recursive: true, force: true });
        for (const f of fs.readdirSync(dir)) if (f.startsWith(".services")) fs.rmSync(path.join(dir, f));
        fs.writeFileSync(file, original);
        const run = (args) => {
            const r = spawnSync("dash", [script, ...args, "--file", file, "--state-dir", state, "--mta", "none", "--host-label", "mx"], { encoding: "utf8" });
            return `exit ${r.status}\n${r.stdout}${r.stderr}`;
        };
        const first = run(["apply", "--port", "17"]);
        const edited = edit(fs.readFileSync(file, "utf8"));
        fs.writeFileSync(file, edited);
        return { first, edited, second: run(second), file: fs.readFileSync(file, "utf8") };
    });
}

/** Both runs when they differ (and the first apply worked), else null. */
function differ(dir, scripts, original, edit, second) {
    const [a, b] = runBoth(dir, scripts, original, edit, second);
    return a.first.startsWith("exit 0\n") && JSON.stringify(a) !== JSON.stringify(b) ? [a, b] : null;
}

/**
 * The case with as few lines as still tell the two apart: each line of the
 * original file, then of the edited one, left out in turn while they do,
 * until no line can go. A random try's case is hard to read; this is the
 * test to write.
 */
function minimize(dir, scripts, original, edited, runs, second) {
    const lines = (t) => t.split("\n").slice(0, -1);
    let o = lines(original), e = lines(edited), shorter = true;
    const text = (L) => L.map((l) => l + "\n").join("");
    while (shorter) {
        shorter = false;
        for (const which of ["o", "e"]) {
            for (let i = 0; i < (which === "o" ? o : e).length;) {
                const L = which === "o" ? o : e, without = [...L.slice(0, i), ...L.slice(i + 1)];
                const [no, ne] = which === "o" ? [without, e] : [o, without];
                const found = differ(dir, scripts, text(no), () => text(ne), second);
                if (found) { o = no; e = ne; runs = found; shorter = true; } else i++;
            }
        }
    }
    return { original: text(o), edited: text(e), runs };
}

function main(argv) {
    const [id, triesText = "300", seedText = "1"] = argv;
    if (!id) fail("usage: edit-differ.js MUTANT_ID [TRIES] [SEED]");
    const source = fs.readFileSync(SCRIPT, "utf8");
    const mutant = mutants(source).find((m) => m.id === id);
    if (!mutant) fail(`no mutant ${id} in ${path.relative(process.cwd(), SCRIPT)}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edit-differ-"));
    try {
        const copy = path.join(dir, "mutant.sh");
        fs.writeFileSync(copy, mutant.text);
        const g = generator(Number(seedText));
        const tries = Number(triesText);
        for (let t = 1; t <= tries; t++) {
            const original = Array.from({ length: 1 + g.int(7) }, () => g.pick(ORIGINAL_LINES)).join("\n") + "\n";
            const edit = handEdit(g), second = g.pick(SECOND_RUNS);
            const found = differ(dir, [SCRIPT, copy], original, edit, second);
            if (found) {
                const a = found[0];
                const small = minimize(dir, [SCRIPT, copy], original, a.edited, found, second);
                const [sa, sb] = small.runs;
                process.stdout.write(`try ${t}, made as small as it goes: the file ${JSON.stringify(small.original)}, applied (port 17), edited to ${JSON.stringify(small.edited)}, then ${second.join(" ")}\n`);
                process.stdout.write(`script: ${JSON.stringify(sa.second)}\n  file: ${JSON.stringify(sa.file)}\n`);
                process.stdout.write(`mutant: ${JSON.stringify(sb.second)}\n  file: ${JSON.stringify(sb.file)}\n`);
                process.stdout.write(`(as found: the file ${JSON.stringify(original)}, edited to ${JSON.stringify(a.edited)})\n`);
                return;
            }
        }
        process.stdout.write(`no difference in ${tries} tries (seed ${seedText})\n`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main(process.argv.slice(2));
