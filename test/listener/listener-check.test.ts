import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as net from "net";
import * as path from "path";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { checkListener } = require("../../components/listener/listener-check.js");

const CLI = path.join(__dirname, "..", "..", "components", "listener", "listener-check.js");

/** Every server a test opened and has not closed: closed after each test, whatever its outcome. */
const open = new Set<() => void>();

/** A real TCP server on loopback that does `onConn` with each connection. */
function server(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
    return new Promise(resolve => {
        const sockets: net.Socket[] = [];
        const srv = net.createServer(s => { sockets.push(s); onConn(s); });
        const close = () => { open.delete(close); sockets.forEach(s => s.destroy()); srv.close(); };
        open.add(close);
        srv.listen(0, "127.0.0.1", () => resolve({ port: (srv.address() as net.AddressInfo).port, close }));
    });
}

// A failed assertion skips a test's own close(): without this its servers
// would keep mocha's event loop alive.
afterEach(() => { for (const close of [...open]) close(); });

/** A port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
    const s = await server(() => undefined);
    s.close();
    return s.port;
}

describe("listener check against real local servers", function () {
    this.timeout(20_000);

    it("accepts a server that greets 220 and says QUIT", async () => {
        let got = "";
        const s = await server(c => { c.write("220 mx1.lab.test ESMTP Postfix\r\n"); c.on("data", d => got += d); });
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        await new Promise(r => setTimeout(r, 100));
        s.close();
        assert.equal(r.ok, true);
        assert.equal(r.banner, "220 mx1.lab.test ESMTP Postfix");
        assert.equal(got, "QUIT\r\n");
    });

    it("accepts a multi-line greeting (220-)", async () => {
        const s = await server(c => c.write("220-mx1 ESMTP\r\n220 ready\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        s.close();
        assert.equal(r.ok, true);
        assert.equal(r.banner, "220-mx1 ESMTP");
    });

    it("rejects another service's banner at once, quoting it", async () => {
        const s = await server(c => c.write("SSH-2.0-OpenSSH_9.2p1\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx2", attempts: 5, delayMs: 1000 });
        s.close();
        assert.equal(r.ok, false);
        assert.equal(r.attempts, 1, "a definite wrong answer is not retried");
        assert.match(r.message, /^listener check failed for mx2 \(127\.0\.0\.1:\d+\): wrong banner "SSH-2\.0-OpenSSH_9\.2p1" after 1 attempt in [0-9.]+ s; expected an SMTP greeting "220 \.\.\."\. Likely cause: something other than the mail server holds port \d+\.$/);
    });

    it("rejects an SMTP server that refuses service (554)", async () => {
        const s = await server(c => c.write("554 no service\r\n"));
        const r = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1 });
        s.close();
        assert.equal(r.ok, false);
        assert.equal(r.banner, "554 no service");
    });

    it("times out on a server that never answers, after every attempt", async () => {
        const s = await server(() => undefined);
        const r = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx3", timeoutMs: 300, attempts: 3, delayMs: 50 });
        s.close();
        assert.equal(r.ok, false);
        assert.equal(r.attempts, 3);
        assert.ok(r.elapsedMs >= 900, `waited ${r.elapsedMs} ms`);
        assert.match(r.message, /mx3 \(127\.0\.0\.1:\d+\): timeout \(no answer within 300 ms\) after 3 attempts/);
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
        s.close();
        assert.equal(r.seen, "closed without a greeting");
    });

    it("waits for a listener that comes up late (retries)", async () => {
        const port = await closedPort();
        let srv: net.Server | undefined;
        setTimeout(() => { srv = net.createServer(c => c.write("220 late ESMTP\r\n")).listen(port, "127.0.0.1"); }, 400);
        const r = await checkListener({ host: "127.0.0.1", port, attempts: 10, delayMs: 200 });
        srv?.close();
        assert.equal(r.ok, true);
        assert.ok(r.attempts > 1, `attempts ${r.attempts}`);
    });

    it("as a command: one JSON line and exit 0, or the message on stderr and exit 1", async () => {
        const s = await server(c => c.write("220 cli ESMTP\r\n"));
        // spawnSync would block the event loop that serves the connection; run it async.
        const { execFile } = await import("child_process");
        const ok = await new Promise<{ code: number; out: string }>(res =>
            execFile("node", [CLI, "--host", "127.0.0.1", "--port", String(s.port), "--attempts", "1"], (e, out) => res({ code: e ? (e as any).code : 0, out })));
        s.close();
        assert.equal(ok.code, 0);
        assert.equal(JSON.parse(ok.out).banner, "220 cli ESMTP");
        const port = await closedPort();
        const bad = spawnSync("node", [CLI, "--name", "mx9", "--host", "127.0.0.1", "--port", String(port), "--attempts", "1"], { encoding: "utf8" });
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /^listener check failed for mx9 \(127\.0\.0\.1:\d+\): connection refused after 1 attempt/);
        const usage = spawnSync("node", [CLI, "--host", "127.0.0.1", "--port", "70000"], { encoding: "utf8" });
        assert.equal(usage.status, 2);
        assert.equal(usage.stderr, "listener-check: --port must be 1-65535\n");
    });
});

describe("listener check: the old port", function () {
    this.timeout(20_000);
    it("fails when the old port still accepts connections, passes when it refuses", async () => {
        const s = await server(c => c.write("220 new ESMTP\r\n"));
        const old = await server(c => c.write("220 old ESMTP\r\n"));
        const bad = await checkListener({ host: "127.0.0.1", port: s.port, name: "mx5", attempts: 1, closedPort: old.port });
        old.close();
        assert.equal(bad.ok, false);
        assert.match(bad.message, new RegExp(`mx5 \\(127\\.0\\.0\\.1\\): the new port ${s.port} greets, but the old port ${old.port} still accepts connections \\(greets "220 old ESMTP"\\)`));
        await new Promise(r => setTimeout(r, 100));
        const good = await checkListener({ host: "127.0.0.1", port: s.port, attempts: 1, closedPort: old.port });
        s.close();
        assert.equal(good.ok, true);
    });

    it("as a command, takes the old port from the host script's result on stdin", async () => {
        const s = await server(c => c.write("220 new ESMTP\r\n"));
        const old = await server(c => c.write("220 old ESMTP\r\n"));
        const { execFile } = await import("child_process");
        const r = await new Promise<{ code: number; err: string }>(res => {
            const p = execFile("node", [CLI, "--host", "127.0.0.1", "--port", String(s.port), "--attempts", "1", "--closed-port-from-stdin", "yes"],
                (e, _out, err) => res({ code: e ? (e as any).code : 0, err }));
            p.stdin!.end(JSON.stringify({ action: "apply", previous_port: old.port }) + "\n");
        });
        s.close(); old.close();
        assert.equal(r.code, 1);
        assert.match(r.err, new RegExp(`old port ${old.port} still accepts connections`));
    });
});

describe("listener check: --soft (rollouts with a failure budget)", function () {
    this.timeout(20_000);
    it("reports a failed check as a result and exits 0", async () => {
        const port = await closedPort();
        const r = spawnSync("node", [CLI, "--name", "mx7", "--host", "127.0.0.1", "--port", String(port), "--attempts", "1", "--soft", "yes"], { encoding: "utf8", input: "" });
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.equal(out.ok, false);
        assert.match(out.message, /^listener check failed for mx7 \(127\.0\.0\.1:\d+\): connection refused after 1 attempt/);
        assert.equal(r.stderr, "");
    });

    it("probes nothing when the host script failed", async () => {
        let connections = 0;
        const s = await server(c => { connections++; c.write("220 should-not-be-asked ESMTP\r\n"); });
        const { execFile } = await import("child_process");
        const r = await new Promise<{ code: number; out: string }>(res => {
            const p = execFile("node", [CLI, "--host", "127.0.0.1", "--port", String(s.port), "--attempts", "1", "--soft", "yes", "--closed-port-from-stdin", "yes"],
                (e, out) => res({ code: e ? (e as any).code : 0, out }));
            p.stdin!.end(`{"failed":true,"exit":1}\n`);
        });
        s.close();
        assert.equal(r.code, 0);
        assert.deepEqual(JSON.parse(r.out), { ok: false, skipped: true, host: "127.0.0.1", port: s.port, banner: null, message: "not checked: the host script failed" });
        assert.equal(connections, 0);
    });
});

describe("listener check: a whole wave (--hosts-from-stdin)", function () {
    this.timeout(20_000);
    /** Run the command with `lines` (one JSON object each) on stdin, without blocking the test's servers. */
    async function wave(args: string[], lines: object[] | string) {
        const { execFile } = await import("child_process");
        return new Promise<{ code: number; out: string; err: string }>(res => {
            const p = execFile("node", [CLI, "--hosts-from-stdin", "yes", "--attempts", "1", "--delay-ms", "50", ...args],
                (e, out, err) => res({ code: e ? (e as any).code : 0, out, err }));
            p.stdin!.end(typeof lines === "string" ? lines : lines.map(l => JSON.stringify(l) + "\n").join(""));
        });
    }

    it("checks every host at once, one result line each with its name, and fails naming each failed host", async () => {
        const a = await server(c => c.write("220 a ESMTP\r\n"));
        const old = await server(c => c.write("220 old ESMTP\r\n"));
        const b = await server(c => c.write("220 b ESMTP\r\n"));
        const closed = await closedPort();
        const r = await wave([], [
            { name: "mx1", host: "127.0.0.1", port: a.port, closedPortFromResult: false, result: "" },
            { name: "mx2", host: "127.0.0.1", port: b.port, closedPortFromResult: true, result: `log line\n{"action":"apply","previous_port":${old.port}}\n` },
            { name: "mx3", host: "127.0.0.1", port: closed, closedPortFromResult: true, result: "" },
        ]);
        a.close(); b.close(); old.close();
        assert.equal(r.code, 1);
        const lines = r.out.trim().split("\n").map(l => JSON.parse(l));
        assert.deepEqual(lines.map(l => [l.name, l.ok, l.banner]), [["mx1", true, "220 a ESMTP"], ["mx2", false, "220 b ESMTP"], ["mx3", false, null]]);
        const err = r.err.trim().split("\n");
        assert.equal(err.length, 2);
        assert.match(err[0], new RegExp(`^listener check failed for mx2 \\(127\\.0\\.0\\.1\\): the new port ${b.port} greets, but the old port ${old.port} still accepts connections`));
        assert.match(err[1], /^listener check failed for mx3 \(127\.0\.0\.1:\d+\): connection refused after 1 attempt/);
    });

    it("passes when every host greets", async () => {
        const a = await server(c => c.write("220 a ESMTP\r\n"));
        const r = await wave([], [{ name: "mx1", host: "127.0.0.1", port: a.port, closedPortFromResult: false, result: "" }]);
        a.close();
        assert.equal(r.code, 0, r.err);
        assert.equal(JSON.parse(r.out).name, "mx1");
        assert.equal(r.err, "");
    });

    it("with --soft: failures are results, and a host whose script failed is not probed", async () => {
        let connections = 0;
        const s = await server(c => { connections++; c.write("220 should-not-be-asked ESMTP\r\n"); });
        const closed = await closedPort();
        const r = await wave(["--soft", "yes"], [
            { name: "mx1", host: "127.0.0.1", port: s.port, closedPortFromResult: true, result: `{"failed":true,"exit":1}\n` },
            { name: "mx2", host: "127.0.0.1", port: closed, closedPortFromResult: true, result: "" },
        ]);
        s.close();
        assert.equal(r.code, 0, r.err);
        const [l1, l2] = r.out.trim().split("\n").map(l => JSON.parse(l));
        assert.deepEqual(l1, { name: "mx1", ok: false, skipped: true, host: "127.0.0.1", port: s.port, banner: null, message: "not checked: the host script failed" });
        assert.equal(l2.ok, false);
        assert.equal(connections, 0);
        assert.equal(r.err, "");
    });

    it("an empty wave (every host unreachable) checks nothing and passes", async () => {
        const r = await wave([], "");
        assert.equal(r.code, 0);
        assert.equal(r.out, "");
    });

    it("refuses a bad line, naming it", async () => {
        const r = await wave([], `{"name":"mx1","host":"h","port":25}\n{"name":"mx2","host":"h","port":70000}\n`);
        assert.equal(r.code, 2);
        assert.equal(r.err, "listener-check: stdin line 2 (mx2): port must be 1-65535\n");
        const junk = await wave([], "not json\n");
        assert.equal(junk.err, "listener-check: stdin line 1 is not JSON\n");
    });
});
