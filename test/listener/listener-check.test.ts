import { strict as assert } from "assert";
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { checkListener, isGreeting, BANNER_MAX } = require("../../components/listener/listener-check.js");

const CLI = path.join(__dirname, "..", "..", "components", "listener", "listener-check.js");

/** Every server, socket or process a test opened and has not closed: closed after each test, whatever its outcome. */
const open = new Set<() => void>();

/** Close `close` after the test whatever happens; returns a close that also forgets it. */
function track(close: () => void): () => void {
    const once = () => { open.delete(once); close(); };
    open.add(once);
    return once;
}

/** A real server (TCP, or TLS when `make` says so) on `address` that does `onConn` with each connection. */
function server(onConn: (s: net.Socket) => void, address = "127.0.0.1", make: (h: (s: net.Socket) => void) => net.Server = h => net.createServer(h)): Promise<{ port: number; close: () => void }> {
    return new Promise((resolve, reject) => {
        const sockets: net.Socket[] = [];
        const srv = make(s => { sockets.push(s); s.on("error", () => undefined); onConn(s); });
        const close = track(() => { sockets.forEach(s => s.destroy()); srv.close(); });
        srv.on("error", reject);
        srv.listen(0, address, () => resolve({ port: (srv.address() as net.AddressInfo).port, close }));
    });
}

// A failed assertion skips a test's own close(): without this its servers
// would keep mocha's event loop alive.
afterEach(() => { for (const close of [...open]) close(); });

/** A port on `address` that nothing listens on. */
async function closedPort(address = "127.0.0.1"): Promise<number> {
    const s = await server(() => undefined, address);
    s.close();
    return s.port;
}

/**
 * The environment for the command's process: under StrykerJS, the mutant
 * active in this process is passed on (StrykerJS's instrumented code reads
 * `__STRYKER_ACTIVE_MUTANT__`), so these tests judge the mutated command
 * too; that is the only way a mutant of its `require.main === module` line
 * can be seen. Outside StrykerJS it is this process's environment.
 */
function cliEnv(): NodeJS.ProcessEnv {
    const active = (globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__?.activeMutant;
    return active === undefined ? process.env : { ...process.env, __STRYKER_ACTIVE_MUTANT__: active };
}

/** Run the command with `lines` (one JSON object each) on stdin, without blocking the test's servers. */
function wave(args: string[], lines: object[] | string): Promise<{ code: number; out: string; err: string }> {
    return new Promise(res => {
        const p = execFile("node", [CLI, "--attempts", "1", "--delay-ms", "50", ...args], { env: cliEnv() },
            (e, out, err) => res({ code: e ? (e as any).code : 0, out, err }));
        track(() => p.kill());
        p.stdin!.end(typeof lines === "string" ? lines : lines.map(l => JSON.stringify(l) + "\n").join(""));
    });
}

describe("listener check against real local servers", function () {
    this.timeout(20_000);

    it("accepts a server that greets 220 and says QUIT", async () => {
        let got = "";
        const s = await server(c => { c.write("220 mx1.lab.test ESMTP Postfix\r\n"); c.on("data", d => got += d); });
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        await new Promise(r => setTimeout(r, 100));
        assert.equal(r.ok, true);
        assert.equal(r.banner, "220 mx1.lab.test ESMTP Postfix");
        assert.equal(got, "QUIT\r\n");
    });

    it("accepts a multi-line greeting (220-...\\r\\n220 ...), reporting its first line", async () => {
        const s = await server(c => c.write("220-mx1 ESMTP\r\n220 ready\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        assert.equal(r.ok, true);
        assert.equal(r.banner, "220-mx1 ESMTP");
    });

    it("accepts a first line of 220- without waiting for the rest (Postfix postscreen's greet pause)", async () => {
        const s = await server(c => c.write("220-mx1 ESMTP\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, timeoutMs: 2000 });
        assert.equal(r.ok, true);
        assert.ok(r.elapsedMs < 1500, `took ${r.elapsedMs} ms`);
    });

    it("accepts a greeting that arrives in pieces, and a bare 220", async () => {
        const s = await server(c => { c.write("22"); setTimeout(() => c.write("0 slow ESMTP\r\n"), 150); });
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        assert.equal(r.ok, true);
        assert.equal(r.banner, "220 slow ESMTP");
        const bare = await server(c => c.write("220\r\n"));
        assert.equal((await checkListener({ host: "127.0.0.1", port: bare.port, attempts: 1 })).ok, true);
    });

    it("rejects a line that only starts with 220 (2201 not smtp), at once", async () => {
        for (const line of ["2201 not smtp", "2200", "220x hello", "220_mx"]) {
            const s = await server(c => c.write(`${line}\r\n`));
            const r = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx6", attempts: 3, delayMs: 1000 });
            s.close();
            assert.equal(r.ok, false, line);
            assert.equal(r.attempts, 1, "a definite wrong answer is not retried");
            assert.equal(r.banner, line);
            assert.match(r.message, new RegExp(`^listener check failed for mx6 \\(127\\.0\\.0\\.1:${s.port}\\): wrong banner ${JSON.stringify(line)} after 1 attempt`));
        }
    });

    it("tells a greeting from the rest by the code, then space, dash or the line's end", () => {
        assert.deepEqual(["220", "220 x", "220-x", "2201", "220x", " 220 x", "22", "250 x"].map(l => isGreeting(l, "220")),
            [true, true, true, false, false, false, false, false]);
    });

    it("rejects another service's banner at once, quoting it", async () => {
        const s = await server(c => c.write("SSH-2.0-OpenSSH_9.2p1\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx2", attempts: 5, delayMs: 1000 });
        assert.equal(r.ok, false);
        assert.equal(r.attempts, 1, "a definite wrong answer is not retried");
        assert.match(r.message, /^listener check failed for mx2 \(127\.0\.0\.1:\d+\): wrong banner "SSH-2\.0-OpenSSH_9\.2p1" after 1 attempt in [0-9.]+ s; expected an SMTP greeting "220 \.\.\."\. Likely cause: something other than the mail server holds port \d+\.$/);
    });

    it("rejects an SMTP server that refuses service (554)", async () => {
        const s = await server(c => c.write("554 no service\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        assert.equal(r.ok, false);
        assert.equal(r.banner, "554 no service");
    });

    it("times out on a server that accepts but never answers, after every attempt", async () => {
        const s = await server(() => undefined);
        const r = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx3", timeoutMs: 300, attempts: 3, delayMs: 50 });
        assert.equal(r.ok, false);
        assert.equal(r.attempts, 3);
        assert.ok(r.elapsedMs >= 900, `waited ${r.elapsedMs} ms`);
        assert.match(r.message, /mx3 \(127\.0\.0\.1:\d+\): timeout \(connected, but no greeting within 300 ms\) after 3 attempts.*Likely cause: the server accepts but never greets/);
    });

    it("tells a port that never completes the connection (a firewall) from one that accepts and stays silent", async () => {
        // A listener with a backlog of 0 that never accepts: once its queue
        // is full the kernel drops new SYNs, as a dropping firewall does.
        const p: ChildProcess = spawn("perl", ["-MSocket", "-e",
            '$|=1; socket(S, PF_INET, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die; listen(S, 0) or die; print((unpack_sockaddr_in(getsockname(S)))[0], "\\n"); sleep 60'],
            { stdio: ["ignore", "pipe", "inherit"] });
        track(() => p.kill());
        const port = Number(await new Promise<string>(res => p.stdout!.once("data", d => res(String(d)))));
        for (let i = 0; i < 2; i++) {
            const filler = net.connect(port, "127.0.0.1");
            filler.on("error", () => undefined);
            track(() => filler.destroy());
        }
        await new Promise(r => setTimeout(r, 200));
        const r = await checkListener({ host: "127.0.0.1", port, name: "mx8", timeoutMs: 400, attempts: 1 });
        assert.equal(r.ok, false);
        assert.match(r.message, /^listener check failed for mx8 \(127\.0\.0\.1:\d+\): timeout \(no connection within 400 ms\) after 1 attempt.*Likely cause: a firewall drops the connection/);
    });

    it("reports a closed port as refused, with the Postfix hint", async () => {
        const port = await closedPort();
        const r = await checkListener({ host: "127.0.0.1", port, name: "mx4", attempts: 2, delayMs: 50 });
        assert.equal(r.ok, false);
        assert.equal(r.seen, "connection refused");
        assert.match(r.message, /nothing listens on \d+: .*known_tcp_ports/);
    });

    it("reports a server that hangs up without a greeting", async () => {
        const s = await server(c => c.end());
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        assert.equal(r.seen, "closed without a greeting");
    });

    it("waits for a listener that comes up late (retries)", async () => {
        const port = await closedPort();
        const timer = setTimeout(() => {
            const srv = net.createServer(c => c.write("220 late ESMTP\r\n")).listen(port, "127.0.0.1");
            track(() => srv.close());
        }, 400);
        track(() => clearTimeout(timer));
        const r = await checkListener({ host: "127.0.0.1", port, attempts: 10, delayMs: 200 });
        assert.equal(r.ok, true);
        assert.ok(r.attempts > 1, `attempts ${r.attempts}`);
    });
});

describe("listener check: endless data, TLS-only ports, IPv6", function () {
    this.timeout(20_000);
    let dir = "";
    let key = "";
    let cert = "";

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-tls-"));
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=mx.lab.test"], { stdio: "ignore" });
        key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
        cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    });
    after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

    /** A server that writes `first`, then endless `fill` without a line end, as fast as the socket takes it. */
    function flood(first: string, fill: string) {
        let sent = 0;
        return server(c => {
            c.write(first);
            const more = () => {
                while (!c.destroyed && c.write(fill.repeat(1024))) sent += fill.length * 1024;
            };
            c.on("drain", more);
            more();
        }).then(s => ({ ...s, sent: () => sent }));
    }

    it("accepts 220 followed by endless data, with the banner cut at 512 bytes, and stops reading", async () => {
        const s = await flood("220 ", "x");
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, timeoutMs: 3000 });
        assert.equal(r.ok, true);
        assert.equal(BANNER_MAX, 512);
        assert.equal(r.banner, `220 ${"x".repeat(508)}…`);
        assert.ok(r.elapsedMs < 1000, `took ${r.elapsedMs} ms`);
    });

    it("cuts another service's endless first line the same way, and in messages", async () => {
        const s = await flood("", "\x01\x02junk");
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, name: "mx9" });
        assert.equal(r.ok, false);
        assert.equal([...r.banner].length, 513);
        assert.ok(r.message.includes(`wrong banner ${JSON.stringify(r.banner)} after 1 attempt`), r.message);
        // Control characters quoted take up to 6 characters each: bounded all the same.
        assert.ok(r.message.length < 6 * BANNER_MAX + 400, `message of ${r.message.length} characters`);
    });

    it("says a TLS-only port (SMTPS-style, silent until the client's hello) speaks TLS, without retrying", async () => {
        const s = await server(() => undefined, "127.0.0.1", h => tls.createServer({ key, cert }, h as any));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx10", timeoutMs: 500, attempts: 5, delayMs: 50 });
        assert.equal(r.ok, false);
        assert.equal(r.attempts, 1);
        assert.equal(r.banner, null);
        assert.equal(r.seen, "speaks TLS (answered a TLS ClientHello with a handshake)");
        assert.match(r.message, /^listener check failed for mx10 \(127\.0\.0\.1:\d+\): speaks TLS .* Likely cause: port \d+ expects TLS from the first byte \(implicit TLS, as SMTPS on 465\)/);
    });

    it("says a TLS port speaks TLS even when it refuses our hello with an alert (TLS 1.3 only)", async () => {
        const s = await server(() => undefined, "127.0.0.1", h => tls.createServer({ key, cert, minVersion: "TLSv1.3" }, h as any));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, timeoutMs: 500, attempts: 1 });
        assert.equal(r.seen, "speaks TLS (answered a TLS ClientHello with a TLS alert)");
    });

    it("connects to IPv6 loopback, plain (::1) and bracketed ([::1])", async () => {
        const s = await server(c => c.write("220 v6 ESMTP\r\n"), "::1");
        for (const host of ["::1", "[::1]"]) {
            const r = await checkListener({ host, port: s.port, attempts: 1 });
            assert.equal(r.ok, true, `${host}: ${r.message}`);
            assert.equal(r.banner, "220 v6 ESMTP");
            assert.equal(r.host, host);
        }
        const port = await closedPort("::1");
        const r = await checkListener({ host: "[::1]", port, name: "mx11", attempts: 1 });
        assert.match(r.message, new RegExp(`^listener check failed for mx11 \\(\\[::1\\]:${port}\\): connection refused`));
    });

    it("checks the old port on IPv6 too", async () => {
        const s = await server(c => c.write("220 new ESMTP\r\n"), "::1");
        const old = await server(c => c.write("220 old ESMTP\r\n"), "::1");
        const r = await checkListener({ host: "[::1]", port: s.port, oldPort: old.port, attempts: 1 });
        assert.equal(r.ok, false);
        assert.equal(r.seen, `old port ${old.port} greets "220 old ESMTP"`);
    });
});

describe("listener check: the old port", function () {
    this.timeout(20_000);
    it("fails when the old port still accepts connections, passes when it refuses", async () => {
        const s = await server(c => c.write("220 new ESMTP\r\n"));
        const old = await server(c => c.write("220 old ESMTP\r\n"));
        const bad = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx5", attempts: 1, oldPort: old.port });
        old.close();
        assert.equal(bad.ok, false);
        assert.match(bad.message, new RegExp(`mx5 \\(127\\.0\\.0\\.1\\): the new port ${s.port} greets, but the old port ${old.port} still accepts connections \\(greets "220 old ESMTP"\\)`));
        await new Promise(r => setTimeout(r, 100));
        const good = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, oldPort: old.port });
        assert.equal(good.ok, true);
    });

    it("does not probe the old port when it is null", async () => {
        let asked = 0;
        const s = await server(c => c.write("220 new ESMTP\r\n"));
        const old = await server(c => { asked++; c.write("220 old ESMTP\r\n"); });
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, oldPort: null });
        assert.equal(r.ok, true);
        assert.equal(asked, 0);
        old.close();
    });
});

describe("listener check: the command (a wave of hosts on stdin)", function () {
    this.timeout(20_000);

    it("checks every host at once, one result line each with its name, and fails naming each failed host", async () => {
        const a = await server(c => c.write("220 a ESMTP\r\n"));
        const old = await server(c => c.write("220 old ESMTP\r\n"));
        const b = await server(c => c.write("220 b ESMTP\r\n"));
        const closed = await closedPort();
        const r = await wave([], [
            { name: "mx1", host: "127.0.0.1", port: a.port, oldPort: null },
            { name: "mx2", host: "127.0.0.1", port: b.port, oldPort: old.port },
            { name: "mx3", host: "127.0.0.1", port: closed, oldPort: 25 },
        ]);
        assert.equal(r.code, 1);
        const lines = r.out.trim().split("\n").map(l => JSON.parse(l));
        assert.deepEqual(lines.map(l => [l.name, l.ok, l.banner]), [["mx1", true, "220 a ESMTP"], ["mx2", false, "220 b ESMTP"], ["mx3", false, null]]);
        assert.deepEqual(Object.keys(lines[0]), ["name", "ok", "host", "port", "banner", "attempts", "elapsedMs"]);
        assert.deepEqual(Object.keys(lines[2]), ["name", "ok", "host", "port", "banner", "attempts", "elapsedMs", "seen", "message"]);
        const err = r.err.trim().split("\n");
        assert.equal(err.length, 2);
        assert.match(err[0], new RegExp(`^listener check failed for mx2 \\(127\\.0\\.0\\.1\\): the new port ${b.port} greets, but the old port ${old.port} still accepts connections`));
        assert.match(err[1], /^listener check failed for mx3 \(127\.0\.0\.1:\d+\): connection refused after 1 attempt/);
    });

    it("passes when every host greets", async () => {
        const a = await server(c => c.write("220 a ESMTP\r\n"));
        const r = await wave([], [{ name: "mx1", host: "127.0.0.1", port: a.port, oldPort: null }]);
        assert.equal(r.code, 0, r.err);
        assert.equal(JSON.parse(r.out).name, "mx1");
        assert.equal(r.err, "");
    });

    it("with --soft yes: failures are results, exit 0, nothing on stderr", async () => {
        const closed = await closedPort();
        const r = await wave(["--soft", "yes"], [{ name: "mx7", host: "127.0.0.1", port: closed, oldPort: null }]);
        assert.equal(r.code, 0, r.err);
        const out = JSON.parse(r.out);
        assert.equal(out.ok, false);
        assert.match(out.message, /^listener check failed for mx7 \(127\.0\.0\.1:\d+\): connection refused after 1 attempt/);
        assert.equal(r.err, "");
    });

    it("probes nothing for a host marked skip (its host script failed), and reports it skipped", async () => {
        let connections = 0;
        const s = await server(c => { connections++; c.write("220 should-not-be-asked ESMTP\r\n"); });
        const r = await wave(["--soft", "yes"], [{ name: "mx1", host: "127.0.0.1", port: s.port, oldPort: null, skip: true }]);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(JSON.parse(r.out), { name: "mx1", ok: false, host: "127.0.0.1", port: s.port, banner: null, attempts: 0, elapsedMs: 0,
            skipped: true, message: "listener check skipped for mx1: the host script failed" });
        assert.equal(connections, 0);
    });

    it("an empty wave (every host unreachable) checks nothing and passes", async () => {
        const r = await wave([], "");
        assert.equal(r.code, 0);
        assert.equal(r.out, "");
    });

    it("refuses a bad line, naming it and the field", async () => {
        const cases: [string, string][] = [
            [`{"name":"mx1","host":"h","port":25,"oldPort":null}\n{"name":"mx2","host":"h","port":70000,"oldPort":null}\n`, "stdin line 2 (mx2): port must be 1-65535"],
            [`{"name":"mx1","host":"h","port":25}\n`, "stdin line 1 (mx1): oldPort must be 1-65535 or null (not checked)"],
            [`{"name":"mx1","host":"h","port":25,"oldPort":"25"}\n`, "stdin line 1 (mx1): oldPort must be 1-65535 or null (not checked)"],
            [`{"name":"mx1","host":"[mx1]","port":25,"oldPort":null}\n`, `stdin line 1 (mx1): host "[mx1]" is in brackets but not an IPv6 address`],
            [`{"name":"mx1","host":"h","port":25,"oldPort":null,"skip":"yes"}\n`, "stdin line 1 (mx1): skip must be true or false"],
            [`[1]\n`, "stdin line 1 is not a JSON object"],
            ["not json\n", "stdin line 1 is not JSON"],
        ];
        for (const [input, message] of cases) {
            const r = await wave([], input);
            assert.equal(r.code, 2, message);
            assert.equal(r.err, `listener-check: ${message}\n`);
            assert.equal(r.out, "");
        }
    });

    it("refuses unknown and bad flags (the old single-host flags are gone)", async () => {
        for (const [args, message] of [
            [["--closed-port", "25"], /^listener-check: bad argument "--closed-port"; usage: /],
            [["--host", "127.0.0.1"], /^listener-check: bad argument "--host"; usage: /],
            [["--hosts-from-stdin", "yes"], /^listener-check: bad argument "--hosts-from-stdin"; usage: /],
            [["--timeout-ms", "0"], /^listener-check: --timeout-ms must be a whole number of at least 1, got "0"\n$/],
            [["--expect", "2201"], /^listener-check: --expect must be a 3-digit reply code, got "2201"\n$/],
        ] as [string[], RegExp][]) {
            const r = await wave(args, "");
            assert.equal(r.code, 2, args.join(" "));
            assert.match(r.err, message);
        }
    });
});
