// The steps SmtpPort creates, for the rollout (rollout.ts) to wire: per
// host a look, the script's copy and a reconcile command, per wave a
// listener check, and the gates and verdict of a failure budget.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { ResolvedHost } from "./args";
import { CheckLine, checkInput, CheckTarget, decodeCheckLines, missingCheckLine } from "./checkLines";
import type { ResolvedConnection } from "./connectionCheck";
import { changeToken, describePreview, Look, lookAt } from "./hostPreview";
import { isFailed } from "./hostResult";
import { hostCommand, remoteScriptPath } from "./hostScript";
import type { CachedLook } from "./lookCache";
import { withoutPromiseStacks } from "./promiseStacks";
import { hostReport, SmtpHostResult } from "./report";
import { copyScript } from "./scriptCopy";
import { applyResultOf, Dependencies, hostOutcome, HostOutcome, isFailure, RolloutDecision, RolloutHost } from "./rollout";
import { shellWords } from "./shell";

/** What every step of one component shares. */
export interface StepContext {
    parent: pulumi.ComponentResource;
    component: string;
    dryRun: boolean;
    /** A failure budget is set: failures are results, not failed steps. */
    soft: boolean;
    previewHosts: boolean;
    /** Looks the preview of this `pulumi up` took, by host name. */
    handedOver: Record<string, CachedLook>;
    /** Under a failure budget, this attempt's mark on change tokens (so a failed host is retried). */
    attemptMark: string;
}

/** One host's steps: its look and reconcile, and what the rollout asks of them. */
export interface HostSteps extends RolloutHost<pulumi.Output<SmtpHostResult>> {
    look: pulumi.Output<Look>;
    reconcile: command.remote.Command;
}

/**
 * One host's look (with the checked `connection`), and the reconcile
 * command that runs the host's copy of the script. The look decides the
 * change token of the apply: a host that drifted then shows as changing, a
 * host that is right does not.
 *
 * The script is copied (components/scriptCopy.ts) rather than sent on
 * stdin so that the state keeps its digest, not its text (62 KB, twice per
 * host). The copy costs one SSH connection per host on the first `up` and
 * when the script changes; none on a no-op (the look found it there).
 */
export function hostSteps(
    c: StepContext, h: ResolvedHost, connection: pulumi.Output<ResolvedConnection>,
    dependsOn: (attempted: Promise<boolean>) => Dependencies,
): HostSteps {
    const look = c.previewHosts ? lookAt(h, connection, c.handedOver[h.name]) : pulumi.output<Look>({ preview: null });
    // Known only while updating (a preview may not know the connection).
    const attempted: Promise<boolean> = c.dryRun ? Promise.resolve(true) : new Promise(res => look.apply(l => { res(l.error === undefined); return l; }));
    // The checked connections gate every reconcile: a bad one registers
    // none. Under a failure budget, a host the look could not reach gets
    // neither a copy nor a reconcile.
    const after = connection.apply(() => Promise.resolve(dependsOn(attempted)));
    const scriptFile = remoteScriptPath();
    // Only an update writes to the host; its reconcile's command waits for the copy.
    const copied = c.dryRun ? pulumi.output<void>(undefined) : copyScript(h, connection, look, c.parent, l => c.soft && l.error !== undefined);
    const runs = (action: "apply" | "revert", change?: string) =>
        hostCommand(action, h, { reportFailure: action === "apply" && c.soft, change, scriptFile });
    const create = pulumi.all([look, copied]).apply(([l]) => runs("apply", c.previewHosts ? changeToken(l, c.attemptMark) : undefined));
    // After the checked connection and the rollout (`after`). Each Output
    // whose value holds resources costs the SDK a walk of every object
    // reachable from them (containsUnknowns), the whole component: so one
    // such Output per host, here, and nowhere else (measured with the
    // mocked engine at 100 hosts, two per host: 5.0 s of the program's CPU
    // against 1.2 s).
    const reconcile = registerShort(() => new command.remote.Command(`${c.component}-${h.name}-reconcile`, {
        connection: h.connection,
        create,
        delete: runs("revert"),
        // Nothing we run reads PULUMI_COMMAND_STDOUT; injecting it only
        // makes servers without AcceptEnv warn.
        addPreviousOutputInEnv: false,
    }, { parent: c.parent, dependsOn: after }));
    const applied = pulumi.unsecret(reconcile.stdout).apply(out => applyResultOf(h.name, h.servicesFile, out, c.soft));
    const checkTarget = pulumi.all([pulumi.output(h.checkAddress), applied]).apply(([address, r]): CheckTarget | null =>
        (isFailed(r) ? null : { name: h.name, host: address, port: h.port, oldPort: h.requireOldPortClosed ? r.old_port : null }));

    const finish = (lines: pulumi.Output<Record<string, CheckLine>> | null) => {
        const check = lines === null
            ? pulumi.output<CheckLine | null>(null)
            : pulumi.all([lines, checkTarget]).apply(([byName, t]) => (t === null ? null : byName[h.name] ?? missingCheckLine(h.name)));
        // An unreachable host's outcome must not wait for its own steps:
        // under a budget they wait for the verdict, which waits for this.
        const outcome: pulumi.Output<HostOutcome> = look.apply(l => (c.soft && l.error !== undefined
            ? pulumi.output<HostOutcome>({ name: h.name, status: "unreachable", detail: l.error })
            : pulumi.all([applied, check]).apply(([r, k]) => hostOutcome(h.name, r, k, l.preview ? l.preview.wouldChange : null))));
        if (c.soft && !c.dryRun) outcome.apply(async o => { if (isFailure(o)) await pulumi.log.warn(`${h.name}: ${o.status}: ${o.detail}`, c.parent); });
        const result = pulumi.all([applied, check, look, outcome]).apply(([r, k, l, o]) => hostReport(h, r, k, l, o));
        return { outcome, result };
    };
    return { name: h.name, look: logLook(c, h, look), reconcile, attempted, checkTarget, finish };
}

/**
 * Frames of a resource's registration that are the SDK's own (Resource.callsites
 * and stackTrace, then the Resource, CustomResource and resource class
 * constructors), then how many of ours the state keeps: the source position
 * and the two frames below it (with only one, the SDK, which parses the
 * formatted trace, finds no position in it: ~50 bytes each).
 */
const SDK_FRAMES = 5;
const OWN_FRAMES = 3;

/**
 * Register a host's resource with a short stack trace. Pulumi keeps each
 * resource's stack trace in the state: every frame down to the CLI's, about
 * 1 KB per resource, two resources per host, in a checkpoint it rewrites
 * after every step. Its first frames are kept (the first is the source
 * position Pulumi shows, as it was); the frames below them are the
 * rollout's and the program's, the same for every host. Also without the
 * SDK's per-input promise stacks (withoutPromiseStacks).
 */
export function registerShort<T>(register: () => T): T {
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (err, frames) => {
        const kept = frames.slice(0, SDK_FRAMES + OWN_FRAMES);
        return prepare ? prepare(err, kept) : `${err}\n${kept.map(f => `    at ${f}`).join("\n")}`;
    };
    try {
        return withoutPromiseStacks(register);
    } finally {
        Error.prepareStackTrace = prepare;
    }
}

/** The look, after its line in the preview: the host's diff, or why it could not be looked at. */
function logLook(c: StepContext, h: ResolvedHost, look: pulumi.Output<Look>): pulumi.Output<Look> {
    return look.apply(async l => {
        // Awaited: the program's end waits for its outputs, so these lines
        // reach the engine before it finishes.
        if (c.dryRun && c.previewHosts) {
            if (l.preview) await pulumi.log.info(describePreview(h.name, h.servicesFile, h.port, l.preview), c.parent);
            else await pulumi.log.warn(`${h.name}: could not look at the host for this preview: ${l.error}`, c.parent);
        }
        return l;
    });
}

/** Where the listener check script is, as the command line names it (relative: stable across checkouts). */
function checkScript(): string {
    return path.relative(process.cwd(), path.join(__dirname, "listener", "listener-check.js"));
}

/**
 * The listener check of one wave: its attempted hosts whose host script did
 * not fail, probed at once by one process from where `pulumi up` runs,
 * after their reconciles. One step per wave: a step per host cost ~0.5 s
 * of every `pulumi up` at 30 hosts, checks or not, and a Node.js start each.
 */
export function checkStep(c: StepContext, step: string, attempted: Promise<RolloutHost<unknown>[]>, settings: { timeoutMs: number; attempts: number; delayMs: number }) {
    const targets = pulumi.output(attempted.then(hs => hs.map(x => x.checkTarget)));
    const after: Promise<pulumi.Resource[]> = attempted.then(hs => hs.map(x => x.reconcile));
    const cmd = withoutPromiseStacks(() => new command.local.Command(step, {
        create: shellWords([
            "node", checkScript(),
            "--timeout-ms", settings.timeoutMs, "--attempts", settings.attempts, "--delay-ms", settings.delayMs,
            ...(c.soft ? ["--soft", "yes"] : []),
        ]),
        // A host's new result (it changed) is a new input: the check runs
        // again, as an update.
        stdin: targets.apply(ts => checkInput(ts.filter((t): t is CheckTarget => t !== null))),
        addPreviousOutputInEnv: false,
    }, { parent: c.parent, dependsOn: after }));
    return { step: cmd, lines: pulumi.unsecret(cmd.stdout).apply(out => decodeCheckLines(step, out)) };
}

/**
 * A gate or the verdict: prints its message, and fails (so that nothing
 * after it runs) when it decided to stop.
 */
export function decisionStep(c: StepContext, step: string, decision: pulumi.Output<RolloutDecision>, after: Promise<pulumi.Resource[]>): command.local.Command {
    // A failing step shows its message; a passing one says it here,
    // since Pulumi does not print a command's output.
    if (!c.dryRun) decision.apply(async d => { if (!d.stop) await pulumi.log.info(d.text, c.parent); });
    return withoutPromiseStacks(() => new command.local.Command(step, {
        create: decision.apply(d => (d.stop ? "cat >&2; exit 1 # smtp-port: stop the rollout" : "cat")),
        stdin: decision.apply(d => d.text),
        addPreviousOutputInEnv: false,
    }, { parent: c.parent, dependsOn: after }));
}
