import { lastJsonLine } from "./hostScript";

/** How a fleet changes: a canary first, then batches, each after the previous one passed. */
export interface RolloutArgs {
    /**
     * Name of a host that changes, and passes its checks, before any other
     * host starts. Default: none.
     */
    canary?: string;
    /**
     * At most this many hosts change at the same time: a count (`5`) or a
     * share of the fleet (`"20%"`, rounded up). Each batch starts only after
     * every host of the previous batch passed its checks; a failed host
     * stops the rollout there (the hosts after it are not touched).
     * Default: all hosts at once.
     */
    batchSize?: number | string;
    /**
     * Stop the rollout once this many hosts have failed. With a budget, a
     * host that fails (rolled back by itself, refused before changing, its
     * listener check failed, or unreachable when the program looked at it)
     * is recorded instead of failing its step; before each wave a gate
     * counts the failures of the waves before it, and once `failureBudget`
     * hosts failed the gate fails, so no later host is touched. The
     * `pulumi up` then fails with one error listing changed, rolled back,
     * failed and untouched hosts (also when fewer hosts failed than the
     * budget allows). Needs `previewHosts` (the look at each host is what
     * finds unreachable hosts and retries failed ones on the next `up`).
     * Default: none: the first failed step stops the rollout, as Pulumi
     * does by itself, and Pulumi's error names the host.
     */
    failureBudget?: number;
}

/** Problems with rollout settings, each naming the field. */
export function rolloutProblems(r: RolloutArgs | undefined, hostNames: string[], previewHosts = true): string[] {
    if (r === undefined) return [];
    const out: string[] = [];
    if (r === null || typeof r !== "object") return [`[rollout] must be an object like { canary: "mx1", batchSize: "10%", failureBudget: 2 }, got ${JSON.stringify(r)}`];
    if (r.canary !== undefined && !hostNames.includes(r.canary)) {
        out.push(`[rollout.canary] must name a host of the fleet, got ${JSON.stringify(r.canary)}`);
    }
    if (r.batchSize !== undefined && batchCount(r.batchSize, Math.max(hostNames.length, 1)) === undefined) {
        out.push(`[rollout.batchSize] must be a positive integer or a percentage like "20%", got ${JSON.stringify(r.batchSize)}`);
    }
    if (r.failureBudget !== undefined) {
        if (!Number.isInteger(r.failureBudget) || r.failureBudget < 1) {
            out.push(`[rollout.failureBudget] must be a whole number of hosts, at least 1, got ${JSON.stringify(r.failureBudget)}`);
        } else if (!previewHosts) {
            out.push("[rollout.failureBudget] needs previewHosts: the look at each host is what finds unreachable hosts and retries failed ones");
        }
    }
    return out;
}

function batchCount(size: number | string, fleet: number): number | undefined {
    if (typeof size === "number") return Number.isInteger(size) && size > 0 ? size : undefined;
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(String(size));
    if (m) {
        const pct = Number(m[1]);
        return pct > 0 && pct <= 100 ? Math.max(1, Math.ceil((fleet * pct) / 100)) : undefined;
    }
    return /^\s*\d+\s*$/.test(String(size)) && Number(size) > 0 ? Number(size) : undefined;
}

/**
 * The waves of a rollout, in order: the canary alone, then the other hosts in
 * the order given, in batches. Every host is in exactly one wave.
 */
export function planWaves(hostNames: string[], r: RolloutArgs | undefined): string[][] {
    const rest = hostNames.filter(h => h !== r?.canary);
    const waves: string[][] = r?.canary !== undefined && hostNames.includes(r.canary) ? [[r.canary]] : [];
    const size = r?.batchSize === undefined ? rest.length : (batchCount(r.batchSize, hostNames.length) ?? rest.length);
    for (let i = 0; i < rest.length; i += Math.max(size, 1)) waves.push(rest.slice(i, i + Math.max(size, 1)));
    return waves;
}

/** How one host ended in a rollout with a failure budget. */
export type HostStatus = "changed" | "already right" | "rolled back" | "failed" | "unreachable";

/** One host's outcome, as the gates and the final verdict count it. */
export interface HostOutcome {
    name: string;
    status: HostStatus;
    /** Why it failed (the host script's or the listener check's message). */
    detail?: string;
}

const FAILED: HostStatus[] = ["rolled back", "failed", "unreachable"];

/** Whether an outcome counts against the failure budget. */
export function isFailure(o: HostOutcome): boolean {
    return FAILED.includes(o.status);
}

/**
 * A host's outcome from what its steps printed: the host script's result
 * line (or the `{"failed":...}` line added when it failed), its error
 * output, the listener check's result (null when checks are off), and
 * whether the look before the update expected a change (null: not looked).
 */
export function hostOutcome(name: string, stdout: string, stderr: string, check: string | null, wouldChange: boolean | null): HostOutcome {
    let r: any = {};
    try {
        r = lastJsonLine(stdout);
    } catch {
        return { name, status: "failed", detail: `the host script printed no result line: ${JSON.stringify(stdout.slice(0, 200))}` };
    }
    if (r.failed) {
        const errors = stderr.split("\n").filter(l => l.startsWith("smtp-port: error: "));
        const detail = errors.length > 0 ? errors[errors.length - 1].slice("smtp-port: error: ".length) : `the host script exited with ${r.exit}: ${stderr.trim().split("\n").pop() ?? ""}`;
        return { name, status: /; rolled back in /.test(detail) ? "rolled back" : "failed", detail };
    }
    if (check !== null) {
        let c: any;
        try {
            c = lastJsonLine(check);
        } catch {
            return { name, status: "failed", detail: `the listener check printed no result: ${JSON.stringify(check.slice(0, 200))}` };
        }
        if (c.ok !== true) return { name, status: "failed", detail: c.message ?? "the listener check failed" };
    }
    const changed = wouldChange ?? (r.changed === true || r.mta_changed === true);
    return { name, status: changed ? "changed" : "already right" };
}

/** What a gate (before a wave) or the final verdict decides, and says. */
export interface RolloutDecision {
    /** Stop here: the gate or verdict fails, so nothing after it runs. */
    stop: boolean;
    /** The message: stable while every host passes, so a converged fleet shows no change. */
    text: string;
}

/**
 * The decision before wave `wave` (1-based, of `waves`), or at the end
 * (`wave` > `waves`): `done` are the outcomes of every earlier wave,
 * `untouched` the hosts of this and later waves.
 */
export function rolloutDecision(component: string, budget: number, wave: number, waves: number, done: HostOutcome[], untouched: string[]): RolloutDecision {
    const failures = done.filter(isFailure);
    const atEnd = wave > waves;
    const stop = atEnd ? failures.length > 0 : failures.length >= budget;
    const who = `smtp-port "${component}"`;
    if (!stop) {
        const passed = done.map(o => o.name).join(", ");
        if (failures.length === 0) {
            return { stop, text: atEnd ? `${who}: all ${done.length} host${done.length === 1 ? "" : "s"} passed: ${passed}` : `${who}: wave ${wave} of ${waves} may start: every host before it passed (${passed})` };
        }
    }
    const by = (s: HostStatus) => done.filter(o => o.status === s);
    const head = atEnd
        ? `${who}: ${failures.length} of ${done.length} host${done.length === 1 ? "" : "s"} failed (failure budget ${budget})`
        : stop
            ? `${who}: rollout stopped before wave ${wave} of ${waves}: ${failures.length} host${failures.length === 1 ? "" : "s"} failed, the failure budget is ${budget}; no later host was touched`
            : `${who}: wave ${wave} of ${waves} may start: ${failures.length} host${failures.length === 1 ? "" : "s"} failed so far, the failure budget is ${budget}`;
    const lines = [head];
    const list = (label: string, names: string[]) => { if (names.length > 0) lines.push(`  ${label} (${names.length}): ${names.join(", ")}`); };
    list("changed", by("changed").map(o => o.name));
    list("already right", by("already right").map(o => o.name));
    for (const s of ["rolled back", "failed", "unreachable"] as HostStatus[]) {
        for (const o of by(s)) lines.push(`  ${s}: ${o.name}: ${o.detail ?? ""}`.trimEnd());
    }
    list("untouched", untouched);
    return { stop, text: lines.join("\n") };
}
