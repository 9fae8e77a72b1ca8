import * as pulumi from "@pulumi/pulumi";
import { CheckLine, CheckTarget } from "./checkLines";
import { ApplyResult, decodeHostResult, FailedResult, HOST_RESULT_SCHEMA, HostResultError, isFailed } from "./hostResult";

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

/**
 * Problems with rollout settings, each naming the field.
 * @param r the rollout settings; undefined: none, no problem
 * @param hostNames the fleet's host names (the canary must be one of them)
 * @param previewHosts whether hosts are looked at (a failure budget needs it). Default `true`
 */
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
 * @param hostNames the fleet's host names, in order
 * @param r the rollout settings; undefined: one wave of every host
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
 * A host's outcome: the host script's result, the listener check's line
 * (null: not checked), and whether the look before the update expected a
 * change (null: not looked).
 */
export function hostOutcome(name: string, result: ApplyResult | FailedResult, check: CheckLine | null, wouldChange: boolean | null): HostOutcome {
    if (isFailed(result)) return { name, status: result.rolled_back ? "rolled back" : "failed", detail: result.reason };
    if (check !== null && !check.ok) return { name, status: "failed", detail: check.message ?? "the listener check failed" };
    const changed = wouldChange ?? (result.changed || result.mta_changed);
    return { name, status: changed ? "changed" : "already right" };
}

/**
 * The apply result of one host from its output. Under a failure budget an
 * output that cannot be decoded is a failed host (and the rollout goes on
 * counting); without one it fails the program, naming the host.
 */
export function applyResultOf(name: string, file: string, stdout: string, soft: boolean): ApplyResult | FailedResult {
    try {
        return decodeHostResult(name, "apply", stdout);
    } catch (e) {
        if (!soft || !(e instanceof HostResultError)) throw e;
        return { schema: HOST_RESULT_SCHEMA, action: "apply", status: "failed", host: name, file, reason: e.message, rolled_back: false };
    }
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
        for (const o of by(s)) lines.push(`  ${s}: ${o.name}${o.detail ? `: ${o.detail}` : ""}`);
    }
    list("untouched", untouched);
    return { stop, text: lines.join("\n") };
}

/** The steps of a rollout, by name: per wave its hosts, the gate before it and its listener check; the verdict after the last. */
export interface RolloutPlan {
    component: string;
    waves: { hosts: string[]; gate?: string; check?: string }[];
    /** Only with a failure budget, as are the gates. */
    verdict?: string;
    failureBudget?: number;
}

/** The rollout's waves and step names (pure). */
export function planRollout(component: string, hostNames: string[], r: RolloutArgs | undefined, checks: boolean): RolloutPlan {
    const waves = planWaves(hostNames, r);
    const budget = r?.failureBudget;
    return {
        component,
        waves: waves.map((hosts, w) => ({
            hosts,
            gate: budget !== undefined && w > 0 ? `${component}-wave${w + 1}-gate` : undefined,
            check: checks ? (waves.length === 1 ? `${component}-check` : `${component}-wave${w + 1}-check`) : undefined,
        })),
        verdict: budget !== undefined ? `${component}-verdict` : undefined,
        failureBudget: budget,
    };
}

/** One host's steps, as the rollout wires them; `R`: what the component makes of the host once its wave is checked. */
export interface RolloutHost<R> {
    name: string;
    /** Its last step that changes the host. */
    reconcile: pulumi.Resource;
    /**
     * Whether it is attempted: a host the look could not reach is left out
     * of its wave's check (and under a failure budget waits behind the
     * verdict, which then fails, so it is never changed).
     */
    attempted: Promise<boolean>;
    /** What the wave's check probes for it, or null: its host script failed, there is nothing to probe. */
    checkTarget: pulumi.Output<CheckTarget | null>;
    /** Its outcome (and the component's result), given the wave's check lines (null: checks are off). */
    finish(check: pulumi.Output<Record<string, CheckLine>> | null): { outcome: pulumi.Output<HostOutcome>; result: R };
}

/** Steps a step waits for. */
export type Dependencies = pulumi.Resource[] | Promise<pulumi.Resource[]>;

/** What the rollout asks the component to create. */
export interface RolloutSteps<R> {
    /** One host's steps; its reconcile waits for `dependsOn`, given whether the host is attempted. */
    host(name: string, dependsOn: (attempted: Promise<boolean>) => Dependencies): RolloutHost<R>;
    /** The listener check of a wave (`hosts`): its attempted hosts, after their reconciles. */
    check(step: string, hosts: RolloutHost<R>[], attempted: Promise<RolloutHost<R>[]>): { step: pulumi.Resource; lines: pulumi.Output<Record<string, CheckLine>> };
    /** A gate or the verdict: fails (so nothing after it runs) when the decision is to stop. */
    decision(step: string, decision: pulumi.Output<RolloutDecision>, after: Promise<pulumi.Resource[]>): pulumi.Resource;
}

/**
 * Wire the waves: without a budget each wave waits for the previous wave's
 * check (or reconciles); with one, a gate before each wave counts the
 * failures so far and a verdict after the last fails the update if any host
 * failed (a failed host is a result, not a failed step, since Pulumi starts
 * nothing after a failed step). Returns every host's result, in wave order.
 */
export function wireRollout<R>(plan: RolloutPlan, steps: RolloutSteps<R>): R[] {
    const soft = plan.failureBudget !== undefined;
    let verdictReady: (r: pulumi.Resource) => void = () => undefined;
    const verdict = new Promise<pulumi.Resource>(r => (verdictReady = r));
    const outcomes: pulumi.Output<HostOutcome>[][] = [];
    const results: R[] = [];
    // Per wave, its steps that later gates and the verdict wait for.
    const settled: Promise<pulumi.Resource[]>[] = [];
    const before = (w: number) => Promise.all(settled.slice(0, w)).then(a => a.flat());
    let previous: pulumi.Resource[] = [];
    plan.waves.forEach((wave, w) => {
        const gate = wave.gate ? steps.decision(wave.gate, decide(plan, w, outcomes), before(w)) : undefined;
        const after = soft ? (gate ? [gate] : []) : previous;
        const hosts = wave.hosts.map(name => steps.host(name, attempted => (soft ? attempted.then(ok => (ok ? after : verdict.then(v => [v]))) : after)));
        const attempted = Promise.all(hosts.map(h => h.attempted)).then(ok => hosts.filter((_, i) => ok[i]));
        const check = wave.check ? steps.check(wave.check, hosts, attempted) : undefined;
        const finished = hosts.map(h => h.finish(check ? check.lines : null));
        outcomes.push(finished.map(f => f.outcome));
        results.push(...finished.map(f => f.result));
        settled.push(attempted.then(hs => [...hs.map(h => h.reconcile), ...(check ? [check.step] : [])]));
        previous = check ? [check.step] : hosts.map(h => h.reconcile);
    });
    if (plan.verdict) verdictReady(steps.decision(plan.verdict, decide(plan, plan.waves.length, outcomes), before(plan.waves.length)));
    return results;
}

/** The decision before wave `w` (0-based; `w` = the number of waves: the verdict) from the outcomes of the waves before it. */
function decide(plan: RolloutPlan, w: number, outcomes: pulumi.Output<HostOutcome>[][]): pulumi.Output<RolloutDecision> {
    const untouched = plan.waves.slice(w).flatMap(x => x.hosts);
    return pulumi.all(outcomes.slice(0, w).flat())
        .apply(done => rolloutDecision(plan.component, plan.failureBudget!, w + 1, plan.waves.length, done, untouched));
}
