// Runs the real host script under a real shell against real files, and asks
// the real resolver (glibc getent, with the file bind-mounted over
// /etc/services in a private mount namespace) what it makes of the result.
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The script under test (SMTP_PORT_HOST_SCRIPT: another version, to see a test fail before a fix; the mutation runner's mutants). */
export const SCRIPT = path.resolve(process.env.SMTP_PORT_HOST_SCRIPT ?? path.join(__dirname, "..", "..", "components", "host", "smtp-port.sh"));

/** A shell and the tools the script finds on PATH. */
export interface Shell {
    name: string;
    argv: string[];
    path: string;
}

// Every folder made here is removed when the test process exits, whatever
// the tests' outcome: a run of the host layer makes hundreds.
const made: string[] = [];
process.on("exit", () => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
function madeDir(prefix: string, mode?: number): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    if (mode !== undefined) fs.chmodSync(d, mode);
    return d;
}

let workDir: string | undefined;
/**
 * The script's working directory: an empty folder, so that a relative path
 * in the script (or in a mutant of it) lands in a temporary folder, not in
 * the checkout the tests run from.
 */
function scriptCwd(): string {
    workDir ??= madeDir("smtp-port-cwd-", 0o755);
    return workDir;
}

let busyboxBin: string | undefined;
/** A folder where every tool is a busybox applet, as on Alpine or in an initramfs. */
function busyboxPath(): string {
    if (!busyboxBin) {
        busyboxBin = madeDir("smtp-port-busybox-", 0o755); // tests also run it as nobody
        const applets = spawnSync("busybox", ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
        for (const a of applets) fs.symlinkSync("/bin/busybox", path.join(busyboxBin, a));
    }
    return busyboxBin;
}

let mawkBin: string | undefined;
/**
 * A folder whose awk is mawk, Debian's default: installing gawk (the tests
 * use it too) makes /usr/bin/awk gawk, and the hosts run mawk.
 */
function debianAwk(): string {
    if (!mawkBin) {
        mawkBin = madeDir("smtp-port-mawk-", 0o755); // tests also run it as nobody
        fs.symlinkSync("/usr/bin/mawk", path.join(mawkBin, "awk"));
    }
    return mawkBin;
}

const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

const ALL_SHELLS: Shell[] = [
    { name: "dash", argv: ["/bin/dash"], get path() { return `${debianAwk()}:${SYSTEM_PATH}`; } },
    { name: "bash", argv: ["/bin/bash", "--posix"], get path() { return `${debianAwk()}:${SYSTEM_PATH}`; } },
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

/**
 * Run the script. Unless `args` name an `--mta` (or `opts.asIs`), `--mta none`
 * is added: the script's default (auto) would find and reconfigure this
 * machine's own Postfix.
 */
export function runScript(shell: Shell, args: string[], opts: { env?: Record<string, string>; prefix?: string[]; pathPrefix?: string; asIs?: boolean } = {}): Run {
    const extra = !opts.asIs && args.length > 0 && args[0] !== "status" && !args.includes("--mta") ? ["--mta", "none"] : [];
    const argv = [...(opts.prefix ?? []), ...shell.argv, SCRIPT, ...args, ...extra];
    const r: SpawnSyncReturns<string> = spawnSync(argv[0], argv.slice(1), {
        encoding: "utf8",
        cwd: scriptCwd(),
        env: { PATH: (opts.pathPrefix ? opts.pathPrefix + ":" : "") + shell.path, LC_ALL: "C", ...opts.env },
        timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: resultOf(r.stdout) };
}

/** The result line: stdout must be exactly one JSON object line (undefined otherwise: the assertion on it will say so). */
export function resultOf(stdout: string): any {
    const lines = stdout.split("\n").filter(Boolean);
    if (lines.length !== 1 || !stdout.endsWith("\n")) return undefined;
    try { return JSON.parse(lines[0]); } catch { return undefined; }
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

/** A new temporary folder, removed when the test process exits. */
export function tempDir(): string {
    return madeDir("smtp-port-test-");
}

/**
 * A folder of stand-in commands to put first on PATH (`pathPrefix`): each is
 * `#!/bin/sh`, then BODY with PATH minus that folder, so `exec NAME "$@"`
 * reaches the real command. Readable by all (tests that run as nobody).
 */
export function shimDir(scripts: Record<string, string>): string {
    const d = tempDir();
    fs.chmodSync(d, 0o755);
    for (const [name, body] of Object.entries(scripts)) {
        fs.writeFileSync(path.join(d, name), `#!/bin/sh\nPATH=\${PATH#*:}\n${body}\n`, { mode: 0o755 });
    }
    return d;
}
