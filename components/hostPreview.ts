// Read-only look at a host during `pulumi preview` (and the preview inside
// `pulumi up`): what the host script would change, over one SSH session
// (components/lookSsh.ts) with the pinned host key. It runs the host's copy
// of the script (the one the reconcile runs) when that copy is there with
// this version's digest; only otherwise is the script (62 KB) sent, on the
// session's stdin. Nothing is written on the host. The update run of a
// `pulumi up` takes the looks its preview took (components/lookCache.ts)
// instead of looking again.
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost } from "./args";
import type { ResolvedConnection } from "./connectionCheck";
import { decodeHostResult, isFailed } from "./hostResult";
import { hostScript, lookCommand, remoteScriptPath, SEND_SCRIPT } from "./hostScript";
import { CachedLook, lookKey } from "./lookCache";
import { runOverSsh } from "./lookSsh";

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
    change: string;
    /** The port `smtp` resolves to now, or null. */
    servicePort: number | null;
    /** The port the MTA listens on for smtp, where the adapter can tell, or null. */
    mtaPort: number | null;
    /** `-`/`+` lines of the services file change. */
    diff: string[];
    /** MTA settings that would change, as `key: old -> new`. */
    mtaDiff: string[];
}

/**
 * A look at a host: what it found, or why there is nothing, and what it was
 * taken with; `hasCopy`: the host had this script version's copy (the look
 * ran it rather than being sent the script), so the update needs no copy.
 */
export type Look = { preview: HostPreview | null; error?: string; key?: string; hasCopy?: boolean };

/** The preview of one host from the script's output; throws the script's reason when it failed. */
export function previewOf(host: string, stdout: string): HostPreview {
    const r = decodeHostResult(host, "preview", stdout);
    if (isFailed(r)) throw new Error(r.reason);
    return {
        wouldChange: r.status === "would_change",
        drift: r.drift,
        change: r.change,
        servicePort: r.service_port,
        mtaPort: r.mta_port,
        diff: r.diff,
        mtaDiff: r.mta_diff,
    };
}

/**
 * The change token an apply would record: the next number, with `mark`
 * (under a failure budget, the attempt's time) so that a host whose last
 * attempt failed, and so is recorded in Pulumi's state with this very
 * number, still differs and is tried again.
 */
export function nextChange(change: string, mark = ""): string {
    return `${(parseInt(change, 10) || 0) + 1}${mark}`;
}

/** How the component reaches hosts for a look (replaceable in unit tests, which contact no host). */
export const sshRunner = { run: runOverSsh };

/**
 * Where a look logs in, from the resolved connection: the host, through its
 * bastion (`proxy`) if it has one. With no key, password or
 * `agentSocketPath`, the SSH agent of the environment (`SSH_AUTH_SOCK`), as
 * the command provider falls back to it: so a fleet whose keys stay in an
 * agent keeps no secret in the state, and its looks still log in.
 */
export function lookTarget(conn: ResolvedConnection, insecureIgnoreHostKey: boolean, env: NodeJS.ProcessEnv = process.env) {
    const endpoint = (e: ResolvedConnection | NonNullable<ResolvedConnection["proxy"]>) => ({
        host: e.host, port: e.port ?? 22, user: e.user ?? "root", privateKey: e.privateKey, privateKeyPassword: e.privateKeyPassword,
        password: e.password, agent: e.agentSocketPath || (e.privateKey || e.password ? undefined : env.SSH_AUTH_SOCK || undefined),
        hostKey: e.hostKey, insecureIgnoreHostKey,
    });
    return { ...endpoint(conn), timeoutSeconds: 10, ...(conn.proxy ? { proxy: endpoint(conn.proxy) } : {}) };
}

/**
 * Look at one host over SSH, or take the look the preview of this `pulumi
 * up` took with the same settings (`handedOver`). Never fails: a look that
 * could not be taken says why in `error`.
 */
export function lookAt(h: ResolvedHost, connection: pulumi.Output<ResolvedConnection>, handedOver: CachedLook | undefined): pulumi.Output<Look> {
    const script = hostScript();
    return pulumi.unsecret(connection.apply(async (conn): Promise<Look> => {
        const target = lookTarget(conn, h.insecureIgnoreHostKey);
        const cmd = lookCommand(h, remoteScriptPath());
        // What the look depends on (no secrets): where it went and what it ran.
        const hop = (e: { host: string; port: number; user: string; hostKey?: string }) => ({ host: e.host, port: e.port, user: e.user, hostKey: e.hostKey });
        const key = lookKey({ ...hop(target), proxy: target.proxy ? hop(target.proxy) : null, command: cmd, script: script.digest });
        if (handedOver && handedOver.key === key) return { preview: handedOver.preview, key, hasCopy: handedOver.hasCopy === true };
        try {
            // The script goes on stdin only when the host asks for it (no copy of this version yet).
            let sent = false;
            const out = await sshRunner.run(target, { onRequest: SEND_SCRIPT, text: script.text, onSend: () => { sent = true; } }, cmd);
            return { preview: previewOf(h.name, out), key, hasCopy: !sent };
        } catch (e) {
            return { preview: null, error: (e as Error).message };
        }
    }));
}

/** The change token the apply is given: the next one when the look expects a change, "unknown" without a look. */
export function changeToken(look: Look, mark: string): string {
    if (!look.preview) return "unknown";
    return look.preview.wouldChange ? nextChange(look.preview.change, mark) : look.preview.change;
}

/** What a person reads in the preview for one host. */
export function describePreview(name: string, file: string, port: number, p: HostPreview): string {
    if (!p.wouldChange) return `${name}: ${file} already has smtp on ${port}; nothing to change`;
    const lines = [`${name}: ${file}${p.drift ? " (drifted: changed on the host since smtp-port wrote it)" : ""}`];
    for (const l of p.diff) lines.push(`${l[0]}  ${l.slice(1)}`);
    for (const m of p.mtaDiff) lines.push(`~  ${m}`);
    return lines.join("\n");
}
