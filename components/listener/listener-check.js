#!/usr/bin/env node
// @ts-check
// The recipe's `telnet host 17`, made patient and precise: connect to
// host:port, read the first line, and require an SMTP greeting (220).
// Run from where `pulumi up` runs, so it proves the port is reachable from
// outside the host, not only that something listens on it.
"use strict";

const net = require("net");

/**
 * @typedef {{ kind: "greeting", banner: string }
 *   | { kind: "wrong-banner", banner: string }
 *   | { kind: "refused" | "timeout" | "closed" | "unreachable" | "error", detail: string }} Probe
 */

/**
 * One connection attempt: the first line the server sends, or why there was none.
 * @param {string} host
 * @param {number} port
 * @param {number} timeoutMs
 * @param {string} expect
 * @returns {Promise<Probe>}
 */
function probeOnce(host, port, timeoutMs, expect) {
    return new Promise(resolve => {
        let buf = "";
        let done = false;
        const sock = net.connect({ host, port });
        /** @param {Probe} p */
        const finish = p => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            if (p.kind === "greeting") {
                // Say goodbye politely, but never wait on the server to hang up.
                sock.end("QUIT\r\n");
                setTimeout(() => sock.destroy(), 200).unref();
            } else sock.destroy();
            resolve(p);
        };
        const timer = setTimeout(
            () => finish({ kind: "timeout", detail: buf ? `partial greeting ${JSON.stringify(buf)}` : `no answer within ${timeoutMs} ms` }),
            timeoutMs,
        );
        sock.setEncoding("latin1");
        sock.on("data", chunk => {
            buf += chunk;
            const nl = buf.indexOf("\n");
            if (nl < 0 && buf.length < 1024) return;
            const line = (nl < 0 ? buf : buf.slice(0, nl)).replace(/\r$/, "");
            const ok = line.startsWith(expect) && (line.length === expect.length || line[expect.length] === " " || line[expect.length] === "-");
            finish({ kind: ok ? "greeting" : "wrong-banner", banner: line });
        });
        sock.on("error", e => {
            const code = /** @type {NodeJS.ErrnoException} */ (e).code;
            if (code === "ECONNREFUSED") finish({ kind: "refused", detail: "connection refused" });
            else if (code === "EHOSTUNREACH" || code === "ENETUNREACH") finish({ kind: "unreachable", detail: e.message });
            else finish({ kind: "error", detail: e.message });
        });
        sock.on("end", () => finish({ kind: "closed", detail: buf ? `closed after ${JSON.stringify(buf)}` : "closed without a greeting" }));
    });
}

/**
 * @typedef {object} CheckOptions
 * @property {string} host
 * @property {number} port
 * @property {string} [name]       host name for messages
 * @property {string} [expect]     reply code of the greeting, default "220"
 * @property {number} [timeoutMs]  per attempt, default 5000
 * @property {number} [attempts]  default 10
 * @property {number} [delayMs]    between attempts, default 1000
 * @property {number} [closedPort] a port that must refuse connections (the old one)
 */

/**
 * @typedef {object} CheckResult
 * @property {boolean} ok
 * @property {string} host
 * @property {number} port
 * @property {string | null} banner
 * @property {number} attempts
 * @property {number} elapsedMs
 * @property {string} [seen]       what the last attempt saw, when not ok
 * @property {string} [message]    the error to show, when not ok
 */

/**
 * Retry until a greeting, a wrong banner (a definite answer: no point
 * retrying), or the attempts run out.
 * @param {CheckOptions} o
 * @returns {Promise<CheckResult>}
 */
async function checkListener(o) {
    const expect = o.expect ?? "220";
    const timeoutMs = o.timeoutMs ?? 5000;
    const attempts = o.attempts ?? 10;
    const delayMs = o.delayMs ?? 1000;
    const start = Date.now();
    /** @type {Probe | undefined} */
    let last;
    let n = 0;
    while (n < attempts) {
        n++;
        last = await probeOnce(o.host, o.port, timeoutMs, expect);
        if (last.kind === "greeting") {
            const ok = { ok: true, host: o.host, port: o.port, banner: last.banner, attempts: n, elapsedMs: Date.now() - start };
            if (o.closedPort === undefined || o.closedPort === o.port) return ok;
            const old = await probeOnce(o.host, o.closedPort, timeoutMs, expect);
            if (old.kind === "refused") return ok;
            const who = `${o.name ? `${o.name} ` : ""}(${o.host})`;
            const seen = old.kind === "greeting" || old.kind === "wrong-banner" ? `greets ${JSON.stringify(old.banner)}` : `answers (${old.detail})`;
            return { ...ok, ok: false, seen: `old port ${o.closedPort} ${seen}`,
                message: `listener check failed for ${who}: the new port ${o.port} greets, but the old port ${o.closedPort} still accepts connections (${seen}). Likely cause: a second listener (another MTA instance, a proxy) holds it; set requireOldPortClosed: false if that is intended.` };
        }
        if (last.kind === "wrong-banner") break;
        if (n < attempts) await new Promise(r => setTimeout(r, delayMs));
    }
    const p = /** @type {Probe} */ (last);
    const who = `${o.name ? `${o.name} ` : ""}(${o.host}:${o.port})`;
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    /** @type {string} */
    let seen;
    /** @type {string} */
    let cause;
    if (p.kind === "wrong-banner") {
        seen = `wrong banner ${JSON.stringify(p.banner)}`;
        cause = `something other than the mail server holds port ${o.port}`;
    } else if (p.kind === "refused") {
        seen = "connection refused";
        cause = `nothing listens on ${o.port}: the mail service was not restarted, or does not take its port from the services file (Postfix 3.6+: known_tcp_ports), or it failed to start`;
    } else if (p.kind === "timeout") {
        seen = `timeout (${p.detail})`;
        cause = "a firewall drops the connection, or the server accepts but never greets (overloaded, or a stuck process)";
    } else if (p.kind === "closed") {
        seen = p.detail;
        cause = "the service accepted and hung up: check the mail server's log (restrictions, TLS wrapper mode, or a crash)";
    } else {
        seen = p.kind === "greeting" ? p.banner : p.detail;
        cause = "the address is wrong or unreachable from where pulumi runs (see checkAddress)";
    }
    const banner = p.kind === "wrong-banner" ? p.banner : null;
    const message = `listener check failed for ${who}: ${seen} after ${n} attempt${n === 1 ? "" : "s"} in ${secs} s; expected an SMTP greeting "${expect} ...". Likely cause: ${cause}.`;
    return { ok: false, host: o.host, port: o.port, banner, attempts: n, elapsedMs: Date.now() - start, seen, message };
}

/**
 * @param {string[]} argv
 * @returns {CheckOptions}
 */
function parseArgs(argv) {
    /** @type {Record<string, string>} */
    const a = {};
    for (let i = 0; i < argv.length; i += 2) {
        const k = argv[i];
        if (!k.startsWith("--") || i + 1 >= argv.length) throw new Error(`bad argument ${JSON.stringify(k)}; usage: listener-check.js --host H --port N [--name NAME] [--expect 220] [--timeout-ms N] [--attempts N] [--delay-ms N] [--closed-port N] [--closed-port-from-stdin yes]`);
        a[k.slice(2)] = argv[i + 1];
    }
    /** @param {string} k */
    const int = k => {
        if (a[k] === undefined) return undefined;
        if (!/^[0-9]+$/.test(a[k])) throw new Error(`--${k} must be a whole number, got ${JSON.stringify(a[k])}`);
        return Number(a[k]);
    };
    if (!a.host) throw new Error("--host is required");
    const port = int("port");
    if (port === undefined || port < 1 || port > 65535) throw new Error("--port must be 1-65535");
    return { host: a.host, port, name: a.name, expect: a.expect, timeoutMs: int("timeout-ms"), attempts: int("attempts"), delayMs: int("delay-ms"), closedPort: int("closed-port") };
}

/** The host script's result line on stdin, or undefined. */
function hostResultFromStdin() {
    try {
        const text = require("fs").readFileSync(0, "utf8").trim().split("\n").pop() || "";
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

/**
 * Take a flag with a value (`--closed-port-from-stdin yes`) out of argv.
 * @param {string[]} argv
 * @param {string} flag
 */
function takeFlag(argv, flag) {
    const i = argv.indexOf(flag);
    if (i < 0) return false;
    const on = argv[i + 1] === "yes";
    argv.splice(i, 2);
    return on;
}

/**
 * The hosts of one wave, a JSON line each on stdin:
 * {"name","host","port","closedPortFromResult","result"} (result: the host
 * script's output). Throws with the line number on anything else.
 * @param {string} text
 */
function parseTargets(text) {
    return text.split("\n").map((line, i) => [line.trim(), i + 1]).filter(([line]) => line !== "").map(([line, n]) => {
        /** @type {any} */
        let t;
        try {
            t = JSON.parse(/** @type {string} */ (line));
        } catch {
            throw new Error(`stdin line ${n} is not JSON`);
        }
        if (typeof t?.name !== "string" || t.name === "") throw new Error(`stdin line ${n}: name must be a non-empty string`);
        if (typeof t.host !== "string" || t.host === "") throw new Error(`stdin line ${n} (${t.name}): host must be a non-empty string`);
        if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new Error(`stdin line ${n} (${t.name}): port must be 1-65535`);
        return t;
    });
}

/** @param {string | undefined} out the host script's output */
function lastResult(out) {
    try {
        return JSON.parse((out ?? "").trim().split("\n").pop() || "");
    } catch {
        return undefined;
    }
}

/**
 * --hosts-from-stdin yes: every host of a wave at once, one JSON line each
 * on stdout (its name added); fails (exit 1, each failure on stderr) when
 * any host failed, unless --soft.
 * @param {string[]} argv @param {boolean} soft
 */
async function waveCli(argv, soft) {
    /** @type {any[]} */
    let targets;
    /** @type {Omit<CheckOptions, "host" | "port">} */
    let opts;
    try {
        const o = parseArgs(["--host", "-", "--port", "1", ...argv]);
        opts = { expect: o.expect, timeoutMs: o.timeoutMs, attempts: o.attempts, delayMs: o.delayMs };
        targets = parseTargets(require("fs").readFileSync(0, "utf8"));
    } catch (e) {
        process.stderr.write(`listener-check: ${/** @type {Error} */ (e).message}\n`);
        process.exit(2);
    }
    const results = await Promise.all(targets.map(async t => {
        const hostResult = lastResult(t.result);
        if (soft && hostResult?.failed) {
            return { name: t.name, ok: false, skipped: true, host: t.host, port: t.port, banner: null, message: "not checked: the host script failed" };
        }
        const closedPort = t.closedPortFromResult === true && typeof hostResult?.previous_port === "number" ? hostResult.previous_port : undefined;
        return { name: t.name, ...await checkListener({ ...opts, name: t.name, host: t.host, port: t.port, closedPort }) };
    }));
    const failed = results.filter(r => !r.ok);
    process.stdout.write(results.map(r => JSON.stringify(r) + "\n").join(""), () => {
        if (failed.length > 0 && !soft) process.stderr.write(failed.map(r => r.message + "\n").join(""), () => process.exit(1));
        else process.exit(0);
    });
}

async function cli() {
    {
        const argv = process.argv.slice(2);
        if (takeFlag(argv, "--hosts-from-stdin")) {
            const soft = takeFlag(argv, "--soft");
            await waveCli(argv, soft);
            return;
        }
    }
    let opts;
    // --soft yes: a failed check is a result (ok: false, exit 0), for
    // rollouts with a failure budget, where a failed step would stop Pulumi
    // from starting anything else; nothing is probed when the host script
    // on stdin failed (its host was rolled back, not changed).
    let soft = false;
    /** @type {any} */
    let hostResult;
    try {
        const argv = process.argv.slice(2);
        const fromStdin = takeFlag(argv, "--closed-port-from-stdin");
        soft = takeFlag(argv, "--soft");
        opts = parseArgs(argv);
        if (fromStdin || soft) hostResult = hostResultFromStdin();
        if (fromStdin && opts.closedPort === undefined && typeof hostResult?.previous_port === "number") opts.closedPort = hostResult.previous_port;
    } catch (e) {
        process.stderr.write(`listener-check: ${/** @type {Error} */ (e).message}\n`);
        process.exit(2);
    }
    if (soft && hostResult?.failed) {
        process.stdout.write(JSON.stringify({ ok: false, skipped: true, host: opts.host, port: opts.port, banner: null, message: "not checked: the host script failed" }) + "\n");
        return;
    }
    const r = await checkListener(opts);
    process.stdout.write(JSON.stringify(r) + "\n", () => {
        if (!r.ok && !soft) process.stderr.write(r.message + "\n", () => process.exit(1));
        else process.exit(0);
    });
}

module.exports = { checkListener, probeOnce, parseArgs, parseTargets };

if (require.main === module) cli();
