// The stack program's one way into its config: every check runs and every
// problem comes back at once, so that the user fixes them in one pass.
import * as pulumi from "@pulumi/pulumi";
import { SmtpPortArgs } from "../args";
import { RolloutArgs } from "../rollout";
import { smtpPortArgsProblems } from "../validate";
import { argsFromValues } from "./componentArgs";
import { ConfigProblem } from "./configProblem";
import { FleetHosts, StackFiles, fleetHosts } from "./fleetHosts";
import { HOST_FIELDS, HostConfig } from "./hostConfig";
import { hostEntryProblems, hostSecretsProblems } from "./hostEntries";
import { NAMESPACE, STACK_CONFIG } from "./keys";
import { topLevelValues, unknownKeyProblems } from "./keyValues";
import { configKeyOfArg, inventoryHostProblem } from "./problemKey";
import { ProblemList } from "./problemList";

const ROLLOUT_FIELDS: (keyof RolloutArgs)[] = ["canary", "batchSize", "failureBudget"];

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
 * @param files where the files the config names are, and how they are read (defaults: the current folder, components/inventory)
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
