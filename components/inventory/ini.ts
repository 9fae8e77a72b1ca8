// Reads an INI inventory as Ansible's `ini` plugin does, so a fleet's
// existing hosts file works unchanged and each problem names its line.
import { Inventory, InventoryGroup, addChild, addGroup, addHost, newInventory, patternHosts, setGroupVar } from "./model";
import { pyLiteral } from "./pythonLiteral";
import { shlexSplit } from "./shlex";
import { Origin, where } from "./values";

function hostLineVars(inv: Inventory, tokens: string[], origin: Origin): [string, unknown][] | undefined {
    const out: [string, unknown][] = [];
    for (const t of tokens) {
        const eq = t.indexOf("=");
        if (eq < 0) {
            inv.problems.push(`${where(origin)}: expected key=value after the host name, got ${JSON.stringify(t)}`);
            return undefined;
        }
        out.push([t.slice(0, eq), pyLiteral(t.slice(eq + 1))]);
    }
    return out;
}

/**
 * An INI inventory as Ansible's `ini` plugin reads it: hosts before any
 * section are `ungrouped`; `[g]` lists hosts (with `key=value` variables,
 * read as Python literals), `[g:vars]` one `key=value` a line (also read as
 * Python literals: `22 # comment` is 22 but `root # comment` keeps the
 * comment), `[g:children]` group names. Lines starting with `#` or `;` are
 * comments. Problems name the file and line.
 */
export function parseIniInventory(text: string, file: string): Inventory {
    const inv = newInventory(file);
    const st: IniReading = {
        inv, declared: new Set<string>(["all", "ungrouped"]), varsSections: [], childEdges: [],
        group: inv.groups.get("ungrouped")!, state: "hosts",
    };
    text.split(/\r\n|\n|\r/).forEach((raw, n) => iniLine(st, raw.trim(), { file, line: n + 1 }));
    // A group may be declared after it is named as a child (Ansible's
    // pending declarations), but it must be declared somewhere.
    for (const e of st.childEdges) {
        if (!st.declared.has(e.child)) inv.problems.push(`${where(e.origin)}: [${e.parent}:children] names group "${e.child}", which is not declared ([${e.child}] or [${e.child}:children])`);
        else addChild(inv, e.parent, e.child, e.origin);
    }
    for (const v of st.varsSections) {
        if (!st.declared.has(v.group)) inv.problems.push(`${where(v.origin)}: [${v.group}:vars] is for group "${v.group}", which is not declared ([${v.group}] or [${v.group}:children])`);
    }
    return inv;
}

/** Where the reading of an INI inventory is: the current section, and what is checked once every line is read. */
interface IniReading {
    inv: Inventory;
    /** Groups declared by a `[g]` or `[g:children]` section. */
    declared: Set<string>;
    varsSections: { group: string; origin: Origin }[];
    childEdges: { parent: string; child: string; origin: Origin }[];
    group: InventoryGroup;
    /** The current section's kind; `skip` after a section that is refused. */
    state: "hosts" | "vars" | "children" | "skip";
}

/** One trimmed line of an INI inventory. */
function iniLine(st: IniReading, line: string, origin: Origin): void {
    if (line === "" || line[0] === "#" || line[0] === ";") return;
    if (iniSection(st, line, origin) || st.state === "skip") return;
    if (st.state === "hosts") iniHostLine(st, line, origin);
    else if (st.state === "vars") {
        const eq = line.indexOf("=");
        if (eq < 0) {
            st.inv.problems.push(`${where(origin)}: expected key=value in [${st.group.name}:vars], got ${JSON.stringify(line)}`);
            return;
        }
        setGroupVar(st.inv, st.group, line.slice(0, eq).trim(), pyLiteral(line.slice(eq + 1).trim()), origin);
    } else {
        const m = /^([^:\]\s]+)\s*(?:#.*)?$/.exec(line);
        if (!m) {
            st.inv.problems.push(`${where(origin)}: expected a group name in [${st.group.name}:children], got ${JSON.stringify(line)}`);
            return;
        }
        st.childEdges.push({ parent: st.group.name, child: m[1], origin });
    }
}

/** A section header (`[g]`, `[g:vars]`, `[g:children]`, or a refused one): true when the line is one. */
function iniSection(st: IniReading, line: string, origin: Origin): boolean {
    const section = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/.exec(line);
    if (section) {
        const kind = section[2] ?? "hosts";
        if (kind !== "hosts" && kind !== "vars" && kind !== "children") {
            st.inv.problems.push(`${where(origin)}: section [${section[1]}:${kind}] has an unknown type (hosts, vars or children)`);
            st.state = "skip";
            return true;
        }
        st.group = addGroup(st.inv, section[1]);
        st.state = kind;
        if (kind === "vars") st.varsSections.push({ group: st.group.name, origin });
        else st.declared.add(st.group.name);
        return true;
    }
    if (line.startsWith("[") && line.endsWith("]")) {
        st.inv.problems.push(`${where(origin)}: invalid section ${JSON.stringify(line)} (no spaces or other characters in a section name)`);
        st.state = "skip";
        return true;
    }
    return false;
}

/** A host line: a host pattern, then `key=value` variables. */
function iniHostLine(st: IniReading, line: string, origin: Origin): void {
    const inv = st.inv;
    let tokens: string[];
    try {
        tokens = shlexSplit(line);
    } catch (e) {
        inv.problems.push(`${where(origin)}: cannot split the host line: ${(e as Error).message}`);
        return;
    }
    if (tokens.length === 0) return;
    if (tokens[0].trim() === "---") {
        inv.problems.push(`${where(origin)}: "---" is a YAML document start: name YAML inventories .yml or .yaml`);
        return;
    }
    const pat = patternHosts(inv, tokens[0], origin);
    const vars = hostLineVars(inv, tokens.slice(1), origin);
    if (!pat || !vars) return;
    for (const name of pat.names) {
        const h = addHost(inv, name, st.group, pat.port, origin);
        for (const [k, v] of vars) h.vars.set(k, { value: v, origin });
    }
}
