// Throwaway OpenSSH servers for the SSH tests: each on a free port of
// 127.0.0.1 with its own host keys, run in the foreground, logging to a
// string the test can search. No lab needed.
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const SSHD = "/usr/sbin/sshd";

export type KeyType = "ed25519" | "ecdsa" | "rsa";

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

/** A new key pair at `file` (and `file.pub`). */
export function keygen(file: string, type: KeyType = "ed25519", passphrase = "") {
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", passphrase, "-C", "", "-f", file]);
}

/** The public key line of a key made by `keygen` (`ssh-rsa AAAA...`). */
export function publicKey(file: string): string {
    return fs.readFileSync(`${file}.pub`, "utf8").trim();
}

function waitForPort(port: number, ms: number, exited: () => string | undefined): Promise<void> {
    const until = Date.now() + ms;
    return new Promise((resolve, reject) => {
        const attempt = () => {
            const s = net.connect(port, "127.0.0.1");
            s.once("connect", () => { s.destroy(); resolve(); });
            s.once("error", () => {
                s.destroy();
                const why = exited();
                if (why !== undefined) reject(new Error(`sshd exited before listening on ${port}: ${why}`));
                else if (Date.now() > until) reject(new Error(`sshd did not listen on ${port}`));
                else setTimeout(attempt, 50);
            });
        };
        attempt();
    });
}

export interface Sshd {
    port: number;
    dir: string;
    /** Everything sshd logged so far. */
    log(): string;
    /** Stop it and delete its directory (idempotent). */
    stop(): void;
}

/** Every server started and not stopped yet: `stopAll` stops them whatever a test's outcome. */
const running = new Set<Sshd>();

export function stopAll() {
    for (const s of [...running]) s.stop();
}
// A test file that forgets `after(stopAll)`, or a run that ends early, still leaves no sshd behind.
process.on("exit", stopAll);

/**
 * Start sshd with a host key of each of `hostKeys` (made here), accepting
 * `authorizedKeys` for the current user. `extra`: more sshd_config lines.
 */
export async function startSshd(o: { hostKeys: KeyType[]; authorizedKeys: string[]; extra?: string[] }): Promise<Sshd> {
    if (!fs.existsSync(SSHD)) throw new Error(`${SSHD} is missing (lab/lab.sh install installs openssh-server)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-sshd-"));
    let proc: ChildProcess | undefined;
    let log = "";
    let exit: string | undefined;
    const server: Sshd = {
        port: 0,
        dir,
        log: () => log,
        stop: () => {
            running.delete(server);
            proc?.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    running.add(server);
    try {
        for (const t of o.hostKeys) keygen(path.join(dir, `host_${t}`), t);
        fs.writeFileSync(path.join(dir, "authorized_keys"), o.authorizedKeys.map(k => `${k}\n`).join(""), { mode: 0o600 });
        server.port = await freePort();
        // sshd takes the first value of a keyword: `extra` goes first to override.
        fs.writeFileSync(path.join(dir, "sshd_config"), [
            ...(o.extra ?? []), `Port ${server.port}`, "ListenAddress 127.0.0.1",
            ...o.hostKeys.map(t => `HostKey ${path.join(dir, `host_${t}`)}`),
            `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`, `PidFile ${path.join(dir, "sshd.pid")}`,
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "LogLevel VERBOSE", "",
        ].join("\n"));
        // Privilege separation needs this directory (systemd creates it for the real service).
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        proc = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
        proc.stderr!.on("data", d => { log += d; });
        proc.on("exit", (code, signal) => { exit = `${signal ?? code}: ${log.trim().split("\n").slice(-3).join(" / ")}`; });
        await waitForPort(server.port, 10000, () => exit);
        return server;
    } catch (e) {
        server.stop();
        throw e;
    }
}

/** The host key sshd offers of `type`. */
export function hostKeyOf(s: Sshd, type: KeyType): string {
    return publicKey(path.join(s.dir, `host_${type}`));
}
