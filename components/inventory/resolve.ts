// Ansible's group rules and variable precedence, so that each host gets the
// address, port and user Ansible itself would connect with.
import { Inventory } from "./model";
import { Origin, Vars } from "./values";
import { VarsLayer } from "./varsFiles";

/** An inventory with the vars folders beside it, by group and host name. */
export interface LoadedInventory {
    inventory: Inventory;
    /** group_vars/<group>: default none. */
    groupVars: Map<string, VarsLayer>;
    /** host_vars/<host>: default none. */
    hostVars: Map<string, VarsLayer>;
}

/** A host with the connection variables Ansible would use for it. */
export interface ResolvedHost {
    name: string;
    /** Every group the host belongs to, through children too, `all` included, sorted by name. */
    groups: string[];
    /** ansible_host (ansible_ssh_host wins where both are set, as in Ansible's ssh plugin). Default: the inventory name. */
    address: unknown;
    /** ansible_port (or ansible_ssh_port). Default 22. */
    port: unknown;
    /** ansible_user (or ansible_ssh_user). Default: none (Ansible: your login; smtp-port: root). */
    user: unknown;
    /** Every variable after precedence, with where its winning value was written. */
    vars: Vars;
    origin: Origin;
}

/** The inventory's hosts and groups after Ansible's rules. */
export interface ResolvedInventory {
    file: string;
    hosts: ResolvedHost[];
    /** Group name to its direct children, after `all` adopted the orphans. */
    groups: Map<string, string[]>;
    problems: string[];
    /** vars problems and skipped files, per group and host name: reported only for the hosts used. */
    layers: { groupVars: Map<string, VarsLayer>; hostVars: Map<string, VarsLayer> };
}

/** A group's depth: the longest path from `all` (which is 0), as Ansible counts it. */
function depths(inv: Inventory, parents: Map<string, string[]>): Map<string, number> {
    const out = new Map<string, number>([["all", 0]]);
    const visiting = new Set<string>();
    const depth = (g: string): number => {
        const known = out.get(g);
        if (known !== undefined) return known;
        if (visiting.has(g)) return 0; // a loop, already reported by addChild
        visiting.add(g);
        const ps = parents.get(g) ?? [];
        const d = 1 + Math.max(...ps.map(depth));
        visiting.delete(g);
        out.set(g, d);
        return d;
    };
    for (const g of inv.groups.keys()) depth(g);
    return out;
}

/**
 * Each host's groups and connection variables by Ansible's precedence (low
 * to high): the inventory's `all` vars; the inventory vars of the host's
 * other groups, shallow before deep, then by ansible_group_priority, then
 * by name; group_vars/all; group_vars/ of those groups in the same order;
 * the host's inventory vars; host_vars/. A host listed under `ungrouped`
 * and some other group is not in `ungrouped` (Ansible's reconcile).
 */
export function resolveInventory(loaded: LoadedInventory): ResolvedInventory {
    const inv = loaded.inventory;
    const { children, parents } = groupGraph(inv);
    const depth = depths(inv, parents);
    const directGroups = new Map<string, string[]>();
    for (const g of inv.groups.values()) for (const h of g.hosts) directGroups.set(h, [...(directGroups.get(h) ?? []), g.name]);
    const groupOrder = (a: string, b: string) => {
        const ga = inv.groups.get(a)!, gb = inv.groups.get(b)!;
        return (depth.get(a)! - depth.get(b)!) || (ga.priority - gb.priority) || (a < b ? -1 : a > b ? 1 : 0);
    };
    const hosts: ResolvedHost[] = [];
    for (const h of inv.hosts.values()) {
        const all = hostGroups(directGroups.get(h.name) ?? [], parents);
        const sorted = [...all].filter(g => g !== "all").sort(groupOrder);
        const layers: Vars[] = [
            inv.groups.get("all")!.vars,
            ...sorted.map(g => inv.groups.get(g)!.vars),
            loaded.groupVars.get("all")?.vars ?? new Map(),
            ...sorted.map(g => loaded.groupVars.get(g)?.vars ?? new Map()),
            h.vars,
            loaded.hostVars.get(h.name)?.vars ?? new Map(),
        ];
        const vars: Vars = new Map();
        for (const l of layers) for (const [k, v] of l) vars.set(k, v);
        hosts.push({
            name: h.name,
            groups: [...all].sort(),
            address: sshVar(vars, "ansible_host", "ansible_ssh_host") ?? h.name,
            port: sshVar(vars, "ansible_port", "ansible_ssh_port") ?? 22,
            user: sshVar(vars, "ansible_user", "ansible_ssh_user"),
            vars,
            origin: h.origin,
        });
    }
    return { file: inv.file, hosts, groups: children, problems: [...inv.problems], layers: { groupVars: loaded.groupVars, hostVars: loaded.hostVars } };
}

/** Each group's children and parents; groups without parents are children of all (Ansible's reconcile). */
function groupGraph(inv: Inventory): { children: Map<string, string[]>; parents: Map<string, string[]> } {
    const children = new Map<string, string[]>();
    for (const g of inv.groups.values()) children.set(g.name, [...g.children]);
    const parents = new Map<string, string[]>();
    for (const [p, cs] of children) for (const c of cs) parents.set(c, [...(parents.get(c) ?? []), p]);
    for (const g of inv.groups.keys()) {
        if (g !== "all" && (parents.get(g) ?? []).length === 0) {
            children.get("all")!.push(g);
            parents.set(g, ["all"]);
        }
    }
    return { children, parents };
}

/** Every group a host is in, through parents, with all; ungrouped only when it is in no other group. */
function hostGroups(direct: string[], parents: Map<string, string[]>): Set<string> {
    const all = new Set<string>();
    const todo = [...direct];
    while (todo.length > 0) {
        const g = todo.pop()!;
        if (all.has(g)) continue;
        all.add(g);
        todo.push(...(parents.get(g) ?? []));
    }
    all.add("all");
    const others = [...all].filter(g => g !== "all" && g !== "ungrouped");
    if (others.length > 0) all.delete("ungrouped");
    else all.add("ungrouped");
    return all;
}

/**
 * The ssh plugin takes the last of its variable names that is set (and not
 * null): ansible_ssh_host over ansible_host.
 */
function sshVar(vars: Vars, ...names: string[]): unknown {
    let out: unknown = undefined;
    for (const n of names) {
        const v = vars.get(n);
        if (v !== undefined && v.value !== null && v.value !== undefined) out = v.value;
    }
    return out;
}
