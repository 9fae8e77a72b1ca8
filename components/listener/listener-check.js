#!/usr/bin/env node
// @ts-check
// The recipe's `telnet host 17`, made patient and precise: connect to
// host:port, read the first line, and require an SMTP greeting (220).
// Run from where `pulumi up` runs, so it proves the port is reachable from
// outside the host, not only that something listens on it.
//
// The command checks one wave: every host at once, one JSON line each on
// stdin (WaveTarget), one JSON line each on stdout (CheckLine), in the
// order of stdin. It never reads the host script's output: the component
// decodes that (components/hostResult.ts) and passes what the check needs.
//
//   node listener-check.js [--timeout-ms 5000] [--attempts 10] [--delay-ms 1000] [--expect 220] [--soft yes] < hosts
//
// Exit 0 when every host passed; else every failure's message on stderr
// and exit 1, unless `--soft yes` (a rollout with a failure budget: a failed
// check is a result, not a failed step, which would stop Pulumi from
// starting anything else). Exit 2 on bad arguments or a bad stdin line.
"use strict";

const net = require("net");

/**
 * One host of the wave: a line of stdin.
 * @typedef {object} WaveTarget
 * @property {string} name            the host's name, for messages and to match results
 * @property {string} host            address to connect to: a name, IPv4, IPv6 (`::1` or `[::1]`)
 * @property {number} port            the new port, 1-65535: must greet
 * @property {number | null} oldPort  the port before the change, which must refuse connections; null: not checked
 * @property {boolean} [skip]         true: the host script failed, probe nothing, report the host as skipped
 */

/**
 * The check's result for one host: a line of stdout.
 * @typedef {object} CheckLine
 * @property {string} name
 * @property {boolean} ok              the new port greeted (and the old port, if given, refused)
 * @property {string} host             as on stdin
 * @property {number} port
 * @property {string | null} banner    the greeting, or the other service's first line; at most
 *                                     BANNER_MAX bytes, cut ones end in "…"; null when nothing was read
 * @property {number} attempts         connections tried on the new port (0 when skipped)
 * @property {number} elapsedMs
 * @property {string} [seen]           what the last attempt saw, when not ok (for people)
 * @property {string} [message]        the error to show, naming the host and the likely cause, when not ok
 * @property {true} [skipped]          not probed: the host script failed (WaveTarget.skip)
 */

/**
 * Longest banner read and reported: RFC 5321's longest reply line (512
 * bytes with CRLF). A server that sends more without a line end is not
 * read further, so an endless `220 ` stream costs 512 bytes.
 */
const BANNER_MAX = 512;

/** Longest wait for a TLS answer to our ClientHello, after the greeting did not come. */
const TLS_WAIT_MAX_MS = 2000;

/**
 * A minimal TLS 1.2 ClientHello (no SNI, common suites and groups). An
 * SMTPS (implicit TLS) listener waits silently for the client's hello, so
 * to a plain-SMTP client it looks like a firewall; sent after that
 * silence, it makes such a port answer with a TLS record (a ServerHello,
 * or an alert if it likes nothing offered: TLS either way).
 */
function clientHello() {
    const suites = [0xc02f, 0xc02b, 0xc030, 0xc02c, 0x009c, 0x009d, 0x002f, 0x0035, 0x00ff];
    const ext = (/** @type {number} */ type, /** @type {number[]} */ body) => [type >> 8, type & 255, body.length >> 8, body.length & 255, ...body];
    const u16 = (/** @type {number[]} */ list) => list.flatMap(v => [v >> 8, v & 255]);
    const extensions = [
        ...ext(0x000a, [0, 6, ...u16([0x001d, 0x0017, 0x0018])]),                         // supported_groups: x25519, P-256, P-384
        ...ext(0x000b, [1, 0]),                                                             // ec_point_formats: uncompressed
        ...ext(0x000d, [0, 8, ...u16([0x0804, 0x0403, 0x0401, 0x0501])]),                 // signature_algorithms
    ];
    const body = [
        3, 3, ...require("crypto").randomBytes(32), 0,                                      // version, random, no session id
        (suites.length * 2) >> 8, (suites.length * 2) & 255, ...u16(suites),
        1, 0,                                                                               // compression: none
        extensions.length >> 8, extensions.length & 255, ...extensions,
    ];
    const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
    return Buffer.from([0x16, 3, 1, hs.length >> 8, hs.length & 255, ...hs]);
}

/**
 * The address to connect to: an IPv6 address may come bracketed (`[::1]`,
 * as in URLs and `host:port` forms); the brackets are not part of it.
 * @param {string} host
 * @returns {string | undefined} undefined when bracketed but not an IPv6 address
 */
function connectAddress(host) {
    const m = /^\[(.*)\]$/.exec(host);
    if (!m) return host;
    return net.isIPv6(m[1]) ? m[1] : undefined;
}

/**
 * `host:port` as people write it: IPv6 addresses in brackets.
 * @param {string} host @param {number} port
 */
function endpoint(host, port) {
    const h = connectAddress(host) ?? host;
    return net.isIPv6(h) ? `[${h}]:${port}` : `${h}:${port}`;
}

/**
 * Whether a line is an SMTP greeting with the expected code: the code,
 * then a space, `-` (more lines follow) or the line's end. `2201 x` is not.
 * @param {string} line @param {string} expect
 */
function isGreeting(line, expect) {
    return line === expect || line.startsWith(`${expect} `) || line.startsWith(`${expect}-`);
}

/**
 * @typedef {{ kind: "greeting", banner: string }
 *   | { kind: "wrong-banner", banner: string }
 *   | { kind: "tls" | "refused" | "timeout" | "no-connection" | "closed" | "unreachable" | "error", detail: string }} Probe
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
        let connected = false;
        /** @type {Buffer | null} bytes answered to our ClientHello, once sent */
        let tlsAnswer = null;
        /** @type {NodeJS.Timeout | undefined} */
        let timer;
        const sock = net.connect({ host: connectAddress(host) ?? host, port });
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
        // Silent past the timeout: a firewall (never connected), a stuck
        // server, or one that waits for the client to speak first: TLS.
        const silent = () => {
            if (!connected) return finish({ kind: "no-connection", detail: `no connection within ${timeoutMs} ms` });
            if (buf) return finish({ kind: "timeout", detail: `partial greeting ${quoteRead(buf)}` });
            tlsAnswer = Buffer.alloc(0);
            sock.write(clientHello());
            timer = setTimeout(() => finish({ kind: "timeout", detail: `connected, but no greeting within ${timeoutMs} ms` }),
                Math.min(timeoutMs, TLS_WAIT_MAX_MS));
        };
        timer = setTimeout(silent, timeoutMs);
        sock.on("connect", () => { connected = true; });
        sock.on("data", chunk => {
            if (done) return;
            if (tlsAnswer) {
                tlsAnswer = Buffer.concat([tlsAnswer, chunk]);
                const p = tlsAnswerProbe(tlsAnswer, timeoutMs);
                if (p) finish(p);
                return;
            }
            buf += chunk.toString("latin1");
            const p = greetingProbe(buf, expect);
            if (p) finish(p);
        });
        sock.on("error", e => finish(socketErrorProbe(/** @type {NodeJS.ErrnoException} */ (e), tlsAnswer !== null, buf)));
        sock.on("end", () => finish(tlsAnswer
            ? { kind: "closed", detail: "accepted, sent nothing, and hung up on a TLS ClientHello" }
            : { kind: "closed", detail: buf ? `closed after ${quoteRead(buf)}` : "closed without a greeting" }));
    });
}

/**
 * The first BANNER_MAX bytes of what was read, quoted, for messages.
 * @param {string} buf
 */
function quoteRead(buf) {
    return JSON.stringify(buf.length > BANNER_MAX ? `${buf.slice(0, BANNER_MAX)}…` : buf);
}

/**
 * The verdict on what a server that sent no greeting answered to our TLS
 * ClientHello; undefined until there are enough bytes to tell.
 * @param {Buffer} answer @param {number} timeoutMs
 * @returns {Probe | undefined}
 */
function tlsAnswerProbe(answer, timeoutMs) {
    if (answer.length < 2) return undefined;
    // A TLS record: handshake (0x16) or alert (0x15), version 3.x.
    if ((answer[0] === 0x16 || answer[0] === 0x15) && answer[1] === 3) {
        return { kind: "tls", detail: answer[0] === 0x16 ? "answered a TLS ClientHello with a handshake" : "answered a TLS ClientHello with a TLS alert" };
    }
    return { kind: "timeout", detail: `no greeting within ${timeoutMs} ms, then ${quoteRead(answer.toString("latin1"))} in answer to a TLS ClientHello` };
}

/**
 * The verdict on the bytes read so far; undefined until the first line is
 * complete (or BANNER_MAX bytes long).
 * @param {string} buf @param {string} expect
 * @returns {Probe | undefined}
 */
function greetingProbe(buf, expect) {
    const nl = buf.indexOf("\n");
    if (nl < 0 && buf.length < BANNER_MAX) return undefined;
    const cut = nl < 0 || nl > BANNER_MAX;
    const line = cut ? `${buf.slice(0, BANNER_MAX)}…` : buf.slice(0, nl).replace(/\r$/, "");
    // Only the first line: Postfix's postscreen sends `220-` and then
    // waits seconds for clients that talk too early.
    return { kind: isGreeting(line, expect) ? "greeting" : "wrong-banner", banner: line };
}

/**
 * A socket error as a verdict.
 * @param {NodeJS.ErrnoException} e
 * @param {boolean} tlsSent whether our ClientHello was sent
 * @param {string} buf what the server sent before
 * @returns {Probe}
 */
function socketErrorProbe(e, tlsSent, buf) {
    const code = e.code;
    if (code === "ECONNREFUSED") return { kind: "refused", detail: "connection refused" };
    if (code === "ECONNRESET") return { kind: "closed", detail: tlsSent ? "accepted, sent nothing, and reset the connection on a TLS ClientHello" : buf ? `reset after ${quoteRead(buf)}` : "reset without a greeting" };
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return { kind: "unreachable", detail: e.message };
    return { kind: "error", detail: e.message };
}

/**
 * @typedef {object} CheckOptions
 * @property {string} host
 * @property {number} port
 * @property {string} [name]       host name for messages
 * @property {string} [expect]     reply code of the greeting, default "220"
 * @property {number} [timeoutMs]  per attempt, default 5000
 * @property {number} [attempts]   default 10
 * @property {number} [delayMs]    between attempts, default 1000
 * @property {number | null} [oldPort]  the port before the change: must refuse connections (unset or null: not checked)
 */

/** @typedef {Omit<CheckLine, "name">} CheckResult */

/**
 * Why a probe is not a greeting, for people: what was seen and the likely cause.
 * @param {Probe} p @param {number} port
 * @returns {{ seen: string, cause: string }}
 */
function explain(p, port) {
    switch (p.kind) {
        case "wrong-banner":
            return { seen: `wrong banner ${JSON.stringify(p.banner)}`, cause: `something other than the mail server holds port ${port}` };
        case "tls":
            return { seen: `speaks TLS (${p.detail})`,
                cause: `port ${port} expects TLS from the first byte (implicit TLS, as SMTPS on 465): the mail server listens there in wrapper mode (Postfix smtpd_tls_wrappermode, Exim tls_on_connect_ports), or another TLS service holds the port` };
        case "refused":
            return { seen: "connection refused",
                cause: `nothing listens on ${port}: the mail service was not restarted, or does not take its port from the services file (Postfix 3.6+: known_tcp_ports), or it failed to start` };
        case "no-connection":
            return { seen: `timeout (${p.detail})`, cause: "a firewall drops the connection, or the address is not the host's (see checkAddress)" };
        case "timeout":
            return { seen: `timeout (${p.detail})`, cause: "the server accepts but never greets (overloaded, or a stuck process)" };
        case "closed":
            return { seen: p.detail, cause: "the service accepted and hung up: check the mail server's log (restrictions, TLS wrapper mode, or a crash)" };
        case "greeting":
            return { seen: p.banner, cause: "none" };
        default:
            return { seen: p.detail, cause: "the address is wrong or unreachable from where pulumi runs (see checkAddress)" };
    }
}

/**
 * Retry until a greeting, a definite other answer (a wrong banner, TLS: no
 * point retrying), or the attempts run out; then, if asked, require the
 * old port to refuse connections.
 * @param {CheckOptions} o
 * @returns {Promise<CheckResult>}
 */
async function checkListener(o) {
    const expect = o.expect ?? "220";
    const timeoutMs = o.timeoutMs ?? 5000;
    const attempts = o.attempts ?? 10;
    const delayMs = o.delayMs ?? 1000;
    const start = Date.now();
    const name = o.name ? `${o.name} ` : "";
    /** @type {Probe | undefined} */
    let last;
    let n = 0;
    while (n < attempts) {
        n++;
        last = await probeOnce(o.host, o.port, timeoutMs, expect);
        if (last.kind === "greeting") {
            const ok = { ok: true, host: o.host, port: o.port, banner: last.banner, attempts: n, elapsedMs: Date.now() - start };
            if (o.oldPort === undefined || o.oldPort === null || o.oldPort === o.port) return ok;
            const old = await probeOnce(o.host, o.oldPort, timeoutMs, expect);
            if (old.kind === "refused") return ok;
            const seen = old.kind === "greeting" || old.kind === "wrong-banner" ? `greets ${JSON.stringify(old.banner)}` : `answers (${explain(old, o.oldPort).seen})`;
            return { ...ok, ok: false, elapsedMs: Date.now() - start, seen: `old port ${o.oldPort} ${seen}`,
                message: `listener check failed for ${name}(${o.host}): the new port ${o.port} greets, but the old port ${o.oldPort} still accepts connections (${seen}). Likely cause: a second listener (another MTA instance, a proxy) holds it; set requireOldPortClosed: false if that is intended.` };
        }
        if (last.kind === "wrong-banner" || last.kind === "tls") break;
        if (n < attempts) await new Promise(r => setTimeout(r, delayMs));
    }
    const p = /** @type {Probe} */ (last);
    const { seen, cause } = explain(p, o.port);
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    const banner = p.kind === "wrong-banner" ? p.banner : null;
    const message = `listener check failed for ${name}(${endpoint(o.host, o.port)}): ${seen} after ${n} attempt${n === 1 ? "" : "s"} in ${secs} s; expected an SMTP greeting "${expect} ...". Likely cause: ${cause}.`;
    return { ok: false, host: o.host, port: o.port, banner, attempts: n, elapsedMs: Date.now() - start, seen, message };
}

/**
 * The shared options from `--key value` pairs; throws on anything else.
 * @param {string[]} argv
 * @returns {{ opts: Omit<CheckOptions, "host" | "port" | "name" | "oldPort">, soft: boolean }}
 */
function parseArgs(argv) {
    const usage = "usage: listener-check.js [--timeout-ms N] [--attempts N] [--delay-ms N] [--expect 220] [--soft yes] < hosts (a JSON line each)";
    const known = ["timeout-ms", "attempts", "delay-ms", "expect", "soft"];
    /** @type {Record<string, string>} */
    const a = {};
    for (let i = 0; i < argv.length; i += 2) {
        const k = argv[i];
        if (!k.startsWith("--") || !known.includes(k.slice(2)) || i + 1 >= argv.length) throw new Error(`bad argument ${JSON.stringify(k)}; ${usage}`);
        a[k.slice(2)] = argv[i + 1];
    }
    /** @param {string} k @param {number} min */
    const int = (k, min) => {
        if (a[k] === undefined) return undefined;
        if (!/^[0-9]+$/.test(a[k]) || Number(a[k]) < min) throw new Error(`--${k} must be a whole number of at least ${min}, got ${JSON.stringify(a[k])}`);
        return Number(a[k]);
    };
    if (a.expect !== undefined && !/^[2-5][0-9][0-9]$/.test(a.expect)) throw new Error(`--expect must be a 3-digit reply code, got ${JSON.stringify(a.expect)}`);
    if (a.soft !== undefined && a.soft !== "yes" && a.soft !== "no") throw new Error(`--soft must be yes or no, got ${JSON.stringify(a.soft)}`);
    return {
        opts: { expect: a.expect, timeoutMs: int("timeout-ms", 1), attempts: int("attempts", 1), delayMs: int("delay-ms", 0) },
        soft: a.soft === "yes",
    };
}

/** @param {unknown} p */
const isPort = p => Number.isInteger(p) && /** @type {number} */ (p) >= 1 && /** @type {number} */ (p) <= 65535;

/**
 * The hosts of one wave, a WaveTarget JSON line each. Throws naming the
 * line (and host) and the field on anything else.
 * @param {string} text
 * @returns {WaveTarget[]}
 */
function parseTargets(text) {
    /** @type {WaveTarget[]} */
    const out = [];
    text.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (line === "") return;
        const n = i + 1;
        /** @type {any} */
        let t;
        try {
            t = JSON.parse(line);
        } catch {
            throw new Error(`stdin line ${n} is not JSON`);
        }
        if (t === null || typeof t !== "object" || Array.isArray(t)) throw new Error(`stdin line ${n} is not a JSON object`);
        if (typeof t.name !== "string" || t.name === "") throw new Error(`stdin line ${n}: name must be a non-empty string`);
        const at = `stdin line ${n} (${t.name})`;
        if (typeof t.host !== "string" || t.host === "") throw new Error(`${at}: host must be a non-empty string`);
        if (connectAddress(t.host) === undefined) throw new Error(`${at}: host ${JSON.stringify(t.host)} is in brackets but not an IPv6 address`);
        if (!isPort(t.port)) throw new Error(`${at}: port must be 1-65535`);
        if (t.oldPort !== null && !isPort(t.oldPort)) throw new Error(`${at}: oldPort must be 1-65535 or null (not checked)`);
        if (t.skip !== undefined && typeof t.skip !== "boolean") throw new Error(`${at}: skip must be true or false`);
        out.push({ name: t.name, host: t.host, port: t.port, oldPort: t.oldPort, ...(t.skip ? { skip: true } : {}) });
    });
    return out;
}

/**
 * Check one host of the wave.
 * @param {WaveTarget} t @param {Omit<CheckOptions, "host" | "port" | "name" | "oldPort">} opts
 * @returns {Promise<CheckLine>}
 */
async function checkTarget(t, opts) {
    if (t.skip) {
        return { name: t.name, ok: false, host: t.host, port: t.port, banner: null, attempts: 0, elapsedMs: 0, skipped: true,
            message: `listener check skipped for ${t.name}: the host script failed` };
    }
    return { name: t.name, ...await checkListener({ ...opts, name: t.name, host: t.host, port: t.port, oldPort: t.oldPort }) };
}

/**
 * @typedef {object} CliIo
 * @property {() => string} readStdin  all of stdin; read only once the arguments are good
 * @property {(text: string) => void} out  write to stdout
 * @property {(text: string) => void} err  write to stderr
 */

/**
 * The command: the arguments after the script's name, stdin and the
 * outputs given, so it runs in-process as well as from the command line.
 * One JSON line per result on `out`; unless soft, every failure's message
 * on `err`, after them.
 * @param {string[]} argv
 * @param {CliIo} io
 * @returns {Promise<number>} the exit code: 0 every host passed (or soft), 1 a host failed, 2 bad arguments or a bad stdin line
 */
async function main(argv, io) {
    /** @type {WaveTarget[]} */
    let targets;
    /** @type {ReturnType<typeof parseArgs>} */
    let args;
    try {
        args = parseArgs(argv);
        targets = parseTargets(io.readStdin());
    } catch (e) {
        io.err(`listener-check: ${/** @type {Error} */ (e).message}\n`);
        return 2;
    }
    const results = await Promise.all(targets.map(t => checkTarget(t, args.opts)));
    io.out(results.map(r => JSON.stringify(r) + "\n").join(""));
    const failed = results.filter(r => !r.ok);
    if (failed.length > 0 && !args.soft) {
        io.err(failed.map(r => r.message + "\n").join(""));
        return 1;
    }
    return 0;
}

/**
 * Everything readable from a file descriptor, as text (stdin: 0).
 * @param {number} fd
 */
function readAll(fd) {
    return require("fs").readFileSync(fd, "utf8");
}

/**
 * The command line: main on this process, each write flushed before the
 * next and before exiting. The process and stdin are parameters for tests.
 * @param {Pick<NodeJS.Process, "argv" | "stdout" | "stderr" | "exit">} proc
 * @param {() => string} readStdin
 */
function cli(proc = process, readStdin = () => readAll(0)) {
    let flushed = Promise.resolve();
    /** @param {NodeJS.WritableStream} stream */
    const writer = stream => (/** @type {string} */ text) => {
        flushed = flushed.then(() => new Promise(res => { stream.write(text, () => res(undefined)); }));
    };
    return main(proc.argv.slice(2), { readStdin, out: writer(proc.stdout), err: writer(proc.stderr) })
        .then(code => flushed.then(() => proc.exit(code)));
}

module.exports = {
    checkListener, probeOnce, parseArgs, parseTargets, isGreeting, BANNER_MAX, main, cli, readAll,
    connectAddress, endpoint, greetingProbe, tlsAnswerProbe, socketErrorProbe, quoteRead, explain, clientHello,
};

if (require.main === module) cli();
