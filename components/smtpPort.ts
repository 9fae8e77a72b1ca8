import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { resolveFleet, resolveHosts, SmtpHostArgs, SmtpPortArgs } from "./args";
import { checkedConnections } from "./connectionCheck";
import { HostPreview, Look } from "./hostPreview";
import { checkStep, decisionStep, HostSteps, hostSteps, StepContext } from "./hostSteps";
import { CachedLook, saveLooks, takeLooks } from "./lookCache";
import { describe, SmtpHostResult } from "./report";
import { planRollout, wireRollout } from "./rollout";
import { assertValidSmtpPortArgs } from "./validate";

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
    public readonly reconcilers: Record<string, command.remote.Command> = {};
    /** The listener check of each host's wave (one step per wave), by host name (absent when disabled). */
    public readonly checks: Record<string, command.local.Command> = {};

    /**
     * @param name the component's name: the start of every child resource's name (`${name}-${host}-reconcile`, `${name}-check`) and the name its errors give
     * @param args the port, the hosts, and how to move them; every problem is reported at once, before anything is registered
     * @param opts Pulumi's resource options (parent, dependsOn, providers, protect, ...). Default: none
     */
    constructor(name: string, args: SmtpPortArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before anything is registered: a bad input creates nothing.
        assertValidSmtpPortArgs(name, args);
        super("smtp-port:index:SmtpPort", name, {}, opts);
        const fleet = resolveFleet(args);
        const hosts = resolveHosts(args);
        const dryRun = pulumi.runtime.isDryRun();
        const c: StepContext = {
            parent: this, component: name, dryRun, soft: fleet.failureBudget !== undefined, previewHosts: fleet.previewHosts,
            // The update run of a `pulumi up` takes the looks its preview took.
            handedOver: dryRun || !fleet.previewHosts ? {} : takeLooks(name),
            // A host that failed under a failure budget is in the state as
            // done, with the token of its attempt; the attempt's time makes
            // the next token differ, so the next update tries it again.
            attemptMark: fleet.failureBudget !== undefined ? `@${new Date().toISOString()}` : "",
        };
        const connections = checkedConnections(this, name, hosts);
        const byName = new Map(hosts.map((h, i) => [h.name, { h, connection: connections.apply(cs => cs[i]) }]));
        const made: HostSteps[] = [];
        const plan = planRollout(name, hosts.map(h => h.name), fleet.rollout, fleet.listenerCheck.enabled);
        const results = wireRollout(plan, {
            host: (hostName, dependsOn) => {
                const { h, connection } = byName.get(hostName)!;
                const steps = hostSteps(c, h, connection, dependsOn);
                made.push(steps);
                this.reconcilers[hostName] = steps.reconcile;
                return steps;
            },
            check: (step, wave, attempted) => {
                const check = checkStep(c, step, attempted, fleet.listenerCheck);
                for (const h of wave) this.checks[h.name] = check.step;
                return check;
            },
            decision: (step, decision, after) => decisionStep(c, step, decision, after),
        });
        this.previews = this.reportLooks(name, c, made.map(m => m.look.apply(l => [m.name, l] as [string, Look])), fleet.failOnDrift);
        this.results = pulumi.all(results).apply(rs => Object.fromEntries(rs.map(r => [r.name, r])));
        this.summary = this.results.apply(rs => Object.values(rs).map(describe).join("\n"));
        // Only the summary goes to the state: the stack program exports the
        // results (`hosts`), and the state, rewritten after every step,
        // would otherwise keep them twice, with the looks (~0.9 KB per host).
        this.registerOutputs({ summary: this.summary });
    }

    /**
     * The looks by host name. A preview leaves them for the update run of
     * the same `pulumi up`; with `failOnDrift`, drift fails the program.
     */
    private reportLooks(name: string, c: StepContext, looks: pulumi.Output<[string, Look]>[], failOnDrift: boolean) {
        return pulumi.all(looks).apply(async all => {
            if (c.dryRun && c.previewHosts) {
                const found: Record<string, CachedLook> = {};
                for (const [n, l] of all) if (l.preview && l.key) found[n] = { key: l.key, preview: l.preview, hasCopy: l.hasCopy === true };
                saveLooks(name, found);
            }
            const drifted = all.filter(([, l]) => l.preview?.drift).map(([n]) => n);
            if (failOnDrift && drifted.length > 0) {
                // Report, then fail the program once it has registered
                // everything: a throw here leaves the engine waiting ~90 s on
                // the resources still being registered. 32: "already reported".
                process.exitCode = 32;
                await pulumi.log.error(`smtp-port "${name}": drift on ${drifted.join(", ")}: the services file or MTA settings were changed on the host since smtp-port wrote them (failOnDrift)`, this);
            }
            return Object.fromEntries(all.map(([n, l]) => [n, l.preview]));
        });
    }
}

export { describe };
export type { SmtpHostArgs, SmtpHostResult };
