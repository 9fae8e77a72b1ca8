// The hosts come from `smtp-port:hosts` or from an Ansible inventory: one
// place decides which, and turns the inventory's errors into config problems.
import * as path from "path";
import { InventoryError, stackHosts, StackHostsConfig } from "../inventory";
import { HostConfig } from "./hostConfig";
import { NAMESPACE } from "./keys";
import { inventoryProblem } from "./problemKey";
import { ProblemList } from "./problemList";

/** Where {@link readStackConfig} finds the files that stack config names. */
export interface StackFiles {
    /** The project folder (where Pulumi.yaml is): `inventory` and `knownHosts` are relative to it. Default: the current folder. */
    baseDir?: string;
    /**
     * Reads the hosts from `smtp-port:hosts`, `inventory`, `knownHosts` and
     * `inventoryGroups`; throws an `InventoryError` listing every problem.
     * Default: components/inventory's `stackHosts`, which reads the two files.
     */
    readHosts?: (cfg: StackHostsConfig, baseDir: string) => { hosts: HostConfig[]; warnings: string[] };
}

/** The fleet's hosts as {@link fleetHosts} found them, and what later checks need to name their problems. */
export interface FleetHosts {
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
export function fleetHosts(raw: Record<string, unknown>, entries: unknown[], files: StackFiles, problems: ProblemList): FleetHosts {
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
