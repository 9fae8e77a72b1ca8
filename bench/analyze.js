#!/usr/bin/env node
// @ts-check
// Where does `pulumi up` spend its time when nothing touches a host? Run by
// bench/run.sh analyze (same env as the benchmark). Uses a throwaway stack
// on its own file backend and only `pulumi preview` (nothing runs on any
// host; the hosts need not exist), so it can run beside the benchmark.
// Prints medians (ms) of BENCH_ANALYZE_RUNS runs (default 3) as JSON.
"use strict";

const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const SNAP = process.env.BENCH_SNAPSHOT || ROOT;
const OUT = path.join(__dirname, "out", "analysis");
const RUNS = Number(process.env.BENCH_ANALYZE_RUNS || 3);
const STACK = "analysis";
const base = JSON.parse(process.env.BENCH_PULUMI_ENV || "null");
if (!base) throw new Error("run through bench/run.sh analyze");
const ENV = { ...base, PULUMI_BACKEND_URL: `file://${OUT}/state` };
const CFG = path.join(OUT, "Pulumi.analysis.yaml");

/** @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} [extra] @param {string} [input] */
function time(cmd, args, extra = {}, input = "") {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: SNAP, env: { ...ENV, ...extra }, input, encoding: "utf8", maxBuffer: 1 << 26 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.status}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    return ms;
}
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** @param {() => number} f */
const med = f => Math.round(median(Array.from({ length: RUNS }, f)));

/** @param {number} n */
function config(n) {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb2nB1s6dYgkUuHQSKcLsQDwJGQPlm1m0vGk8f2bJ9x";
    const hosts = Array.from({ length: n }, (_, i) => ({ name: `mx${i + 1}`, host: `198.18.1.${11 + i}`, user: "root", hostKey: key }));
    const keep = fs.existsSync(CFG) ? fs.readFileSync(CFG, "utf8").split("\n").filter(l => l.startsWith("encryptionsalt:") || /^  smtp-port:privateKey:|^    secure:/.test(l)) : [];
    const salt = keep.filter(l => l.startsWith("encryptionsalt:"));
    const secret = keep.filter(l => !l.startsWith("encryptionsalt:"));
    fs.writeFileSync(CFG, [...salt, "config:", '  smtp-port:port: "17"', '  smtp-port:restartCommand: "service postfix restart"',
        `  smtp-port:hosts: ${JSON.stringify(hosts)}`, ...secret].join("\n") + "\n");
}

function main() {
    fs.rmSync(OUT, { recursive: true, force: true });
    fs.mkdirSync(path.join(OUT, "state"), { recursive: true });
    time("pulumi", ["stack", "init", STACK, "--non-interactive"]);
    const rootCfg = path.join(SNAP, `Pulumi.${STACK}.yaml`);
    if (fs.existsSync(rootCfg)) { fs.copyFileSync(rootCfg, CFG); fs.rmSync(rootCfg); }
    config(3);
    time("pulumi", ["config", "set", "--secret", "smtp-port:privateKey", "--stack", STACK, "--config-file", CFG], {}, "not-a-real-key\n");
    const preview = (/** @type {NodeJS.ProcessEnv} */ extra) => () => time("pulumi", ["preview", "--stack", STACK, "--config-file", CFG, "--non-interactive", "--color", "never"], extra);
    /** @type {Record<string, number>} */
    const r = {};
    r.cliVersion = med(() => time("pulumi", ["version"]));
    r.cliStackLs = med(() => time("pulumi", ["stack", "ls", "--non-interactive"]));
    r.nodeBare = med(() => time("node", ["-e", "0"]));
    r.nodeRequirePulumi = med(() => time("node", ["-e", "require('@pulumi/pulumi'); require('@pulumi/command')"]));
    // The program's TypeScript, compiled as the Node.js language runtime does
    // (ts-node with the project's tsconfig): type-checked (the default), and
    // transpile-only.
    const tsn = (/** @type {boolean} */ only) => () => time("node", ["-e",
        `require('ts-node').register({ transpileOnly: ${only}, project: 'tsconfig.json' }); require('./components'); require('./components/stackConfig')`]);
    r.tsNodeTypecheck = med(tsn(false));
    r.tsNodeTranspileOnly = med(tsn(true));
    for (const n of [3, 30]) {
        config(n);
        r[`previewN${n}`] = med(preview({}));
        r[`previewN${n}TranspileOnly`] = med(preview({ PULUMI_NODEJS_TRANSPILE_ONLY: "true" }));
    }
    process.stdout.write(JSON.stringify(r, null, 1) + "\n");
    fs.writeFileSync(path.join(OUT, "analysis.json"), JSON.stringify(r, null, 1) + "\n");
}

main();
