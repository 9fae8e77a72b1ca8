import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SmtpPortArgs, SmtpHostArgs, MailServer } from "./args";
import { InventoryError, stackHosts, StackHostsConfig } from "./inventory";
import { RolloutArgs } from "./rollout";
import { ArgProblem, smtpPortArgsProblems } from "./validate";

/** The stack program's config namespace (the project's name). */
export const NAMESPACE = "smtp-port";

/** How a stack config key is declared in Pulumi.yaml's `config:` block. */
export interface ConfigKeySpec {
    /** Pulumi's project config type: Pulumi checks a stack's value against it before the program runs. */
    type: "string" | "integer" | "boolean" | "object" | "array";
    /** For arrays: the type of an item. */
    items?: "object" | "string";
    description: string;
    /**
     * Pulumi.yaml's default. Pulumi treats a declared key without a default
     * as required, and refuses a default on a key declared `secret: true`:
     * so optional strings default to "" (read as unset), and secrets are
     * checked by the program (see `secret`).
     */
    default?: unknown;
    /** Must be set with `pulumi config set --secret` (checked by the program, not by Pulumi). */
    secret?: boolean;
    /** Declared for a feature that is not wired yet: setting it is refused, with this reason. */
    reserved?: string;
}

/**
 * Every key of the `smtp-port:` namespace, in the order of Pulumi.yaml's
 * `config:` block (test/unit/stackConfig.test.ts holds the two together).
 */
export const STACK_CONFIG: Record<string, ConfigKeySpec> = {
    port: { type: "integer", description: "The SMTP port every host should listen on, 1-65535. Required." },
    hosts: {
        type: "array", items: "object", default: [],
        description: "The mail servers: a list of {name, host, hostKey, ...} (docs/configuration.md). At least one, unless smtp-port:inventory names them: then per-host settings ({name, port, mta, ...}) of inventory hosts.",
    },
    restartCommand: { type: "string", default: "", description: "Shell command run on a host after its services file changed, and after a revert. Default: none (\"\")." },
    servicesFile: { type: "string", default: "/etc/services", description: "Absolute path of the services file on every host." },
    sudo: { type: "boolean", default: false, description: "Run the host script through sudo -n." },
    conflicts: { type: "string", default: "comment", description: "Other entries on the target port: comment (comment them out) or fail (refuse to change the host)." },
    mta: { type: "string", default: "auto", description: "The mail server on every host: postfix, exim, sendmail, auto or none." },
    verifyOnHost: { type: "boolean", default: true, description: "After a restart, check on the host that the new port greets 220, and roll the host back when it does not." },
    requireOldPortClosed: { type: "boolean", default: true, description: "After the change the old port must refuse connections (else: rollback)." },
    rollout: { type: "object", default: {}, description: "Canary and batches: {canary, batchSize, failureBudget}. Default: every host at once." },
    previewHosts: { type: "boolean", default: true, description: "Read every host over SSH (read-only) during preview, to show what will change and find drift." },
    failOnDrift: { type: "boolean", default: false, description: "Fail the preview when a host drifted." },
    privateKey: {
        type: "string", default: "", secret: true,
        description: "SSH private key for every host. A secret: pulumi config set --secret smtp-port:privateKey < KEYFILE. Default: none (\"\").",
    },
    password: {
        type: "string", default: "", secret: true,
        description: "SSH password for every host. A secret: pulumi config set --secret smtp-port:password. Default: none (\"\").",
    },
    hostSecrets: {
        type: "object", default: {}, secret: true,
        description: "Per host name, {privateKey, password} overriding the fleet-wide ones. A secret: pulumi config set --secret --path 'smtp-port:hostSecrets.mx1.privateKey' < KEYFILE.",
    },
    inventory: {
        type: "string", default: "",
        description: "An Ansible inventory (INI or YAML), relative to the project folder, to take the hosts from; smtp-port:hosts then holds per-host settings by name. Default: none (\"\").",
    },
    knownHosts: {
        type: "string", default: "",
        description: "An OpenSSH known_hosts file, relative to the project folder, each inventory host's key is pinned from. Required with smtp-port:inventory. Default: none (\"\").",
    },
    inventoryGroups: {
        type: "array", items: "string", default: [],
        description: "Only the inventory hosts in these groups, like a play's hosts:. Default: every host of the inventory ([]).",
    },
};

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
    /** The address the on-host check probes. Default `auto` (where the MTA listens). */
    verifyAddress?: string;
    stateDir?: string;
    mta?: string;
    requireOldPortClosed?: boolean;
}

/** The fields of a `smtp-port:hosts` entry, in the README's order. */
export const HOST_FIELDS: (keyof HostConfig)[] = [
    "name", "host", "sshPort", "user", "hostKey", "insecureIgnoreHostKey", "dialErrorLimit", "perDialTimeout",
    "port", "servicesFile", "restartCommand", "sudo", "checkAddress", "verifyAddress", "stateDir", "mta", "requireOldPortClosed",
];
const ROLLOUT_FIELDS: (keyof RolloutArgs)[] = ["canary", "batchSize", "failureBudget"];
const HOST_SECRET_FIELDS = ["privateKey", "password"];

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

/** One problem with the stack config, naming the key as the user writes it. */
export interface ConfigProblem {
    /** `smtp-port:port`, `smtp-port:hosts[1].hostKey`. */
    key: string;
    /** The host's name, for a problem inside a `smtp-port:hosts` entry that has one. */
    host?: string;
    /**
     * For a problem inside a file the key names (`smtp-port:inventory`,
     * `smtp-port:knownHosts`): the file as shown, and the line where known,
     * `ansible/hosts.ini:12`. Default: none (a problem with the value itself).
     */
    where?: string;
    /** What is wrong, without the key: `must be an integer from 1 to 65535, got 70000`. */
    message: string;
}

/** `smtp-port:hosts[1].hostKey (mx2) is required: ...`; `smtp-port:inventory: hosts.ini:12: host "mx4": ...` */
export function describeConfigProblem(p: ConfigProblem): string {
    return `${p.key}${p.host ? ` (${p.host})` : ""}${p.where ? `: ${p.where}:` : ""} ${p.message}`;
}

/**
 * The error the stack program stops with when its config is wrong: one line
 * per problem. A `pulumi.RunError`, which Pulumi prints as the message alone:
 * the user gets the list, not a stack trace through the program's loader.
 */
export class StackConfigError extends pulumi.RunError {
    /**
     * @param problems every problem, each naming its key
     * @param stack the stack's name, for the message. Default: none
     */
    constructor(readonly problems: ConfigProblem[], stack?: string) {
        const n = problems.length;
        super([
            `smtp-port: the stack config${stack ? ` of stack "${stack}"` : ""} has ${n} problem${n === 1 ? "" : "s"}; no host was contacted or changed:`,
            ...problems.map(p => `  ${describeConfigProblem(p)}`),
        ].join("\n"));
        this.name = "StackConfigError";
    }
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so
 * that `prot` is one edit from `port`.
 */
export function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/**
 * The known name closest to `name`, ignoring case, if it is close enough to
 * be the likely intent (at most 2 edits, or a third of the name's length for
 * long names); the first in `known`'s order on a tie.
 */
export function closest(name: string, known: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const k of known) {
        const dist = editDistance(name.toLowerCase(), k.toLowerCase());
        if (dist < bestDistance) {
            best = k;
            bestDistance = dist;
        }
    }
    return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function show(v: unknown): string {
    return JSON.stringify(v) ?? String(v);
}

/** A field path inside a config value: `[1].hostKey` after `hosts`. */
function fieldPath(path: (string | number)[]): string {
    return path.map(s => (typeof s === "number" ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join("");
}

/** The component's field -> the host entry's field, where the names differ. */
const CONNECTION_TO_HOST_FIELD: Record<string, string> = { host: "host", port: "sshPort", user: "user", hostKey: "hostKey", dialErrorLimit: "dialErrorLimit", perDialTimeout: "perDialTimeout" };

/**
 * A problem with the component's arguments as the config key that gave the
 * field: `["hosts", 1, "connection", "port"]` -> `smtp-port:hosts[1].sshPort`.
 */
export function configKeyOfArg(path: (string | number)[], hosts: unknown[]): { key: string; host?: string } {
    const ns = NAMESPACE;
    if (path[0] === "hosts" && typeof path[1] === "number") {
        const i = path[1];
        const entry = hosts[i] as { name?: unknown } | undefined;
        const host = entry && typeof entry === "object" && typeof entry.name === "string" && entry.name !== "" ? entry.name : undefined;
        let rest = path.slice(2);
        if (rest[0] === "connection" && typeof rest[1] === "string") {
            const field = rest[1];
            // Credentials come from the secrets, not from the host entry.
            if (HOST_SECRET_FIELDS.includes(field) || field === "privateKeyPassword") {
                return { key: `${ns}:hostSecrets${fieldPath([host ?? String(i), field])}`, host };
            }
            rest = [CONNECTION_TO_HOST_FIELD[field] ?? field, ...rest.slice(2)];
        }
        return { key: `${ns}:hosts[${i}]${fieldPath(rest)}`, host };
    }
    const [first, ...rest] = path;
    return { key: `${ns}:${first}${fieldPath(rest)}` };
}

/**
 * Whether Pulumi passed a config key as a secret (`config set --secret`).
 * @param key the full key, `smtp-port:privateKey`
 */
export function configIsSecret(key: string): boolean {
    // The SDK answers this for its own warnings, but does not export it as a
    // public API; the list it reads is the one every language host passes.
    const sdk = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    if (typeof sdk === "function") return sdk(key) === true;
    try {
        const keys = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
        return Array.isArray(keys) && keys.includes(key);
    } catch {
        return false;
    }
}

/** What the stack config gives: the component's arguments, or what is wrong. */
export interface StackConfigRead {
    /** The component's arguments: valid only when `problems` is empty. */
    args: SmtpPortArgs;
    /** Every problem, in key order; empty when the config is valid. */
    problems: ConfigProblem[];
    /**
     * Notes worth a `pulumi.log.warn`, each starting with the key it is
     * about (`smtp-port:inventory: ansible_ssh_private_key_file is set for
     * mx1 and not used: ...`). Empty without an inventory.
     */
    warnings: string[];
}

/** Where {@link readStackConfig} finds the files that stack config names. */
export interface StackFiles {
    /** The project folder (where Pulumi.yaml is): `inventory` and `knownHosts` are relative to it. Default: the current folder. */
    baseDir?: string;
    /**
     * Reads the hosts from `smtp-port:hosts`, `inventory`, `knownHosts` and
     * `inventoryGroups`; throws an `InventoryError` listing every problem.
     * Default: inventory.ts's `stackHosts`, which reads the two files.
     */
    readHosts?: (cfg: StackHostsConfig, baseDir: string) => { hosts: HostConfig[]; warnings: string[] };
}

/** The fields of a host that an inventory gives, by the component's connection field: the variable (or key) a problem names. */
const FROM_INVENTORY: Record<string, { key: "inventory" | "knownHosts"; name: string }> = {
    host: { key: "inventory", name: "ansible_host" },
    port: { key: "inventory", name: "ansible_port" },
    user: { key: "inventory", name: "ansible_user" },
    hostKey: { key: "knownHosts", name: "hostKey" },
};

/**
 * One line of an `InventoryError` as a problem naming its config key:
 * `[knownHosts] is required ...` is `smtp-port:knownHosts`; `smtp-port:hosts[1]
 * "mx2": [sshPort] ...` is `smtp-port:hosts[1].sshPort` (mx2); a line that
 * starts with a file is the key naming that file (the known_hosts file:
 * `smtp-port:knownHosts`; the inventory and its group_vars/ and host_vars/:
 * `smtp-port:inventory`), with the file and line as `where`.
 * @param text one of `InventoryError.problems`
 * @param files the inventory, known_hosts file and vars folders (ending in a separator) as the inventory module shows them: relative to the project folder. Default: none
 * @param entries the `smtp-port:hosts` entries as written, to name the host of an entry's problem
 */
export function inventoryProblem(text: string, files: { inventory: string; knownHosts?: string; varsDirs: string[] }, entries: unknown[]): ConfigProblem {
    const ns = NAMESPACE;
    const own = /^\[(inventory|knownHosts|inventoryGroups|hosts)\] ([\s\S]*)$/.exec(text);
    if (own) return { key: `${ns}:${own[1]}`, message: own[2] };
    const entry = /^smtp-port:hosts\[(\d+)\](?: "[\s\S]*?")?: \[([A-Za-z]+)\] ([\s\S]*)$/.exec(text);
    if (entry) {
        const e = entries[Number(entry[1])] as { name?: unknown } | null | undefined;
        const host = e && typeof e === "object" && typeof e.name === "string" && e.name !== "" ? e.name : undefined;
        return { key: `${ns}:hosts[${entry[1]}].${entry[2]}`, message: entry[3], ...(host ? { host } : {}) };
    }
    const inFile = (): { file: string; where: string; message: string } | undefined => {
        for (const f of [files.inventory, files.knownHosts]) {
            if (!f || !text.startsWith(f)) continue;
            const m = /^(:\d+)?: /.exec(text.slice(f.length));
            if (m) return { file: f, where: f + (m[1] ?? ""), message: text.slice(f.length + m[0].length) };
        }
        for (const d of files.varsDirs) {
            if (!text.startsWith(d)) continue;
            const m = /^(.*?)(:\d+)?: /.exec(text.slice(d.length));
            if (m) return { file: d + m[1], where: d + m[1] + (m[2] ?? ""), message: text.slice(d.length + m[0].length) };
        }
        return undefined;
    };
    const f = inFile();
    if (!f) return { key: `${ns}:inventory`, message: text };
    const groups = /^\[inventoryGroups\] ([\s\S]*)$/.exec(f.message);
    if (groups) return { key: `${ns}:inventoryGroups`, where: f.where, message: groups[1] };
    return { key: `${ns}:${f.file === files.knownHosts && f.file !== files.inventory ? "knownHosts" : "inventory"}`, where: f.where, message: f.message };
}

/**
 * The component's arguments from the stack config as Pulumi passes it
 * (`pulumi.runtime.allConfig()`: every key, strings, objects as JSON), and
 * every problem with it, each naming the key as the user writes it. No
 * resources; no I/O but reading the inventory and known_hosts files that
 * `smtp-port:inventory` and `smtp-port:knownHosts` name, through
 * `files.readHosts`. Keys of other namespaces are left alone.
 *
 * With `smtp-port:inventory`, the hosts (names, addresses, SSH ports, users)
 * come from the inventory and their pinned keys from `smtp-port:knownHosts`;
 * `smtp-port:hosts` entries are per-host settings of inventory hosts, by name.
 * @param values every config key and its value, e.g. `{"smtp-port:port": "17"}`
 * @param isSecret whether a key was set as a secret
 * @param stack the stack's name, to name its config file in messages
 * @param files where the files the config names are, and how they are read (defaults: the current folder, inventory.ts)
 */
export function readStackConfig(values: Record<string, string>, isSecret: (key: string) => boolean = configIsSecret, stack = "<stack>", files: StackFiles = {}): StackConfigRead {
    const problems = new ProblemList();
    unknownKeyProblems(values, problems);
    const raw = topLevelValues(values, isSecret, stack, problems);
    // The entries as written: the hosts, or with an inventory per-host settings.
    const entries: unknown[] = Array.isArray(raw.hosts) ? raw.hosts : [];
    hostEntryProblems(entries, stack, problems);
    const rollout = raw.rollout as Record<string, unknown> | undefined;
    if (rollout) {
        for (const field of Object.keys(rollout)) {
            if (!(ROLLOUT_FIELDS as string[]).includes(field)) problems.unknownField(`${NAMESPACE}:rollout`, field, ROLLOUT_FIELDS, `${NAMESPACE}:rollout`);
        }
    }
    const fleet = fleetHosts(raw, entries, files, problems);
    const perHost = raw.hostSecrets as Record<string, unknown> | undefined;
    if (perHost) hostSecretsProblems(perHost, fleet, problems);
    const args = argsFromValues(raw, fleet.hosts);
    componentProblems(args, fleet, entries, problems);
    return { args, problems: sortProblems(problems.list), warnings: fleet.warnings };
}

/**
 * The problems {@link readStackConfig} finds, in the order found. Keys whose
 * problem is already named (a misspelt field suggests its right name) take
 * no second one: the component's "is required" for them would be noise.
 */
class ProblemList {
    readonly list: ConfigProblem[] = [];
    private readonly named = new Set<string>();

    add(key: string, message: string, host?: string): void {
        if (this.named.has(key)) return;
        this.named.add(key);
        this.list.push({ key, message, ...(host ? { host } : {}) });
    }

    /** A field not in `fields`: the likely intent if one is close, else every field. */
    unknownField(at: string, field: string, fields: readonly string[], what: string, host?: string): void {
        const near = closest(field, fields);
        if (near) this.named.add(`${at}.${near}`);
        this.add(`${at}${fieldPath([field])}`, near ? `is not a field of ${what}: did you mean ${at}.${near}?` : `is not a field of ${what} (the fields: ${fields.join(", ")})`, host);
    }
}

/** Keys of the `smtp-port:` namespace that are not settings (a misspelt key would otherwise be ignored). */
function unknownKeyProblems(values: Record<string, string>, problems: ProblemList): void {
    const ns = NAMESPACE;
    const known = Object.keys(STACK_CONFIG);
    for (const full of Object.keys(values)) {
        if (!full.startsWith(`${ns}:`)) continue;
        const name = full.slice(ns.length + 1);
        if (name in STACK_CONFIG) continue;
        const near = closest(name, known);
        problems.add(full, near
            ? `is not a setting of smtp-port: did you mean ${ns}:${near}?`
            : `is not a setting of smtp-port (the settings: ${known.map(k => `${ns}:${k}`).join(", ")})`);
    }
}

/**
 * Every set key's value, typed as its spec says (numbers and booleans from
 * their strings, objects and lists from JSON); a value that cannot be used
 * (reserved, the wrong shape, a credential in plain text) is left out, with
 * its problem.
 */
function topLevelValues(values: Record<string, string>, isSecret: (key: string) => boolean, stack: string, problems: ProblemList): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(STACK_CONFIG)) {
        const key = `${NAMESPACE}:${name}`;
        const text = values[key];
        if (text === undefined) continue;
        if (spec.reserved !== undefined) {
            if (text !== "") problems.add(key, `is not read by this version: ${spec.reserved}; remove it`);
            continue;
        }
        const value = typedValue(name, spec, text, problems);
        if (!value.ok) continue;
        raw[name] = value.value;
        if (spec.secret && text !== "" && text !== "{}" && !isSecret(key)) {
            plainSecretProblem(name, stack, problems);
            delete raw[name];
        }
    }
    return raw;
}

/** One key's text as its spec's type; not ok (with the problem) for an object or list that is not one. */
function typedValue(name: string, spec: ConfigKeySpec, text: string, problems: ProblemList): { ok: boolean; value?: unknown } {
    switch (spec.type) {
        case "integer":
            return { ok: true, value: wholeNumberFromConfig(text) };
        case "boolean":
            return { ok: true, value: booleanFromConfig(text) };
        case "string":
            // Pulumi.yaml's default for an optional string: unset.
            return { ok: true, value: text === "" ? undefined : text };
    }
    const key = `${NAMESPACE}:${name}`;
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        v = text;
    }
    const isList = Array.isArray(v);
    const isObject = v !== null && typeof v === "object" && !isList;
    if (spec.type === "array" ? !isList : !isObject) {
        const what = spec.type === "array" ? "a list" : "an object";
        const how = spec.type === "array" ? `pulumi config set --path '${key}[0].name' mx1` : `pulumi config set --path '${key}.FIELD' VALUE`;
        // A credential's value is never shown.
        problems.add(key, spec.secret ? `must be ${what}` : `must be ${what} (in Pulumi.<stack>.yaml, or with ${how}), got ${show(v)}`);
        return { ok: false };
    }
    // Pulumi.yaml's default for inventoryGroups: every group.
    return { ok: true, value: name === "inventoryGroups" && isList && (v as unknown[]).length === 0 ? undefined : v };
}

/** A credential key set in plain text: how to set it as a secret (never its value). */
function plainSecretProblem(name: string, stack: string, problems: ProblemList): void {
    const key = `${NAMESPACE}:${name}`;
    const how = name === "hostSecrets" ? `pulumi config set --secret --path '${key}.NAME.privateKey' < KEYFILE` : name === "privateKey" ? `pulumi config set --secret ${key} < KEYFILE` : `pulumi config set --secret ${key}`;
    problems.add(key, `must be a secret, but it is in plain text in Pulumi.${stack}.yaml: set it again with ${how} (and replace the credential if that file was shared)`);
}

/**
 * Fields of `smtp-port:hosts` entries that are not host fields. A
 * credential among them is removed from the entry: it is in plain text, so
 * it is never used or shown.
 */
function hostEntryProblems(entries: unknown[], stack: string, problems: ProblemList): void {
    const ns = NAMESPACE;
    entries.forEach((h, i) => {
        if (h === null || typeof h !== "object" || Array.isArray(h)) return; // the component names it
        const entry = h as Record<string, unknown>;
        const host = typeof entry.name === "string" && entry.name !== "" ? entry.name : undefined;
        const at = `${ns}:hosts[${i}]`;
        for (const field of Object.keys(entry)) {
            if ((HOST_FIELDS as string[]).includes(field)) continue;
            if (!["privateKey", "password", "privateKeyPassword"].includes(field)) {
                problems.unknownField(at, field, HOST_FIELDS, "a host", host);
                continue;
            }
            const instead = field === "privateKeyPassword"
                ? "remove it: stack config has no key for a private key's passphrase (use a key without one, or the component's connection.privateKeyPassword)"
                : `remove it, and set it as a secret with pulumi config set --secret --path '${ns}:hostSecrets.${host ?? "NAME"}.${field}'${field === "privateKey" ? " < KEYFILE" : ""}`;
            problems.add(`${at}.${field}`, `must not be in ${ns}:hosts, which is plain text: ${instead} (and replace the credential if Pulumi.${stack}.yaml was shared)`, host);
            delete entry[field];
        }
    });
}

/** The fleet's hosts as {@link fleetHosts} found them, and what later checks need to name their problems. */
interface FleetHosts {
    hosts: unknown[];
    /** The inventory could not be read: which hosts it holds is unknown. */
    hostsUnknown: boolean;
    warnings: string[];
    /** `smtp-port:inventory` as set. Default: none (the hosts come from `smtp-port:hosts`). */
    inventory?: string;
    /** The files as the inventory module shows them in its problems: relative to the project folder. */
    fileNames: { inventory: string; knownHosts?: string; varsDirs: string[] };
}

/**
 * Where the hosts come from: `smtp-port:hosts`, or the inventory with the
 * entries as per-host settings. Without an inventory, readHosts only checks
 * that knownHosts and inventoryGroups are not set alone.
 */
function fleetHosts(raw: Record<string, unknown>, entries: unknown[], files: StackFiles, problems: ProblemList): FleetHosts {
    const inventory = raw.inventory as string | undefined;
    const baseDir = files.baseDir ?? process.cwd();
    const shown = (f: string) => path.relative(baseDir, path.resolve(baseDir, f)) || path.resolve(baseDir, f);
    const invDir = inventory !== undefined ? path.dirname(path.resolve(baseDir, inventory)) : baseDir;
    const fileNames = {
        inventory: inventory !== undefined ? shown(inventory) : "",
        knownHosts: typeof raw.knownHosts === "string" ? shown(raw.knownHosts) : undefined,
        varsDirs: ["group_vars", "host_vars"].map(d => path.relative(baseDir, path.join(invDir, d)) + path.sep),
    };
    const fleet: FleetHosts = { hosts: entries, hostsUnknown: false, warnings: [], inventory, fileNames };
    try {
        const r = (files.readHosts ?? stackHosts)({
            // With an inventory, an absent or unusable hosts value is no overrides.
            hosts: inventory === undefined ? entries : raw.hosts,
            inventory,
            knownHosts: raw.knownHosts as string | undefined,
            inventoryGroups: raw.inventoryGroups,
        }, baseDir);
        fleet.hosts = r.hosts;
        fleet.warnings = r.warnings.map(w => `${NAMESPACE}:inventory: ${w}`);
    } catch (e) {
        if (!(e instanceof InventoryError)) throw e;
        // Which hosts an unusable inventory holds is unknown: no check that
        // needs the host list runs (it would only add noise).
        if (inventory !== undefined) {
            fleet.hosts = [];
            fleet.hostsUnknown = true;
        }
        // Pushed as they are: one key (smtp-port:inventory) may have many.
        for (const text of e.problems) problems.list.push(inventoryProblem(text, fileNames, entries));
    }
    return fleet;
}

/** `smtp-port:hostSecrets` entries: each names a host of the fleet and holds only string credentials. */
function hostSecretsProblems(perHost: Record<string, unknown>, fleet: FleetHosts, problems: ProblemList): void {
    const ns = NAMESPACE;
    const hostNames = fleet.hosts.map(h => (h as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === "string");
    const fleetKey = fleet.inventory !== undefined ? `${ns}:inventory` : `${ns}:hosts`;
    for (const [name, entry] of Object.entries(perHost)) {
        const at = `${ns}:hostSecrets${fieldPath([name])}`;
        if (!fleet.hostsUnknown && !hostNames.includes(name)) {
            const near = closest(name, hostNames);
            problems.add(at, near ? `names no host of ${fleetKey}: did you mean ${near}?` : `names no host of ${fleetKey} (the hosts: ${hostNames.join(", ")})`);
        }
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            problems.add(at, "must be an object with privateKey and/or password");
            continue;
        }
        for (const [field, v] of Object.entries(entry)) {
            if (!HOST_SECRET_FIELDS.includes(field)) problems.unknownField(at, field, HOST_SECRET_FIELDS, "a host's secrets");
            else if (typeof v !== "string") problems.add(`${at}.${field}`, "must be a string");
        }
    }
}

/** The component's arguments from the typed values, credentials as Pulumi secrets. */
function argsFromValues(raw: Record<string, unknown>, hosts: unknown[]): SmtpPortArgs {
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

/** The component's own validation of the arguments, each problem named by the config key (or inventory line) that gave the field. */
function componentProblems(args: SmtpPortArgs, fleet: FleetHosts, entries: unknown[], problems: ProblemList): void {
    const ns = NAMESPACE;
    for (const p of smtpPortArgsProblems(args)) {
        if (fleet.hostsUnknown && p.path[0] === "hosts") continue; // "must list at least one host": the inventory's problems say why
        if (fleet.inventory !== undefined && p.path[0] === "hosts" && typeof p.path[1] === "number") {
            problems.list.push(inventoryHostProblem(p, fleet.hosts as HostConfig[], entries, fleet.fileNames));
            continue;
        }
        const { key, host } = configKeyOfArg(p.path, fleet.hosts);
        // An empty fleet: say where else the hosts can come from.
        const hint = p.path.length === 1 && p.path[0] === "hosts" ? ` (or take them from an Ansible inventory: ${ns}:inventory and ${ns}:knownHosts)` : "";
        problems.add(key, p.message + hint, host);
    }
}

/**
 * A problem the component found with a host that came from an inventory,
 * named where the user can fix it: a per-host setting at its
 * `smtp-port:hosts` entry, a credential at `smtp-port:hostSecrets`, the
 * address, SSH port, user and name at the inventory, the key at knownHosts.
 */
function inventoryHostProblem(p: ArgProblem, hosts: HostConfig[], entries: unknown[], files: { inventory: string; knownHosts?: string }): ConfigProblem {
    const ns = NAMESPACE;
    const i = p.path[1] as number;
    const name = hosts[i]?.name;
    let rest = p.path.slice(2);
    if (rest[0] === "connection" && typeof rest[1] === "string") {
        const field = rest[1];
        const from = FROM_INVENTORY[field];
        if (from) {
            return { key: `${ns}:${from.key}`, where: files[from.key], message: `host "${name}": [${from.name}] ${p.message}` };
        }
        if (HOST_SECRET_FIELDS.includes(field) || field === "privateKeyPassword") {
            const { key } = configKeyOfArg(p.path, hosts);
            return { key, host: name, message: p.message };
        }
        rest = [CONNECTION_TO_HOST_FIELD[field] ?? field, ...rest.slice(2)];
    }
    const j = entries.findIndex(e => e !== null && typeof e === "object" && (e as { name?: unknown }).name === name);
    if (j >= 0 && rest.length > 0 && rest[0] !== "name") return { key: `${ns}:hosts[${j}]${fieldPath(rest)}`, host: name, message: p.message };
    return { key: `${ns}:inventory`, where: files.inventory, message: `host "${name}": [${rest.length > 0 ? rest.join(".") : "name"}] ${p.message}` };
}

/** Problems in the order of Pulumi.yaml's keys, then of hosts, then of fields; unknown keys first. */
function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
    const known = Object.keys(STACK_CONFIG);
    const rank = (p: ConfigProblem): number[] => {
        const m = /^[^:]+:([A-Za-z0-9_]+)(?:\[(\d+)\])?(?:\.([A-Za-z0-9_]+))?/.exec(p.key);
        const top = m ? known.indexOf(m[1]) : -1;
        const index = m?.[2] !== undefined ? Number(m[2]) : -1;
        const field = m?.[3] !== undefined ? (HOST_FIELDS as string[]).indexOf(m[3]) : -1;
        return [top, index, field === -1 && m?.[3] !== undefined ? HOST_FIELDS.length : field];
    };
    return problems
        .map((p, i) => ({ p, i, r: rank(p) }))
        .sort((a, b) => {
            for (let k = 0; k < a.r.length; k++) if (a.r[k] !== b.r[k]) return a.r[k] - b.r[k];
            return a.i - b.i;
        })
        .map(x => x.p);
}

export type { ArgProblem };
