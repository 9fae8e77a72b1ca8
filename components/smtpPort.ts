import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { SmtpPortArgs, SmtpHostArgs, defaults } from "./args";
import { assertValidSmtpPortArgs } from "./validate";
import { hostCommand, hostScript, HostScriptCall } from "./hostScript";
import { shellWords } from "./shell";
import { planWaves } from "./rollout";
import { HostPreview, describePreview, parsePreview, runOverSsh } from "./hostPreview";

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
}

/** The host script's JSON result line (the last line of stdout). */
export function parseApplyResult(stdout: string): any {
    const lines = stdout.trim().split("\n");
    const last = lines[lines.length - 1];
    try {
        return JSON.parse(last);
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
    /** The listener check of each host, by host name (absent when disabled). */
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
        const looks: pulumi.Output<[string, HostPreview | null]>[] = [];
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
        const waveOf = new Map<string, number>();
        waves.forEach((w, i) => w.forEach(n => waveOf.set(n, i)));
        const gates: pulumi.Resource[][] = waves.map(() => []);
        const ordered = waves.flat().map(n => args.hosts.find(h => h.name === n)!);

        for (const h of ordered) {
            const wave = waveOf.get(h.name)!;
            const port = h.port ?? args.port;
            const file = h.servicesFile ?? servicesFile;
            const restart = h.restartCommand ?? args.restartCommand;
            const hostSudo = h.sudo ?? sudo;
            const hostState = h.stateDir ?? stateDir;
            const mta = h.mta ?? args.mta ?? defaults.mta;
            const oldPort: "closed" | "any" = (h.requireOldPortClosed ?? args.requireOldPortClosed ?? defaults.requireOldPortClosed) ? "closed" : "any";

            const applyCall: HostScriptCall = {
                action: "apply", port, file, service, protocol, aliases, conflicts, restart, stateDir: hostState, sudo: hostSudo,
                mta, verify, verifyTimeout, oldPort, label: h.name,
            };
            // Look at the host (read-only) and carry the change number an
            // apply would make in the command line: a host that drifted then
            // shows as changing, a host that is right does not.
            let look: pulumi.Output<{ preview: HostPreview | null; error?: string }> = pulumi.output({ preview: null });
            let create: pulumi.Input<string> = hostCommand(applyCall);
            if (previewHosts) {
                look = pulumi.unsecret(pulumi.output(h.connection).apply(async c => {
                    try {
                        const out = await runOverSsh({
                            host: c.host, port: c.port ?? 22, user: c.user ?? "root", privateKey: c.privateKey,
                            hostKey: c.hostKey, insecureIgnoreHostKey: h.insecureIgnoreHostKey === true, timeoutSeconds: 10,
                        }, script.text, hostCommand({ ...applyCall, action: "preview" }, { digest: false }));
                        return { preview: parsePreview(out) };
                    } catch (e) {
                        return { preview: null, error: (e as Error).message };
                    }
                }));
                create = look.apply(l => hostCommand({
                    ...applyCall,
                    change: l.preview ? l.preview.generation + (l.preview.wouldChange ? 1 : 0) : "unknown",
                }));
            }
            looks.push(look.apply(async l => {
                // Awaited: the program's end waits for its outputs, so these
                // lines reach the engine before it finishes.
                if (dryRun && previewHosts) {
                    if (l.preview) await pulumi.log.info(describePreview(h.name, file, port, l.preview), this);
                    else await pulumi.log.warn(`${h.name}: could not look at the host for this preview: ${l.error}`, this);
                }
                return [h.name, l.preview] as [string, HostPreview | null];
            }));

            const reconcile = new command.remote.Command(`${name}-${h.name}-reconcile`, {
                connection: h.connection,
                create,
                delete: hostCommand({ action: "revert", file, restart, stateDir: hostState, sudo: hostSudo, mta, label: h.name }),
                stdin: scriptInput,
                // Nothing we run reads PULUMI_COMMAND_STDOUT; injecting it only
                // makes servers without AcceptEnv warn.
                addPreviousOutputInEnv: false,
            }, { parent: this, dependsOn: wave > 0 ? gates[wave - 1] : [] });
            this.reconcilers[h.name] = reconcile;
            let gate: pulumi.Resource = reconcile;

            let banner: pulumi.Output<string | null> = pulumi.output(null);
            if (check.enabled) {
                const address = h.checkAddress ?? h.connection.host;
                const probe = new command.local.Command(`${name}-${h.name}-check`, {
                    create: pulumi.output(address).apply(a => shellWords([
                        "node", checkScript, "--name", h.name, "--host", a, "--port", port,
                        "--timeout-ms", check.timeoutMs, "--attempts", check.attempts, "--delay-ms", check.delayMs,
                        ...(oldPort === "closed" ? ["--closed-port-from-stdin", "yes"] : []),
                    ])),
                    // The host script's result: which port was there before.
                    stdin: pulumi.unsecret(reconcile.stdout),
                    // Re-check whenever the host script ran again.
                    triggers: [reconcile.stdout],
                    addPreviousOutputInEnv: false,
                }, { parent: this, dependsOn: [reconcile] });
                this.checks[h.name] = probe;
                gate = probe;
                banner = pulumi.unsecret(probe.stdout).apply(s => JSON.parse(s.trim()).banner as string);
            }

            gates[wave].push(gate);

            perHost.push(pulumi.all([pulumi.unsecret(reconcile.stdout), banner, look]).apply(([out, b, l]): SmtpHostResult => {
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
                    banner: b,
                };
            }));
        }

        this.previews = pulumi.all(looks).apply(async ls => {
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
}

/** One line for one host: `mx1: smtp 25 -> 17 (changed; commented 2 lines), greeting "220 ..."`. */
export function describe(r: SmtpHostResult): string {
    const from = r.previousPort === null ? "none" : String(r.previousPort);
    const what = r.changed ? `changed; commented ${r.commented.length} line${r.commented.length === 1 ? "" : "s"}${r.restarted ? "; restarted" : ""}` : "unchanged";
    const greet = r.banner === null ? "listener check off" : `greeting ${JSON.stringify(r.banner)}`;
    return `${r.name}: smtp ${from} -> ${r.port} (${what}), ${greet}`;
}

export type { SmtpHostArgs };
