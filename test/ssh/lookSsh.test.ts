// The look's SSH client (components/lookSsh.ts) against a real OpenSSH
// server: a throwaway sshd on 127.0.0.1 with its own keys, no lab needed.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lookTarget } from "../../components/hostPreview";
import { hostKeyAlgorithms, hostKeyBlob, runOverSsh, SshEndpoint, SshTarget } from "../../components/lookSsh";
import { freePort, hostKeyOf, keygen, KeyType, publicKey, Sshd, startSshd, stopAll } from "./sshd";

// Whatever a test's outcome, no sshd outlives the file.
after(stopAll);

/** Client keys for every test: made once, deleted at the end. */
const keys = (() => {
    let dir = "";
    const k = {
        dir: () => dir,
        /** Idempotent: each suite's `before` calls it, so a run without these suites makes no keys. */
        make() {
            if (dir) return;
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-ssh-keys-"));
            for (const name of ["client", "client_enc", "stranger", "other_ed25519", "other_ecdsa", "other_rsa"]) {
                const type = (name.startsWith("other_") ? name.slice(6) : "ed25519") as KeyType;
                keygen(path.join(dir, name), type, name === "client_enc" ? "correct horse" : "");
            }
        },
        private: (name: string) => fs.readFileSync(path.join(dir, name), "utf8"),
        public: (name: string) => publicKey(path.join(dir, name)),
        remove() { if (dir) fs.rmSync(dir, { recursive: true, force: true }); },
    };
    return k;
})();
after(() => keys.remove());

/** `ssh-rsa SHA256:...`: a key's type and fingerprint, as ssh-keygen computes it. */
function fp(line: string): string {
    const sha = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", "-"], { input: line, encoding: "utf8" }).split(" ")[1];
    return `${line.split(" ")[0]} ${sha}`;
}

/** Log in to `s` as the current user with the client key, pinning its `pin` host key. */
function endpoint(s: Sshd, pin: KeyType): SshEndpoint {
    return {
        host: "127.0.0.1", port: s.port, user: os.userInfo().username, privateKey: keys.private("client"),
        hostKey: hostKeyOf(s, pin), insecureIgnoreHostKey: false,
    };
}

describe("look over SSH (in-process client against a real sshd)", function () {
    this.timeout(30000);
    let sshd: Sshd;
    let base: SshTarget;

    before(async () => {
        keys.make();
        sshd = await startSshd({ hostKeys: ["ed25519"], authorizedKeys: [keys.public("client"), keys.public("client_enc")] });
        base = { ...endpoint(sshd, "ed25519"), timeoutSeconds: 5 };
    });
    after(() => sshd?.stop());

    it("runs the command with the script on stdin and returns its stdout", async () => {
        const out = await runOverSsh(base, "echo from-stdin\necho \"args: $*\"\n", "sh -s -- one 'two words'");
        assert.equal(out, "from-stdin\nargs: one two words\n");
    });

    it("returns long output whole, multi-byte characters included", async () => {
        // ~600 KB of "€" (3 bytes each): many SSH packets, whose sizes are
        // powers of two, so chunks end inside characters.
        const out = await runOverSsh(base, "", "awk 'BEGIN { for (i = 0; i < 200000; i++) printf \"\\342\\202\\254\" }'");
        assert.equal(out, "€".repeat(200000));
    });

    it("accepts an encrypted private key with its passphrase", async () => {
        const out = await runOverSsh({ ...base, privateKey: keys.private("client_enc"), privateKeyPassword: "correct horse" }, "", "echo ok");
        assert.equal(out, "ok\n");
    });

    it("refuses a host that does not present the pinned key, before authenticating, naming the host and both keys", async () => {
        const before = sshd.log().length;
        await assert.rejects(runOverSsh({ ...base, hostKey: keys.public("other_ed25519") }, "", "echo never"),
            { message: `host key verification failed for 127.0.0.1: it presented ${fp(hostKeyOf(sshd, "ed25519"))}, but connection.hostKey pins ${fp(keys.public("other_ed25519"))}` });
        // The client stopped at the key exchange: sshd never saw a login attempt.
        await new Promise(r => setTimeout(r, 200));
        assert.doesNotMatch(sshd.log().slice(before), /Accepted publickey|Failed publickey/);
    });

    it("refuses to connect without a pinned key unless insecureIgnoreHostKey is set", async () => {
        await assert.rejects(runOverSsh({ ...base, hostKey: undefined }, "", "echo never"),
            { message: "no pinned host key for 127.0.0.1 (connection.hostKey), and insecureIgnoreHostKey is not set" });
        assert.equal(await runOverSsh({ ...base, hostKey: undefined, insecureIgnoreHostKey: true }, "", "echo ok"), "ok\n");
    });

    it("says so when the key is not authorized", async () => {
        await assert.rejects(runOverSsh({ ...base, privateKey: keys.private("stranger") }, "", "echo never"),
            { message: `authentication failed for ${base.user}@127.0.0.1 (all configured methods were refused)` });
    });

    it("says so when the encrypted key's passphrase is wrong", async () => {
        await assert.rejects(runOverSsh({ ...base, privateKey: keys.private("client_enc"), privateKeyPassword: "wrong" }, "", "echo never"),
            /^Error: cannot use connection\.privateKey: .*(passphrase|decrypt)/i);
    });

    it("rejects with the command's last stderr lines when it fails", async () => {
        await assert.rejects(runOverSsh(base, "echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3\n", "sh -s"),
            { message: "two / three / four" });
        await assert.rejects(runOverSsh(base, "exit 4\n", "sh -s"), { message: "the command exited with 4" });
    });

    it("names a closed port as OpenSSH does", async () => {
        const closed = await freePort();
        await assert.rejects(runOverSsh({ ...base, port: closed }, "", "echo never"),
            { message: `ssh: connect to host 127.0.0.1 port ${closed}: Connection refused` });
    });

    it("needs a key, a password or an agent", async () => {
        await assert.rejects(runOverSsh({ ...base, privateKey: undefined }, "", "echo never"),
            { message: "no private key, password or agentSocketPath in connection, and no SSH agent (SSH_AUTH_SOCK)" });
    });

    it("sends the input on request only: when the first stdout line asks, and then without that line", async () => {
        const text = "the script\n";
        assert.equal(await runOverSsh(base, { onRequest: "#send", text }, "echo '#send'; cat; echo done"), "the script\ndone\n");
        // Not asked: the input is closed empty (cat ends at once) and never sent.
        assert.equal(await runOverSsh(base, { onRequest: "#send", text }, "echo result; cat; echo done"), "result\ndone\n");
        assert.equal(await runOverSsh(base, { onRequest: "#send", text }, "echo one; echo '#send'; cat"), "one\n#send\n", "only the first line asks");
        // The request split over packets, and output shorter than the request.
        assert.equal(await runOverSsh(base, { onRequest: "#send", text }, "printf '#se'; sleep 0.3; printf 'nd\\n'; cat"), "the script\n");
        assert.equal(await runOverSsh(base, { onRequest: "#send", text }, "printf '#se'"), "#se");
        assert.equal(await runOverSsh(base, { onRequest: "#send", text }, "true"), "");
    });

    it("logs in with the keys of an SSH agent (connection.agentSocketPath, else SSH_AUTH_SOCK)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-agent-"));
        const sock = path.join(dir, "agent.sock");
        const agent = execFileSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
        const pid = /SSH_AGENT_PID=(\d+)/.exec(agent)![1];
        try {
            execFileSync("ssh-add", [path.join(keys.dir(), "client")], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
            assert.equal(await runOverSsh({ ...base, privateKey: undefined, agent: sock }, "", "echo ok"), "ok\n");
            // No key, password or agentSocketPath: the look takes the agent of
            // SSH_AUTH_SOCK, as the command provider does.
            const { host, port, user, hostKey } = base;
            const viaEnv = lookTarget({ host, port, user, hostKey }, false, { SSH_AUTH_SOCK: sock });
            assert.equal(viaEnv.agent, sock);
            assert.equal(await runOverSsh(viaEnv, "", "echo from-env"), "from-env\n");
            execFileSync("ssh-add", ["-D"], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
            await assert.rejects(runOverSsh({ ...base, privateKey: undefined, agent: sock }, "", "echo never"),
                { message: `authentication failed for ${base.user}@127.0.0.1 (all configured methods were refused)` });
        } finally {
            process.kill(Number(pid));
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("look over SSH: the pinned key's algorithm only (an sshd with RSA, ECDSA and ed25519 host keys)", function () {
    this.timeout(30000);
    let sshd: Sshd;
    let edOnly: Sshd;
    const types: KeyType[] = ["ed25519", "ecdsa", "rsa"];

    before(async () => {
        keys.make();
        sshd = await startSshd({ hostKeys: types, authorizedKeys: [keys.public("client")] });
        edOnly = await startSshd({ hostKeys: ["ed25519"], authorizedKeys: [keys.public("client")] });
    });
    after(() => { sshd?.stop(); edOnly?.stop(); });

    for (const type of types) {
        it(`connects to a host pinned by its ${type} key`, async () => {
            const out = await runOverSsh({ ...endpoint(sshd, type), timeoutSeconds: 5 }, "", "echo ok");
            assert.equal(out, "ok\n");
        });

        it(`refuses a wrong ${type} pin, naming the host and the key type`, async () => {
            const wrong = keys.public(`other_${type}`);
            await assert.rejects(runOverSsh({ ...endpoint(sshd, type), hostKey: wrong, timeoutSeconds: 5 }, "", "echo never"),
                { message: `host key verification failed for 127.0.0.1: it presented ${fp(hostKeyOf(sshd, type))}, but connection.hostKey pins ${fp(wrong)}` });
        });
    }

    it("says so when the host has no key of the pinned type", async () => {
        const pin = hostKeyOf(sshd, "rsa");
        await assert.rejects(runOverSsh({ ...endpoint(edOnly, "ed25519"), hostKey: pin, timeoutSeconds: 5 }, "", "echo never"),
            { message: `host key verification failed for 127.0.0.1: it has no ssh-rsa host key, the type connection.hostKey pins (${fp(pin)})` });
    });

    it("offers what can prove the pinned key: rsa-sha2-512, rsa-sha2-256, ssh-rsa for RSA; the type itself otherwise", () => {
        assert.deepEqual(hostKeyAlgorithms("ssh-rsa"), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
        assert.deepEqual(hostKeyAlgorithms("ecdsa-sha2-nistp256"), ["ecdsa-sha2-nistp256"]);
        assert.deepEqual(hostKeyAlgorithms("ssh-ed25519"), ["ssh-ed25519"]);
    });

    it("refuses a pinned key type it cannot verify, naming the host and the field", async () => {
        // A FIDO key line (sk-ssh-ed25519@openssh.com): well-formed, but ssh2 has no such host keys.
        const type = "sk-ssh-ed25519@openssh.com";
        const blob = Buffer.concat([Buffer.from([0, 0, 0, type.length]), Buffer.from(type), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 1), Buffer.from([0, 0, 0, 4]), Buffer.from("ssh:")]);
        await assert.rejects(runOverSsh({ ...endpoint(sshd, "ed25519"), hostKey: `${type} ${blob.toString("base64")}`, timeoutSeconds: 5 }, "", "echo never"),
            { message: `connection.hostKey of 127.0.0.1 is a ${type} key, which the look's SSH client cannot verify: pin the host's ed25519, ECDSA or RSA key` });
    });
});

describe("look over SSH through a bastion (connection.proxy)", function () {
    this.timeout(30000);
    let proxy: Sshd;
    let target: Sshd;

    before(async () => {
        keys.make();
        // DEBUG1 logs each forwarded connection (server_request_direct_tcpip): proof the look went through the proxy.
        proxy = await startSshd({ hostKeys: ["ed25519", "rsa"], authorizedKeys: [keys.public("client")], extra: ["AllowTcpForwarding yes", "LogLevel DEBUG1"] });
        target = await startSshd({ hostKeys: ["ed25519", "ecdsa"], authorizedKeys: [keys.public("client")] });
    });
    after(() => { proxy?.stop(); target?.stop(); });

    /** The host behind the proxy, both pinned. */
    const through = (pin: KeyType = "ed25519", proxyPin: KeyType = "ed25519"): SshTarget => ({ ...endpoint(target, pin), timeoutSeconds: 5, proxy: endpoint(proxy, proxyPin) });

    it("reaches the host through the proxy, both host keys pinned (the proxy's RSA key too)", async () => {
        for (const [pin, proxyPin] of [["ecdsa", "ed25519"], ["ed25519", "rsa"]] as [KeyType, KeyType][]) {
            const before = proxy.log().length;
            assert.equal(await runOverSsh(through(pin, proxyPin), "", "echo ok"), "ok\n");
            assert.match(proxy.log().slice(before), new RegExp(`server_request_direct_tcpip: originator 127\\.0\\.0\\.1 port 0, target 127\\.0\\.0\\.1 port ${target.port}`));
        }
    });

    it("requires a pinned key for the proxy, unless insecureIgnoreHostKey is set for it, and connects nowhere without one", async () => {
        const beforeProxy = proxy.log().length, beforeTarget = target.log().length;
        const t = through();
        await assert.rejects(runOverSsh({ ...t, proxy: { ...t.proxy!, hostKey: undefined } }, "", "echo never"),
            { message: "no pinned host key for 127.0.0.1 (connection.proxy.hostKey), and insecureIgnoreHostKey is not set" });
        await new Promise(r => setTimeout(r, 200));
        assert.doesNotMatch(proxy.log().slice(beforeProxy), /Connection from/);
        assert.doesNotMatch(target.log().slice(beforeTarget), /Connection from/);
        assert.equal(await runOverSsh({ ...t, proxy: { ...t.proxy!, hostKey: undefined, insecureIgnoreHostKey: true } }, "", "echo ok"), "ok\n");
    });

    it("refuses a proxy that does not present its pinned key, before logging in to it or reaching the host", async () => {
        const beforeProxy = proxy.log().length, beforeTarget = target.log().length;
        const t = through();
        const wrong = keys.public("other_ed25519");
        await assert.rejects(runOverSsh({ ...t, proxy: { ...t.proxy!, hostKey: wrong } }, "", "echo never"),
            { message: `proxy: host key verification failed for 127.0.0.1: it presented ${fp(hostKeyOf(proxy, "ed25519"))}, but connection.proxy.hostKey pins ${fp(wrong)}` });
        await new Promise(r => setTimeout(r, 200));
        assert.doesNotMatch(proxy.log().slice(beforeProxy), /Accepted publickey|Failed publickey/);
        assert.doesNotMatch(target.log().slice(beforeTarget), /Connection from/);
    });

    it("refuses the host behind the proxy when it does not present its pinned key", async () => {
        const wrong = keys.public("other_ecdsa");
        await assert.rejects(runOverSsh({ ...through("ecdsa"), hostKey: wrong }, "", "echo never"),
            { message: `host key verification failed for 127.0.0.1: it presented ${fp(hostKeyOf(target, "ecdsa"))}, but connection.hostKey pins ${fp(wrong)}` });
    });

    it("says when the proxy cannot reach the host", async () => {
        const closed = await freePort();
        await assert.rejects(runOverSsh({ ...through(), port: closed }, "", "echo never"),
            new RegExp(`^Error: proxy 127\\.0\\.0\\.1 could not connect to 127\\.0\\.0\\.1 port ${closed}: `));
    });

    it("needs a key or a password for the proxy too", async () => {
        const t = through();
        await assert.rejects(runOverSsh({ ...t, proxy: { ...t.proxy!, privateKey: undefined } }, "", "echo never"),
            { message: "no private key, password or agentSocketPath in connection.proxy, and no SSH agent (SSH_AUTH_SOCK)" });
    });
});

describe("pinned host key lines", () => {
    it("takes the key blob and ignores a comment", () => {
        const line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb2nB1s6dYgkUuHQSKcLsQDwJGQPlm1m0vGk8f2bJ9x";
        assert.deepEqual(hostKeyBlob(`${line} root@mx1`), hostKeyBlob(line));
        assert.equal(hostKeyBlob(line)!.length, 51);
    });
    it("refuses a key under the wrong type name, and text that is not a key", () => {
        assert.equal(hostKeyBlob("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGb2nB1s6dYgkUuHQSKcLsQDwJGQPlm1m0vGk8f2bJ9x"), undefined);
        assert.equal(hostKeyBlob("ssh-ed25519"), undefined);
        assert.equal(hostKeyBlob("ssh-ed25519 not*base64"), undefined);
    });
});
