#!/usr/bin/env node
// @ts-check
// Where does `pulumi up` spend its time? Run through bench/run.sh (same env
// as the benchmark):
//   sh bench/run.sh analyze     a throwaway stack on its own file backend and
//       only `pulumi preview` (nothing runs on any host; the hosts need not
//       exist), so it can run beside the benchmark;
//   sh bench/run.sh analyze up  the benchmark's stack on lab 1 as the last
//       benchmark size left it (not beside a running benchmark): `pulumi up`
//       no-op and change/revert with one setting changed at a time. Only the
//       exit code is checked here; bench.js checks the hosts.
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
/**
 * A copy of the snapshot that Pulumi runs as it does by default: ts-node
 * (which loads the TypeScript compiler) and the SDK's eager requires, not
 * startup/preload.js. Shares the snapshot's node_modules.
 */
function tsNodeProject() {
    const dir = path.join(OUT, "ts-node-project");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(SNAP, dir, { recursive: true, filter: src => path.basename(src) !== "node_modules" });
    fs.symlinkSync(fs.realpathSync(path.join(SNAP, "node_modules")), path.join(dir, "node_modules"));
    const yaml = path.join(dir, "Pulumi.yaml");
    fs.writeFileSync(yaml, fs.readFileSync(yaml, "utf8").replace(/^(\s+)typescript: false$/m, "$1typescript: true").replace(/^\s+nodeargs: .*\n/m, ""));
    return dir;
}
if (!base) throw new Error("run through bench/run.sh analyze");
const ENV = { ...base, PULUMI_BACKEND_URL: `file://${OUT}/state` };
const CFG = path.join(OUT, "Pulumi.analysis.yaml");

/** @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} [extra] @param {string} [input] @param {string} [cwd] */
function time(cmd, args, extra = {}, input = "", cwd = SNAP) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd, env: { ...ENV, ...extra }, input, encoding: "utf8", maxBuffer: 1 << 26 });
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
    const tsNode = tsNodeProject();
    const preview = (/** @type {string} */ cwd) => () => time("pulumi", ["preview", "--stack", STACK, "--config-file", CFG, "--non-interactive", "--color", "never"], {}, "", cwd);
    /** @type {Record<string, number>} */
    const r = {};
    r.cliVersion = med(() => time("pulumi", ["version"]));
    r.cliStackLs = med(() => time("pulumi", ["stack", "ls", "--non-interactive"]));
    r.nodeBare = med(() => time("node", ["-e", "0"]));
    // The SDK and the program as a program run loads them: with
    // startup/preload.js (Pulumi.yaml), and as Pulumi does by default.
    const load = "require('@pulumi/pulumi'); require('@pulumi/command'); require('./components'); require('./components/stackConfig')";
    r.nodeLoadProgramPreload = med(() => time("node", ["--require", "./startup/preload.js", "-e", load]));
    r.nodeLoadProgramTsNode = med(() => time("node", ["-e", `require('ts-node').register({ transpileOnly: true, project: 'tsconfig.json' }); ${load}`]));
    for (const n of [3, 30]) {
        config(n);
        r[`previewN${n}`] = med(preview(SNAP));
        r[`previewN${n}TsNode`] = med(preview(tsNode));
    }
    process.stdout.write(JSON.stringify(r, null, 1) + "\n");
    fs.writeFileSync(path.join(OUT, "analysis.json"), JSON.stringify(r, null, 1) + "\n");
}

const BENCH_CFG = path.join(__dirname, "out", "Pulumi.bench.yaml");

/** @param {string[]} args @param {NodeJS.ProcessEnv} [extra] @param {string} [cwd] */
function up(args, extra = {}, cwd = SNAP) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("pulumi", [...args, "--stack", "bench", "--config-file", BENCH_CFG, "--non-interactive", "--color", "never"],
        { cwd, env: { ...base, ...extra }, encoding: "utf8", maxBuffer: 1 << 26 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")}: ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    return ms;
}

/** @param {number} port */
function setPort(port) {
    fs.writeFileSync(BENCH_CFG, fs.readFileSync(BENCH_CFG, "utf8").replace(/^  smtp-port:port: .*$/m, `  smtp-port:port: "${port}"`));
}

function mainUp() {
    const hosts = (/smtp-port:hosts: (.*)$/m.exec(fs.readFileSync(BENCH_CFG, "utf8")) || ["", "[]"])[1];
    /** @type {Record<string, any>} */
    const r = { hosts: JSON.parse(hosts).length };
    const tsNode = tsNodeProject();
    setPort(25);
    up(["up", "--yes", "--skip-preview"]);
    r.noopDefault = med(() => up(["up", "--yes"]));
    r.noopSkipPreview = med(() => up(["up", "--yes", "--skip-preview"]));
    r.noopTsNode = med(() => up(["up", "--yes"], {}, tsNode));
    r.noopSkipPreviewTsNode = med(() => up(["up", "--yes", "--skip-preview"], {}, tsNode));
    r.previewNoop = med(() => up(["preview"]));
    r.previewNoopTsNode = med(() => up(["preview"], {}, tsNode));
    /** @param {string} label @param {string[]} args @param {NodeJS.ProcessEnv} extra */
    const pair = (label, args, extra) => {
        setPort(17);
        r[`${label}Change`] = Math.round(up(["up", "--yes", "--skip-preview", ...args], extra));
        setPort(25);
        r[`${label}Revert`] = Math.round(up(["up", "--yes", "--skip-preview", ...args], extra));
    };
    pair("parallel8", ["--parallel", "8"], {});
    pair("parallel64", ["--parallel", "64"], {});
    pair("parallel64SkipCheckpoints", ["--parallel", "64"], { PULUMI_SKIP_CHECKPOINTS: "true" });
    const state = path.join(__dirname, "out", "state", ".pulumi", "stacks", "smtp-port", "bench.json");
    r.stateBytes = fs.statSync(state).size;
    process.stdout.write(JSON.stringify(r, null, 1) + "\n");
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, "analysis-up.json"), JSON.stringify(r, null, 1) + "\n");
}

if (process.argv[2] === "up") mainUp();
else main();
