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
 * `--key value` pairs, and a reader of whole numbers among them.
 * @param {string[]} argv
 */
function readFlags(argv) {
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
    /** The options every check shares. */
    const common = () => ({ expect: a.expect, timeoutMs: int("timeout-ms"), attempts: int("attempts"), delayMs: int("delay-ms") });
    return { a, int, common };
}

/**
 * @param {string[]} argv
 * @returns {CheckOptions}
 */
function parseArgs(argv) {
    const { a, int, common } = readFlags(argv);
    if (!a.host) throw new Error("--host is required");
    const port = int("port");
    if (port === undefined || port < 1 || port > 65535) throw new Error("--port must be 1-65535");
    return { host: a.host, port, name: a.name, ...common(), closedPort: int("closed-port") };
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
 * The host script's result: the JSON on the last line of its output, or undefined.
 * @param {string | undefined} out
 */
function lastResult(out) {
    try {
        return JSON.parse((out ?? "").trim().split("\n").pop() || "");
    } catch {
        return undefined;
    }
}

/**
 * What --soft reports for a host whose script failed (it was rolled back, not changed).
 * @param {string} host @param {number} port
 */
function skippedResult(host, port) {
    return { ok: false, skipped: true, host, port, banner: null, message: "not checked: the host script failed" };
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

/**
 * One JSON line per result on stdout; unless --soft, every failure's message
 * on stderr and exit 1.
 * @param {{ ok: boolean, message?: string }[]} results @param {boolean} soft
 */
function report(results, soft) {
    const failed = results.filter(r => !r.ok);
    process.stdout.write(results.map(r => JSON.stringify(r) + "\n").join(""), () => {
        if (failed.length > 0 && !soft) process.stderr.write(failed.map(r => r.message + "\n").join(""), () => process.exit(1));
        else process.exit(0);
    });
}

/** @param {unknown} e */
function usageError(e) {
    process.stderr.write(`listener-check: ${/** @type {Error} */ (e).message}\n`);
    process.exit(2);
}

// --soft yes: a failed check is a result (ok: false, exit 0), for rollouts
// with a failure budget, where a failed step would stop Pulumi from starting
// anything else; nothing is probed when the host script failed.
async function cli() {
    const argv = process.argv.slice(2);
    // --hosts-from-stdin yes: every host of a wave at once, named in its line.
    const wave = takeFlag(argv, "--hosts-from-stdin");
    const fromStdin = takeFlag(argv, "--closed-port-from-stdin");
    const soft = takeFlag(argv, "--soft");
    if (wave) {
        /** @type {any[]} */
        let targets = [];
        /** @type {Omit<CheckOptions, "host" | "port">} */
        let opts = {};
        try {
            opts = readFlags(argv).common();
            targets = parseTargets(require("fs").readFileSync(0, "utf8"));
        } catch (e) {
            usageError(e);
        }
        report(await Promise.all(targets.map(async t => {
            const hostResult = lastResult(t.result);
            if (soft && hostResult?.failed) return { name: t.name, ...skippedResult(t.host, t.port) };
            const closedPort = t.closedPortFromResult === true && typeof hostResult?.previous_port === "number" ? hostResult.previous_port : undefined;
            return { name: t.name, ...await checkListener({ ...opts, name: t.name, host: t.host, port: t.port, closedPort }) };
        })), soft);
        return;
    }
    /** @type {CheckOptions} */
    let opts = { host: "", port: 0 };
    /** @type {any} */
    let hostResult;
    try {
        opts = parseArgs(argv);
        if (fromStdin || soft) {
            let text = "";
            try { text = require("fs").readFileSync(0, "utf8"); } catch { /* no stdin */ }
            hostResult = lastResult(text);
        }
        if (fromStdin && opts.closedPort === undefined && typeof hostResult?.previous_port === "number") opts.closedPort = hostResult.previous_port;
    } catch (e) {
        usageError(e);
    }
    report([soft && hostResult?.failed ? skippedResult(opts.host, opts.port) : await checkListener(opts)], soft);
}

module.exports = { checkListener, probeOnce, parseArgs, parseTargets };

if (require.main === module) cli();
