// The look's SSH client (components/lookSsh.ts) against a real OpenSSH
// server: a throwaway sshd on 127.0.0.1 with its own keys, no lab needed.
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { hostKeyBlob, runOverSsh, SshTarget } from "../../components/lookSsh";

const SSHD = "/usr/sbin/sshd";

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function keygen(file: string, passphrase = "") {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "", "-f", file]);
}

function waitForPort(port: number, ms: number): Promise<void> {
    const until = Date.now() + ms;
    return new Promise((resolve, reject) => {
        const attempt = () => {
            const s = net.connect(port, "127.0.0.1");
            s.once("connect", () => { s.destroy(); resolve(); });
            s.once("error", () => {
                s.destroy();
                if (Date.now() > until) reject(new Error(`sshd did not listen on ${port}`));
                else setTimeout(attempt, 50);
            });
        };
        attempt();
    });
}

describe("look over SSH (in-process client against a real sshd)", function () {
    this.timeout(30000);
    let dir = "";
    let sshd: ChildProcess | undefined;
    let sshdLog = "";
    let base: SshTarget;
    let otherHostKey = "";
    let encryptedKey = "";
    let strangerKey = "";

    before(async () => {
        assert.ok(fs.existsSync(SSHD), `${SSHD} is missing (lab/lab.sh install installs openssh-server)`);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-sshd-"));
        for (const k of ["host", "other_host", "client", "client_enc", "stranger"]) {
            keygen(path.join(dir, k), k === "client_enc" ? "correct horse" : "");
        }
        fs.writeFileSync(path.join(dir, "authorized_keys"),
            fs.readFileSync(path.join(dir, "client.pub"), "utf8") + fs.readFileSync(path.join(dir, "client_enc.pub"), "utf8"), { mode: 0o600 });
        const port = await freePort();
        fs.writeFileSync(path.join(dir, "sshd_config"), [
            `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${path.join(dir, "host")}`,
            `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`, `PidFile ${path.join(dir, "sshd.pid")}`,
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "LogLevel VERBOSE", "",
        ].join("\n"));
        // Privilege separation needs this directory (systemd creates it for the real service).
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        sshd = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
        sshd.stderr!.on("data", d => { sshdLog += d; });
        await waitForPort(port, 10000);
        base = {
            host: "127.0.0.1", port, user: os.userInfo().username,
            privateKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
            hostKey: fs.readFileSync(path.join(dir, "host.pub"), "utf8").trim(),
            insecureIgnoreHostKey: false, timeoutSeconds: 5,
        };
        otherHostKey = fs.readFileSync(path.join(dir, "other_host.pub"), "utf8").trim();
        encryptedKey = fs.readFileSync(path.join(dir, "client_enc"), "utf8");
        strangerKey = fs.readFileSync(path.join(dir, "stranger"), "utf8");
    });

    after(() => {
        sshd?.kill();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

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
        const out = await runOverSsh({ ...base, privateKey: encryptedKey, privateKeyPassword: "correct horse" }, "", "echo ok");
        assert.equal(out, "ok\n");
    });

    it("refuses a host that does not present the pinned key, before authenticating", async () => {
        const before = sshdLog.length;
        await assert.rejects(runOverSsh({ ...base, hostKey: otherHostKey }, "", "echo never"),
            { message: "host key verification failed: 127.0.0.1 did not present the pinned connection.hostKey" });
        // The client stopped at the key exchange: sshd never saw a login attempt.
        await new Promise(r => setTimeout(r, 200));
        assert.doesNotMatch(sshdLog.slice(before), /Accepted publickey|Failed publickey/);
    });

    it("refuses to connect without a pinned key unless insecureIgnoreHostKey is set", async () => {
        await assert.rejects(runOverSsh({ ...base, hostKey: undefined }, "", "echo never"),
            { message: "no usable pinned host key (connection.hostKey), and insecureIgnoreHostKey is not set" });
        assert.equal(await runOverSsh({ ...base, hostKey: undefined, insecureIgnoreHostKey: true }, "", "echo ok"), "ok\n");
    });

    it("says so when the key is not authorized", async () => {
        await assert.rejects(runOverSsh({ ...base, privateKey: strangerKey }, "", "echo never"),
            { message: `authentication failed for ${base.user}@127.0.0.1 (all configured methods were refused)` });
    });

    it("says so when the encrypted key's passphrase is wrong", async () => {
        await assert.rejects(runOverSsh({ ...base, privateKey: encryptedKey, privateKeyPassword: "wrong" }, "", "echo never"),
            /^Error: cannot use the connection's private key: .*(passphrase|decrypt)/i);
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

    it("needs a key or a password", async () => {
        await assert.rejects(runOverSsh({ ...base, privateKey: undefined }, "", "echo never"),
            { message: "no private key or password in the connection" });
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
