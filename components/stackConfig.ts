import * as pulumi from "@pulumi/pulumi";
import { SmtpPortArgs, SmtpHostArgs, MailServer } from "./args";
import { RolloutArgs } from "./rollout";

/** One host as written in stack config (`smtp-port:hosts`). No secrets here. */
export interface HostConfig {
    name: string;
    /** SSH address. */
    host: string;
    /** SSH port. Default 22. */
    sshPort?: number;
    /** SSH user. Default root. */
    user?: string;
    /** Pinned host key, `ssh-ed25519 AAAA...`. */
    hostKey?: string;
    insecureIgnoreHostKey?: boolean;
    /** SSH dial attempts before the host counts as unreachable. Default 10 (the provider's). */
    dialErrorLimit?: number;
    /** Seconds per SSH dial attempt. Default 15 (the provider's). */
    perDialTimeout?: number;
    port?: number | string;
    servicesFile?: string;
    restartCommand?: string;
    sudo?: boolean;
    checkAddress?: string;
    stateDir?: string;
    mta?: string;
    requireOldPortClosed?: boolean;
}

/** Credentials, all Pulumi secrets: fleet-wide, with per-host overrides by name. */
export interface FleetSecrets {
    privateKey?: pulumi.Output<string>;
    password?: pulumi.Output<string>;
    perHost?: pulumi.Output<Record<string, { privateKey?: string; password?: string }>>;
}

/** Config gives strings; whole numbers become numbers, anything else stays as written so validation can name it. */
export function wholeNumberFromConfig(v: unknown): unknown {
    if (typeof v === "string" && /^\s*[0-9]+\s*$/.test(v)) return Number(v);
    return v;
}

/** The component's arguments from stack config values. */
export function fleetFromConfig(raw: {
    port: unknown;
    hosts: HostConfig[];
    restartCommand?: string;
    servicesFile?: string;
    sudo?: boolean;
    conflicts?: string;
    mta?: string;
    verifyOnHost?: boolean;
    requireOldPortClosed?: boolean;
    rollout?: RolloutArgs;
    previewHosts?: boolean;
    failOnDrift?: boolean;
}, secrets: FleetSecrets): SmtpPortArgs {
    const hosts: SmtpHostArgs[] = (Array.isArray(raw.hosts) ? raw.hosts : []).map(h => {
        const per = (field: "privateKey" | "password"): pulumi.Output<string> | undefined =>
            secrets.perHost
                ? pulumi.secret(pulumi.all([secrets.perHost, secrets[field]]).apply(([m, d]) => (m?.[h?.name]?.[field] ?? d) as string))
                : secrets[field];
        return {
            name: h?.name,
            connection: {
                host: h?.host,
                port: h?.sshPort,
                user: h?.user ?? "root",
                hostKey: h?.hostKey,
                dialErrorLimit: h?.dialErrorLimit,
                perDialTimeout: h?.perDialTimeout,
                privateKey: per("privateKey"),
                password: per("password"),
            },
            insecureIgnoreHostKey: h?.insecureIgnoreHostKey,
            port: wholeNumberFromConfig(h?.port) as number | undefined,
            servicesFile: h?.servicesFile,
            restartCommand: h?.restartCommand,
            sudo: h?.sudo,
            checkAddress: h?.checkAddress,
            stateDir: h?.stateDir,
            mta: h?.mta as MailServer | undefined,
            requireOldPortClosed: h?.requireOldPortClosed,
        };
    });
    return {
        port: wholeNumberFromConfig(raw.port) as number,
        hosts,
        restartCommand: raw.restartCommand,
        servicesFile: raw.servicesFile,
        sudo: raw.sudo,
        conflicts: raw.conflicts as SmtpPortArgs["conflicts"],
        mta: raw.mta as MailServer | undefined,
        verifyOnHost: raw.verifyOnHost,
        requireOldPortClosed: raw.requireOldPortClosed,
        // `config set --path` may store the budget as a string.
        rollout: raw.rollout && typeof raw.rollout === "object"
            ? { ...raw.rollout, failureBudget: wholeNumberFromConfig(raw.rollout.failureBudget) as number | undefined }
            : raw.rollout,
        previewHosts: raw.previewHosts,
        failOnDrift: raw.failOnDrift,
    };
}
