// The listener check's command, run in-process through its main(argv, io)
// (listener-check.test.ts runs it as a child process, which StrykerJS cannot
// see), and its pure verdict helpers, against real servers on loopback.
import { strict as assert } from "assert";
import * as net from "net";
import { decodeCheckLines } from "../../components/checkLines";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const lc = require("../../components/listener/listener-check.js");

/** Every server a test opened: closed after each test, whatever its outcome. */
const open = new Set<() => void>();
afterEach(() => { for (const close of [...open]) close(); });

/** A real TCP server on 127.0.0.1 that does `onConn` with each connection; counts connections. */
function server(onConn: (s: net.Socket) => void): Promise<{ port: number; connections: () => number; close: () => void }> {
    return new Promise((resolve, reject) => {
        const sockets: net.Socket[] = [];
        const srv = net.createServer(s => { sockets.push(s); s.on("error", () => undefined); onConn(s); });
        const close = () => { open.delete(close); sockets.forEach(s => s.destroy()); srv.close(); };
        open.add(close);
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve({ port: (srv.address() as net.AddressInfo).port, connections: () => sockets.length, close }));
    });
}

async function closedPort(): Promise<number> {
    const s = await server(() => undefined);
    s.close();
    return s.port;
}

type Call = ["out" | "err" | "stdin", string];

/** main() with `stdin`, recording every call on the io in order. */
async function run(argv: string[], stdin: string | object[]): Promise<{ code: number; calls: Call[]; out: string; err: string }> {
    const calls: Call[] = [];
    const text = typeof stdin === "string" ? stdin : stdin.map(l => JSON.stringify(l) + "\n").join("");
    const code = await lc.main(argv, {
        readStdin: () => { calls.push(["stdin", text]); return text; },
        out: (t: string) => calls.push(["out", t]),
        err: (t: string) => calls.push(["err", t]),
    });
    const join = (k: string) => calls.filter(c => c[0] === k).map(c => c[1]).join("");
    return { code, calls, out: join("out"), err: join("err") };
}

const FAST = ["--attempts", "1", "--delay-ms", "0"];
const USAGE = "usage: listener-check.js [--timeout-ms N] [--attempts N] [--delay-ms N] [--expect 220] [--soft yes] < hosts (a JSON line each)";

describe("listener check's command in-process (main)", function () {
    this.timeout(20_000);

    it("checks a wave: one line per host in stdin's order, then every failure's message; exit 1", async () => {
        const a = await server(c => c.write("220 a ESMTP\r\n"));
        const closed = await closedPort();
        const b = await server(c => c.write("SSH-2.0-x\r\n"));
        const r = await run(FAST, [
            { name: "mx1", host: "127.0.0.1", port: a.port, oldPort: null },
            { name: "mx2", host: "127.0.0.1", port: closed, oldPort: null },
            { name: "mx3", host: "127.0.0.1", port: b.port, oldPort: null },
        ]);
        assert.equal(r.code, 1);
        assert.deepEqual(r.calls.map(c => c[0]), ["stdin", "out", "err"], "stdin, then the lines, then the messages");
        const lines = r.out.split("\n");
        assert.equal(lines.pop(), "", "every line ends in a newline");
        const parsed = lines.map(l => JSON.parse(l));
        assert.deepEqual(parsed.map(l => [l.name, l.ok, l.host, l.attempts]), [["mx1", true, "127.0.0.1", 1], ["mx2", false, "127.0.0.1", 1], ["mx3", false, "127.0.0.1", 1]]);
        assert.deepEqual(parsed.map(l => l.port), [a.port, closed, b.port]);
        const decoded = decodeCheckLines("wave", r.out);
        assert.deepEqual(Object.keys(decoded), ["mx1", "mx2", "mx3"]);
        assert.equal(decoded.mx1.banner, "220 a ESMTP");
        assert.equal(decoded.mx3.banner, "SSH-2.0-x");
        assert.equal(r.err, `${parsed[1].message}\n${parsed[2].message}\n`);
        assert.match(parsed[1].message, new RegExp(`^listener check failed for mx2 \\(127\\.0\\.0\\.1:${closed}\\): connection refused after 1 attempt in \\d+\\.\\d s; expected an SMTP greeting "220 \\.\\.\\."\\. Likely cause: nothing listens on ${closed}: `));
    });

    it("exit 0 and nothing on stderr when every host greets", async () => {
        const a = await server(c => c.write("220 a ESMTP\r\n"));
        const r = await run([], [{ name: "mx1", host: "127.0.0.1", port: a.port, oldPort: null }]);
        assert.equal(r.code, 0);
        assert.deepEqual(r.calls.map(c => c[0]), ["stdin", "out"]);
        const line = JSON.parse(r.out);
        assert.deepEqual(Object.keys(line), ["name", "ok", "host", "port", "banner", "attempts", "elapsedMs"]);
        assert.deepEqual({ ...line, elapsedMs: 0 }, { name: "mx1", ok: true, host: "127.0.0.1", port: a.port, banner: "220 a ESMTP", attempts: 1, elapsedMs: 0 });
    });

    it("--soft yes: failures are results, exit 0, nothing on stderr; --soft no is the default", async () => {
        const closed = await closedPort();
        const hosts = [{ name: "mx7", host: "127.0.0.1", port: closed, oldPort: null }];
        const soft = await run([...FAST, "--soft", "yes"], hosts);
        assert.equal(soft.code, 0);
        assert.equal(soft.err, "");
        assert.equal(JSON.parse(soft.out).ok, false);
        const hard = await run([...FAST, "--soft", "no"], hosts);
        assert.equal(hard.code, 1);
        assert.equal(hard.err, JSON.parse(hard.out).message + "\n");
    });

    it("a host marked skip is reported skipped and not probed; skip false is probed", async () => {
        const s = await server(c => c.write("220 x ESMTP\r\n"));
        const r = await run([...FAST, "--soft", "yes"], [
            { name: "mx1", host: "127.0.0.1", port: s.port, oldPort: 25, skip: true },
            { name: "mx2", host: "127.0.0.1", port: s.port, oldPort: null, skip: false },
        ]);
        assert.equal(r.code, 0);
        const [l1, l2] = r.out.trim().split("\n").map(l => JSON.parse(l));
        assert.deepEqual(l1, { name: "mx1", ok: false, host: "127.0.0.1", port: s.port, banner: null, attempts: 0, elapsedMs: 0,
            skipped: true, message: "listener check skipped for mx1: the host script failed" });
        assert.equal(l2.ok, true);
        assert.equal(l2.skipped, undefined);
        assert.equal(s.connections(), 1, "only mx2 was probed");
        const hard = await run(FAST, [{ name: "mx1", host: "127.0.0.1", port: s.port, oldPort: null, skip: true }]);
        assert.equal(hard.code, 1, "a skipped host is a failure unless soft");
        assert.equal(hard.err, "listener check skipped for mx1: the host script failed\n");
    });

    it("an empty wave writes nothing and passes", async () => {
        for (const stdin of ["", "\n\n  \n"]) {
            const r = await run([], stdin);
            assert.equal(r.code, 0);
            assert.deepEqual(r.calls, [["stdin", stdin], ["out", ""]]);
        }
    });

    it("passes the options on: --expect, --attempts, --delay-ms, --timeout-ms", async () => {
        const s250 = await server(c => c.write("250 ready\r\n"));
        const r250 = await run([...FAST, "--expect", "250"], [{ name: "mx1", host: "127.0.0.1", port: s250.port, oldPort: null }]);
        assert.equal(r250.code, 0, r250.err);
        const s220 = await server(c => c.write("220 ready\r\n"));
        const r220 = await run([...FAST, "--expect", "250"], [{ name: "mx1", host: "127.0.0.1", port: s220.port, oldPort: null }]);
        assert.equal(r220.code, 1);
        assert.match(r220.err, /: wrong banner "220 ready" after 1 attempt in \d+\.\d s; expected an SMTP greeting "250 \.\.\."\./);
        const closed = await closedPort();
        const t0 = Date.now();
        const r3 = await run(["--attempts", "3", "--delay-ms", "150"], [{ name: "mx2", host: "127.0.0.1", port: closed, oldPort: null }]);
        assert.ok(Date.now() - t0 >= 300, "two waits of 150 ms between three attempts");
        assert.equal(JSON.parse(r3.out).attempts, 3);
        assert.match(r3.err, /connection refused after 3 attempts in /);
        const silent = await server(() => undefined);
        const rt = await run(["--attempts", "1", "--timeout-ms", "200"], [{ name: "mx3", host: "127.0.0.1", port: silent.port, oldPort: null }]);
        assert.match(rt.err, /: timeout \(connected, but no greeting within 200 ms\) after 1 attempt in /);
    });

    it("refuses bad arguments with exit 2, one message, before reading stdin", async () => {
        const cases: [string[], string][] = [
            [["--host", "h"], `bad argument "--host"; ${USAGE}`],
            [["attempts", "1"], `bad argument "attempts"; ${USAGE}`],
            [["-attempts", "1"], `bad argument "-attempts"; ${USAGE}`],
            [["++attempts", "1"], `bad argument "++attempts"; ${USAGE}`],
            [["--attempts"], `bad argument "--attempts"; ${USAGE}`],
            [["--attempts", "1", "--soft"], `bad argument "--soft"; ${USAGE}`],
            [["--timeout-ms", "0"], `--timeout-ms must be a whole number of at least 1, got "0"`],
            [["--timeout-ms", "1.5"], `--timeout-ms must be a whole number of at least 1, got "1.5"`],
            [["--attempts", "0"], `--attempts must be a whole number of at least 1, got "0"`],
            [["--attempts", "x2"], `--attempts must be a whole number of at least 1, got "x2"`],
            [["--attempts", "2x"], `--attempts must be a whole number of at least 1, got "2x"`],
            [["--delay-ms", "-1"], `--delay-ms must be a whole number of at least 0, got "-1"`],
            [["--delay-ms", ""], `--delay-ms must be a whole number of at least 0, got ""`],
            [["--expect", "2201"], `--expect must be a 3-digit reply code, got "2201"`],
            [["--expect", "x220"], `--expect must be a 3-digit reply code, got "x220"`],
            [["--expect", "199"], `--expect must be a 3-digit reply code, got "199"`],
            [["--expect", "600"], `--expect must be a 3-digit reply code, got "600"`],
            [["--expect", "2a0"], `--expect must be a 3-digit reply code, got "2a0"`],
            [["--expect", "22a"], `--expect must be a 3-digit reply code, got "22a"`],
            [["--soft", "true"], `--soft must be yes or no, got "true"`],
        ];
        for (const [argv, message] of cases) {
            const r = await run(argv, "this would not be JSON\n");
            assert.equal(r.code, 2, argv.join(" "));
            assert.deepEqual(r.calls, [["err", `listener-check: ${message}\n`]], argv.join(" "));
        }
    });

    it("refuses a bad stdin line with exit 2, naming the line, the host and the field; writes no result", async () => {
        const ok = `{"name":"mx1","host":"h","port":25,"oldPort":null}`;
        const cases: [string, string][] = [
            ["not json", "stdin line 1 is not JSON"],
            [`${ok}\n\n{"name":`, "stdin line 3 is not JSON"],
            ["null", "stdin line 1 is not a JSON object"],
            ["17", "stdin line 1 is not a JSON object"],
            [`[${ok}]`, "stdin line 1 is not a JSON object"],
            [`{"host":"h","port":25,"oldPort":null}`, "stdin line 1: name must be a non-empty string"],
            [`{"name":"","host":"h","port":25,"oldPort":null}`, "stdin line 1: name must be a non-empty string"],
            [`{"name":7,"host":"h","port":25,"oldPort":null}`, "stdin line 1: name must be a non-empty string"],
            [`{"name":"mx2","port":25,"oldPort":null}`, "stdin line 1 (mx2): host must be a non-empty string"],
            [`{"name":"mx2","host":"","port":25,"oldPort":null}`, "stdin line 1 (mx2): host must be a non-empty string"],
            [`{"name":"mx2","host":["h"],"port":25,"oldPort":null}`, "stdin line 1 (mx2): host must be a non-empty string"],
            [`{"name":"mx2","host":"[mx2]","port":25,"oldPort":null}`, `stdin line 1 (mx2): host "[mx2]" is in brackets but not an IPv6 address`],
            [`{"name":"mx2","host":"h","port":0,"oldPort":null}`, "stdin line 1 (mx2): port must be 1-65535"],
            [`{"name":"mx2","host":"h","port":65536,"oldPort":null}`, "stdin line 1 (mx2): port must be 1-65535"],
            [`{"name":"mx2","host":"h","port":25.5,"oldPort":null}`, "stdin line 1 (mx2): port must be 1-65535"],
            [`{"name":"mx2","host":"h","port":"25","oldPort":null}`, "stdin line 1 (mx2): port must be 1-65535"],
            [`{"name":"mx2","host":"h","port":25}`, "stdin line 1 (mx2): oldPort must be 1-65535 or null (not checked)"],
            [`{"name":"mx2","host":"h","port":25,"oldPort":0}`, "stdin line 1 (mx2): oldPort must be 1-65535 or null (not checked)"],
            [`{"name":"mx2","host":"h","port":25,"oldPort":65536}`, "stdin line 1 (mx2): oldPort must be 1-65535 or null (not checked)"],
            [`{"name":"mx2","host":"h","port":25,"oldPort":null,"skip":1}`, "stdin line 1 (mx2): skip must be true or false"],
            [`{"name":"mx2","host":"h","port":25,"oldPort":null,"skip":null}`, "stdin line 1 (mx2): skip must be true or false"],
        ];
        for (const [stdin, message] of cases) {
            const r = await run([], stdin);
            assert.equal(r.code, 2, stdin);
            assert.deepEqual(r.calls, [["stdin", stdin], ["err", `listener-check: ${message}\n`]], stdin);
        }
    });
});

describe("listener check: parseArgs and parseTargets", () => {
    it("parseArgs: defaults left to checkListener, every option read", () => {
        assert.deepEqual(lc.parseArgs([]), { opts: { expect: undefined, timeoutMs: undefined, attempts: undefined, delayMs: undefined }, soft: false });
        assert.deepEqual(lc.parseArgs(["--timeout-ms", "1", "--attempts", "1", "--delay-ms", "0", "--expect", "599", "--soft", "yes"]),
            { opts: { expect: "599", timeoutMs: 1, attempts: 1, delayMs: 0 }, soft: true });
        assert.deepEqual(lc.parseArgs(["--expect", "200", "--attempts", "12", "--attempts", "3", "--soft", "no"]),
            { opts: { expect: "200", timeoutMs: undefined, attempts: 3, delayMs: undefined }, soft: false });
    });

    it("parseTargets: one target per non-blank line, trimmed, only the known fields", () => {
        const text = `\n  {"name":"mx1","host":"198.18.0.1","port":1,"oldPort":65535,"extra":true}  \r\n\n{"name":"mx2","host":"[::1]","port":65535,"oldPort":null,"skip":true}\n{"name":"mx3","host":"::1","port":25,"oldPort":1,"skip":false}`;
        assert.deepEqual(lc.parseTargets(text), [
            { name: "mx1", host: "198.18.0.1", port: 1, oldPort: 65535 },
            { name: "mx2", host: "[::1]", port: 65535, oldPort: null, skip: true },
            { name: "mx3", host: "::1", port: 25, oldPort: 1 },
        ]);
        assert.deepEqual(lc.parseTargets(""), []);
    });
});

describe("listener check: verdict helpers", () => {
    it("connectAddress and endpoint: brackets only around IPv6", () => {
        assert.equal(lc.connectAddress("[::1]"), "::1");
        assert.equal(lc.connectAddress("::1"), "::1");
        assert.equal(lc.connectAddress("mx1"), "mx1");
        assert.equal(lc.connectAddress("[mx1]"), undefined);
        assert.equal(lc.connectAddress("x[::1]"), "x[::1]");
        assert.equal(lc.connectAddress("[::1]x"), "[::1]x");
        assert.equal(lc.endpoint("127.0.0.1", 25), "127.0.0.1:25");
        assert.equal(lc.endpoint("::1", 25), "[::1]:25");
        assert.equal(lc.endpoint("[::1]", 25), "[::1]:25");
        assert.equal(lc.endpoint("[mx1]", 25), "[mx1]:25");
        assert.equal(lc.endpoint("mx1", 17), "mx1:17");
    });

    it("quoteRead: quoted, cut after BANNER_MAX (512) bytes", () => {
        assert.equal(lc.BANNER_MAX, 512);
        assert.equal(lc.quoteRead("22"), `"22"`);
        assert.equal(lc.quoteRead("a".repeat(512)), JSON.stringify("a".repeat(512)));
        assert.equal(lc.quoteRead("a".repeat(513)), JSON.stringify("a".repeat(512) + "…"));
    });

    it("greetingProbe: waits for the first line or BANNER_MAX bytes; only a trailing CR is dropped", () => {
        assert.equal(lc.greetingProbe("", "220"), undefined);
        assert.equal(lc.greetingProbe("220 partial", "220"), undefined);
        assert.equal(lc.greetingProbe("a".repeat(511), "220"), undefined);
        assert.deepEqual(lc.greetingProbe("220 ok\r\n", "220"), { kind: "greeting", banner: "220 ok" });
        assert.deepEqual(lc.greetingProbe("\n220 ok\r\n", "220"), { kind: "wrong-banner", banner: "" });
        assert.deepEqual(lc.greetingProbe("220 a\rb\r\nmore", "220"), { kind: "greeting", banner: "220 a\rb" });
        assert.deepEqual(lc.greetingProbe("220-first\r\n220 second\r\n", "220"), { kind: "greeting", banner: "220-first" });
        assert.deepEqual(lc.greetingProbe("250 ok\n", "250"), { kind: "greeting", banner: "250 ok" });
        assert.deepEqual(lc.greetingProbe("220 ok\n", "250"), { kind: "wrong-banner", banner: "220 ok" });
        const at512 = "2".repeat(512);
        assert.deepEqual(lc.greetingProbe(at512, "220"), { kind: "wrong-banner", banner: `${at512}…` });
        assert.deepEqual(lc.greetingProbe(`220 ${"x".repeat(508)}\n`, "220"), { kind: "greeting", banner: `220 ${"x".repeat(508)}` }, "a line end at byte 512 is not cut");
        assert.deepEqual(lc.greetingProbe(`220 ${"x".repeat(509)}\n`, "220"), { kind: "greeting", banner: `220 ${"x".repeat(508)}…` }, "a line end after byte 512 is");
    });

    it("tlsAnswerProbe: a handshake or an alert record of version 3 is TLS, anything else a timeout quoting it", () => {
        assert.equal(lc.tlsAnswerProbe(Buffer.from([]), 100), undefined);
        assert.equal(lc.tlsAnswerProbe(Buffer.from([0x16]), 100), undefined);
        assert.deepEqual(lc.tlsAnswerProbe(Buffer.from([0x16, 3]), 100), { kind: "tls", detail: "answered a TLS ClientHello with a handshake" });
        assert.deepEqual(lc.tlsAnswerProbe(Buffer.from([0x15, 3, 3]), 100), { kind: "tls", detail: "answered a TLS ClientHello with a TLS alert" });
        assert.deepEqual(lc.tlsAnswerProbe(Buffer.from([0x16, 2]), 300), { kind: "timeout", detail: `no greeting within 300 ms, then "\\u0016\\u0002" in answer to a TLS ClientHello` });
        assert.deepEqual(lc.tlsAnswerProbe(Buffer.from("HTTP/1.1 400"), 300), { kind: "timeout", detail: `no greeting within 300 ms, then "HTTP/1.1 400" in answer to a TLS ClientHello` });
        assert.deepEqual(lc.tlsAnswerProbe(Buffer.from([0x17, 3]), 300).kind, "timeout");
    });

    it("socketErrorProbe: refused, reset (before or after our hello, after some bytes), unreachable, other", () => {
        const err = (code: string, message = `connect ${code} 198.18.0.1:25`) => Object.assign(new Error(message), { code });
        assert.deepEqual(lc.socketErrorProbe(err("ECONNREFUSED"), false, ""), { kind: "refused", detail: "connection refused" });
        assert.deepEqual(lc.socketErrorProbe(err("ECONNRESET"), true, ""), { kind: "closed", detail: "accepted, sent nothing, and reset the connection on a TLS ClientHello" });
        assert.deepEqual(lc.socketErrorProbe(err("ECONNRESET"), false, "22"), { kind: "closed", detail: `reset after "22"` });
        assert.deepEqual(lc.socketErrorProbe(err("ECONNRESET"), false, ""), { kind: "closed", detail: "reset without a greeting" });
        assert.deepEqual(lc.socketErrorProbe(err("EHOSTUNREACH"), false, ""), { kind: "unreachable", detail: "connect EHOSTUNREACH 198.18.0.1:25" });
        assert.deepEqual(lc.socketErrorProbe(err("ENETUNREACH"), false, ""), { kind: "unreachable", detail: "connect ENETUNREACH 198.18.0.1:25" });
        assert.deepEqual(lc.socketErrorProbe(err("EADDRNOTAVAIL"), false, "x"), { kind: "error", detail: "connect EADDRNOTAVAIL 198.18.0.1:25" });
    });

    it("explain: what was seen and the likely cause, per kind", () => {
        assert.deepEqual(lc.explain({ kind: "wrong-banner", banner: "SSH-2.0" }, 17), { seen: `wrong banner "SSH-2.0"`, cause: "something other than the mail server holds port 17" });
        assert.deepEqual(lc.explain({ kind: "tls", detail: "answered a TLS ClientHello with a handshake" }, 17), { seen: "speaks TLS (answered a TLS ClientHello with a handshake)",
            cause: "port 17 expects TLS from the first byte (implicit TLS, as SMTPS on 465): the mail server listens there in wrapper mode (Postfix smtpd_tls_wrappermode, Exim tls_on_connect_ports), or another TLS service holds the port" });
        assert.deepEqual(lc.explain({ kind: "refused", detail: "connection refused" }, 17), { seen: "connection refused",
            cause: "nothing listens on 17: the mail service was not restarted, or does not take its port from the services file (Postfix 3.6+: known_tcp_ports), or it failed to start" });
        assert.deepEqual(lc.explain({ kind: "no-connection", detail: "no connection within 5 ms" }, 17), { seen: "timeout (no connection within 5 ms)",
            cause: "a firewall drops the connection, or the address is not the host's (see checkAddress)" });
        assert.deepEqual(lc.explain({ kind: "timeout", detail: "d" }, 17), { seen: "timeout (d)", cause: "the server accepts but never greets (overloaded, or a stuck process)" });
        assert.deepEqual(lc.explain({ kind: "closed", detail: "closed without a greeting" }, 17), { seen: "closed without a greeting",
            cause: "the service accepted and hung up: check the mail server's log (restrictions, TLS wrapper mode, or a crash)" });
        assert.deepEqual(lc.explain({ kind: "greeting", banner: "220 x" }, 17), { seen: "220 x", cause: "none" });
        for (const kind of ["unreachable", "error"]) {
            assert.deepEqual(lc.explain({ kind, detail: "connect EHOSTUNREACH" }, 17), { seen: "connect EHOSTUNREACH",
                cause: "the address is wrong or unreachable from where pulumi runs (see checkAddress)" });
        }
    });

    it("clientHello: a well-formed TLS 1.2 ClientHello record, lengths consistent, the offered suites and extensions", () => {
        const h: Buffer = lc.clientHello();
        const u16 = (i: number) => h.readUInt16BE(i);
        assert.deepEqual([...h.subarray(0, 3)], [0x16, 3, 1], "handshake record, TLS 1.0 record version");
        assert.equal(u16(3), h.length - 5, "record length");
        assert.equal(h[5], 1, "ClientHello");
        assert.equal(h.readUIntBE(6, 3), h.length - 9, "handshake length");
        assert.deepEqual([...h.subarray(9, 11)], [3, 3], "TLS 1.2");
        assert.equal(h[43], 0, "no session id");
        assert.equal(u16(44), 18);
        const suites = Array.from({ length: 9 }, (_, i) => u16(46 + 2 * i));
        assert.deepEqual(suites, [0xc02f, 0xc02b, 0xc030, 0xc02c, 0x009c, 0x009d, 0x002f, 0x0035, 0x00ff]);
        assert.deepEqual([...h.subarray(64, 66)], [1, 0], "no compression");
        assert.equal(u16(66), h.length - 68, "extensions length");
        const exts: [number, number[]][] = [];
        for (let i = 68; i < h.length;) {
            const len = u16(i + 2);
            exts.push([u16(i), [...h.subarray(i + 4, i + 4 + len)]]);
            i += 4 + len;
        }
        assert.deepEqual(exts, [
            [0x000a, [0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]],
            [0x000b, [1, 0]],
            [0x000d, [0, 8, 0x08, 0x04, 0x04, 0x03, 0x04, 0x01, 0x05, 0x01]],
        ]);
        assert.notDeepEqual([...lc.clientHello().subarray(11, 43)], [...h.subarray(11, 43)], "a fresh random each time");
    });
});

describe("listener check: checkListener's counting, timing and the old port", function () {
    this.timeout(20_000);

    it("makes exactly `attempts` tries on a closed port, says how many, and times them", async () => {
        const port = await closedPort();
        const one = await lc.checkListener({ host: "127.0.0.1", port, name: "mx1", attempts: 1, delayMs: 0 });
        assert.equal(one.attempts, 1);
        assert.match(one.message, /connection refused after 1 attempt in \d+\.\d s;/);
        const t0 = Date.now();
        const three = await lc.checkListener({ host: "127.0.0.1", port, attempts: 3, delayMs: 100 });
        const took = Date.now() - t0;
        assert.equal(three.attempts, 3);
        assert.ok(three.elapsedMs >= 200 && three.elapsedMs <= took, `elapsedMs ${three.elapsedMs}, took ${took}`);
        assert.ok(took < 1500, `took ${took} ms`);
        const m = new RegExp(`^listener check failed for \\(127\\.0\\.0\\.1:${port}\\): connection refused after 3 attempts in (\\d+\\.\\d) s;`).exec(three.message);
        assert.ok(m, three.message);
        const secs = Number(m[1]);
        assert.ok(secs >= 0.2 && secs <= took / 1000 + 0.1, `${secs} s, took ${took} ms`);
        assert.deepEqual(Object.keys(three), ["ok", "host", "port", "banner", "attempts", "elapsedMs", "seen", "message"]);
        assert.equal(three.banner, null);
    });

    it("waits between attempts, not after the last one", async () => {
        const port = await closedPort();
        const t0 = Date.now();
        const r = await lc.checkListener({ host: "127.0.0.1", port, attempts: 2, delayMs: 600 });
        const took = Date.now() - t0;
        assert.equal(r.attempts, 2);
        assert.ok(took >= 600 && took < 1100, `one wait of 600 ms, took ${took} ms`);
    });

    it("waits a second between attempts by default", async () => {
        const port = await closedPort();
        const r = await lc.checkListener({ host: "127.0.0.1", port, attempts: 2 });
        assert.ok(r.elapsedMs >= 950, `elapsedMs ${r.elapsedMs}`);
    });

    it("a greeting's elapsedMs is the time it took", async () => {
        const s = await server(c => setTimeout(() => c.write("220 slow\r\n"), 150));
        const t0 = Date.now();
        const r = await lc.checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        assert.equal(r.ok, true);
        assert.ok(r.elapsedMs >= 140 && r.elapsedMs <= Date.now() - t0, `elapsedMs ${r.elapsedMs}`);
    });

    it("the old port: not probed when it is the new port; a wrong banner or silence on it fails, saying what it did", async () => {
        const s = await server(c => c.write("220 new\r\n"));
        const same = await lc.checkListener({ host: "127.0.0.1", port: s.port, oldPort: s.port, attempts: 1 });
        assert.equal(same.ok, true);
        assert.equal(s.connections(), 1, "the old port, being the new one, is not probed");
        const other = await server(c => c.write("SSH-2.0-x\r\n"));
        const r = await lc.checkListener({ host: "127.0.0.1", port: s.port, oldPort: other.port, name: "mx1", attempts: 1 });
        assert.equal(r.ok, false);
        assert.equal(r.banner, "220 new");
        assert.equal(r.seen, `old port ${other.port} greets "SSH-2.0-x"`);
        assert.equal(r.message, `listener check failed for mx1 (127.0.0.1): the new port ${s.port} greets, but the old port ${other.port} still accepts connections (greets "SSH-2.0-x"). Likely cause: a second listener (another MTA instance, a proxy) holds it; set requireOldPortClosed: false if that is intended.`);
        const greets = await server(c => c.write("220 old ESMTP\r\n"));
        const g = await lc.checkListener({ host: "127.0.0.1", port: s.port, oldPort: greets.port, attempts: 1 });
        assert.equal(g.seen, `old port ${greets.port} greets "220 old ESMTP"`);
        const silent = await server(c => c.end());
        const q = await lc.checkListener({ host: "127.0.0.1", port: s.port, oldPort: silent.port, attempts: 1, timeoutMs: 300 });
        assert.equal(q.seen, `old port ${silent.port} answers (closed without a greeting)`);
        assert.ok(q.elapsedMs >= 0 && q.elapsedMs < 5000, `elapsedMs ${q.elapsedMs}`);
        assert.match(q.message, /^listener check failed for \(127\.0\.0\.1\): /);
        const closed = await closedPort();
        const ok = await lc.checkListener({ host: "127.0.0.1", port: s.port, oldPort: closed, attempts: 1 });
        assert.deepEqual({ ...ok, elapsedMs: 0 }, { ok: true, host: "127.0.0.1", port: s.port, banner: "220 new", attempts: 1, elapsedMs: 0 });
    });

    it("says goodbye to a greeting server with QUIT; a wrong-banner server is just hung up on", async () => {
        let got = "";
        let ended = false;
        const s = await server(c => { c.write("220 x\r\n"); c.on("data", d => got += d); c.on("end", () => { ended = true; }); });
        await lc.checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        await new Promise(r => setTimeout(r, 300));
        assert.equal(got, "QUIT\r\n");
        assert.equal(ended, true, "the socket is closed after the QUIT");
        let got2 = "";
        const w = await server(c => { c.write("SSH-2.0-x\r\n"); c.on("data", d => got2 += d); });
        await lc.checkListener({ host: "127.0.0.1", port: w.port, attempts: 1 });
        await new Promise(r => setTimeout(r, 100));
        assert.equal(got2, "");
    });

    it("closes the connection to a greeting server even when the server never closes its side", async () => {
        let closed = false;
        const srv = net.createServer({ allowHalfOpen: true }, c => {
            c.on("error", () => undefined);
            c.on("close", () => { closed = true; });
            c.write("220 x\r\n");
            // Keep talking after the client's QUIT: a socket the client destroyed answers with a reset.
            const t = setInterval(() => { if (!c.destroyed) c.write("250 still here\r\n"); }, 100);
            c.on("close", () => clearInterval(t));
            open.add(() => { clearInterval(t); c.destroy(); });
        });
        await new Promise<void>(res => srv.listen(0, "127.0.0.1", () => res()));
        open.add(() => srv.close());
        const r = await lc.checkListener({ host: "127.0.0.1", port: (srv.address() as net.AddressInfo).port, attempts: 1 });
        assert.equal(r.ok, true);
        await new Promise(res => setTimeout(res, 800));
        assert.equal(closed, true, "the check let go of the connection within 200 ms of its QUIT");
    });

    it("a partial greeting that stops is a timeout quoting it; bytes then a hang-up are quoted too", async () => {
        const s = await server(c => c.write("22"));
        const r = await lc.checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, timeoutMs: 200 });
        assert.equal(r.seen, `timeout (partial greeting "22")`);
        const h = await server(c => c.end("22"));
        const q = await lc.checkListener({ host: "127.0.0.1", port: h.port, attempts: 1, timeoutMs: 2000 });
        assert.equal(q.seen, `closed after "22"`);
    });

    it("a reset says whether it came before anything, after some bytes, or in answer to our TLS hello", async () => {
        // A TCP reset from the server (not a FIN): the client sees ECONNRESET.
        const atOnce = await server(c => c.resetAndDestroy());
        const a = await lc.checkListener({ host: "127.0.0.1", port: atOnce.port, attempts: 1, timeoutMs: 2000 });
        assert.equal(a.seen, "reset without a greeting");
        const afterBytes = await server(c => c.write("22", () => setTimeout(() => c.resetAndDestroy(), 50)));
        const b = await lc.checkListener({ host: "127.0.0.1", port: afterBytes.port, attempts: 1, timeoutMs: 2000 });
        assert.equal(b.seen, `reset after "22"`);
        const onHello = await server(c => c.once("data", () => c.resetAndDestroy()));
        const h = await lc.checkListener({ host: "127.0.0.1", port: onHello.port, attempts: 1, timeoutMs: 200 });
        assert.equal(h.seen, "accepted, sent nothing, and reset the connection on a TLS ClientHello");
        assert.match(h.message, /: accepted, sent nothing, and reset the connection on a TLS ClientHello after 1 attempt in \d+\.\d s; .*Likely cause: the service accepted and hung up: /);
    });

    it("a server that answers our hello with no TLS says so; one that hangs up on it too", async () => {
        const s = await server(c => c.once("data", () => c.write("HTTP/1.0 400 Bad\r\n")));
        const r = await lc.checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, timeoutMs: 200 });
        assert.equal(r.seen, `timeout (no greeting within 200 ms, then "HTTP/1.0 400 Bad\\r\\n" in answer to a TLS ClientHello)`);
        const h = await server(c => c.once("data", () => c.end()));
        const q = await lc.checkListener({ host: "127.0.0.1", port: h.port, attempts: 1, timeoutMs: 200 });
        assert.equal(q.seen, "accepted, sent nothing, and hung up on a TLS ClientHello");
        const n = await server(() => undefined);
        const t0 = Date.now();
        const z = await lc.checkListener({ host: "127.0.0.1", port: n.port, attempts: 1, timeoutMs: 200 });
        assert.equal(z.seen, "timeout (connected, but no greeting within 200 ms)");
        const took = Date.now() - t0;
        assert.ok(took >= 350 && took < 1800, `the greeting wait, then as long again (not TLS_WAIT_MAX_MS, 2 s) for an answer to the hello: ${took} ms`);
    });
});

describe("listener check: cli() on a process", function () {
    this.timeout(20_000);

    /** A process whose streams finish each write later (as a pipe does), recording writes, completions and the exit. */
    function fakeProcess(argv: string[]) {
        const events: string[] = [];
        const stream = (name: string) => ({
            write: (text: string, done: () => void) => {
                events.push(`${name} ${JSON.stringify(text)}`);
                setTimeout(() => { events.push(`${name} flushed`); done(); }, 30);
                return true;
            },
        });
        let exited: (code: number) => void = () => undefined;
        const exit = new Promise<number>(res => { exited = res; });
        const proc = { argv: ["node", "listener-check.js", ...argv], stdout: stream("out"), stderr: stream("err"),
            exit: (code: number) => { events.push(`exit ${code}`); exited(code); } };
        return { proc, events, exit };
    }

    it("writes the lines, flushed, then the messages, flushed, then exits 1", async () => {
        const closed = await closedPort();
        const p = fakeProcess(FAST);
        const stdin = JSON.stringify({ name: "mx1", host: "127.0.0.1", port: closed, oldPort: null });
        await lc.cli(p.proc, () => stdin);
        assert.equal(await p.exit, 1);
        assert.equal(p.events.length, 5, p.events.join("\n"));
        const [out, outFlushed, err, errFlushed, exit] = p.events;
        const line = JSON.parse(JSON.parse(out.slice(4)));
        assert.equal(line.name, "mx1");
        assert.deepEqual([outFlushed, err, errFlushed, exit], ["out flushed", `err ${JSON.stringify(line.message + "\n")}`, "err flushed", "exit 1"]);
    });

    it("exits 0 after the lines are flushed; exits 2 after a refusal is flushed", async () => {
        const s = await server(c => c.write("220 x\r\n"));
        const p = fakeProcess([]);
        await lc.cli(p.proc, () => JSON.stringify({ name: "mx1", host: "127.0.0.1", port: s.port, oldPort: null }));
        assert.equal(await p.exit, 0);
        assert.deepEqual(p.events.map(e => e.split(" ")[0] + (e.endsWith("flushed") ? " flushed" : "")), ["out", "out flushed", "exit"]);
        const bad = fakeProcess(["--attempts", "0"]);
        let read = false;
        await lc.cli(bad.proc, () => { read = true; return ""; });
        assert.equal(await bad.exit, 2);
        assert.equal(read, false);
        assert.deepEqual(bad.events, [`err ${JSON.stringify(`listener-check: --attempts must be a whole number of at least 1, got "0"\n`)}`, "err flushed", "exit 2"]);
    });
});

describe("listener check: reading stdin", () => {
    it("readAll gives everything on a descriptor as text", () => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const fs = require("fs"), os = require("os"), path = require("path");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "listener-stdin-"));
        try {
            const file = path.join(dir, "in");
            const text = `{"name":"mx1","host":"h","port":25,"oldPort":null}\n{"name":"mx2","host":"ü","port":26,"oldPort":25}\n`;
            fs.writeFileSync(file, text);
            const fd = fs.openSync(file, "r");
            try {
                assert.equal(lc.readAll(fd), text);
            } finally {
                fs.closeSync(fd);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
