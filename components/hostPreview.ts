// Read-only look at a host during `pulumi preview` (and the preview inside
// `pulumi up`): what the host script would change, over one SSH session
// (components/lookSsh.ts) with the pinned host key. Nothing is written on
// the host. The update run of a `pulumi up` takes the looks its preview took
// (components/lookCache.ts) instead of looking again.
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ResolvedHost } from "./args";
import { decodeHostResult, isFailed } from "./hostResult";
import { hostCommand, hostScript } from "./hostScript";
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

/** A look at a host: what it found, or why there is nothing, and what it was taken with. */
export type Look = { preview: HostPreview | null; error?: string; key?: string };

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
 * Look at one host over SSH, or take the look the preview of this `pulumi
 * up` took with the same settings (`handedOver`). Never fails: a look that
 * could not be taken says why in `error`.
 */
export function lookAt(h: ResolvedHost, connection: pulumi.Output<command.types.output.remote.Connection>, handedOver: CachedLook | undefined): pulumi.Output<Look> {
    const script = hostScript();
    return pulumi.unsecret(connection.apply(async (conn): Promise<Look> => {
        const target = {
            host: conn.host, port: conn.port ?? 22, user: conn.user ?? "root", privateKey: conn.privateKey,
            privateKeyPassword: conn.privateKeyPassword, password: conn.password,
            hostKey: conn.hostKey, insecureIgnoreHostKey: h.insecureIgnoreHostKey, timeoutSeconds: 10,
        };
        const cmd = hostCommand("preview", h, { reportFailure: true, digest: false });
        const key = lookKey({ host: target.host, port: target.port, user: target.user, hostKey: target.hostKey, command: cmd, script: script.digest });
        if (handedOver && handedOver.key === key) return { preview: handedOver.preview, key };
        try {
            return { preview: previewOf(h.name, await sshRunner.run(target, script.text, cmd)), key };
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
