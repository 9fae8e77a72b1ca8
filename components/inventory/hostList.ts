// A resolved inventory as the stack's host list, with every reason a host
// cannot be used collected rather than the host dropped.
import type { HostConfig } from "../stackConfig/hostConfig";
import { KnownHosts, pinHostKey } from "./knownHosts";
import { ResolvedHost, ResolvedInventory } from "./resolve";
import { UnsafeString, VarValue, show, where } from "./values";

/** Which hosts, and the stack's per-host settings. */
export interface InventoryOptions {
    /** Only the hosts in these groups (a child group's hosts count as its parent's), like a play's `hosts:`. Default: every host. */
    groups?: string[];
    /**
     * Entries of `smtp-port:hosts`, matched by name: their port, mta,
     * restartCommand (and the other per-host settings) apply. The address,
     * SSH port, user and key come from the inventory and known_hosts only.
     * Default none.
     */
    overrides?: HostConfig[];
}

/** Fields of a `hosts` entry that the inventory and known_hosts decide when an inventory is used. */
const FROM_INVENTORY: Record<string, string> = {
    host: "ansible_host", sshPort: "ansible_port", user: "ansible_user", hostKey: "known_hosts", insecureIgnoreHostKey: "known_hosts",
};

/** Variables Ansible passes to ssh that smtp-port does not use: said once, not silently dropped. */
const NOT_USED: Record<string, string> = {
    ansible_ssh_common_args: "smtp-port connects directly (no ssh options, no jump hosts)",
    ansible_ssh_extra_args: "smtp-port connects directly (no ssh options, no jump hosts)",
    ansible_ssh_args: "smtp-port connects directly (no ssh options, no jump hosts)",
    ansible_ssh_private_key_file: "set the key as a secret: pulumi config set --secret smtp-port:privateKey < KEY (or smtp-port:hostSecrets)",
    ansible_password: "set it as a secret: smtp-port:password (or smtp-port:hostSecrets)",
    ansible_ssh_pass: "set it as a secret: smtp-port:password (or smtp-port:hostSecrets)",
};

const SSH_CONNECTIONS = ["ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh", "ansible.builtin.paramiko_ssh", "ansible.legacy.ssh"];

/** Problems with one resolved host's connection variables, each naming where the value was written. */
function connectionProblems(h: ResolvedHost): string[] {
    const out: string[] = [];
    const at = (names: string[]): { name: string; v: VarValue } | undefined => {
        let found: { name: string; v: VarValue } | undefined;
        for (const n of names) {
            const v = h.vars.get(n);
            if (v && v.value !== null && v.value !== undefined) found = { name: n, v };
        }
        return found;
    };
    const add = (names: string[], msg: string) => {
        const f = at(names);
        out.push(`${f ? where(f.v.origin) : where(h.origin)}: host "${h.name}": [${f?.name ?? names[0]}] ${msg}`);
    };
    const text = (names: string[], what: string) => {
        const f = at(names);
        if (!f) return;
        const v = f.v.value;
        if (v instanceof UnsafeString) {
            // Never empty: ansible-core 2.19 reads an empty !unsafe as null.
            if (/\s/.test(v.text)) add(names, `must be ${what} without spaces, got ${show(v)}`);
            return;
        }
        if (typeof v !== "string" && typeof v !== "number") {
            add(names, `must be ${what}, got ${show(v)}`);
        } else if (typeof v === "string" && /\{\{|\{%/.test(v)) {
            add(names, `is a Jinja2 template (${show(v)}); smtp-port does not evaluate templates: write the value`);
        } else if (String(v).trim() === "" || /\s/.test(String(v))) {
            // An INI [group:vars] line keeps a trailing comment in a plain
            // string value: the likeliest cause of `root # admin`.
            const hint = /\s#/.test(String(v)) ? ` (an INI :vars line keeps a trailing "# comment" as part of the value)` : "";
            add(names, `must be ${what} without spaces, got ${show(v)}${hint}`);
        }
    };
    text(["ansible_host", "ansible_ssh_host"], "an address");
    text(["ansible_user", "ansible_ssh_user"], "a user name");
    const p = at(["ansible_port", "ansible_ssh_port"]);
    if (p) {
        const v = p.v.value;
        const n = typeof v === "number" ? v : typeof v === "string" && /^\s*[0-9]+\s*$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < 1 || n > 65535) add(["ansible_port", "ansible_ssh_port"], `must be an integer from 1 to 65535, got ${show(v)}`);
    }
    const c = h.vars.get("ansible_connection");
    if (c && c.value !== null && !(typeof c.value === "string" && SSH_CONNECTIONS.includes(c.value))) {
        out.push(`${where(c.origin)}: host "${h.name}": [ansible_connection] is ${show(c.value)}; smtp-port connects over SSH only (leave the host out with inventoryGroups)`);
    }
    return out;
}

/**
 * The stack's host list (`HostConfig[]`, as `smtp-port:hosts` would give
 * it) from a resolved inventory and known_hosts: per host its name, the
 * address (ansible_host, default the name), SSH port (ansible_port, default
 * 22), user (ansible_user; default none: the stack's root) and the key
 * pinned from known_hosts, then the per-host settings of the matching
 * `overrides` entry. Pure: returns every problem (none means `hosts` is
 * usable) and notes about inventory settings that smtp-port does not use.
 */
export function hostsFromInventory(inv: ResolvedInventory, kh: KnownHosts, opts: InventoryOptions = {}): { hosts: HostConfig[]; problems: string[]; warnings: string[] } {
    const problems = [...inv.problems];
    const selected = selectedHosts(inv, opts.groups, problems);
    const notUsed = new Map<string, string[]>();
    const hosts: HostConfig[] = [];
    for (const h of selected) {
        const host = pinnedHost(h, kh, problems, notUsed);
        if (host) hosts.push(host);
    }
    const skipped = varsLayerProblems(inv, selected, problems);
    // known_hosts lines ssh would skip are problems: the file is named for pinning.
    problems.push(...new Set(kh.problems));
    const warnings: string[] = [];
    for (const s of skipped) warnings.push(`${s}: vault-encrypted, not read (smtp-port has no vault password): keep ansible_host, ansible_port and ansible_user out of vaulted files`);
    for (const [k, names] of notUsed) warnings.push(`${k} is set for ${names.join(", ")} and not used: ${NOT_USED[k]}`);
    applyOverrides(inv, opts, selected, hosts, problems);
    return { hosts, problems, warnings };
}

/** The hosts in `groups` (default: every host), with a problem for a group the inventory lacks or an empty selection. */
function selectedHosts(inv: ResolvedInventory, groups: string[] | undefined, problems: string[]): ResolvedHost[] {
    let selected = inv.hosts;
    if (groups !== undefined) {
        for (const g of groups) if (!inv.groups.has(g)) problems.push(`${inv.file}: [inventoryGroups] no group "${g}" in the inventory`);
        selected = inv.hosts.filter(h => h.groups.some(g => groups.includes(g)));
    }
    if (selected.length === 0 && problems.length === 0) {
        problems.push(`${inv.file}: no hosts${groups ? ` in group ${groups.map(g => `"${g}"`).join(", ")}` : ""}`);
    }
    return selected;
}

/**
 * One inventory host as a `smtp-port:hosts` entry with its key pinned from
 * known_hosts; undefined (with its problems) when its connection variables
 * or its key are unusable. Notes in `notUsed` the variables set for it that
 * smtp-port does not use.
 */
function pinnedHost(h: ResolvedHost, kh: KnownHosts, problems: string[], notUsed: Map<string, string[]>): HostConfig | undefined {
    const own = connectionProblems(h);
    problems.push(...own);
    for (const k of Object.keys(NOT_USED)) {
        const v = h.vars.get(k);
        if (v && v.value !== null && v.value !== "") notUsed.set(k, [...(notUsed.get(k) ?? []), h.name]);
    }
    if (own.length > 0) return undefined;
    const address = String(h.address instanceof UnsafeString ? h.address.text : h.address);
    const port = Number(h.port);
    const pin = pinHostKey(kh, address, port);
    if ("problem" in pin) {
        problems.push(`${kh.file}: host "${h.name}": [hostKey] ${pin.problem}`);
        return undefined;
    }
    const host: HostConfig = { name: h.name, host: address, sshPort: port, hostKey: pin.key };
    if (h.user !== undefined) host.user = String(h.user instanceof UnsafeString ? h.user.text : h.user);
    return host;
}

/**
 * Problems of group_vars/ and host_vars/ files count only where they could
 * change a host in use, as with Ansible on a play's hosts. Gives the
 * vault-encrypted files those layers skipped.
 */
function varsLayerProblems(inv: ResolvedInventory, selected: ResolvedHost[], problems: string[]): Set<string> {
    const layerNames = new Set<string>();
    for (const h of selected) {
        for (const g of h.groups) layerNames.add(`g:${g}`);
        layerNames.add(`h:${h.name}`);
    }
    const skipped = new Set<string>();
    for (const name of layerNames) {
        const layer = name.startsWith("g:") ? inv.layers.groupVars.get(name.slice(2)) : inv.layers.hostVars.get(name.slice(2));
        if (!layer) continue;
        problems.push(...layer.problems);
        for (const s of layer.skipped) skipped.add(s);
    }
    return skipped;
}

/**
 * `smtp-port:hosts` entries as per-host settings of the selected inventory
 * hosts, by name; the connection fields stay the inventory's.
 */
function applyOverrides(inv: ResolvedInventory, opts: InventoryOptions, selected: ResolvedHost[], hosts: HostConfig[], problems: string[]): void {
    const byName = new Map(hosts.map(h => [h.name, h]));
    const inInventory = new Set(inv.hosts.map(h => h.name));
    const selectedNames = new Set(selected.map(h => h.name));
    const seen = new Map<string, number>();
    (opts.overrides ?? []).forEach((o, i) => {
        const label = typeof o?.name === "string" && o.name !== "" ? `hosts[${i}] "${o.name}"` : `hosts[${i}]`;
        if (o === null || typeof o !== "object" || typeof o.name !== "string" || o.name === "") {
            problems.push(`smtp-port:${label}: [name] is required to match an inventory host`);
            return;
        }
        if (seen.has(o.name)) {
            problems.push(`smtp-port:${label}: [name] is used twice (hosts[${seen.get(o.name)}] and hosts[${i}])`);
            return;
        }
        seen.set(o.name, i);
        if (!inInventory.has(o.name)) {
            problems.push(`smtp-port:${label}: [name] no host "${o.name}" in ${inv.file} (with an inventory, hosts entries only override inventory hosts)`);
            return;
        }
        if (!selectedNames.has(o.name)) {
            problems.push(`smtp-port:${label}: [name] host "${o.name}" is not in inventoryGroups ${JSON.stringify(opts.groups)}`);
            return;
        }
        for (const [field, source] of Object.entries(FROM_INVENTORY)) {
            if ((o as unknown as Record<string, unknown>)[field] !== undefined) {
                problems.push(`smtp-port:${label}: [${field}] comes from ${source} when smtp-port:inventory is set: remove it here`);
            }
        }
        const h = byName.get(o.name);
        if (!h) return;
        const { name: _n, host: _h, sshPort: _p, user: _u, hostKey: _k, insecureIgnoreHostKey: _i, ...settings } = o;
        Object.assign(h, settings);
    });
}
