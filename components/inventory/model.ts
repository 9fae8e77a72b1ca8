// The inventory both readers (INI and YAML) build, with Ansible's rules for
// groups (all and ungrouped, children without loops) kept in one place.
import { expandHostPattern } from "./hostPatterns";
import { Origin, Vars, show, where } from "./values";

/** One group as written in the inventory file. */
export interface InventoryGroup {
    name: string;
    /** Variables written for the group in the inventory file itself. */
    vars: Vars;
    /** `ansible_group_priority`: among groups of the same depth, higher wins. Default 1. */
    priority: number;
    children: string[];
    /** Hosts listed directly under the group. */
    hosts: string[];
}

/** One host as written in the inventory file. */
export interface InventoryHost {
    name: string;
    /** Variables written for the host in the inventory file (the `:port` of a pattern is ansible_port). */
    vars: Vars;
    /** Where the host first appears. */
    origin: Origin;
}

/** A parsed inventory file: groups and hosts in the order written, and what is wrong with it. */
export interface Inventory {
    file: string;
    groups: Map<string, InventoryGroup>;
    hosts: Map<string, InventoryHost>;
    problems: string[];
}

export function newInventory(file: string): Inventory {
    const inv: Inventory = { file, groups: new Map(), hosts: new Map(), problems: [] };
    // Ansible starts every inventory with these two, ungrouped a child of all.
    addGroup(inv, "all");
    addGroup(inv, "ungrouped");
    inv.groups.get("all")!.children.push("ungrouped");
    return inv;
}

export function addGroup(inv: Inventory, name: string): InventoryGroup {
    let g = inv.groups.get(name);
    if (!g) {
        g = { name, vars: new Map(), priority: 1, children: [], hosts: [] };
        inv.groups.set(name, g);
    }
    return g;
}

export function setGroupVar(inv: Inventory, group: InventoryGroup, key: string, value: unknown, origin: Origin): void {
    if (key === "ansible_group_priority") {
        // Ansible keeps it as the group's priority, not as a variable.
        const n = typeof value === "number" ? value : typeof value === "string" && /^\s*[-+]?[0-9]+\s*$/.test(value) ? Number(value) : NaN;
        if (!Number.isInteger(n)) inv.problems.push(`${where(origin)}: group "${group.name}": [ansible_group_priority] must be an integer, got ${show(value)}`);
        else group.priority = n;
        return;
    }
    group.vars.set(key, { value, origin });
}

/** Adds a host (the port of a `name:port` pattern counts only where the host first appears, as in Ansible). */
export function addHost(inv: Inventory, name: string, group: InventoryGroup, port: number | undefined, origin: Origin): InventoryHost {
    let h = inv.hosts.get(name);
    if (!h) {
        h = { name, vars: new Map(), origin };
        if (port) h.vars.set("ansible_port", { value: port, origin });
        inv.hosts.set(name, h);
    }
    if (!group.hosts.includes(name)) group.hosts.push(name);
    return h;
}

export function addChild(inv: Inventory, parent: string, child: string, origin: Origin): void {
    const p = inv.groups.get(parent)!;
    if (parent === child) {
        inv.problems.push(`${where(origin)}: group "${parent}" cannot be its own child`);
        return;
    }
    if (ancestors(inv, parent).has(child)) {
        inv.problems.push(`${where(origin)}: adding group "${child}" as a child of "${parent}" makes a loop`);
        return;
    }
    if (!p.children.includes(child)) p.children.push(child);
}

function parentsOf(inv: Inventory, name: string): string[] {
    const out: string[] = [];
    for (const g of inv.groups.values()) if (g.children.includes(name)) out.push(g.name);
    return out;
}

/** Every group above `name` (not `name` itself). */
function ancestors(inv: Inventory, name: string): Set<string> {
    const seen = new Set<string>();
    const todo = parentsOf(inv, name);
    while (todo.length > 0) {
        const g = todo.pop()!;
        if (seen.has(g)) continue;
        seen.add(g);
        todo.push(...parentsOf(inv, g));
    }
    return seen;
}

export function patternHosts(inv: Inventory, pattern: string, origin: Origin): { names: string[]; port?: number } | undefined {
    if (pattern.trim().endsWith(":")) {
        inv.problems.push(`${where(origin)}: host pattern ${JSON.stringify(pattern)} ends in ":" (reserved for a port)`);
        return undefined;
    }
    if (pattern === "") {
        inv.problems.push(`${where(origin)}: empty host name`);
        return undefined;
    }
    try {
        return expandHostPattern(pattern);
    } catch (e) {
        inv.problems.push(`${where(origin)}: host pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`);
        return undefined;
    }
}
