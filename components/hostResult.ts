// The contract between the host script (components/host/smtp-port.sh) and
// everything that reads what it did. The script prints exactly one JSON
// object on the last line of stdout for every action, success or failure;
// this module is the only place that decodes it. Nothing else parses the
// script's output, and nothing reads its English messages (stderr) to learn
// what happened: every outcome is a field here.
//
// Versioned: `schema` is bumped when a field changes meaning or goes away
// (adding a field does not bump it). The decoder refuses other versions, so
// a component never misreads a host that runs a different script version.

/** The schema version this module decodes, and the script prints. */
export const HOST_RESULT_SCHEMA = 1;

/** What a failed run reports (any action). The script exits 1 after printing it, or 0 with `--report-failure yes`. */
export interface FailedResult {
    schema: 1;
    action: "apply" | "revert" | "status" | "preview";
    status: "failed";
    /** The host label (`--host-label`, default: the host's name). */
    host: string;
    file: string;
    /** Why, for people: names the file or host and the cause. Never parsed. */
    reason: string;
    /** True when the run had changed the host and put it back (file, state, MTA settings, restart) before failing. */
    rolled_back: boolean;
}

/** `apply`: the services file (and MTA settings) made to match the declared port. */
export interface ApplyResult {
    schema: 1;
    action: "apply";
    /** `changed`: the file or the MTA settings were changed (and the MTA restarted if set); `unchanged`: already right. */
    status: "changed" | "unchanged";
    host: string;
    file: string;
    service: string;
    protocol: "tcp" | "udp";
    /** The declared port. */
    port: number;
    /** The port the service resolved to before this run (the old port), or null if it had no entry. */
    old_port: number | null;
    /** Whether the services file was rewritten by this run. */
    changed: boolean;
    /** The entry this run (or an earlier one) added, or null when the declared entry was already the user's. */
    added: string | null;
    /** Lines commented out (as they read before), in file order. */
    commented: string[];
    /** Path of the backup of the user's file, or null. */
    backup: string | null;
    /** The mail server handled: postfix, exim, sendmail or none (auto resolved). */
    mta: "postfix" | "exim" | "sendmail" | "none";
    mta_changed: boolean;
    restarted: boolean;
    /** The greeting the on-host verification saw, or null (not restarted, or verification off). */
    verified: string | null;
    /** The port the resolver gives the service after this run. */
    resolver_port: number | null;
    /** The port the MTA listens on for the service after this run, where the adapter can tell. */
    mta_port: number | null;
    /** The change token the host records after this run (see `PreviewResult.change`). */
    change: string;
}

/** `revert`: the file and MTA settings put back as they were before smtp-port. */
export interface RevertResult {
    schema: 1;
    action: "revert";
    /** `reverted`: the host was changed back; `unchanged`: it was managed but already as the user left it. */
    status: "reverted" | "unchanged";
    host: string;
    file: string;
    changed: boolean;
    /** How the user's file was recovered: `backup` (the file was as smtp-port wrote it), `merge` (edited since: smtp-port's edits undone, the user's kept), `file` (the file itself: nothing of ours was left in it), `none` (nothing of the file was managed). */
    mode: "backup" | "merge" | "file" | "none";
    mta: "postfix" | "exim" | "sendmail" | "none";
    mta_changed: boolean;
    restarted: boolean;
}

/** `status`: read-only, what the resolver sees now. */
export interface StatusResult {
    schema: 1;
    action: "status";
    /** `managed`: smtp-port has state for this file; `not_managed`: it has none. */
    status: "managed" | "not_managed";
    host: string;
    file: string;
    service: string;
    protocol: "tcp" | "udp";
    /** The port the service resolves to, or null. */
    service_port: number | null;
    /** The port asked about (`--port`), or null. */
    port: number | null;
    /** The first name on `port`, or null. */
    port_name: string | null;
    /** The file differs from what smtp-port last wrote; null when not managed. */
    drift: boolean | null;
    /** A write of the file was interrupted (kill -9, power loss) and the next run will repair it. */
    interrupted: boolean;
}

/** `preview`: read-only, what `apply` with the same options would do. */
export interface PreviewResult {
    schema: 1;
    action: "preview";
    /** `would_change`: an apply would change the file or MTA settings; `no_change`: it would not. */
    status: "would_change" | "no_change";
    host: string;
    file: string;
    port: number;
    /** The file differs from what smtp-port last wrote (someone edited it), or a write was interrupted. */
    drift: boolean;
    /**
     * The change token the host recorded: the number of changes so far, plus a
     * retry mark (`3@<time>`) when that change was a retry under a failure
     * budget. An apply that changes something records the token it is given
     * (`--change`).
     */
    change: string;
    /** The port the service resolves to now, or null. */
    service_port: number | null;
    mta: "postfix" | "exim" | "sendmail" | "none";
    /** The port the MTA listens on now, where the adapter can tell. */
    mta_port: number | null;
    /** `-`/`+` lines of the services file change. */
    diff: string[];
    /** MTA settings that would change, as `key: old -> new`. */
    mta_diff: string[];
}

/** The result line of one host script run (`status` says how it went; docs/host-script.md lists every field). */
export type HostResult = ApplyResult | RevertResult | StatusResult | PreviewResult | FailedResult;
type Action = HostResult["action"];
type ResultOf<A extends Action> = Extract<HostResult, { action: A }>;

/** The script's output could not be decoded: no result line, another schema, or a field of the wrong type. */
export class HostResultError extends Error {
    /** @param message what is wrong, starting with the host's name */
    constructor(message: string) {
        super(message);
        this.name = "HostResultError";
    }
}

const STATUSES: Record<Action, string[]> = {
    apply: ["changed", "unchanged", "failed"],
    revert: ["reverted", "unchanged", "failed"],
    status: ["managed", "not_managed", "failed"],
    preview: ["would_change", "no_change", "failed"],
};

/**
 * Decode the result line of one host script run: the last non-empty line of
 * `stdout`, which must be a schema-1 object for `action`. `host` names the
 * host in errors.
 * @param host the host's name, for errors
 * @param action the script's action that ran: `apply`, `revert`, `status` or `preview`
 * @param stdout everything the script printed on stdout
 */
export function decodeHostResult<A extends Action>(host: string, action: A, stdout: string): ResultOf<A> | FailedResult {
    const lines = stdout.split("\n").map(l => l.trim()).filter(l => l !== "");
    const last = lines[lines.length - 1];
    const shown = JSON.stringify(stdout.length > 300 ? `${stdout.slice(0, 300)}...` : stdout);
    if (last === undefined) throw new HostResultError(`${host}: the host script printed no result line (stdout: ${shown})`);
    let r: any;
    try {
        r = JSON.parse(last);
    } catch (e) {
        throw new HostResultError(`${host}: the host script's result line is not JSON (${(e as Error).message}): ${JSON.stringify(last.slice(0, 300))}`);
    }
    const problems: string[] = [];
    if (r === null || typeof r !== "object" || Array.isArray(r)) throw new HostResultError(`${host}: the host script's result line is not a JSON object: ${JSON.stringify(last.slice(0, 300))}`);
    if (r.schema !== HOST_RESULT_SCHEMA) {
        throw new HostResultError(`${host}: the host script's result has schema ${JSON.stringify(r.schema)}, this component reads schema ${HOST_RESULT_SCHEMA} (is the host running another version of smtp-port.sh?)`);
    }
    if (r.action !== action) problems.push(`action is ${JSON.stringify(r.action)}, expected "${action}"`);
    if (!STATUSES[action].includes(r.status)) problems.push(`status is ${JSON.stringify(r.status)}, expected one of ${STATUSES[action].join(", ")}`);
    const need = (field: string, type: "string" | "number" | "boolean" | "string[]", nullable = false) => {
        const v = r[field];
        if (nullable && v === null) return;
        const ok = type === "string[]" ? Array.isArray(v) && v.every((x: unknown) => typeof x === "string") : typeof v === type;
        if (!ok) problems.push(`${field} must be ${type}${nullable ? " or null" : ""}, got ${JSON.stringify(v)}`);
    };
    need("host", "string");
    need("file", "string");
    if (r.status === "failed") {
        need("reason", "string");
        need("rolled_back", "boolean");
    } else if (action === "apply") {
        need("service", "string"); need("protocol", "string"); need("port", "number"); need("old_port", "number", true);
        need("changed", "boolean"); need("added", "string", true); need("commented", "string[]"); need("backup", "string", true);
        need("mta", "string"); need("mta_changed", "boolean"); need("restarted", "boolean"); need("verified", "string", true);
        need("resolver_port", "number", true); need("mta_port", "number", true); need("change", "string");
    } else if (action === "revert") {
        need("changed", "boolean"); need("mode", "string"); need("mta", "string"); need("mta_changed", "boolean"); need("restarted", "boolean");
    } else if (action === "status") {
        need("service", "string"); need("protocol", "string"); need("service_port", "number", true); need("port", "number", true);
        need("port_name", "string", true); need("drift", "boolean", true); need("interrupted", "boolean");
    } else if (action === "preview") {
        need("port", "number"); need("drift", "boolean"); need("change", "string"); need("service_port", "number", true);
        need("mta", "string"); need("mta_port", "number", true); need("diff", "string[]"); need("mta_diff", "string[]");
    }
    if (problems.length > 0) throw new HostResultError(`${host}: the host script's ${action} result does not match schema ${HOST_RESULT_SCHEMA}: ${problems.join("; ")}`);
    return r;
}

/** Whether a decoded result is a failure. */
export function isFailed(r: HostResult): r is FailedResult {
    return r.status === "failed";
}
