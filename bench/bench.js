#!/usr/bin/env node
// @ts-check
// Benchmarks of smtp-port against Ansible, pyinfra and a plain-ssh floor on
// the same lab fleet (lab 1, beside the tests' lab 0). Run by bench/run.sh
// (`npm run bench`), which prepares the Python venv and the engine env.
//
// For each fleet size N (BENCH_SIZES, default 30,100) and each round
// (BENCH_ROUNDS, default 3; the tool order rotates per round), every tool
// (BENCH_TOOLS, default floor,ansible,pyinfra,pulumi) runs three timed
// phases: change (25 -> 17), no-op (17 again), revert (17 -> 25). After
// every run, untimed, every host is checked: `lab.sh exec mxK -- getent
// services smtp/tcp` must answer the expected port, a 220 greeting must come
// from that port as seen from the root namespace, no other active entry may
// hold 17/tcp, a revert must give back the original bytes, and Postfix must
// have restarted on a change and not on a no-op. A run that fails any check
// is reported as failed, never as a time.
//
// SSH is counted per host and run: connections from the host's sshd log
// ("Accepted publickey" lines; sshd runs with -e and its stderr goes to
// <lab>/hosts/mxK/init.log), and for Ansible also sessions (one ssh process
// each, logged by bench/ansible/ssh-count.sh; with ControlMaster they share
// one connection).
//
// Also: the host script alone on a services file of the full IANA registry
// (BENCH_IANA_RUNS runs, default 30), against trivial baselines.
//
// Output: a table on stdout, bench/results/<date>.json and .md
// (BENCH_OUT_DIR to write elsewhere).
"use strict";

const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const crypto = require("crypto");

const ROOT = path.resolve(__dirname, "..");
const BENCH = __dirname;
const OUT = path.join(BENCH, "out");
const LAB_ID = "1";
const LAB_ENV = { ...process.env, SMTP_PORT_LAB_ID: LAB_ID };
const STACK = "bench";
const CONFIG_FILE = path.join(OUT, "Pulumi.bench.yaml");
const VENV_BIN = path.join(BENCH, ".venv", "bin");
// smtp-port itself (the Pulumi project, the host script, the listener check)
// runs from a snapshot of one commit (bench/run.sh makes it), so that work in
// progress in the working tree does not change the numbers mid-run.
const SNAP = process.env.BENCH_SNAPSHOT || ROOT;
const HOST_SCRIPT = path.join(SNAP, "components", "host", "smtp-port.sh");
const RESTART = "service postfix restart";
const { checkListener } = require(path.join(SNAP, "components", "listener", "listener-check.js"));

const env = process.env;
const SIZES = (env.BENCH_SIZES || "30,100").split(",").map(Number).filter(n => n > 0);
const ROUNDS = Number(env.BENCH_ROUNDS || 3);
const TOOLS = (env.BENCH_TOOLS || "floor,ansible,pyinfra,pulumi").split(",");
// "none": no timed phase (with BENCH_TOOLS=pulumi: only the engine's floor and the looks).
const PHASES = env.BENCH_PHASES === "none" ? [] : (env.BENCH_PHASES || "change,noop,revert").split(",");
const IANA_RUNS = Number(env.BENCH_IANA_RUNS || 30);
const EMPTY_RUNS = Number(env.BENCH_EMPTY_RUNS ?? 3);
const RUN_TIMEOUT_MS = Number(env.BENCH_RUN_TIMEOUT_MS || 600000);
const RESULTS_DIR = env.BENCH_OUT_DIR || path.join(BENCH, "results");
const PULUMI_ENV = JSON.parse(env.BENCH_PULUMI_ENV || "null");
// How smtp-port's stack logs in: "key" (smtp-port:privateKey, a secret in
// the stack config and state) or "agent" (no key in the config: the lab's
// key in an ssh-agent, reached through SSH_AUTH_SOCK).
const SSH_AUTH = env.BENCH_SSH_AUTH || "key";
if (!["key", "agent"].includes(SSH_AUTH)) throw new Error(`BENCH_SSH_AUTH must be key or agent, got ${JSON.stringify(SSH_AUTH)}`);
/** SSH_AUTH_SOCK of the benchmark's agent (BENCH_SSH_AUTH=agent), once started. @type {NodeJS.ProcessEnv} */
const agentEnv = {};

const say = (/** @type {string} */ s) => process.stderr.write(`bench: ${s}\n`);

// --- processes -------------------------------------------------------------

/**
 * @typedef {{ code: number, stdout: string, stderr: string, ms: number, cpuMs?: number }} Run
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, input?: string | Buffer, timeoutMs?: number, cpu?: boolean }} [o]
 *   cpu: also measure the CPU time (user + system) of the command and of the
 *   processes it waited for (GNU time), on this machine: what a tool costs
 *   the control machine, which the load of others moves much less than the
 *   wall time.
 * @returns {Promise<Run>}
 */
function run(cmd, args, o = {}) {
    return new Promise(resolve => {
        const t0 = process.hrtime.bigint();
        const cpuFile = o.cpu ? path.join(os.tmpdir(), `bench-cpu-${process.pid}-${crypto.randomBytes(6).toString("hex")}`) : "";
        const [c, a] = o.cpu ? ["/usr/bin/time", ["-q", "-f", "%U %S", "-o", cpuFile, cmd, ...args]] : [cmd, args];
        const p = spawn(c, a, { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "", stderr = "";
        p.stdout.on("data", d => { stdout += d; });
        p.stderr.on("data", d => { stderr += d; });
        const timer = setTimeout(() => { stderr += "\n[bench: killed after timeout]"; p.kill("SIGKILL"); }, o.timeoutMs ?? RUN_TIMEOUT_MS);
        p.on("error", e => { stderr += String(e); });
        p.on("close", code => {
            clearTimeout(timer);
            /** @type {number | undefined} */
            let cpuMs;
            if (cpuFile) {
                try {
                    const [u, sy] = fs.readFileSync(cpuFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
                    cpuMs = Math.round((u + sy) * 1000);
                } catch {
                    cpuMs = undefined;
                }
                fs.rmSync(cpuFile, { force: true });
            }
            resolve({ code: code ?? -1, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs });
        });
        p.stdin.on("error", () => {});
        p.stdin.end(o.input ?? "");
    });
}

/** @param {string} cmd @param {string[]} args @param {Parameters<typeof run>[2]} [o] */
async function must(cmd, args, o) {
    const r = await run(cmd, args, o);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    return r;
}

const median = (/** @type {number[]} */ xs) => {
    if (!xs.length) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sha = (/** @type {string} */ f) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * CPU time used on the whole machine so far, in ms: every CPU's user, nice,
 * system, irq, softirq and steal time from /proc/stat. The lab's hosts are
 * namespaces of this machine, so this counts their sshd, host script and
 * Postfix as well as the tool on the control side: a run that keeps both
 * CPUs busy uses about twice its wall time.
 */
function machineCpuMs() {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: all but idle and iowait
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
    return busy * 1000 / CLOCK_TICKS;
}

/**
 * Run `f`; its result (`r`) and the machine's CPU time it took (machineCpuMs).
 * @template T
 * @param {() => Promise<T>} f
 * @returns {Promise<{ r: T, machineCpuMs: number }>}
 */
async function withMachineCpu(f) {
    const busy0 = machineCpuMs();
    const r = await f();
    return { r, machineCpuMs: Math.round(machineCpuMs() - busy0) };
}

// --- the lab -----------------------------------------------------------------

/** @typedef {{ name: string, address: string, hostKey: string, restartCommand: string }} LabHost */
/** @typedef {{ dir: string, keyPath: string, knownHostsPath: string, hosts: LabHost[] }} Lab */

/** @param {number} n @returns {Promise<Lab>} */
async function labUp(n) {
    say(`lab ${LAB_ID}: up ${n}`);
    // A busy machine can make a new host miss lab.sh's readiness deadline;
    // `up` again repairs just the hosts that are not healthy.
    for (let attempt = 1; ; attempt++) {
        const r = await run("sh", ["lab/lab.sh", "up", String(n)], { env: LAB_ENV });
        if (r.code === 0) break;
        if (attempt >= 3) throw new Error(`lab.sh up ${n} failed:\n${r.stderr.slice(-3000)}`);
        say(`lab.sh up ${n} failed (attempt ${attempt}), trying again: ${r.stderr.trim().split("\n").slice(-1)[0]}`);
    }
    const dir = execFileSync("sh", ["lab/lab.sh", "dir"], { cwd: ROOT, env: LAB_ENV, encoding: "utf8" }).trim();
    const j = JSON.parse(fs.readFileSync(path.join(dir, "hosts.json"), "utf8"));
    const hosts = j.hosts.filter((/** @type {LabHost} */ h) => Number(h.name.slice(2)) <= n);
    if (hosts.length !== n) throw new Error(`lab has ${hosts.length} of ${n} hosts`);
    return { dir, keyPath: j.keyPath, knownHostsPath: j.knownHostsPath, hosts };
}

/** @param {Lab} lab @param {LabHost} h */
const hostDir = (lab, h) => path.join(lab.dir, "hosts", h.name);

/** The host's /etc/postfix/main.cf (its /etc overlay's upper dir). @param {Lab} lab @param {LabHost} h */
const mainCfOf = (lab, h) => path.join(hostDir(lab, h), "etc.upper", "postfix", "main.cf");

/** "Accepted publickey" lines in each host's sshd log. @param {Lab} lab */
function acceptedCounts(lab) {
    /** @type {Record<string, number>} */
    const c = {};
    for (const h of lab.hosts) {
        const log = fs.readFileSync(path.join(hostDir(lab, h), "init.log"), "utf8");
        c[h.name] = (log.match(/^Accepted publickey for /gm) || []).length;
    }
    return c;
}

/** Postfix master's pid of each host (from its private /var). @param {Lab} lab */
function masterPids(lab) {
    /** @type {Record<string, string>} */
    const p = {};
    for (const h of lab.hosts) {
        try {
            p[h.name] = fs.readFileSync(path.join(hostDir(lab, h), "var.upper", "spool", "postfix", "pid", "master.pid"), "utf8").trim();
        } catch {
            p[h.name] = "?";
        }
    }
    return p;
}

/**
 * Every check of one run; returns the problems (empty: the run is good).
 * @param {Lab} lab
 * @param {number} port expected smtp port
 * @param {Record<string, string>} pristine sha256 of each host's original services file
 * @param {"change"|"noop"|"revert"} phase
 * @param {Record<string, string>} pidsBefore
 */
async function verify(lab, port, pristine, phase, pidsBefore) {
    /** @type {string[]} */
    const problems = [];
    const pidsAfter = masterPids(lab);
    await Promise.all(lab.hosts.map(async h => {
        const g = await run("sh", ["lab/lab.sh", "exec", h.name, "--", "getent", "services", "smtp/tcp"], { env: LAB_ENV, timeoutMs: 30000 });
        const got = (g.stdout.trim().split(/\s+/)[1] || "").split("/")[0];
        if (g.code !== 0 || got !== String(port)) problems.push(`${h.name}: getent services smtp/tcp says ${JSON.stringify(g.stdout.trim() || g.stderr.trim())}, want ${port}`);
        const c = await checkListener({ host: h.address, port, timeoutMs: 3000, attempts: 3, delayMs: 300 });
        if (!c.ok) problems.push(`${h.name}: ${c.message}`);
        const file = path.join(hostDir(lab, h), "services");
        const text = fs.readFileSync(file, "latin1");
        const on17 = text.split("\n").map(l => l.replace(/#.*/, "").trim().split(/\s+/)).filter(f => f[1] === "17/tcp");
        if (port === 17 && (on17.length !== 1 || on17[0][0] !== "smtp")) problems.push(`${h.name}: active entries on 17/tcp: ${JSON.stringify(on17.map(f => f.join(" ")))}`);
        if (phase === "revert" && sha(file) !== pristine[h.name]) problems.push(`${h.name}: services file not back to its original bytes`);
        const mainCf = fs.readFileSync(mainCfOf(lab, h), "utf8");
        if (phase === "revert") {
            if (sha(mainCfOf(lab, h)) !== pristine[`${h.name}/main.cf`]) problems.push(`${h.name}: main.cf not back to its original bytes`);
        } else {
            const known = /^known_tcp_ports\s*=(.*)$/m.exec(mainCf);
            if (!known || known[1].split(",").some(x => x.trim().split("=").includes("smtp"))) problems.push(`${h.name}: known_tcp_ports still maps smtp (${known ? known[1].trim() : "default"})`);
            if (!/^smtp_tcp_port\s*=\s*25\s*$/m.test(mainCf)) problems.push(`${h.name}: smtp_tcp_port is not pinned to 25`);
        }
        const restarted = pidsAfter[h.name] !== pidsBefore[h.name];
        if (phase === "noop" && restarted) problems.push(`${h.name}: Postfix restarted on a no-op run`);
        if (phase !== "noop" && !restarted) problems.push(`${h.name}: Postfix was not restarted`);
    }));
    return problems;
}

// --- the tools -----------------------------------------------------------------

/** @typedef {{ code: number, ms: number, log: string, sessions?: Record<string, number>, stateBytes?: number | null, cpuMs?: number }} ToolRun */
/** @typedef {(lab: Lab, phase: "change"|"noop"|"revert") => Promise<ToolRun>} Tool */

const portOf = (/** @type {string} */ phase) => (phase === "revert" ? 25 : 17);

/** @type {Record<string, { prepare?: (lab: Lab) => Promise<void>, run: Tool }>} */
/** ansible.cfg's ssh_args: a variant that adds options must repeat them (ANSIBLE_SSH_ARGS replaces them). */
function ansibleSshArgs() {
    const m = /^ssh_args\s*=\s*(.*)$/m.exec(fs.readFileSync(path.join(BENCH, "ansible", "ansible.cfg"), "utf8"));
    if (!m) throw new Error("bench/ansible/ansible.cfg has no ssh_args");
    return m[1].trim();
}

/** Ansible, with extra ssh options (besides ansible.cfg's). @param {string[]} sshExtra */
function ansibleTool(sshExtra) {
    return {
        async prepare(/** @type {Lab} */ lab) {
            const lines = ["[mx]"];
            for (const h of lab.hosts) lines.push(`${h.name} ansible_host=${h.address}`);
            lines.push("", "[mx:vars]", "ansible_user=root", `ansible_ssh_private_key_file=${lab.keyPath}`,
                `ansible_ssh_extra_args='-o UserKnownHostsFile=${lab.knownHostsPath}'`, "ansible_python_interpreter=/usr/bin/python3", "");
            fs.writeFileSync(path.join(OUT, "ansible-inventory.ini"), lines.join("\n"));
        },
        async run(lab, phase) {
            const cp = fs.mkdtempSync(path.join(OUT, "ansible-cp-"));
            const sshLog = path.join(cp, "ssh.log");
            fs.writeFileSync(sshLog, "");
            const book = phase === "revert" ? "smtp-port-revert.yml" : "smtp-port.yml";
            const r = await run(path.join(VENV_BIN, "ansible-playbook"), ["-i", path.join(OUT, "ansible-inventory.ini"),
                "--forks", String(Math.max(lab.hosts.length, 5)), "-e", "port=17", path.join(BENCH, "ansible", book)], {
                env: {
                    ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}`,
                    ANSIBLE_CONFIG: path.join(BENCH, "ansible", "ansible.cfg"),
                    ANSIBLE_SSH_EXECUTABLE: path.join(BENCH, "ansible", "ssh-count.sh"),
                    ANSIBLE_SSH_CONTROL_PATH_DIR: cp, ANSIBLE_LOCAL_TEMP: path.join(cp, "tmp"), ANSIBLE_HOME: path.join(OUT, "ansible-home"),
                    BENCH_SSH_LOG: sshLog, ANSIBLE_NOCOLOR: "1", ANSIBLE_FORCE_COLOR: "0",
                    ...(sshExtra.length > 0 ? { ANSIBLE_SSH_ARGS: `${ansibleSshArgs()} ${sshExtra.join(" ")}` } : {}),
                },
                cpu: true,
            });
            // Every run starts cold, as `pulumi up` does: close the masters.
            for (const f of fs.readdirSync(cp)) {
                const p = path.join(cp, f);
                // A master may exit (and remove its socket) meanwhile.
                let socket = false;
                try {
                    socket = fs.statSync(p).isSocket();
                } catch {
                    continue;
                }
                if (socket) await run("ssh", ["-o", `ControlPath=${p}`, "-O", "exit", "x"], { timeoutMs: 10000 });
            }
            /** @type {Record<string, number>} */
            const sessions = {};
            const log = fs.readFileSync(sshLog, "utf8");
            for (const h of lab.hosts) sessions[h.name] = log.split("\n").filter(l => l.split(" ").includes(h.address)).length;
            fs.rmSync(cp, { recursive: true, force: true });
            return { code: r.code, ms: r.ms, log: r.stdout.slice(-4000) + r.stderr.slice(-2000), sessions, cpuMs: r.cpuMs };
        },
    };
}

const tools = {
    // One plain ssh per host, all at once, running the host script once,
    // then the greeting check from here: the physical limit.
    floor: {
        async run(lab, phase) {
            const port = portOf(phase);
            const script = fs.readFileSync(HOST_SCRIPT);
            const t0 = process.hrtime.bigint();
            const rs = await Promise.all(lab.hosts.map(async h => {
                const r = await run("ssh", ["-q", "-i", lab.keyPath, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", `UserKnownHostsFile=${lab.knownHostsPath}`, "-o", "ControlMaster=no", `root@${h.address}`,
                    "sh", "-s", "--", "apply", "--port", String(port), "--restart", `'${RESTART}'`, "--mta", "auto"], { input: script, cpu: true });
                if (r.code !== 0) return { code: r.code, log: `${h.name}: ${r.stderr}`, cpuMs: r.cpuMs ?? 0 };
                const c = await checkListener({ host: h.address, port, timeoutMs: 5000, attempts: 50, delayMs: 100 });
                return { code: c.ok ? 0 : 1, log: c.ok ? "" : `${h.name}: ${c.message}`, cpuMs: r.cpuMs ?? 0 };
            }));
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            // The ssh clients' CPU (the greeting checks run in this process: not counted).
            const cpuMs = rs.reduce((a, r) => a + r.cpuMs, 0);
            return { code: rs.some(r => r.code !== 0) ? 1 : 0, ms, log: rs.map(r => r.log).filter(Boolean).join("\n"), cpuMs };
        },
    },

    ansible: ansibleTool([]),
    // The same, with the key exchanges smtp-port's looks prefer (see
    // components/hostPreview.ts): so the comparison can be read both ways.
    "ansible-kex": ansibleTool(["-o", "KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org"]),
    pyinfra: {
        async prepare(lab) {
            const hosts = lab.hosts.map(h => `    ("${h.address}", {"address": "${h.address}", "ssh_user": "root", "ssh_key": "${lab.keyPath}", ` +
                `"ssh_known_hosts_file": "${lab.knownHostsPath}", "ssh_strict_host_key_checking": "yes"}),`);
            fs.writeFileSync(path.join(OUT, "pyinfra_inventory.py"), `mx = [\n${hosts.join("\n")}\n]\n`);
        },
        async run(lab, phase) {
            const data = phase === "revert" ? ["--data", "action=revert", "--data", "port=17"] : ["--data", "action=apply", "--data", "port=17", "--data", "old_port=25"];
            const r = await run(path.join(VENV_BIN, "pyinfra"), ["-y", "--parallel", String(lab.hosts.length), ...data,
                path.join(OUT, "pyinfra_inventory.py"), path.join(BENCH, "pyinfra", "deploy.py")], {
                env: { ...process.env, PATH: `${VENV_BIN}:${process.env.PATH}`, NO_COLOR: "1" }, cwd: OUT, cpu: true,
            });
            return { code: r.code, ms: r.ms, log: r.stdout.slice(-4000) + r.stderr.slice(-2000), cpuMs: r.cpuMs };
        },
    },

    pulumi: {
        async prepare(lab) {
            if (!PULUMI_ENV) throw new Error("BENCH_PULUMI_ENV is not set (run bench/run.sh)");
            const e = PULUMI_ENV;
            const have = await run("pulumi", ["stack", "select", STACK, "--non-interactive"], { env: e, cwd: SNAP });
            if (have.code !== 0) {
                await must("pulumi", ["stack", "init", STACK, "--non-interactive"], { env: e, cwd: SNAP });
            }
            // stack init writes Pulumi.bench.yaml (the salt) at the project
            // root; the benchmark keeps its config under bench/out instead.
            const rootCfg = path.join(SNAP, "Pulumi.bench.yaml");
            if (fs.existsSync(rootCfg)) {
                if (!fs.existsSync(CONFIG_FILE)) fs.copyFileSync(rootCfg, CONFIG_FILE);
                fs.rmSync(rootCfg);
            }
            writePulumiConfig(lab, 25);
            if (SSH_AUTH === "agent") {
                startAgent(lab.keyPath);
            } else {
                await must("pulumi", ["config", "set", "--secret", "smtp-port:privateKey", "--stack", STACK, "--config-file", CONFIG_FILE],
                    { env: e, cwd: SNAP, input: fs.readFileSync(lab.keyPath, "utf8") });
            }
            // The fleet is already under management at 25 (untimed): the
            // timed change is then an update, as it is in real use.
            const r = await pulumiRun(["up", "--yes"]);
            if (r.code !== 0) throw new Error(`pulumi warm-up failed:\n${r.log}`);
        },
        async run(lab, phase) {
            writePulumiConfig(lab, portOf(phase));
            // As Ansible gets --forks N: Pulumi's default is 4 steps per CPU
            // at once (8 here), which would change 30 hosts 8 at a time.
            return pulumiRun(["up", "--yes", "--parallel", String(Math.max(lab.hosts.length, 8))]);
        },
    },
    // The same program and stack without Pulumi's preview pass, which is how
    // Ansible runs (no dry run before it acts). Nothing is skipped on the
    // hosts: the update run looks at each host itself before deciding.
    "pulumi-skip-preview": {
        async prepare(lab) {
            if (!TOOLS.includes("pulumi")) await tools.pulumi.prepare?.(lab);
        },
        async run(lab, phase) {
            writePulumiConfig(lab, portOf(phase));
            return pulumiRun(["up", "--yes", "--skip-preview", "--parallel", String(Math.max(lab.hosts.length, 8))]);
        },
    },
};

/**
 * The engine's floor: `pulumi up --yes` (its preview, then the update) of an
 * empty program, with this project's runtime options (startup/preload.js),
 * engine, backend and secrets provider: what any `pulumi up` costs here
 * before a program registers a resource or contacts a host. Timed
 * EMPTY_RUNS times after each size's rounds, with that size's lab up.
 * @param {Lab} lab
 * @returns {Promise<{ ms: number, cpuMs: number | null, machineCpuMs: number }[]>}
 */
async function emptyProgram(lab) {
    if (!PULUMI_ENV) throw new Error("BENCH_PULUMI_ENV is not set (run bench/run.sh)");
    const dir = path.join(OUT, "empty");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), [
        "name: smtp-port-empty",
        "main: index.js",
        "runtime:",
        "  name: nodejs",
        "  options:",
        "    typescript: false",
        `    nodeargs: --require ${path.join(SNAP, "startup", "preload.js")}`,
        "",
    ].join("\n"));
    fs.writeFileSync(path.join(dir, "index.js"), "// No resource: the engine floor (bench/bench.js).\n");
    fs.symlinkSync(fs.realpathSync(path.join(SNAP, "node_modules")), path.join(dir, "node_modules"));
    const e = { env: PULUMI_ENV, cwd: dir };
    await must("pulumi", ["stack", "init", "empty", "--non-interactive"], e);
    const up = ["up", "--yes", "--stack", "empty", "--non-interactive", "--color", "never"];
    await must("pulumi", up, e);
    const runs = [];
    for (let i = 0; i < EMPTY_RUNS; i++) {
        const { r, machineCpuMs: busy } = await withMachineCpu(() => must("pulumi", up, { ...e, cpu: true }));
        runs.push({ ms: Math.round(r.ms), cpuMs: r.cpuMs ?? null, machineCpuMs: busy });
        say(`N=${lab.hosts.length} engine floor (empty program, pulumi up --yes): ${(r.ms / 1000).toFixed(2)} s cpu ${((r.cpuMs ?? NaN) / 1000).toFixed(2)} s`);
    }
    await must("pulumi", ["stack", "rm", "empty", "--yes", "--force", "--non-interactive"], e);
    return runs;
}

/**
 * What the preview's looks cost: `pulumi preview` of the benchmark's stack
 * (left at 25 by the last revert) as `pulumi up` runs it, then without
 * contacting the hosts (SMTP_PORT_PREVIEW_HOSTS=0), alternately,
 * EMPTY_RUNS times each.
 * @param {Lab} lab
 * @returns {Promise<{ looks: boolean, ms: number, cpuMs: number | null, machineCpuMs: number }[]>}
 */
async function previewLooks(lab) {
    writePulumiConfig(lab, 25);
    const runs = [];
    for (let i = 0; i < EMPTY_RUNS; i++) {
        for (const looks of [true, false]) {
            const { r, machineCpuMs: busy } = await withMachineCpu(() => pulumiRun(["preview"], looks ? {} : { SMTP_PORT_PREVIEW_HOSTS: "0" }));
            if (r.code !== 0) throw new Error(`pulumi preview failed:\n${r.log}`);
            runs.push({ looks, ms: Math.round(r.ms), cpuMs: r.cpuMs ?? null, machineCpuMs: busy });
            say(`N=${lab.hosts.length} pulumi preview ${looks ? "with" : "without"} looks: ${(r.ms / 1000).toFixed(2)} s cpu ${((r.cpuMs ?? NaN) / 1000).toFixed(2)} s`);
        }
    }
    return runs;
}

/** Starts an ssh-agent holding the lab's key for the pulumi runs (stopped when the benchmark exits). @param {string} keyPath */
function startAgent(keyPath) {
    if (agentEnv.SSH_AUTH_SOCK) return;
    const sock = path.join(OUT, `agent-${process.pid}.sock`);
    fs.rmSync(sock, { force: true });
    const out = execFileSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
    process.on("exit", () => { try { process.kill(pid); } catch { /* gone */ } fs.rmSync(sock, { force: true }); });
    execFileSync("ssh-add", [keyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
    agentEnv.SSH_AUTH_SOCK = sock;
}

/** @param {string[]} args @param {NodeJS.ProcessEnv} [extraEnv] */
async function pulumiRun(args, extraEnv = {}) {
    const r = await run("pulumi", [...args, "--stack", STACK, "--config-file", CONFIG_FILE, "--non-interactive", "--color", "never", ...(env.BENCH_PULUMI_ARGS ? env.BENCH_PULUMI_ARGS.split(" ") : [])],
        { env: { ...PULUMI_ENV, ...agentEnv, ...extraEnv }, cwd: SNAP, cpu: true });
    return { code: r.code, ms: r.ms, log: r.stdout.slice(-6000) + r.stderr.slice(-3000), stateBytes: stateBytes(), cpuMs: r.cpuMs };
}

/**
 * The size of the stack's checkpoint (the file backend's state file, which
 * Pulumi rewrites after every step), or null when there is none.
 */
function stateBytes() {
    const url = (PULUMI_ENV && PULUMI_ENV.PULUMI_BACKEND_URL) || "";
    if (!url.startsWith("file://")) return null;
    const stacks = path.join(url.slice("file://".length), ".pulumi", "stacks");
    for (const f of [path.join(stacks, "smtp-port", `${STACK}.json`), path.join(stacks, `${STACK}.json`)]) {
        try {
            return fs.statSync(f).size;
        } catch {
            // not this layout
        }
    }
    return null;
}

/** Pulumi.bench.yaml for the first N lab hosts, keeping the salt and the secret. @param {Lab} lab @param {number} port */
function writePulumiConfig(lab, port) {
    const keep = fs.existsSync(CONFIG_FILE) ? fs.readFileSync(CONFIG_FILE, "utf8").split("\n") : [];
    const salt = keep.filter(l => l.startsWith("encryptionsalt:"));
    /** @type {string[]} */
    const secret = [];
    keep.forEach((l, i) => {
        if (SSH_AUTH === "key" && /^  smtp-port:privateKey:/.test(l)) secret.push(l, ...(keep[i + 1]?.startsWith("    secure:") ? [keep[i + 1]] : []));
    });
    const hosts = lab.hosts.map(h => ({ name: h.name, host: h.address, user: "root", hostKey: h.hostKey, dialErrorLimit: 3, perDialTimeout: 5 }));
    const lines = [...salt, "config:", `  smtp-port:port: "${port}"`, `  smtp-port:restartCommand: ${JSON.stringify(RESTART)}`,
        `  smtp-port:hosts: ${JSON.stringify(hosts)}`, ...secret];
    fs.writeFileSync(CONFIG_FILE, lines.join("\n") + "\n");
}

// --- the host script alone -----------------------------------------------------

async function hostScriptBench() {
    const dir = path.join(OUT, "iana");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const iana = path.join(dir, "services.iana");
    const gen = await must("node", ["-r", "ts-node/register/transpile-only", "-e",
        "process.stdout.write(require('./test/support/ianaServices').ianaServicesText())"]);
    fs.writeFileSync(iana, gen.stdout);
    const debian = path.join(dir, "services.debian");
    fs.copyFileSync("/etc/services", debian);
    /** @type {Record<string, any>} */
    const out = { runs: IANA_RUNS, shell: fs.realpathSync("/bin/sh"), files: {} };
    for (const [label, src] of [["iana", iana], ["debian", debian]]) {
        const f = path.join(dir, "services");
        const st = path.join(dir, "state");
        /** @type {Record<string, number[]>} */
        const t = { change: [], noop: [], revert: [], cat: [], awk: [], sh_true: [] };
        for (let i = 0; i < IANA_RUNS; i++) {
            fs.copyFileSync(src, f);
            fs.rmSync(st, { recursive: true, force: true });
            const sh = (/** @type {string[]} */ a) => must("sh", [HOST_SCRIPT, ...a, "--file", f, "--state-dir", st]);
            const c = await sh(["apply", "--port", "17"]);
            if (!c.stdout.includes('"changed":true')) throw new Error(`host script did not change ${label}: ${c.stdout}`);
            t.change.push(c.ms);
            const n = await sh(["apply", "--port", "17"]);
            if (!n.stdout.includes('"changed":false')) throw new Error(`host script no-op changed ${label}: ${n.stdout}`);
            t.noop.push(n.ms);
            const r = await sh(["revert"]);
            if (sha(f) !== sha(src)) throw new Error(`host script revert of ${label} is not byte-identical`);
            t.revert.push(r.ms);
            t.cat.push((await must("sh", ["-c", 'cat "$1" > /dev/null', "sh", f])).ms);
            t.awk.push((await must("sh", ["-c", 'awk "END { print NR }" "$1" > /dev/null', "sh", f])).ms);
            t.sh_true.push((await must("sh", ["-c", "true"])).ms);
        }
        const text = fs.readFileSync(src, "utf8");
        out.files[label] = {
            lines: text.split("\n").length - 1, bytes: Buffer.byteLength(text),
            medianMs: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(median(v) * 10) / 10])),
        };
        say(`host script on ${label}: ${JSON.stringify(out.files[label])}`);
    }
    return out;
}

// --- machine -------------------------------------------------------------------

function machine() {
    const v = (/** @type {string} */ cmd) => {
        try {
            return execFileSync("sh", ["-c", cmd], { cwd: ROOT, env: { ...(PULUMI_ENV || process.env), PATH: `${VENV_BIN}:${(PULUMI_ENV || process.env).PATH}` }, encoding: "utf8" }).trim().split("\n")[0];
        } catch {
            return "?";
        }
    };
    return {
        date: new Date().toISOString(),
        nproc: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memGiB: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
        kernel: os.release(),
        os: v(". /etc/os-release && echo \"$PRETTY_NAME\""),
        node: process.version,
        python: v("python3 --version"),
        ansible: v("ansible --version"),
        pyinfra: v("pyinfra --version"),
        paramiko: v("python3 -c 'import paramiko; print(paramiko.__version__)'"),
        pulumi: v("pulumi version"),
        pulumiNodejsSdk: require(path.join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json")).version,
        commandProvider: "1.2.1 (engine/provider)",
        openssh: v("ssh -V 2>&1"),
        postfix: v("postconf -d mail_version 2>/dev/null"),
        sh: fs.realpathSync("/bin/sh"),
        gitCommit: env.BENCH_SNAPSHOT_COMMIT || v("git rev-parse --short HEAD"),
    };
}

// --- main ------------------------------------------------------------------------

async function main() {
    fs.mkdirSync(OUT, { recursive: true });
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const info = machine();
    say(`machine: ${JSON.stringify(info)}`);
    const stamp = info.date.replace(/[:]/g, "").replace(/\..*/, "");
    const jsonFile = path.join(RESULTS_DIR, `${stamp}.json`);
    /** @type {any} */
    const result = { machine: info, settings: { sizes: SIZES, rounds: ROUNDS, tools: TOOLS, phases: PHASES, pulumiArgs: env.BENCH_PULUMI_ARGS || "", sshAuth: SSH_AUTH }, hostScript: null, runs: [], engineFloor: [], previewLooks: [], destroy: [] };
    const save = () => fs.writeFileSync(jsonFile, JSON.stringify(result, null, 1) + "\n");
    if (IANA_RUNS > 0) result.hostScript = await hostScriptBench();
    save();

    for (const n of SIZES) {
        const lab = await labUp(n);
        // Start from the lab's pristine state: smtp on 25, original bytes.
        /** @type {Record<string, string>} */
        const pristine = {};
        fs.mkdirSync(path.join(OUT, "pristine"), { recursive: true });
        for (const h of lab.hosts) {
            pristine[h.name] = sha(path.join(hostDir(lab, h), "services"));
            pristine[`${h.name}/main.cf`] = sha(mainCfOf(lab, h));
            fs.copyFileSync(path.join(hostDir(lab, h), "services"), path.join(OUT, "pristine", h.name));
            fs.copyFileSync(mainCfOf(lab, h), path.join(OUT, "pristine", `${h.name}.main.cf`));
        }
        const bad = lab.hosts.filter(h => !fs.readFileSync(path.join(hostDir(lab, h), "services"), "utf8").match(/^smtp\t\t25\/tcp/m));
        if (bad.length) throw new Error(`hosts not at 25 before the benchmark: ${bad.map(h => h.name)}; run 'SMTP_PORT_LAB_ID=1 sh lab/lab.sh down' first`);
        for (const t of TOOLS) await tools[t].prepare?.(lab);
        for (let round = 0; round < ROUNDS; round++) {
            const order = TOOLS.map((_, i) => TOOLS[(i + round) % TOOLS.length]);
            for (const t of order) {
                for (const phase of /** @type {("change"|"noop"|"revert")[]} */ (PHASES)) {
                    const acc0 = acceptedCounts(lab);
                    const pids0 = masterPids(lab);
                    // The machine may be shared (other work on lab 0): keep the load.
                    const load1 = Math.round(os.loadavg()[0] * 100) / 100;
                    const { r, machineCpuMs: machineMs } = await withMachineCpu(() => tools[t].run(lab, phase));
                    const acc1 = acceptedCounts(lab);
                    const conns = lab.hosts.map(h => acc1[h.name] - acc0[h.name]);
                    const problems = r.code !== 0 ? [`exit ${r.code}`] : [];
                    problems.push(...await verify(lab, portOf(phase), pristine, phase, pids0));
                    const sessions = r.sessions ? lab.hosts.map(h => /** @type {Record<string, number>} */ (r.sessions)[h.name]) : null;
                    const rec = {
                        n, round, tool: t, phase, ms: Math.round(r.ms), ok: problems.length === 0, problems, load1Before: load1,
                        connectionsPerHost: { min: Math.min(...conns), max: Math.max(...conns), mean: conns.reduce((a, b) => a + b, 0) / n },
                        sessionsPerHost: sessions && { min: Math.min(...sessions), max: Math.max(...sessions), mean: sessions.reduce((a, b) => a + b, 0) / n },
                        ...(r.stateBytes != null ? { stateBytes: r.stateBytes, stateBytesPerHost: Math.round(r.stateBytes / n) } : {}),
                        ...(r.cpuMs != null ? { cpuMs: r.cpuMs } : {}),
                        machineCpuMs: machineMs,
                    };
                    result.runs.push(rec);
                    save();
                    say(`N=${n} round ${round + 1} ${t} ${phase}: ${(r.ms / 1000).toFixed(2)} s ${rec.ok ? "ok" : "FAILED"} conns/host ${rec.connectionsPerHost.mean}` +
                        (sessions ? ` sessions/host ${rec.sessionsPerHost?.mean}` : "") + (r.stateBytes != null ? ` state ${r.stateBytes} B (${Math.round(r.stateBytes / n)} B/host)` : "") +
                        (r.cpuMs != null ? ` cpu ${(r.cpuMs / 1000).toFixed(2)} s` : "") + ` machine cpu ${(machineMs / 1000).toFixed(2)} s load ${load1}`);
                    if (!rec.ok) {
                        say(`  problems: ${problems.slice(0, 6).join("; ")}`);
                        fs.writeFileSync(path.join(OUT, `failed-${t}-${phase}-${n}-${round}.log`), r.log + "\n" + problems.join("\n"));
                        await resetHosts(lab, pristine);
                    }
                }
            }
        }
        if (TOOLS.some(t => t.startsWith("pulumi")) && EMPTY_RUNS > 0) {
            for (const r of await emptyProgram(lab)) result.engineFloor.push({ n, ...r });
            for (const r of await previewLooks(lab)) result.previewLooks.push({ n, ...r });
            save();
        }
        if (TOOLS.includes("pulumi") && env.BENCH_DESTROY !== "0") {
            // Information: `pulumi destroy` from the moved state (17).
            writePulumiConfig(lab, 17);
            const up = await pulumiRun(["up", "--yes"]);
            const pids0 = masterPids(lab);
            const acc0 = acceptedCounts(lab);
            const d = await pulumiRun(["destroy", "--yes"]);
            const acc1 = acceptedCounts(lab);
            const problems = up.code !== 0 ? ["up to 17 failed"] : d.code !== 0 ? [`exit ${d.code}`] : [];
            problems.push(...await verify(lab, 25, pristine, "revert", pids0));
            const conns = lab.hosts.map(h => acc1[h.name] - acc0[h.name]);
            result.destroy.push({ n, ms: Math.round(d.ms), ok: problems.length === 0, problems, connectionsPerHost: conns.reduce((a, b) => a + b, 0) / n });
            say(`N=${n} pulumi destroy: ${(d.ms / 1000).toFixed(2)} s ${problems.length ? "FAILED " + problems.slice(0, 3).join("; ") : "ok"}`);
            if (problems.length) await resetHosts(lab, pristine);
            save();
        }
    }
    const md = report(result);
    fs.writeFileSync(jsonFile.replace(/\.json$/, ".md"), md);
    process.stdout.write(md);
    say(`wrote ${jsonFile} and ${jsonFile.replace(/\.json$/, ".md")}`);
}

/** After a failed run: every host back to 25, original bytes, Postfix restarted. @param {Lab} lab @param {Record<string, string>} pristine */
async function resetHosts(lab, pristine) {
    say("  resetting the hosts to 25");
    await tools.floor.run(lab, "revert");
    for (const h of lab.hosts) {
        const file = path.join(hostDir(lab, h), "services");
        if (sha(file) === pristine[h.name] && sha(mainCfOf(lab, h)) === pristine[`${h.name}/main.cf`]) continue;
        // A peer's partial edit: write the original bytes in place (the
        // host's /etc/services is a bind mount of this file) and restart.
        fs.writeFileSync(file, fs.readFileSync(path.join(OUT, "pristine", h.name)));
        fs.writeFileSync(mainCfOf(lab, h), fs.readFileSync(path.join(OUT, "pristine", `${h.name}.main.cf`)));
        await run("sh", ["lab/lab.sh", "exec", h.name, "--", "sh", "-c", `rm -rf /var/lib/smtp-port/* && ${RESTART}`], { env: LAB_ENV });
    }
}

/** The fleet sizes of timed records, in the order they first appear. @param {any[]} records @returns {number[]} */
function sizesIn(records) {
    return [...new Set(records.map(r => r.n))];
}

/** "wall / control CPU / machine CPU", medians in seconds, of timed runs. @param {any[]} runs */
function timesOf(runs) {
    const med = (/** @type {string} */ k) => (median(runs.map(r => r[k]).filter(v => v != null)) / 1000).toFixed(2);
    return `${med("ms")} / ${med("cpuMs")} / ${med("machineCpuMs")}`;
}

/**
 * Table rows, one per size and tool that ran: the size, the tool, one cell
 * per phase (`cell` of that phase's passing runs; "–" when it gives null or
 * none passed), then `extra` of all the tool's runs at that size.
 * @param {any} result @param {number[]} sizes
 * @param {(runs: any[]) => string | null} cell
 * @param {(runs: any[]) => string[]} [extra]
 */
function phaseRows(result, sizes, cell, extra = () => []) {
    const rows = [];
    for (const n of sizes) {
        for (const tool of result.settings.tools) {
            const rs = result.runs.filter((/** @type {any} */ r) => r.n === n && r.tool === tool);
            if (!rs.length) continue;
            const row = [String(n), tool];
            for (const phase of ["change", "noop", "revert"]) {
                const c = rs.filter((/** @type {any} */ r) => r.phase === phase && r.ok);
                row.push((c.length ? cell(c) : null) ?? "–");
            }
            row.push(...extra(rs));
            rows.push(`| ${row.join(" | ")} |`);
        }
    }
    return rows;
}

/** The markdown report. @param {any} result */
function report(result) {
    const m = result.machine;
    const L = [];
    L.push(`Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB, Linux ${m.kernel}, ${m.os}; ${m.date}.`);
    L.push(`Versions: ansible-core ${m.ansible.replace(/^ansible \[core ([^\]]*)\].*/, "$1")}, pyinfra ${m.pyinfra.replace(/^pyinfra:? ?v?/i, "")} (paramiko ${m.paramiko}), ` +
        `Pulumi ${m.pulumi} (@pulumi/pulumi ${m.pulumiNodejsSdk}, command provider ${m.commandProvider}), Node ${m.node}, ${m.python}, ${m.openssh}, Postfix ${m.postfix.replace(/^mail_version = /, "")}; smtp-port ${m.gitCommit}.`);
    L.push("");
    L.push("Median wall time in seconds over the runs that passed every check (ok/runs), and the ratio to smtp-port (`pulumi up --yes --parallel N`). " +
        "SSH per host: connections (sshd `Accepted publickey` lines) / sessions where known.");
    const sizes = sizesIn(result.runs);
    // Runs per cell, not rounds: merged files may give a size more runs of some tools.
    const runsBySize = sizes.map(n => {
        /** @type {Record<string, number>} */
        const cells = {};
        for (const r of result.runs.filter((/** @type {any} */ r) => r.n === n)) cells[`${r.tool}/${r.phase}`] = (cells[`${r.tool}/${r.phase}`] ?? 0) + 1;
        const counts = Object.values(cells);
        const [lo, hi] = [Math.min(...counts), Math.max(...counts)];
        return `N=${n}: ${lo === hi ? lo : `${lo}–${hi}`}`;
    });
    L.push(`Runs per cell: ${runsBySize.join(", ")}; the tool order rotates per round.`);
    L.push("");
    L.push("| N | tool | change 25→17 | ratio | no-op | ratio | revert 17→25 | ratio | SSH conn/host (change, no-op, revert) | SSH sessions/host |");
    L.push("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for (const n of sizes) {
        /** @param {string} tool @param {string} phase */
        const cell = (tool, phase) => {
            const rs = result.runs.filter((/** @type {any} */ r) => r.n === n && r.tool === tool && r.phase === phase);
            const ok = rs.filter((/** @type {any} */ r) => r.ok);
            return { med: ok.length ? median(ok.map((/** @type {any} */ r) => r.ms)) / 1000 : NaN, ok: ok.length, all: rs.length, rs };
        };
        for (const tool of result.settings.tools) {
            const label = /** @type {Record<string, string>} */ ({ pulumi: "**smtp-port** (`pulumi up --yes --parallel N`)", floor: "floor (1 ssh/host)",
                "pulumi-skip-preview": "smtp-port without the preview pass (`--skip-preview`; Ansible has none)",
                "ansible-kex": "ansible, curve25519 key exchange (as smtp-port's looks)" })[tool] ?? tool;
            const row = [String(n), label];
            const conns = [], sess = [];
            for (const phase of ["change", "noop", "revert"]) {
                const c = cell(tool, phase);
                const ours = cell("pulumi", phase);
                if (!c.all) { row.push("–", ""); continue; }
                row.push(isNaN(c.med) ? `FAILED (0/${c.all})` : `${c.med.toFixed(2)}${c.ok < c.all ? ` (${c.ok}/${c.all})` : ""}`);
                row.push(isNaN(c.med) || isNaN(ours.med) ? "" : `${(c.med / ours.med).toFixed(2)}`);
                const cm = median(c.rs.map((/** @type {any} */ r) => r.connectionsPerHost.mean));
                conns.push(Number.isInteger(cm) ? String(cm) : cm.toFixed(1));
                if (c.rs[0]?.sessionsPerHost) sess.push(String(median(c.rs.map((/** @type {any} */ r) => r.sessionsPerHost.mean))));
            }
            row.push(conns.join(", "), sess.length ? sess.join(", ") : tool === "floor" ? "1, 1, 1" : tool.startsWith("pulumi") ? "= conn" : "n/a");
            L.push(`| ${row.join(" | ")} |`);
        }
    }
    if (result.runs.some((/** @type {any} */ r) => r.cpuMs != null)) {
        L.push("");
        L.push("CPU seconds on the control machine (user + system of the tool's processes, GNU time; for the floor its ssh clients), median over the passing runs. " +
            "The wall times above move with the load others put on this machine; these much less:");
        L.push("");
        L.push("| N | tool | change | no-op | revert | load (1 min) before the runs |");
        L.push("| ---: | --- | ---: | ---: | ---: | --- |");
        L.push(...phaseRows(result, sizes,
            c => { const v = c.filter(r => r.cpuMs != null); return v.length ? (median(v.map(r => r.cpuMs)) / 1000).toFixed(2) : null; },
            rs => { const loads = rs.map(r => r.load1Before); return [`${Math.min(...loads)}–${Math.max(...loads)}`]; }));
    }
    if (result.runs.some((/** @type {any} */ r) => r.machineCpuMs != null)) {
        L.push("");
        L.push(`CPU seconds on the whole machine (/proc/stat) during each run, median over the passing runs, and in brackets the CPUs that kept busy (CPU ÷ wall; this machine has ${m.nproc}). ` +
            "The lab's hosts are namespaces of this machine: this counts their sshd, host script and Postfix as well as the tool's own processes:");
        L.push("");
        L.push("| N | tool | change | no-op | revert |");
        L.push("| ---: | --- | ---: | ---: | ---: |");
        L.push(...phaseRows(result, sizes, c => {
            const v = c.filter(r => r.machineCpuMs != null);
            if (!v.length) return null;
            const cpu = median(v.map(r => r.machineCpuMs));
            return `${(cpu / 1000).toFixed(2)} (${(cpu / median(v.map(r => r.ms))).toFixed(2)})`;
        }));
    }
    const floors = result.engineFloor ?? [];
    if (floors.length) {
        L.push("");
        L.push("The engine's floor: `pulumi up --yes` (preview, then update) of an empty program with this project's runtime options, engine and backend, " +
            "timed after each size's rounds; median wall / CPU on the control machine / CPU on the whole machine, in seconds: " +
            sizesIn(floors).map(n => {
                const fs_ = floors.filter((/** @type {any} */ f) => f.n === n);
                return `N=${n}: ${timesOf(fs_)} (${fs_.length} runs)`;
            }).join("; ") + ".");
    }
    const looks = result.previewLooks ?? [];
    if (looks.length) {
        L.push("");
        L.push("What the preview's looks cost: `pulumi preview` of the stack with its looks at the hosts, and without (`SMTP_PORT_PREVIEW_HOSTS=0`), alternately; " +
            "median wall / CPU on the control machine / CPU on the whole machine, in seconds: " +
            sizesIn(looks).map(n => {
                const part = (/** @type {boolean} */ on) => timesOf(looks.filter((/** @type {any} */ f) => f.n === n && f.looks === on));
                return `N=${n}: with ${part(true)}, without ${part(false)}`;
            }).join("; ") + ".");
    }
    const withState = result.runs.filter((/** @type {any} */ r) => r.stateBytes != null && r.ok);
    if (withState.length) {
        L.push("");
        L.push(`State: the stack's checkpoint (the file backend's \`bench.json\`) after \`pulumi up\`, logging in with ${result.settings.sshAuth === "agent" ? "an SSH agent (no key in the stack)" : "a private key (smtp-port:privateKey)"}, median bytes per host over the passing runs (total in brackets): ` +
            sizes.map(n => {
                const rs = withState.filter((/** @type {any} */ r) => r.n === n);
                if (!rs.length) return `N=${n}: –`;
                const b = median(rs.map((/** @type {any} */ r) => r.stateBytes));
                return `N=${n}: ${Math.round(b / n)} B/host (${b} B)`;
            }).join("; ") + ".");
    }
    const slopeSizes = [...sizes].sort((a, b) => a - b);
    if (slopeSizes.length >= 2) {
        const [lo, hi] = [slopeSizes[0], slopeSizes[slopeSizes.length - 1]];
        L.push("");
        L.push(`The slope: milliseconds per added host between N=${lo} and N=${hi}, (median at N=${hi} − median at N=${lo}) / ${hi - lo}, of the wall time and of the CPU time on the control machine:`);
        L.push("");
        L.push("| tool | change | no-op | revert | CPU: change | CPU: no-op | CPU: revert |");
        L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (const tool of result.settings.tools) {
            const row = [tool];
            for (const key of ["ms", "cpuMs"]) {
                for (const phase of ["change", "noop", "revert"]) {
                    const at = (/** @type {number} */ n) => median(result.runs.filter((/** @type {any} */ r) => r.n === n && r.tool === tool && r.phase === phase && r.ok && r[key] != null).map((/** @type {any} */ r) => r[key]));
                    const sl = (at(hi) - at(lo)) / (hi - lo);
                    row.push(isNaN(sl) ? "–" : sl.toFixed(0));
                }
            }
            L.push(`| ${row.join(" | ")} |`);
        }
    }
    if (result.destroy.length) {
        L.push("");
        L.push("`pulumi destroy --yes` from 17 (information): " + result.destroy.map((/** @type {any} */ d) =>
            `N=${d.n}: ${(d.ms / 1000).toFixed(2)} s${d.ok ? "" : " FAILED"}, ${d.connectionsPerHost} SSH conn/host`).join("; ") + ".");
    }
    if (result.hostScript) {
        const h = result.hostScript;
        L.push("");
        L.push(`The host script alone (${h.shell}), median of ${h.runs} runs, ms:`);
        L.push("");
        L.push("| services file | lines | bytes | apply (change) | apply (no-op) | revert | `cat f >/dev/null` | `awk` read | `sh -c true` |");
        L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (const [k, f] of Object.entries(h.files)) {
            const x = /** @type {any} */ (f).medianMs;
            L.push(`| ${k} | ${/** @type {any} */ (f).lines} | ${/** @type {any} */ (f).bytes} | ${x.change} | ${x.noop} | ${x.revert} | ${x.cat} | ${x.awk} | ${x.sh_true} |`);
        }
    }
    const failed = result.runs.filter((/** @type {any} */ r) => !r.ok);
    if (failed.length) {
        L.push("");
        L.push("Failed runs:");
        for (const f of failed) L.push(`- N=${f.n} round ${f.round + 1} ${f.tool} ${f.phase}: ${f.problems.slice(0, 3).join("; ")}`);
    }
    return L.join("\n") + "\n";
}

if (process.argv[2] === "report" || process.argv[2] === "merge") {
    // report A.json [B.json...]: one report over several result files (e.g.
    // sizes run separately); merge A.json B.json...: the merged JSON.
    const all = process.argv.slice(3).map(f => JSON.parse(fs.readFileSync(f, "utf8")));
    const merged = {
        ...all[0],
        parts: all.map(r => ({ date: r.machine.date, settings: r.settings })),
        settings: { ...all[0].settings, sizes: [...new Set(all.flatMap(r => r.settings.sizes))], tools: [...new Set(all.flatMap(r => r.settings.tools))] },
        hostScript: all.find(r => r.hostScript)?.hostScript ?? null,
        runs: all.flatMap(r => r.runs),
        engineFloor: all.flatMap(r => r.engineFloor ?? []),
        previewLooks: all.flatMap(r => r.previewLooks ?? []),
        destroy: all.flatMap(r => r.destroy),
    };
    process.stdout.write(process.argv[2] === "merge" ? JSON.stringify(merged, null, 1) + "\n" : report(merged));
} else {
    main().catch(e => {
        say(`error: ${e.stack || e}`);
        process.exit(1);
    });
}
