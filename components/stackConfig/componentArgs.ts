// Config gives strings and plain objects; the component wants typed
// arguments with credentials as secrets: the one place that converts them.
import * as pulumi from "@pulumi/pulumi";
import { SmtpPortArgs, SmtpHostArgs, MailServer } from "../args";
import { RolloutArgs } from "../rollout";
import { HostConfig } from "./hostConfig";

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

/** "true" and "false" (top-level config values are strings) become booleans; anything else stays for validation to name. */
export function booleanFromConfig(v: unknown): unknown {
    return v === "true" ? true : v === "false" ? false : v;
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
    const hosts = (Array.isArray(raw.hosts) ? raw.hosts : []).map(h => hostFromConfig(h, secrets));
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

/** One `smtp-port:hosts` entry as the component's host, with its credentials (per-host over fleet-wide). */
function hostFromConfig(h: HostConfig, secrets: FleetSecrets): SmtpHostArgs {
    // Not an object: validation says so; an empty entry keeps the index.
    if (h === null || typeof h !== "object" || Array.isArray(h)) return h as unknown as SmtpHostArgs;
    const per = (field: "privateKey" | "password"): pulumi.Output<string> | undefined =>
        secrets.perHost
            ? pulumi.secret(pulumi.all([secrets.perHost, secrets[field]]).apply(([m, d]) => (m?.[h?.name]?.[field] ?? d) as string))
            : secrets[field];
    return {
        name: h.name,
        connection: {
            host: h.host,
            port: wholeNumberFromConfig(h.sshPort) as number | undefined,
            user: h.user ?? "root",
            hostKey: h.hostKey,
            dialErrorLimit: wholeNumberFromConfig(h.dialErrorLimit) as number | undefined,
            perDialTimeout: wholeNumberFromConfig(h.perDialTimeout) as number | undefined,
            privateKey: per("privateKey"),
            password: per("password"),
        },
        insecureIgnoreHostKey: booleanFromConfig(h.insecureIgnoreHostKey) as boolean | undefined,
        port: wholeNumberFromConfig(h.port) as number | undefined,
        servicesFile: h.servicesFile,
        restartCommand: h.restartCommand,
        sudo: booleanFromConfig(h.sudo) as boolean | undefined,
        checkAddress: h.checkAddress,
        verifyAddress: h.verifyAddress,
        stateDir: h.stateDir,
        mta: h.mta as MailServer | undefined,
        requireOldPortClosed: booleanFromConfig(h.requireOldPortClosed) as boolean | undefined,
    };
}

/** The component's arguments from the typed values, credentials as Pulumi secrets. */
export function argsFromValues(raw: Record<string, unknown>, hosts: unknown[]): SmtpPortArgs {
    const secret = (v: unknown) => (typeof v === "string" && v !== "" ? pulumi.secret(v) : undefined);
    const rollout = raw.rollout as Record<string, unknown> | undefined;
    const perHost = raw.hostSecrets as Record<string, { privateKey?: string; password?: string }> | undefined;
    return fleetFromConfig({
        port: raw.port,
        hosts: hosts as HostConfig[],
        restartCommand: raw.restartCommand as string | undefined,
        servicesFile: raw.servicesFile as string | undefined,
        sudo: raw.sudo as boolean | undefined,
        conflicts: raw.conflicts as string | undefined,
        mta: raw.mta as string | undefined,
        verifyOnHost: raw.verifyOnHost as boolean | undefined,
        requireOldPortClosed: raw.requireOldPortClosed as boolean | undefined,
        // {} is Pulumi.yaml's default: no canary, no batches.
        rollout: rollout && Object.keys(rollout).length > 0 ? rollout as RolloutArgs : undefined,
        previewHosts: raw.previewHosts as boolean | undefined,
        failOnDrift: raw.failOnDrift as boolean | undefined,
    }, {
        privateKey: secret(raw.privateKey),
        password: secret(raw.password),
        perHost: perHost && Object.keys(perHost).length > 0 ? pulumi.secret(perHost) : undefined,
    });
}
