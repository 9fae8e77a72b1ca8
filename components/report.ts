// What one host reports after `pulumi up` (the component's `results`), and
// the line per host of its `summary`.
import type { ResolvedHost } from "./args";
import type { CheckLine } from "./checkLines";
import type { Look } from "./hostPreview";
import { ApplyResult, FailedResult, isFailed } from "./hostResult";
import type { HostOutcome, HostStatus } from "./rollout";

/** What one host reports after `pulumi up`. */
export interface SmtpHostResult {
    /** The host's name. */
    name: string;
    /** The port declared for this host. */
    port: number;
    /** The port the service resolved to before the last change (the old port), or null if it had no entry. */
    oldPort: number | null;
    /** Whether the last run of the host script changed the services file. */
    changed: boolean;
    /** The entry that was added, or null when a matching entry already existed. */
    added: string | null;
    /** Lines commented out (as they were before), in file order. */
    commented: string[];
    /** Backup of the file as it was before smtp-port changed it, or null. */
    backup: string | null;
    /** Whether the mail service was restarted by the last run. */
    restarted: boolean;
    /** The mail server handled (`postfix`, `exim`, `sendmail`, `none`). */
    mta: string;
    /** Whether the mail server's configuration was changed by the last run. */
    mtaChanged: boolean;
    /** The greeting the host saw on itself after the restart, or null. */
    verifiedOnHost: string | null;
    /** The port the host's resolver gave the service after the last run. */
    resolverPort: number | null;
    /** The port the MTA listens on for the service after the last run, where the adapter can tell. */
    mtaPort: number | null;
    /** Whether this update changed the host (from the look before it), or null when hosts are not looked at. */
    changedThisUpdate: boolean | null;
    /** The greeting the listener check saw, or null when the host was not checked. */
    banner: string | null;
    /** How the host ended: changed, already right, rolled back, failed (the last two only with a failure budget). */
    status: HostStatus;
    /** Why the host failed, or null. */
    failure: string | null;
}

/** One host's report from its apply result, its check line, the look before the update and its outcome. */
export function hostReport(h: ResolvedHost, r: ApplyResult | FailedResult, check: CheckLine | null, look: Look, o: HostOutcome): SmtpHostResult {
    const a = isFailed(r) ? undefined : r;
    return {
        name: h.name,
        port: h.port,
        oldPort: a?.old_port ?? null,
        changed: a?.changed ?? false,
        added: a?.added ?? null,
        commented: a?.commented ?? [],
        backup: a?.backup ?? null,
        restarted: a?.restarted ?? false,
        mta: a?.mta ?? "none",
        mtaChanged: a?.mta_changed ?? false,
        verifiedOnHost: a?.verified ?? null,
        resolverPort: a?.resolver_port ?? null,
        mtaPort: a?.mta_port ?? null,
        changedThisUpdate: look.preview ? look.preview.wouldChange : null,
        banner: check?.banner ?? null,
        status: o.status,
        failure: o.detail ?? null,
    };
}

/**
 * One line for one host: `mx1: smtp 25 -> 17 (changed; commented 2 lines), greeting "220 ..."`.
 * @param r one host's result, as in `SmtpPort.results`
 */
export function describe(r: SmtpHostResult): string {
    const from = r.oldPort === null ? "none" : String(r.oldPort);
    const what = r.changed ? `changed; commented ${r.commented.length} line${r.commented.length === 1 ? "" : "s"}${r.restarted ? "; restarted" : ""}` : "unchanged";
    const greet = r.banner === null ? "listener check off" : `greeting ${JSON.stringify(r.banner)}`;
    return `${r.name}: smtp ${from} -> ${r.port} (${what}), ${greet}`;
}
