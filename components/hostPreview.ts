// Read-only look at a host during `pulumi preview` (and the preview inside
// `pulumi up`): what the host script would change, over one SSH session
// with the system's OpenSSH client and the pinned host key. Nothing is
// written on the host.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lastJsonLine } from "./hostScript";

/** What the host script's `preview` action reports. */
export interface HostPreview {
    /** Whether an apply would change the services file or the MTA settings. */
    wouldChange: boolean;
    /** The file differs from what smtp-port last wrote (someone edited it). */
    drift: boolean;
    /**
     * The change token the host recorded: the number of changes so far, plus
     * a retry mark (`3@<time>`) when that change was a retry under a failure
     * budget. An apply that changes something records the token it was given.
     */
    generation: string;
    /** The port `smtp` resolves to now, or null. */
    servicePort: number | null;
    /** The port the MTA listens on for smtp, where the adapter can tell, or null. */
    mtaPort: number | null;
    /** `-`/`+` lines of the services file change. */
    diff: string[];
    /** MTA settings that would change, as `key: old -> new`. */
    mtaDiff: string[];
}

export interface SshTarget {
    host: string;
    port: number;
    user: string;
    privateKey?: string;
    hostKey?: string;
    insecureIgnoreHostKey: boolean;
    timeoutSeconds: number;
}

/** Parse the `preview` JSON line. */
export function parsePreview(stdout: string): HostPreview {
    const r = lastJsonLine(stdout);
    return {
        wouldChange: r.would_change === true,
        drift: r.drift === true,
        generation: String(r.generation ?? 0),
        servicePort: r.service_port ?? null,
        mtaPort: r.mta_port ?? null,
        diff: r.diff ?? [],
        mtaDiff: r.mta_diff ?? [],
    };
}

/**
 * The change token an apply would record: the next number, with `mark`
 * (under a failure budget, the attempt's time) so that a host whose last
 * attempt failed, and so is recorded in Pulumi's state with this very
 * number, still differs and is tried again.
 */
export function nextChange(generation: string, mark = ""): string {
    return `${(parseInt(generation, 10) || 0) + 1}${mark}`;
}

// Key exchanges the look prefers: those of pulumi-command's own SSH client
// (Go's x/crypto/ssh), which carries the change itself: ML-KEM hybrid where
// both ends have it, else curve25519. OpenSSH 9.x puts sntrup761 first,
// which costs about 70 ms of CPU per connection on each end (measured:
// 30 looks at once, 3.5 CPU-seconds with it, 0.9 without); a host that
// offers none of these still gets OpenSSH's own list after them.
const PREFERRED_KEX = ["mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org"];
let kexArgs: string[] | undefined;

/** `-o KexAlgorithms=^...` for this machine's ssh, or nothing when it cannot take it. */
export function lookKexArgs(): string[] {
    if (kexArgs !== undefined) return kexArgs;
    kexArgs = [];
    try {
        const known = new Set(spawnSync("ssh", ["-Q", "kex"], { encoding: "utf8", timeout: 5000 }).stdout.split("\n"));
        const want = PREFERRED_KEX.filter(k => known.has(k));
        if (want.length > 0) {
            const opt = `KexAlgorithms=^${want.join(",")}`;
            // -G prints the resulting settings without connecting: is "^" understood?
            if (spawnSync("ssh", ["-G", "-F", "/dev/null", "-o", opt, "check.invalid"], { stdio: "ignore", timeout: 5000 }).status === 0) kexArgs = ["-o", opt];
        }
    } catch {
        // OpenSSH's defaults, then.
    }
    return kexArgs;
}

/** Run `sh -s -- ARGS` on the host with the script on stdin; resolve with stdout, reject with a clear reason. */
export function runOverSsh(t: SshTarget, script: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        if (!t.privateKey) {
            reject(new Error("no private key (the preview reads hosts with key authentication only)"));
            return;
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-ssh-"));
        const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
        try {
            const key = path.join(dir, "key");
            fs.writeFileSync(key, t.privateKey.endsWith("\n") ? t.privateKey : t.privateKey + "\n", { mode: 0o600 });
            const known = path.join(dir, "known_hosts");
            const hostId = t.port === 22 ? t.host : `[${t.host}]:${t.port}`;
            fs.writeFileSync(known, t.hostKey ? `${hostId} ${t.hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n` : "");
            const args = [
                "-i", key, "-p", String(t.port), "-l", t.user,
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", `ConnectTimeout=${t.timeoutSeconds}`,
                "-o", `UserKnownHostsFile=${t.insecureIgnoreHostKey ? "/dev/null" : known}`,
                "-o", `StrictHostKeyChecking=${t.insecureIgnoreHostKey ? "no" : "yes"}`,
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-F", "/dev/null",
                ...lookKexArgs(),
                t.host, command,
            ];
            const p = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
            let out = "", err = "";
            p.stdout.on("data", d => out += d);
            p.stderr.on("data", d => err += d);
            p.on("error", e => { cleanup(); reject(new Error(`cannot run ssh: ${e.message}`)); });
            p.on("close", code => {
                cleanup();
                if (code === 0) resolve(out);
                else reject(new Error(err.trim().split("\n").slice(-3).join(" / ") || `ssh exited with ${code}`));
            });
            p.stdin.end(script);
        } catch (e) {
            cleanup();
            reject(e);
        }
    });
}

/** How the component reaches hosts for a look (replaceable in unit tests, which contact no host). */
export const sshRunner = { run: runOverSsh };

/** What a person reads in the preview for one host. */
export function describePreview(name: string, file: string, port: number, p: HostPreview): string {
    if (!p.wouldChange) return `${name}: ${file} already has smtp on ${port}; nothing to change`;
    const lines = [`${name}: ${file}${p.drift ? " (drifted: changed on the host since smtp-port wrote it)" : ""}`];
    for (const l of p.diff) lines.push(`${l[0]}  ${l.slice(1)}`);
    for (const m of p.mtaDiff) lines.push(`~  ${m}`);
    return lines.join("\n");
}
