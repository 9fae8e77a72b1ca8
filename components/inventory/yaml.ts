// Reads a YAML inventory as Ansible's `yaml` plugin does, but refuses what
// Ansible only warns about and skips, so that no host is lost silently.
import { YamlDoc, isMapping, keyLine, loadYaml, yamlError, yamlVars } from "./ansibleYaml";
import { Inventory, InventoryGroup, addChild, addGroup, addHost, newInventory, patternHosts, setGroupVar } from "./model";
import { Origin, show, where } from "./values";

/**
 * A YAML inventory as Ansible's `yaml` plugin reads it: top-level keys are
 * groups; each has `hosts` (patterns, each with its variables), `vars` and
 * `children` (groups, nested the same way). A key other than those three,
 * or a group that is not a mapping, is a problem here (Ansible only warns
 * and skips it, which loses hosts silently). Problems name the file and line.
 */
export function parseYamlInventory(text: string, file: string): Inventory {
    const inv = newInventory(file);
    let doc: YamlDoc;
    try {
        doc = loadYaml(text, file);
    } catch (e) {
        inv.problems.push(yamlError(e, file));
        return inv;
    }
    const data = doc.data;
    if (data === null || data === undefined || data === "") {
        inv.problems.push(`${file}: the YAML inventory is empty`);
        return inv;
    }
    if (!isMapping(data)) {
        inv.problems.push(`${file}:1: a YAML inventory must be a mapping of group names, got ${show(data)}`);
        return inv;
    }
    if ("plugin" in data) {
        inv.problems.push(`${file}:${keyLine(doc, data, "plugin")}: this is a dynamic inventory plugin's configuration, not an inventory: ` +
            `export the hosts with \`ansible-inventory -i ${file} --list -y > static.yml\` and name that file`);
        return inv;
    }
    const rd: YamlReading = { inv, doc, file };
    for (const name of Object.keys(data)) yamlGroup(rd, name, data[name], { file, line: keyLine(doc, data, name) });
    return inv;
}

/** What every part of a YAML inventory's reading needs: the inventory being built, and the document for line numbers. */
interface YamlReading {
    inv: Inventory;
    doc: YamlDoc;
    file: string;
}

/** One group (`name: {hosts, vars, children}`), and its children groups in turn. */
function yamlGroup(rd: YamlReading, name: string, gd: unknown, origin: Origin): void {
    const { inv, doc, file } = rd;
    // Ansible refuses the whole file ("Invalid empty/false group name provided").
    if (name === "") {
        inv.problems.push(`${where(origin)}: empty group name`);
        return;
    }
    if (gd !== null && !isMapping(gd)) {
        inv.problems.push(`${where(origin)}: group "${name}" must be a mapping with hosts, vars and children, got ${show(gd)}`);
        return;
    }
    const g = addGroup(inv, name);
    if (gd === null) return;
    for (const key of Object.keys(gd)) {
        const kOrigin: Origin = { file, line: keyLine(doc, gd, key) };
        let section = gd[key];
        if (key !== "hosts" && key !== "vars" && key !== "children") {
            inv.problems.push(`${where(kOrigin)}: group "${name}": unexpected key "${key}" (only hosts, vars and children)`);
            continue;
        }
        // Ansible takes `hosts: mx1` as `hosts: {mx1: }`.
        if (typeof section === "string") section = { [section]: null };
        if (section === null) continue;
        if (!isMapping(section)) {
            inv.problems.push(`${where(kOrigin)}: group "${name}": ${key} must be a mapping, got ${show(section)}`);
            continue;
        }
        const sec = section;
        if (key === "vars") {
            for (const [k, v] of yamlVars(doc, sec, file)) setGroupVar(inv, g, k, v.value, v.origin);
        } else if (key === "children") {
            for (const child of Object.keys(sec)) {
                const cOrigin: Origin = { file, line: keyLine(doc, sec, child) };
                yamlGroup(rd, child, sec[child], cOrigin);
                if (inv.groups.has(child)) addChild(inv, name, child, cOrigin);
            }
        } else {
            yamlHosts(rd, g, sec);
        }
    }
}

/** A group's `hosts:` mapping: host patterns, each with its variables. */
function yamlHosts(rd: YamlReading, g: InventoryGroup, sec: Record<string, unknown>): void {
    const { inv, doc, file } = rd;
    for (const pattern of Object.keys(sec)) {
        const hOrigin: Origin = { file, line: keyLine(doc, sec, pattern) };
        const hv = sec[pattern] ?? {};
        if (!isMapping(hv)) {
            inv.problems.push(`${where(hOrigin)}: host "${pattern}": its variables must be a mapping, got ${show(hv)}`);
            continue;
        }
        const pat = patternHosts(inv, pattern, hOrigin);
        if (!pat) continue;
        const vars = yamlVars(doc, hv, file);
        for (const n of pat.names) {
            const h = addHost(inv, n, g, pat.port, hOrigin);
            for (const [k, v] of vars) h.vars.set(k, v);
        }
    }
}
