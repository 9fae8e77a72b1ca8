import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { RolloutArgs } from "./rollout";

/** What to do with other active entries that already hold the target port. */
export type ConflictPolicy = "comment" | "fail";

/**
 * The mail server on a host: what makes the new port take effect.
 * - `postfix`: drop smtp=25 from `known_tcp_ports` (3.6+) so the listener
 *   follows the services file, pin outbound delivery to 25
 *   (`smtp_tcp_port`), keep the chroot copy in sync, restart.
 * - `exim`: check that the daemon listens by service name and that
 *   `remote_smtp` is pinned to 25 (else refuse before changing anything), restart.
 * - `sendmail`: refused with instructions (outbound would follow the file).
 * - `auto`: whichever is installed; `none`: the services file only.
 */
export type MailServer = "postfix" | "exim" | "sendmail" | "auto" | "none";

/** One mail server whose SMTP listener moves. */
export interface SmtpHostArgs {
    /**
     * Unique name of the host in this fleet. Used in child resource names
     * (`${name}-${host}-reconcile`) and in every error message. Letters,
     * digits, `.`, `_` and `-`. Required.
     */
    name: string;
    /**
     * How to reach the host over SSH (`@pulumi/command` `remote.ConnectionArgs`),
     * as values or as an Output. Pass `privateKey` and `password` as Pulumi
     * secrets. `hostKey` is required (the host's public key, `ssh-ed25519
     * AAAA...`) unless `insecureIgnoreHostKey` is set: without it any key is
     * accepted. A bastion (`proxy`) needs its own pinned `proxy.hostKey` under
     * the same rule. Values known only as Outputs are checked when they
     * resolve, before any host is changed. Required.
     */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /**
     * Accept any SSH host key for this host (and its `proxy`). Default
     * `false`. Only for hosts you cannot pin yet: without a pinned key a man
     * in the middle can take the connection, and with it the private key's
     * authority.
     */
    insecureIgnoreHostKey?: boolean;
    /** SMTP port for this host only. Default: the component's `port`. */
    port?: number;
    /** Absolute path of the services file. Default: the component's `servicesFile`. */
    servicesFile?: string;
    /**
     * Shell command that restarts the mail service so that it reads the
     * services file again, run on the host only when the file changed (and
     * after a revert). Default: the component's `restartCommand`.
     */
    restartCommand?: string;
    /** Run the host script through `sudo -n`. Default: the component's `sudo`. */
    sudo?: boolean;
    /** This host's mail server. Default: the component's `mta`. */
    mta?: MailServer;
    /** Require the old port to be closed after the change. Default: the component's `requireOldPortClosed`. */
    requireOldPortClosed?: boolean;
    /**
     * Address the listener check connects to from where `pulumi up` runs.
     * Default: `connection.host`.
     */
    checkAddress?: pulumi.Input<string>;
    /**
     * Address the on-host verification (`verifyOnHost`) probes on the host
     * itself, IPv4 or IPv6 (`::1`): the host script's `--verify-address`.
     * Default `"auto"`: what the host script's MTA adapter finds on the host
     * (the address the mail server listens on).
     */
    verifyAddress?: string;
    /** Where the host script keeps its backup and journal. Default: the component's `stateDir`. */
    stateDir?: string;
}

/** Listener check: connect to host:port from where `pulumi up` runs and wait for `220`. */
export interface ListenerCheckArgs {
    /** Run the check at all. Default `true`. */
    enabled?: boolean;
    /** Milliseconds to wait for a connection and the greeting, per attempt. Default `5000`. */
    timeoutMs?: number;
    /** Attempts before giving up. Default `10`. */
    attempts?: number;
    /** Milliseconds between attempts. Default `1000`. */
    delayMs?: number;
}

/** Inputs of the SmtpPort component. */
export interface SmtpPortArgs {
    /**
     * The TCP port every host's SMTP listener should use, 1-65535. Plain
     * value (read it from stack config): it is validated before any resource
     * is created. Required.
     */
    port: number;
    /** The mail servers. At least one; names unique. Required. */
    hosts: SmtpHostArgs[];
    /** Service name to move. Default `"smtp"`. */
    service?: string;
    /** Protocol of the entry. Default `"tcp"`. */
    protocol?: "tcp" | "udp";
    /** Aliases written on the new entry. Default `["mail"]`. */
    aliases?: string[];
    /**
     * Other active entries on the target port (`qotd 17/tcp quote`): comment
     * them out, as the recipe does, or refuse to change the host. Default `"comment"`.
     */
    conflicts?: ConflictPolicy;
    /** Services file on every host. Default `"/etc/services"`. */
    servicesFile?: string;
    /** Restart command on every host. Default: none given: the host script restarts the mail server it found with that server's own command (systemctl, service, or `postfix stop; postfix start`); with `mta: "none"` nothing is restarted. */
    restartCommand?: string;
    /** Run the host script through `sudo -n` on every host. Default `false`. */
    sudo?: boolean;
    /** State folder on every host (backups, journal). Default `"/var/lib/smtp-port"`. */
    stateDir?: string;
    /** The mail server on every host. Default `"auto"`. */
    mta?: MailServer;
    /**
     * After a restart, check on the host itself (at each host's
     * `verifyAddress`) that the new port greets 220 within `verifyTimeout`
     * seconds, and that the old port is closed when `requireOldPortClosed`;
     * roll the host back (file, MTA settings, restart) when it does not.
     * Default `true`.
     */
    verifyOnHost?: boolean;
    /** Seconds the on-host check waits for the greeting. Default `20`. */
    verifyTimeout?: number;
    /**
     * After the change the old port must refuse connections, on the host and
     * from where `pulumi up` runs (else: the host is rolled back, or its
     * listener check fails). Set `false` for hosts that keep 25 open on
     * purpose. Default `true`.
     */
    requireOldPortClosed?: boolean;
    /** The listener check after the change. Default: enabled, 10 attempts of 5 s, 1 s apart. */
    listenerCheck?: ListenerCheckArgs;
    /** Canary and batches. Default: every host at once. */
    rollout?: RolloutArgs;
    /**
     * Read every host over SSH (read-only) while the program runs, so that
     * `pulumi preview` shows per host what will change and hosts that
     * drifted show as changing. The look runs inside the program (the ssh2
     * library, components/lookSsh.ts) with the host's `connection`: its
     * private key or password, and its pinned `hostKey`; no `ssh` client is
     * needed. `false`: previews contact no host (and cannot see drift).
     * Default `true`.
     */
    previewHosts?: boolean;
    /** Fail the program (and so `pulumi preview`) when any host drifted. Default `false`. */
    failOnDrift?: boolean;
}

/**
 * Every default, in one place: `resolveHosts` and `resolveFleet` apply them,
 * nothing else does. The component passes every setting to the host script
 * explicitly, so the script's own defaults never decide anything for it.
 */
export const defaults = {
    service: "smtp",
    protocol: "tcp" as "tcp" | "udp",
    aliases: ["mail"],
    conflicts: "comment" as ConflictPolicy,
    servicesFile: "/etc/services",
    stateDir: "/var/lib/smtp-port",
    /** None given: the script restarts the mail server it found its own way (none for `mta: "none"`). */
    restartCommand: null as string | null,
    sudo: false,
    mta: "auto" as MailServer,
    insecureIgnoreHostKey: false,
    verifyOnHost: true,
    verifyTimeout: 20,
    /** Found on the host by the script's MTA adapter. */
    verifyAddress: "auto",
    requireOldPortClosed: true,
    previewHosts: true,
    failOnDrift: false,
    listenerCheck: { enabled: true, timeoutMs: 5000, attempts: 10, delayMs: 1000 },
};

/** One host with every setting decided: its own, else the component's, else the default. */
export interface ResolvedHost {
    /** The host's name in the fleet (`SmtpHostArgs.name`). */
    name: string;
    /** How to reach it over SSH, as given (`SmtpHostArgs.connection`). */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Any SSH host key is accepted (`SmtpHostArgs.insecureIgnoreHostKey`). */
    insecureIgnoreHostKey: boolean;
    /** The SMTP port this host moves to: its own, else the component's. */
    port: number;
    /** Absolute path of the host's services file. */
    servicesFile: string;
    /** The service name that moves (`smtp`). */
    service: string;
    /** The protocol of its entry. */
    protocol: "tcp" | "udp";
    /** Aliases written on the new entry. */
    aliases: string[];
    /** What to do with other entries on the target port. */
    conflicts: ConflictPolicy;
    /** null: the script's own restart for the mail server it found (none for `mta: "none"`). */
    restartCommand: string | null;
    /** The host script runs through `sudo -n`. */
    sudo: boolean;
    /** The host's mail server. */
    mta: MailServer;
    /** Where the host script keeps its backup and journal on the host. */
    stateDir: string;
    /** The host checks itself after a restart, and rolls back when the check fails. */
    verifyOnHost: boolean;
    /** Seconds the on-host check waits for the greeting. */
    verifyTimeout: number;
    /** `auto`: the address the MTA adapter finds on the host. */
    verifyAddress: string;
    /** The old port must refuse connections after the change. */
    requireOldPortClosed: boolean;
    /** Where the listener check connects to. */
    checkAddress: pulumi.Input<string>;
}

/** Settings of the whole fleet, with every default applied. */
export interface ResolvedFleet {
    /** The listener check, every setting decided. */
    listenerCheck: Required<ListenerCheckArgs>;
    /** Hosts are read (read-only) while the program runs. */
    previewHosts: boolean;
    /** Drift on any host fails the program. */
    failOnDrift: boolean;
    /** Canary and batches as given; undefined: every host at once. */
    rollout: RolloutArgs | undefined;
    /** The rollout's failure budget, or undefined: the first failed step stops it. */
    failureBudget: number | undefined;
}

/**
 * Per host, every setting decided (pure: the arguments as validated).
 * @param args the component's arguments, valid (see `validateSmtpPortArgs`)
 */
export function resolveHosts(args: SmtpPortArgs): ResolvedHost[] {
    const pick = <T>(own: T | undefined, fleet: T | undefined, fallback: T): T => own ?? fleet ?? fallback;
    return args.hosts.map(h => ({
        name: h.name,
        connection: h.connection,
        insecureIgnoreHostKey: h.insecureIgnoreHostKey ?? defaults.insecureIgnoreHostKey,
        port: h.port ?? args.port,
        servicesFile: pick(h.servicesFile, args.servicesFile, defaults.servicesFile),
        service: args.service ?? defaults.service,
        protocol: args.protocol ?? defaults.protocol,
        aliases: args.aliases ?? defaults.aliases,
        conflicts: args.conflicts ?? defaults.conflicts,
        restartCommand: pick<string | null>(h.restartCommand, args.restartCommand, defaults.restartCommand),
        sudo: pick(h.sudo, args.sudo, defaults.sudo),
        mta: pick(h.mta, args.mta, defaults.mta),
        stateDir: pick(h.stateDir, args.stateDir, defaults.stateDir),
        verifyOnHost: args.verifyOnHost ?? defaults.verifyOnHost,
        verifyTimeout: args.verifyTimeout ?? defaults.verifyTimeout,
        verifyAddress: h.verifyAddress ?? defaults.verifyAddress,
        requireOldPortClosed: pick(h.requireOldPortClosed, args.requireOldPortClosed, defaults.requireOldPortClosed),
        checkAddress: h.checkAddress ?? hostOf(h.connection),
    }));
}

/**
 * The fleet-wide settings, every default applied (pure).
 * @param args the component's arguments, valid (see `validateSmtpPortArgs`)
 */
export function resolveFleet(args: SmtpPortArgs): ResolvedFleet {
    const lc = args.listenerCheck;
    return {
        listenerCheck: {
            enabled: lc?.enabled ?? defaults.listenerCheck.enabled,
            timeoutMs: lc?.timeoutMs ?? defaults.listenerCheck.timeoutMs,
            attempts: lc?.attempts ?? defaults.listenerCheck.attempts,
            delayMs: lc?.delayMs ?? defaults.listenerCheck.delayMs,
        },
        previewHosts: args.previewHosts ?? defaults.previewHosts,
        failOnDrift: args.failOnDrift ?? defaults.failOnDrift,
        rollout: args.rollout,
        failureBudget: args.rollout?.failureBudget,
    };
}

/** The SSH address of a connection given as values or as an Output (an address is not a secret). */
function hostOf(connection: SmtpHostArgs["connection"]): pulumi.Input<string> {
    if (pulumi.Output.isInstance(connection) || connection instanceof Promise) {
        return pulumi.unsecret(pulumi.output(connection).apply(c => c.host));
    }
    return (connection as command.types.input.remote.ConnectionArgs).host;
}
