// Runs the real host script under a real shell against real files, and asks
// the real resolver (glibc getent, with the file bind-mounted over
// /etc/services in a private mount namespace) what it makes of the result.
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// SMTP_PORT_HOST_SCRIPT: another copy of the script (the mutation runner's mutants).
export const SCRIPT = process.env.SMTP_PORT_HOST_SCRIPT || path.join(__dirname, "..", "..", "components", "host", "smtp-port.sh");

/** A shell and the tools the script finds on PATH. */
export interface Shell {
    name: string;
    argv: string[];
    path: string;
}

let busyboxBin: string | undefined;
/** A folder where every tool is a busybox applet, as on Alpine or in an initramfs. */
function busyboxPath(): string {
    if (!busyboxBin) {
        busyboxBin = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-busybox-"));
        fs.chmodSync(busyboxBin, 0o755); // tests also run it as nobody
        const applets = spawnSync("busybox", ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
        for (const a of applets) fs.symlinkSync("/bin/busybox", path.join(busyboxBin, a));
    }
    return busyboxBin;
}

const ALL_SHELLS: Shell[] = [
    { name: "dash", argv: ["/bin/dash"], path: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" },
    { name: "bash", argv: ["/bin/bash", "--posix"], path: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" },
    { name: "busybox sh (busybox tools)", argv: ["/bin/busybox", "sh"], get path() { return busyboxPath(); } },
];

// SMTP_PORT_TEST_SHELLS=dash (comma-separated first words: dash, bash, busybox) runs fewer shells.
const only = process.env.SMTP_PORT_TEST_SHELLS?.split(",").map(s => s.trim()).filter(Boolean);
export const SHELLS: Shell[] = only ? ALL_SHELLS.filter(s => only.includes(s.name.split(" ")[0])) : ALL_SHELLS;

export interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
    json: any;
}

export function runScript(shell: Shell, args: string[], opts: { env?: Record<string, string>; prefix?: string[]; pathPrefix?: string } = {}): Run {
    const argv = [...(opts.prefix ?? []), ...shell.argv, SCRIPT, ...args];
    const r: SpawnSyncReturns<string> = spawnSync(argv[0], argv.slice(1), {
        encoding: "utf8",
        env: { PATH: (opts.pathPrefix ? opts.pathPrefix + ":" : "") + shell.path, LC_ALL: "C", ...opts.env },
        timeout: 60_000,
    });
    let json: any;
    const lines = r.stdout.trim().split("\n").filter(Boolean);
    if (lines.length === 1) {
        try { json = JSON.parse(lines[0]); } catch { /* the assertion on json will say so */ }
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** What glibc answers for `query` (e.g. "smtp/tcp", "17/tcp") when `file` is /etc/services. */
export function resolve(file: string, query: string): string | null {
    const r = spawnSync("unshare", ["-m", "sh", "-c", 'mount --bind "$1" /etc/services && exec getent services "$2"', "resolve", file, query], { encoding: "utf8" });
    if (r.status === 2) return null; // not found
    if (r.status !== 0) throw new Error(`getent failed: ${r.stderr}`);
    return r.stdout.trim().replace(/\s+/g, " ");
}

/** Port the resolver gives for a service, or null. */
export function resolvedPort(file: string, service = "smtp", proto = "tcp"): number | null {
    const r = resolve(file, `${service}/${proto}`);
    return r === null ? null : Number(r.split(" ")[1].split("/")[0]);
}

/** Name the resolver gives for a port, or null. */
export function resolvedName(file: string, port: number, proto = "tcp"): string | null {
    const r = resolve(file, `${port}/${proto}`);
    return r === null ? null : r.split(" ")[0];
}

export function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-test-"));
}
