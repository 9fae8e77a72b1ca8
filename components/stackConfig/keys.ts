// Every stack config key declared once, so that Pulumi.yaml (held to it by
// test/unit/stackConfig.test.ts), the reader and its hints cannot disagree.

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
