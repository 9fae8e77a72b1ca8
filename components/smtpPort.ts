import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SmtpPortArgs, SmtpHostArgs, defaults } from "./args";
import { assertValidSmtpPortArgs } from "./validate";
import { hostCommand, hostScript, HostScriptCall, lastJsonLine } from "./hostScript";
import { shellWords } from "./shell";
import { HostOutcome, hostOutcome, HostStatus, isFailure, planWaves, rolloutDecision, RolloutDecision } from "./rollout";
import { HostPreview, describePreview, nextChange, parsePreview, sshRunner } from "./hostPreview";
import { CachedLook, lookKey, saveLooks, takeLooks } from "./lookCache";
import { withoutPromiseStacks } from "./promiseStacks";

/** What one host reports after `pulumi up`. */
export interface SmtpHostResult {
    /** The host's name. */
    name: string;
    /** The port declared for this host. */
    port: number;
    /** The port `smtp` resolved to before the last change, or null if it had no entry. */
    previousPort: number | null;
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
    /** The mail server handled (`postfix`, `exim`, `none`). */
    mta: string;
    /** Whether the mail server's configuration was changed by the last run. */
    mtaChanged: boolean;
    /** The greeting the host saw on loopback after the restart, or null. */
    verifiedOnHost: string | null;
    /** The port the host's resolver gave smtp after the last run. */
    resolverPort: number | null;
    /** The port the MTA listens on for smtp after the last run, where the adapter can tell. */
    mtaPort: number | null;
    /** Whether this update changed the host (from the look before it), or null when hosts are not looked at. */
    changedThisUpdate: boolean | null;
    /** The greeting the listener check saw, or null when the check is disabled. */
    banner: string | null;
    /** How the host ended: changed, already right, rolled back, failed (the last two only with a failure budget). */
    status: HostStatus;
    /** Why the host failed, or null. */
    failure: string | null;
}

/** The host script's JSON result line (the last line of stdout). */
export function parseApplyResult(stdout: string): any {
    try {
        return lastJsonLine(stdout);
    } catch {
        throw new Error(`smtp-port: the host script printed no result line; stdout was ${JSON.stringify(stdout.slice(0, 500))}`);
    }
}

/**
 * Moves the SMTP listener of a fleet of mail servers to a declared port: on
 * each host, a remote command reconciles the services file (and restarts the
 * mail service when the file changed), then a listener check from where
 * `pulumi up` runs waits for the `220` greeting on the new port. Deleting the
 * component puts every services file back.
 */
export class SmtpPort extends pulumi.ComponentResource {
    /** Per host name, what the read-only look at the host found while the program ran (null: not looked). */
    public readonly previews: pulumi.Output<Record<string, HostPreview | null>>;
    /** Per host name, what changed and what the listener check saw. */
    public readonly results: pulumi.Output<Record<string, SmtpHostResult>>;
    /** One line per host, for people. */
    public readonly summary: pulumi.Output<string>;
    /** The remote command of each host, by host name. */
    public readonly reconcilers: Record<string, command.remote.Command>;
    /** The listener check of each host's wave (one step per wave), by host name (absent when disabled). */
    public readonly checks: Record<string, command.local.Command>;

    constructor(name: string, args: SmtpPortArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before anything is registered: a bad input creates nothing.
        assertValidSmtpPortArgs(name, args);
        super("smtp-port:index:SmtpPort", name, {}, opts);

        const service = args.service ?? defaults.service;
        const protocol = args.protocol ?? defaults.protocol;
        const aliases = args.aliases ?? defaults.aliases;
        const conflicts = args.conflicts ?? defaults.conflicts;
        const servicesFile = args.servicesFile ?? defaults.servicesFile;
        const stateDir = args.stateDir ?? defaults.stateDir;
        const sudo = args.sudo ?? defaults.sudo;
        const check = { ...defaults.listenerCheck, ...args.listenerCheck };
        const verify = args.verifyOnHost ?? defaults.verifyOnHost;
        const verifyTimeout = args.verifyTimeout ?? defaults.verifyTimeout;
        const previewHosts = args.previewHosts ?? defaults.previewHosts;
        const failOnDrift = args.failOnDrift ?? defaults.failOnDrift;
        const dryRun = pulumi.runtime.isDryRun();
        const looks: pulumi.Output<[string, Look]>[] = [];
        // The update run of a `pulumi up` takes the looks its preview took.
        const handedOver = dryRun || !previewHosts ? {} : takeLooks(name);
        const script = hostScript();
        // The script travels on stdin. It is wrapped as a secret only so that
        // `preview --diff` shows `[secret]` instead of 400 lines of shell; its
        // digest is on the command line, so a new script still shows as a change.
        const scriptInput = pulumi.secret(script.text);
        const checkScript = path.relative(process.cwd(), path.join(__dirname, "listener", "listener-check.js")) || "listener-check.js";

        this.reconcilers = {};
        this.checks = {};
        const perHost: pulumi.Output<SmtpHostResult>[] = [];
        // Waves: each host of a wave waits for every host of the previous
        // wave to pass (its check, or its reconcile when checks are off).
        const waves = planWaves(args.hosts.map(h => h.name), args.rollout);
        const hostNamed = new Map(args.hosts.map(h => [h.name, h] as [string, SmtpHostArgs]));
        // With a failure budget, a failed host is a result instead of a
        // failed step (Pulumi starts nothing after a failed step): a gate
        // before each wave counts failures, a verdict after the last wave
        // fails the update if any host failed. Hosts the program could not
        // reach count as failed and wait behind the verdict, which then
        // fails, so they are never attempted.
        const budget = args.rollout?.failureBudget;
        const soft = budget !== undefined;
        let verdictReady: (r: pulumi.Resource) => void = () => undefined;
        const verdict = new Promise<pulumi.Resource>(r => (verdictReady = r));
        const outcomes: pulumi.Output<HostOutcome>[][] = waves.map(() => []);
        // Per wave, the last step of each host that will be attempted.
        const lastSteps: Promise<pulumi.Resource[]>[][] = waves.map(() => []);
        const stepsBefore = (w: number) => Promise.all(lastSteps.slice(0, w).flat()).then(a => a.flat());
        let hardGate: pulumi.Resource[] = [];

        for (let wave = 0; wave < waves.length; wave++) {
            let softGate: pulumi.Resource | undefined;
            if (soft && wave > 0) {
                const decision = pulumi.all(outcomes.slice(0, wave).flat()).apply(done =>
                    rolloutDecision(name, budget, wave + 1, waves.length, done, waves.slice(wave).flat()));
                softGate = this.decisionStep(`${name}-wave${wave + 1}-gate`, decision, stepsBefore(wave));
            }
            const members = waves[wave].map(hostName => {
                const h = hostNamed.get(hostName)!;
                const steps = this.host(name, h, {
                    args, script, scriptInput, dryRun, previewHosts, handedOver, soft, service, protocol, aliases, conflicts,
                    servicesFile, stateDir, sudo, verify, verifyTimeout,
                    after: soft ? (softGate ? [softGate] : []) : hardGate,
                    verdict,
                });
                looks.push(steps.look);
                return { h, steps };
            });
            // One listener check per wave: its hosts probed at once by one
            // process, as one step (a step per host cost ~0.5 s of every
            // `pulumi up` at 30 hosts, checks or not, and a Node.js start each).
            const waveCheck = check.enabled
                ? this.waveCheck(waves.length === 1 ? `${name}-check` : `${name}-wave${wave + 1}-check`, members, { check, checkScript, soft, dryRun })
                : undefined;
            const checkLines = waveCheck ? pulumi.unsecret(waveCheck.stdout).apply(checkLinesByName) : undefined;
            for (const { h, steps } of members) {
                if (waveCheck) this.checks[h.name] = waveCheck;
                const checkOut = checkLines ? checkLines.apply(byName => byName[h.name] ?? null) : pulumi.output(null);
                const { result, outcome } = steps.finish(checkOut);
                perHost.push(result);
                outcomes[wave].push(outcome);
                lastSteps[wave].push(dryRun ? Promise.resolve([steps.reconcile]) : steps.reachable.then(ok => (ok ? [steps.reconcile] : [])));
            }
            if (waveCheck) lastSteps[wave].push(Promise.resolve([waveCheck]));
            hardGate = waveCheck ? [waveCheck] : members.map(m => m.steps.reconcile);
        }
        if (soft) {
            const decision = pulumi.all(outcomes.flat()).apply(done => rolloutDecision(name, budget, waves.length + 1, waves.length, done, []));
            verdictReady(this.decisionStep(`${name}-verdict`, decision, stepsBefore(waves.length)));
        }

        this.previews = pulumi.all(looks).apply(async all => {
            if (dryRun && previewHosts) {
                const found: Record<string, CachedLook> = {};
                for (const [n, l] of all) if (l.preview && l.key) found[n] = { key: l.key, preview: l.preview };
                saveLooks(name, found);
            }
            const ls = all.map(([n, l]) => [n, l.preview] as [string, HostPreview | null]);
            const drifted = ls.filter(([, p]) => p?.drift).map(([n]) => n);
            if (failOnDrift && drifted.length > 0) {
                // Report, then fail the program once it has registered
                // everything: a throw here leaves the engine waiting ~90 s on
                // the resources still being registered. 32: "already reported".
                process.exitCode = 32;
                await pulumi.log.error(`smtp-port "${name}": drift on ${drifted.join(", ")}: the services file or MTA settings were changed on the host since smtp-port wrote them (failOnDrift)`, this);
            }
            return Object.fromEntries(ls);
        });
        this.results = pulumi.all(perHost).apply(rs => Object.fromEntries(rs.map(r => [r.name, r])));
        this.summary = this.results.apply(rs => Object.values(rs).map(describe).join("\n"));
        this.registerOutputs({ results: this.results, summary: this.summary, previews: this.previews });
    }
    /**
     * A gate or the verdict: prints its message, and fails (so that nothing
     * after it runs) when it decided to stop.
     */
    private decisionStep(name: string, decision: pulumi.Output<RolloutDecision>, after: Promise<pulumi.Resource[]>): command.local.Command {
        // A failing step shows its message; a passing one says it here,
        // since Pulumi does not print a command's output.
        if (!pulumi.runtime.isDryRun()) decision.apply(async d => { if (!d.stop) await pulumi.log.info(d.text, this); });
        return withoutPromiseStacks(() => new command.local.Command(name, {
            create: decision.apply(d => (d.stop ? "cat >&2; exit 1 # smtp-port: stop the rollout" : "cat")),
            stdin: decision.apply(d => d.text),
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: after }));
    }

    /**
     * The listener check of one wave: every host of it that is attempted,
     * probed at once from where `pulumi up` runs, after their reconciles.
     */
    private waveCheck(
        stepName: string,
        members: { h: SmtpHostArgs; steps: { reconcile: command.remote.Command; reachable: Promise<boolean>; checkTarget: pulumi.Output<CheckTarget> } }[],
        c: { check: typeof defaults.listenerCheck; checkScript: string; soft: boolean; dryRun: boolean },
    ): command.local.Command {
        // Under a failure budget an unreachable host waits behind the
        // verdict, which waits for this: it is left out.
        const attempted = c.dryRun
            ? Promise.resolve(members)
            : Promise.all(members.map(m => m.steps.reachable)).then(ok => members.filter((_, i) => ok[i]));
        const targets = pulumi.output(attempted.then(ms => ms.map(m => m.h.name)))
            .apply(names => pulumi.all(members.filter(m => names.includes(m.h.name)).map(m => m.steps.checkTarget)));
        const after: Promise<pulumi.Resource[]> = attempted.then(ms => ms.map(m => m.steps.reconcile));
        return withoutPromiseStacks(() => new command.local.Command(stepName, {
            create: shellWords([
                "node", c.checkScript, "--hosts-from-stdin", "yes",
                "--timeout-ms", c.check.timeoutMs, "--attempts", c.check.attempts, "--delay-ms", c.check.delayMs,
                ...(c.soft ? ["--soft", "yes"] : []),
            ]),
            // The hosts and their host script results: a new result (a host
            // changed) is a new input, so the check runs again, as an update.
            stdin: targets.apply(ts => ts.map(t => JSON.stringify(t) + "\n").join("")),
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: after }));
    }

    /** One host's steps: the look and the reconcile; `finish` adds up what they and the wave's check found. */
    private host(name: string, h: SmtpHostArgs, c: HostContext) {
        const { args, script, dryRun } = c;
        const port = h.port ?? args.port;
        const file = h.servicesFile ?? c.servicesFile;
        const restart = h.restartCommand ?? args.restartCommand;
        const hostSudo = h.sudo ?? c.sudo;
        const hostState = h.stateDir ?? c.stateDir;
        const mta = h.mta ?? args.mta ?? defaults.mta;
        const oldPort: "closed" | "any" = (h.requireOldPortClosed ?? args.requireOldPortClosed ?? defaults.requireOldPortClosed) ? "closed" : "any";

        const applyCall: HostScriptCall = {
            action: "apply", port, file, service: c.service, protocol: c.protocol, aliases: c.aliases, conflicts: c.conflicts,
            restart, stateDir: hostState, sudo: hostSudo, mta, verify: c.verify, verifyTimeout: c.verifyTimeout, oldPort, label: h.name,
        };
        // Look at the host (read-only) and carry the change number an
        // apply would make in the command line: a host that drifted then
        // shows as changing, a host that is right does not.
        let look: pulumi.Output<Look> = pulumi.output({ preview: null });
        let create: pulumi.Input<string> = hostCommand(applyCall, { reportFailure: c.soft });
        if (c.previewHosts) {
            look = pulumi.unsecret(pulumi.output(h.connection).apply(async conn => {
                const target = {
                    host: conn.host, port: conn.port ?? 22, user: conn.user ?? "root", privateKey: conn.privateKey,
                    privateKeyPassword: conn.privateKeyPassword, password: conn.password,
                    hostKey: conn.hostKey, insecureIgnoreHostKey: h.insecureIgnoreHostKey === true, timeoutSeconds: 10,
                };
                const command = hostCommand({ ...applyCall, action: "preview" }, { digest: false });
                const key = lookKey({ host: target.host, port: target.port, user: target.user, hostKey: target.hostKey, command, script: script.digest });
                const earlier = c.handedOver[h.name];
                if (earlier && earlier.key === key) return { preview: earlier.preview, key } as Look;
                try {
                    return { preview: parsePreview(await sshRunner.run(target, script.text, command)), key } as Look;
                } catch (e) {
                    return { preview: null, error: (e as Error).message } as Look;
                }
            }));
            // A host that failed under a failure budget is in the state as
            // done, with the token of its attempt; the attempt's time makes
            // the next token differ, so the next update tries it again.
            const attempt = c.soft ? `@${new Date().toISOString()}` : "";
            create = look.apply(l => hostCommand({
                ...applyCall,
                change: l.preview ? (l.preview.wouldChange ? nextChange(l.preview.generation, attempt) : l.preview.generation) : "unknown",
            }, { reportFailure: c.soft }));
        }
        const lookLine = look.apply(async l => {
            // Awaited: the program's end waits for its outputs, so these
            // lines reach the engine before it finishes.
            if (dryRun && c.previewHosts) {
                if (l.preview) await pulumi.log.info(describePreview(h.name, file, port, l.preview), this);
                else await pulumi.log.warn(`${h.name}: could not look at the host for this preview: ${l.error}`, this);
            }
            return [h.name, l] as [string, Look];
        });
        // Known only while updating (a preview may not know the connection).
        const reachable: Promise<boolean> = dryRun ? Promise.resolve(true) : new Promise(res => look.apply(l => { res(l.error === undefined); return l; }));
        const dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]> = c.soft && !dryRun
            ? reachable.then(ok => (ok ? c.after : [c.verdict]))
            : c.after;

        const reconcile = withoutPromiseStacks(() => new command.remote.Command(`${name}-${h.name}-reconcile`, {
            connection: h.connection,
            create,
            delete: hostCommand({ action: "revert", file, restart, stateDir: hostState, sudo: hostSudo, mta, label: h.name }),
            stdin: c.scriptInput,
            // Nothing we run reads PULUMI_COMMAND_STDOUT; injecting it only
            // makes servers without AcceptEnv warn.
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn }));
        this.reconcilers[h.name] = reconcile;

        // The host script's output: read by the wave's check, the outcome and the result.
        const stdout = pulumi.unsecret(reconcile.stdout);
        // What the wave's listener check needs from this host.
        const checkTarget: pulumi.Output<CheckTarget> = pulumi.all([pulumi.output(h.checkAddress ?? h.connection.host), stdout])
            .apply(([address, out]) => ({ name: h.name, host: address, port, closedPortFromResult: oldPort === "closed", result: out }));

        const finish = (checkOut: pulumi.Output<string | null>) => {
            // An unreachable host's outcome must not wait for its own steps:
            // under a budget they wait for the verdict, which waits for this.
            const outcome: pulumi.Output<HostOutcome> = look.apply((l): pulumi.Output<HostOutcome> => (c.soft && l.error !== undefined
                ? pulumi.output<HostOutcome>({ name: h.name, status: "unreachable", detail: l.error })
                : pulumi.all([stdout, pulumi.unsecret(reconcile.stderr), checkOut]).apply(([o, e, k]) =>
                    hostOutcome(h.name, o, e, k, l.preview ? l.preview.wouldChange : null))));
            if (c.soft && !dryRun) {
                outcome.apply(async o => {
                    if (isFailure(o)) await pulumi.log.warn(`${h.name}: ${o.status}: ${o.detail}`, this);
                });
            }

            const result = pulumi.all([stdout, checkOut, look, outcome]).apply(([out, k, l, o]): SmtpHostResult => {
                const r = parseApplyResult(out);
                return {
                    name: h.name,
                    port,
                    previousPort: r.previous_port ?? null,
                    changed: r.changed === true,
                    added: r.added ?? null,
                    commented: (r.commented ?? []) as string[],
                    backup: r.backup ?? null,
                    restarted: r.restarted === true,
                    mta: r.mta ?? "none",
                    mtaChanged: r.mta_changed === true,
                    verifiedOnHost: r.verified ?? null,
                    resolverPort: r.resolver_port ?? null,
                    mtaPort: r.mta_port ?? null,
                    changedThisUpdate: l.preview ? l.preview.wouldChange : null,
                    banner: k === null ? null : (lastJsonLine(k).banner as string | null),
                    status: o.status,
                    failure: o.detail ?? null,
                };
            });
            return { result, outcome };
        };
        return { look: lookLine, reconcile, reachable, checkTarget, finish };
    }
}

/** One host as the wave's listener check reads it (a line of its stdin). */
interface CheckTarget {
    name: string;
    host: string;
    port: number;
    /** The old port (from the host script's result) must refuse connections. */
    closedPortFromResult: boolean;
    /** The host script's output (its last line is the result). */
    result: string;
}

/** The wave check's result line of each host, by host name (the check prints one JSON line per host). */
export function checkLinesByName(out: string): Record<string, string> {
    const byName: Record<string, string> = {};
    for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
            const name = JSON.parse(line).name;
            if (typeof name === "string") byName[name] = line;
        } catch {
            // Not a result line.
        }
    }
    return byName;
}

/** A look at a host: what it found (or why not), and what it depends on. */
type Look = { preview: HostPreview | null; error?: string; key?: string };

/** What every host of one component shares. */
interface HostContext {
    args: SmtpPortArgs;
    script: { text: string; digest: string };
    scriptInput: pulumi.Output<string>;
    dryRun: boolean;
    previewHosts: boolean;
    /** Looks the preview of this `pulumi up` took, by host name. */
    handedOver: Record<string, CachedLook>;
    soft: boolean;
    service: string;
    protocol: string;
    aliases: string[];
    conflicts: string;
    servicesFile: string;
    stateDir: string;
    sudo: boolean;
    verify: boolean;
    verifyTimeout: number;
    /** Steps this host's reconcile waits for. */
    after: pulumi.Resource[];
    /** The verdict (under a failure budget), which unreachable hosts wait for. */
    verdict: Promise<pulumi.Resource>;
}

/** One line for one host: `mx1: smtp 25 -> 17 (changed; commented 2 lines), greeting "220 ..."`. */
export function describe(r: SmtpHostResult): string {
    const from = r.previousPort === null ? "none" : String(r.previousPort);
    const what = r.changed ? `changed; commented ${r.commented.length} line${r.commented.length === 1 ? "" : "s"}${r.restarted ? "; restarted" : ""}` : "unchanged";
    const greet = r.banner === null ? "listener check off" : `greeting ${JSON.stringify(r.banner)}`;
    return `${r.name}: smtp ${from} -> ${r.port} (${what}), ${greet}`;
}

export type { SmtpHostArgs };
