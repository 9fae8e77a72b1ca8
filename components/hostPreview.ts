// Read-only look at a host during `pulumi preview` (and the preview inside
// `pulumi up`): what the host script would change, over one SSH session
// (components/lookSsh.ts) with the pinned host key. Nothing is written on
// the host.
import { lastJsonLine } from "./hostScript";
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
