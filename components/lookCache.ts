// One look at each host per `pulumi up`: the preview run reads every host,
// and the update run right after it (a new program process, started by the
// same `pulumi` command) takes those looks instead of reading every host a
// second time. So the update does what the preview showed, and a no-op
// `pulumi up` costs one SSH session per host instead of two.
//
// The looks are handed over in a file named after the `pulumi` process
// (pid and start time, so a reused pid never matches), in a folder only
// this user can read; the update run deletes it. A `pulumi preview` on its
// own leaves its file behind: files older than an hour are removed.
import * as crypto from "crypto";
// The module itself, not a copy of its bindings: the tests replace
// fs.statSync to make another run's sweep happen at a set moment.
import fs = require("fs");
import * as os from "os";
import * as path from "path";
import { HostPreview } from "./hostPreview";

/** A look as handed over: what it was taken with (hash), and what it found. */
export interface CachedLook {
    key: string;
    preview: HostPreview;
    /** The host had this script version's copy (the look did not send it); absent: unknown, copy. */
    hasCopy?: boolean;
}

const MAX_AGE_MS = 3600_000;

/** The folder for hand-over files (created 0700). */
export function cacheDir(): string {
    const uid = typeof process.getuid === "function" ? process.getuid() : "user";
    return path.join(os.tmpdir(), `smtp-port-${uid}`);
}

/** The fields of /proc/PID/stat after the command name (Linux), or undefined. */
function statFields(pid: number): string[] | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The command name is in parentheses and may hold spaces.
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    } catch {
        return undefined;
    }
}

/**
 * Which `pulumi` command this program runs under: the program's parent is
 * the language host (one per run), its parent the `pulumi` command.
 * Undefined when that cannot be told (no /proc).
 */
export function invocation(): string | undefined {
    const ppid = Number(statFields(process.ppid)?.[1]);
    if (!(ppid > 1)) return undefined;
    const startTime = statFields(ppid)?.[19];
    return startTime === undefined ? undefined : `${ppid}-${startTime}`;
}

/** What a look depends on: where it went and what it ran (no secrets). */
export function lookKey(parts: Record<string, unknown>): string {
    return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** The folder, only if it is ours and private (never another user's, in /tmp). */
function privateDir(dir: string, create: boolean): boolean {
    try {
        if (create) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const st = fs.lstatSync(dir);
        const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
        return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
    } catch {
        return false;
    }
}

function fileFor(inv: string, component: string, dir: string): string {
    const c = crypto.createHash("sha256").update(`${process.cwd()}\0${component}`).digest("hex").slice(0, 16);
    return path.join(dir, `looks-${inv}-${c}.json`);
}

/** Preview run: leave the looks for the update run of the same command. */
export function saveLooks(component: string, looks: Record<string, CachedLook>, inv = invocation(), dir = cacheDir()): void {
    if (inv === undefined || !privateDir(dir, true)) return;
    try {
        const now = Date.now();
        for (const f of fs.readdirSync(dir)) {
            if (f.startsWith("looks-")) removeIfStale(path.join(dir, f), now);
        }
        const file = fileFor(inv, component, dir);
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(looks), { mode: 0o600 });
        fs.renameSync(`${file}.tmp`, file);
    } catch {
        // Only a speed-up: without it, the update run reads the hosts itself.
    }
}

/**
 * Another preview (of another stack, or another `pulumi` command) may sweep
 * the folder at the same time: a file it removed first is no error, and
 * this run still saves its looks.
 */
function removeIfStale(file: string, now: number): void {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st !== undefined && now - st.mtimeMs > MAX_AGE_MS) fs.rmSync(file, { force: true });
}

/** Update run: take (and remove) the looks the preview of the same command left. */
export function takeLooks(component: string, inv = invocation(), dir = cacheDir()): Record<string, CachedLook> {
    if (inv === undefined || !privateDir(dir, false)) return {};
    const file = fileFor(inv, component, dir);
    try {
        const looks = JSON.parse(fs.readFileSync(file, "utf8"));
        // Removed meanwhile (another run's sweep): no error, the looks were read.
        fs.rmSync(file, { force: true });
        return looks && typeof looks === "object" ? looks : {};
    } catch {
        return {};
    }
}
