// The component and the inventory name problems by their own fields; the
// user wrote config keys and inventory lines: each problem is named by what
// to edit.
import { ArgProblem } from "../validate";
import { ConfigProblem } from "./configProblem";
import { HOST_SECRET_FIELDS, HostConfig } from "./hostConfig";
import { NAMESPACE } from "./keys";

/** A field path inside a config value: `[1].hostKey` after `hosts`. */
export function fieldPath(path: (string | number)[]): string {
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
 * A problem the component found with a host that came from an inventory,
 * named where the user can fix it: a per-host setting at its
 * `smtp-port:hosts` entry, a credential at `smtp-port:hostSecrets`, the
 * address, SSH port, user and name at the inventory, the key at knownHosts.
 */
export function inventoryHostProblem(p: ArgProblem, hosts: HostConfig[], entries: unknown[], files: { inventory: string; knownHosts?: string }): ConfigProblem {
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
