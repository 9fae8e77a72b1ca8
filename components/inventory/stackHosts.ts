// Where the stack's hosts come from (`hosts` by hand, or the inventory and
// known_hosts files), checked as a whole so that one error lists every problem.
import * as path from "path";
import type { HostConfig } from "../stackConfig/hostConfig";
import { InventoryOptions, hostsFromInventory } from "./hostList";
import { KnownHosts } from "./knownHosts";
import { loadInventory, readKnownHosts } from "./load";
import { LoadedInventory, resolveInventory } from "./resolve";
import { show } from "./values";

/** The inventory's problems, all at once. */
export class InventoryError extends Error {
    constructor(readonly problems: string[]) {
        super(`smtp-port: the Ansible inventory cannot be used:\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "InventoryError";
    }
}

/**
 * The stack's host list from `smtp-port:inventory` and `smtp-port:knownHosts`
 * (paths relative to `baseDir`, the project folder). Throws one
 * {@link InventoryError} listing every problem; returns the hosts and notes
 * worth a warning.
 */
export function inventoryHostsFromFiles(args: { inventory: string; knownHosts: string; baseDir: string } & InventoryOptions): { hosts: HostConfig[]; warnings: string[] } {
    const inv = path.resolve(args.baseDir, args.inventory);
    const khPath = path.resolve(args.baseDir, args.knownHosts);
    const problems: string[] = [];
    let loaded: LoadedInventory | undefined;
    let kh: KnownHosts | undefined;
    try {
        loaded = loadInventory(inv, args.baseDir);
    } catch (e) {
        problems.push(`[inventory] cannot read ${args.inventory}: ${(e as Error).message}`);
    }
    try {
        kh = readKnownHosts(khPath, args.baseDir);
    } catch (e) {
        problems.push(`[knownHosts] cannot read ${args.knownHosts}: ${(e as Error).message}`);
    }
    if (!loaded || !kh) throw new InventoryError(problems);
    const r = hostsFromInventory(resolveInventory(loaded), kh, args);
    if (r.problems.length > 0) throw new InventoryError(r.problems);
    return { hosts: r.hosts, warnings: r.warnings };
}

/** The stack config keys that say where the hosts come from (namespace `smtp-port`). */
export interface StackHostsConfig {
    /** `hosts`: the hosts by hand, or with `inventory` the per-host overrides. Default none. */
    hosts?: unknown;
    /** `inventory`: an Ansible inventory file (INI or YAML), relative to the project folder. Default none. */
    inventory?: string;
    /** `knownHosts`: an OpenSSH known_hosts file the keys are pinned from; required with `inventory`. Default none. */
    knownHosts?: string;
    /** `inventoryGroups`: only the hosts of these groups. Default: every host of the inventory. */
    inventoryGroups?: unknown;
}

/**
 * The stack's host list from its config: `hosts` as written when there is
 * no `inventory`; else the inventory's hosts, keys pinned from
 * `knownHosts`, `hosts` entries applied by name. Paths are relative to
 * `baseDir` (the project folder). Throws one {@link InventoryError} with
 * every problem; returns notes worth a warning.
 */
export function stackHosts(cfg: StackHostsConfig, baseDir: string): { hosts: HostConfig[]; warnings: string[] } {
    if (cfg.inventory === undefined) {
        const problems: string[] = [];
        if (cfg.knownHosts !== undefined) problems.push("[knownHosts] is read only with smtp-port:inventory (set both, or neither)");
        if (cfg.inventoryGroups !== undefined) problems.push("[inventoryGroups] is read only with smtp-port:inventory");
        if (cfg.hosts === undefined) problems.push("[hosts] is required (or smtp-port:inventory and smtp-port:knownHosts)");
        if (problems.length > 0) throw new InventoryError(problems);
        // Validation of hand-written hosts is the component's.
        return { hosts: cfg.hosts as HostConfig[], warnings: [] };
    }
    const problems: string[] = [];
    if (typeof cfg.inventory !== "string" || cfg.inventory.trim() === "") problems.push(`[inventory] must be a file path, got ${show(cfg.inventory)}`);
    if (typeof cfg.knownHosts !== "string" || cfg.knownHosts.trim() === "") {
        problems.push(cfg.knownHosts === undefined
            ? "[knownHosts] is required with smtp-port:inventory: the host keys are pinned from it"
            : `[knownHosts] must be a file path, got ${show(cfg.knownHosts)}`);
    }
    const groups = cfg.inventoryGroups;
    if (groups !== undefined && !(Array.isArray(groups) && groups.length > 0 && groups.every(g => typeof g === "string" && g !== ""))) {
        problems.push(`[inventoryGroups] must be a list of group names, got ${show(groups)}`);
    }
    if (cfg.hosts !== undefined && !Array.isArray(cfg.hosts)) problems.push(`[hosts] must be a list of per-host settings, got ${show(cfg.hosts)}`);
    if (problems.length > 0) throw new InventoryError(problems);
    return inventoryHostsFromFiles({
        inventory: cfg.inventory, knownHosts: cfg.knownHosts!, baseDir,
        groups: groups as string[] | undefined, overrides: cfg.hosts as HostConfig[] | undefined,
    });
}
