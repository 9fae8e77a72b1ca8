// The on-ramp from Ansible: the hosts of an Ansible inventory (INI or YAML,
// with the group_vars/ and host_vars/ folders beside it) and their keys from
// an OpenSSH known_hosts file, as the host list of stack config.
//
// Only what reaches the SSH connection is read: ansible_host, ansible_port,
// ansible_user (and their older ansible_ssh_* spellings), resolved through
// groups, children and Ansible's variable precedence. The tests compare
// every fixture with `ansible-inventory --list` and `ssh-keygen -F`.
//
// Everything here is pure except the three readers at the end
// (loadInventory, readKnownHosts, inventoryHostsFromFiles).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { HostConfig } from "./stackConfig";

// ---------------------------------------------------------------- values --

/** A value that smtp-port cannot read as Ansible would (a vaulted value, a Python list...). */
export class OpaqueValue {
    constructor(readonly what: string) {}
}

/** A YAML `!unsafe` string: Ansible never templates it, so `{{` in it is literal. */
export class UnsafeString {
    constructor(readonly text: string) {}
}

/** Where a value or a line was written: the file and the 1-based line (0: unknown). */
export interface Origin {
    file: string;
    line: number;
}

/** One variable as written in one place. */
export interface VarValue {
    value: unknown;
    origin: Origin;
}

/** Variables by name, in the order written. */
export type Vars = Map<string, VarValue>;

function where(o: Origin): string {
    return o.line > 0 ? `${o.file}:${o.line}` : o.file;
}

function show(v: unknown): string {
    if (v instanceof OpaqueValue) return v.what;
    if (v instanceof UnsafeString) return JSON.stringify(v.text);
    if (typeof v === "string") return JSON.stringify(v);
    if (v === undefined) return "nothing";
    try {
        return JSON.stringify(v) ?? String(v);
    } catch {
        return String(v);
    }
}

// ------------------------------------------------- Python literals (INI) --

const ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Decodes the body of a non-raw Python string literal; undefined where Python would refuse it. */
function pyUnescape(body: string, bytes: boolean): string | OpaqueValue | undefined {
    let out = "";
    for (let i = 0; i < body.length; i++) {
        const c = body[i];
        if (c !== "\\") {
            out += c;
            continue;
        }
        const n = body[++i];
        if (n === undefined) return undefined;
        const simple: Record<string, string> = { "\\": "\\", "'": "'", "\"": "\"", a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
        if (n in simple) out += simple[n];
        else if (/[0-7]/.test(n)) {
            const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
            out += String.fromCharCode(parseInt(m, 8));
            i += m.length - 1;
        } else if (n === "x") {
            const m = /^[0-9a-fA-F]{2}/.exec(body.slice(i + 1));
            if (!m) return undefined;
            out += String.fromCharCode(parseInt(m[0], 16));
            i += 2;
        } else if (!bytes && (n === "u" || n === "U")) {
            const len = n === "u" ? 4 : 8;
            const m = new RegExp(`^[0-9a-fA-F]{${len}}`).exec(body.slice(i + 1));
            if (!m) return undefined;
            out += String.fromCodePoint(parseInt(m[0], 16));
            i += len;
        } else if (!bytes && n === "N") {
            return new OpaqueValue("a Python \\N{...} escape");
        } else {
            // Python keeps unknown escapes as written (with a warning).
            out += "\\" + n;
        }
    }
    return out;
}

type PyToken =
    | { kind: "str"; bytes: boolean; value: string | OpaqueValue }
    | { kind: "num"; value: number; imaginary: boolean }
    | { kind: "const"; value: boolean | null }
    | { kind: "punct"; value: string };

/**
 * A value from an INI inventory as Ansible reads it: `ast.literal_eval` of
 * the text, and the text itself where that fails. Strings, numbers,
 * `True`/`False`/`None` come out as JavaScript values; Python lists, dicts,
 * tuples and complex numbers as an {@link OpaqueValue} (they cannot be an
 * address, a port or a user anyway). Default: the text as written.
 */
export function pyLiteral(text: string): unknown {
    const s = text.replace(/^[ \t]+/, "");
    const tokens: PyToken[] = [];
    let i = 0;
    while (i < s.length) {
        const c = s[i];
        if (c === " " || c === "\t" || c === "\f" || c === "\r" || c === "\n") {
            i++;
            continue;
        }
        if (c === "#") break;
        const rest = s.slice(i);
        const t = pyStringToken(rest) ?? pyNumberToken(rest) ?? pyOtherToken(rest);
        // Not a literal: literal_eval raises, Ansible keeps the text.
        if (t === NOT_LITERAL) return text;
        tokens.push(t.token);
        i += t.length;
    }
    return pyEvaluate(tokens, text);
}

/** A token {@link pyLiteral} reads, and how many characters it took. */
type PyTokenRead = { token: PyToken; length: number };
/** What a token reader gives for text that makes the whole value no literal. */
const NOT_LITERAL = "not a literal";

/** A string literal at the start of `rest` (any prefix, quote and escapes); undefined when none starts there. */
function pyStringToken(rest: string): PyTokenRead | typeof NOT_LITERAL | undefined {
    const str = /^([rRuUbBfF]{0,2})('''|"""|'|")/.exec(rest);
    if (!str || !/^(|[rR]|[uU]|[bB]|[fF]|[rR][bB]|[bB][rR]|[rR][fF]|[fF][rR])$/.test(str[1])) return undefined;
    const prefix = str[1].toLowerCase();
    // f-strings are not literals: literal_eval refuses them.
    if (prefix.includes("f")) return NOT_LITERAL;
    const q = str[2];
    let j = str[0].length;
    let body: string | undefined;
    while (j < rest.length) {
        if (q.length === 1 && rest[j] === "\\") {
            j += 2;
            continue;
        }
        if (rest.startsWith(q, j)) {
            body = rest.slice(str[0].length, j);
            break;
        }
        j++;
    }
    if (body === undefined) return NOT_LITERAL;
    const bytes = prefix.includes("b");
    if (bytes && /[^\x00-\x7f]/.test(body)) return NOT_LITERAL;
    const value = prefix.includes("r") ? body : pyUnescape(body, bytes);
    if (value === undefined) return NOT_LITERAL;
    return { token: { kind: "str", bytes, value }, length: j + q.length };
}

/** A number literal at the start of `rest` (hex, octal, binary, decimal, float, imaginary); undefined when none starts there. */
function pyNumberToken(rest: string): PyTokenRead | typeof NOT_LITERAL | undefined {
    const c = rest[0];
    const num = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?)([jJ])?/.exec(rest);
    if (!num || !/[0-9]/.test(c === "." ? rest[1] ?? "" : c)) return undefined;
    const lit = num[0].replace(/[jJ]$/, "").replace(/_/g, "");
    if (/^[0-9A-Za-z_]/.test(rest.slice(num[0].length))) return NOT_LITERAL;
    let value: number;
    if (/^0[xX]/.test(lit)) value = parseInt(lit.slice(2), 16);
    else if (/^0[oO]/.test(lit)) value = parseInt(lit.slice(2), 8);
    else if (/^0[bB]/.test(lit)) value = parseInt(lit.slice(2), 2);
    else {
        // Python refuses leading zeros in decimal integers (022), not in floats.
        if (/^0+[0-9]+$/.test(lit) && !/^0+$/.test(lit)) return NOT_LITERAL;
        value = Number(lit);
    }
    return { token: { kind: "num", value, imaginary: num[1] !== undefined }, length: num[0].length };
}

/** `True`, `False`, `None` or punctuation at the start of `rest`; anything else (a name, an operator) is no literal. */
function pyOtherToken(rest: string): PyTokenRead | typeof NOT_LITERAL {
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (name) {
        const consts: Record<string, boolean | null> = { True: true, False: false, None: null };
        if (!(name[0] in consts)) return NOT_LITERAL;
        return { token: { kind: "const", value: consts[name[0]] }, length: name[0].length };
    }
    if ("()[]{},:+-".includes(rest[0])) return { token: { kind: "punct", value: rest[0] }, length: 1 };
    return NOT_LITERAL;
}

function pyEvaluate(tokens: PyToken[], text: string): unknown {
    if (tokens.length === 0) return text;
    const first = tokens[0];
    const last = tokens[tokens.length - 1];
    if (tokens.some(t => t.kind === "num" && t.imaginary)) return new OpaqueValue("a Python complex number");
    if (tokens.some(t => t.kind === "punct" && "[]{},:".includes(t.value))) return new OpaqueValue("a Python list, tuple, set or dict");
    if (first.kind === "punct" && first.value === "(" && last.kind === "punct" && last.value === ")") {
        return pyEvaluate(tokens.slice(1, -1), text);
    }
    if (tokens.every(t => t.kind === "str")) {
        const strs = tokens as Extract<PyToken, { kind: "str" }>[];
        if (strs.some(t => t.bytes !== strs[0].bytes)) return text;
        const opaque = strs.find(t => t.value instanceof OpaqueValue);
        if (opaque) return opaque.value;
        return strs.map(t => t.value as string).join("");
    }
    if (tokens.length === 1 && (first.kind === "const" || first.kind === "num")) return first.value;
    if (tokens.length === 2 && first.kind === "punct" && (first.value === "-" || first.value === "+") && last.kind === "num") {
        return first.value === "-" ? -last.value : last.value;
    }
    // `1 2`, `'a' + 'b'`, `(1`: literal_eval raises, Ansible keeps the text.
    return text;
}

// ------------------------------------------------- shlex (INI host lines) --

/**
 * Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible
 * uses on INI host lines: quotes group, a backslash escapes, `#` starts a
 * comment even inside a word. Throws on an unclosed quote.
 */
export function shlexSplit(line: string): string[] {
    const out: string[] = [];
    let token = "";
    let quoted = false;
    let state: " " | "a" | "'" | "\"" = " ";
    const ws = " \t\r\n";
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (state === " " || state === "a") {
            if (ws.includes(c)) {
                if (state === "a" || quoted) {
                    out.push(token);
                    token = "";
                    quoted = false;
                }
                state = " ";
            } else if (c === "#") {
                break;
            } else if (c === "\\") {
                if (i + 1 >= line.length) throw new Error("No escaped character");
                token += line[++i];
                state = "a";
            } else if (c === "'" || c === "\"") {
                state = c;
                quoted = true;
            } else {
                token += c;
                state = "a";
            }
        } else if (state === "'") {
            if (c === "'") state = "a";
            else token += c;
        } else {
            if (c === "\"") state = "a";
            else if (c === "\\" && i + 1 < line.length && (line[i + 1] === "\"" || line[i + 1] === "\\")) token += line[++i];
            else token += c;
        }
    }
    if (state === "'" || state === "\"") throw new Error("No closing quotation");
    if (state === "a" || token !== "" || quoted) out.push(token);
    return out;
}

// ---------------------------------------------------------- host patterns --

// Ansible's parse_address (ansible/parsing/utils/addresses.py), with the
// Python verbose regexes written out.
const NUM_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const IPV6_C = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const IPV4_C = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUM_RANGE})`;
const WORD = String.raw`[\p{L}\p{N}_]`;
const LABEL = String.raw`(?:${WORD}|${ALNUM_RANGE})(?:${WORD}|[_-]|${ALNUM_RANGE})*(?<![_-])`;
const ADDRESS = {
    bracketedHostPort: /^\[(.+)\]:([0-9]+)$/,
    hostPort: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
    ipv4: new RegExp(String.raw`^(?:${IPV4_C}\.){3}${IPV4_C}$`, "i"),
    ipv6: new RegExp("^(" + [
        `(?:${IPV6_C}:){7}${IPV6_C}`, `(?:${IPV6_C}:){1,6}:`, `(?:${IPV6_C}:)(?::${IPV6_C}){1,6}`,
        `(?:${IPV6_C}:){2}(?::${IPV6_C}){1,5}`, `(?:${IPV6_C}:){3}(?::${IPV6_C}){1,4}`,
        `(?:${IPV6_C}:){4}(?::${IPV6_C}){1,3}`, `(?:${IPV6_C}:){5}(?::${IPV6_C}){1,2}`,
        `(?:${IPV6_C}:){6}(?::${IPV6_C})`, `:(?::${IPV6_C}){1,6}`, `${IPV6_C}?::`,
        `(?:0:){6}(?:${IPV6_C}\\.){3}${IPV6_C}`, `::(?:ffff:)?(?:${IPV6_C}\\.){3}${IPV6_C}`,
        `(?:0:){5}ffff:(?:${IPV6_C}\\.){3}${IPV6_C}`,
    ].join("|") + ")$", "i"),
    hostname: new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, "iu"),
};

/** Ansible's expand_hostname_range: `mx[01:03]` is mx01, mx02, mx03; `[a:c]` letters; `[1:9:2]` a step. */
export function expandHostRange(pattern: string): string[] {
    if (!pattern.includes("[")) return [pattern];
    const parts = pattern.replace("[", "|").replace("]", "|").split("|");
    if (parts.length !== 3) throw new Error(`cannot read the host range in ${JSON.stringify(pattern)}`);
    const [head, nrange, tail] = parts;
    const bounds = nrange.split(":");
    if (bounds.length !== 2 && bounds.length !== 3) throw new Error("host range must be begin:end or begin:end:step");
    const beg = bounds[0] || "0";
    const end = bounds[1];
    const stepText = bounds[2] ?? "1";
    if (!end) throw new Error("host range must specify end value");
    if (!/^\s*[-+]?[0-9]+\s*$/.test(stepText)) throw new Error(`host range step must be a number, got ${JSON.stringify(stepText)}`);
    const step = Number(stepText);
    if (step === 0) throw new Error("host range step must not be zero");
    let fill = (x: string | number) => String(x);
    if (beg[0] === "0" && beg.length > 1) {
        if (beg.length !== end.length) throw new Error("host range must specify equal-length begin and end formats");
        fill = x => String(x).padStart(beg.length, "0");
    }
    let seq: (string | number)[] = [];
    const iBeg = ASCII_LETTERS.indexOf(beg);
    const iEnd = ASCII_LETTERS.indexOf(end);
    if (iBeg >= 0 && iEnd >= 0) {
        if (iBeg > iEnd) throw new Error("host range must have begin <= end");
        // Python's slice [beg:end+1:step]: empty for a negative step.
        if (step > 0) for (let k = iBeg; k <= iEnd; k += step) seq.push(ASCII_LETTERS[k]);
    } else {
        if (!/^[0-9]+$/.test(beg) || !/^[0-9]+$/.test(end)) throw new Error(`host range bounds must be numbers or letters, got ${JSON.stringify(nrange)}`);
        const b = Number(beg), e = Number(end);
        if (Math.abs((e - b) / step) > 100000) throw new Error("host range expands to more than 100000 hosts");
        // Python's range(b, e + 1, step): empty when the step points away.
        if (step > 0) for (let k = b; k <= e; k += step) seq.push(k);
        else for (let k = b; k > e + 1; k += step) seq.push(k);
    }
    return seq.flatMap(x => expandHostRange(head + fill(x) + tail));
}

/**
 * An inventory host pattern as Ansible reads it: `name`, `name:port`,
 * `[v6:addr]:port`, with ranges expanded. Default port: none (22 later).
 */
export function expandHostPattern(pattern: string): { names: string[]; port?: number } {
    let address = pattern;
    let port: number | undefined;
    for (const re of [ADDRESS.bracketedHostPort, ADDRESS.hostPort]) {
        const m = re.exec(address);
        if (m) {
            address = m[1];
            port = Number(m[2]);
        }
    }
    let host = pattern;
    if (ADDRESS.ipv4.test(address) || ADDRESS.ipv6.test(address) || ADDRESS.hostname.test(address)) host = address;
    else port = undefined; // not an address: Ansible takes the whole pattern as the name
    return { names: expandHostRange(host), port };
}

// ------------------------------------------------------------- inventory --

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

function newInventory(file: string): Inventory {
    const inv: Inventory = { file, groups: new Map(), hosts: new Map(), problems: [] };
    // Ansible starts every inventory with these two, ungrouped a child of all.
    addGroup(inv, "all");
    addGroup(inv, "ungrouped");
    inv.groups.get("all")!.children.push("ungrouped");
    return inv;
}

function addGroup(inv: Inventory, name: string): InventoryGroup {
    let g = inv.groups.get(name);
    if (!g) {
        g = { name, vars: new Map(), priority: 1, children: [], hosts: [] };
        inv.groups.set(name, g);
    }
    return g;
}

function setGroupVar(inv: Inventory, group: InventoryGroup, key: string, value: unknown, origin: Origin): void {
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
function addHost(inv: Inventory, name: string, group: InventoryGroup, port: number | undefined, origin: Origin): InventoryHost {
    let h = inv.hosts.get(name);
    if (!h) {
        h = { name, vars: new Map(), origin };
        if (port) h.vars.set("ansible_port", { value: port, origin });
        inv.hosts.set(name, h);
    }
    if (!group.hosts.includes(name)) group.hosts.push(name);
    return h;
}

function addChild(inv: Inventory, parent: string, child: string, origin: Origin): void {
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

function patternHosts(inv: Inventory, pattern: string, origin: Origin): { names: string[]; port?: number } | undefined {
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

// ------------------------------------------------------------------ YAML --

interface JsYamlType {
    new(tag: string, opts: { kind: "scalar" | "sequence" | "mapping"; resolve?: (d: any) => boolean; construct?: (d: any) => unknown }): unknown;
}
interface JsYamlSchema {
    extend(types: { implicit?: unknown[]; explicit?: unknown[] }): JsYamlSchema;
}
interface JsYaml {
    load(text: string, opts: { schema: JsYamlSchema; filename?: string; listener?: (ev: "open" | "close", state: { line: number; result: unknown }) => void }): unknown;
    Type: JsYamlType;
    FAILSAFE_SCHEMA: JsYamlSchema;
    types: { merge: unknown };
}
// Ansible reads YAML with PyYAML, which resolves plain scalars by YAML 1.1
// (yes/no/on/off are booleans, 022 is octal 18, 1:20 is 80, 1e3 is a
// string); js-yaml's default schema is YAML 1.2. These are PyYAML's
// resolvers, so that `ansible_port: 022` means here what it means there.
let yaml11: { js: JsYaml; schema: JsYamlSchema } | undefined;
/** js-yaml and the schema, loaded on first use: a stack without an inventory never pays for them (start-up time, README Benchmarks). */
function yaml(): { js: JsYaml; schema: JsYamlSchema } {
    if (yaml11) return yaml11;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const jsYaml = require("js-yaml") as JsYaml;
    const T = jsYaml.Type;
    const nul = new T("tag:yaml.org,2002:null", {
        kind: "scalar",
        resolve: d => d === null || /^(?:~|null|Null|NULL|)$/.test(d),
        construct: () => null,
    });
    const bool = new T("tag:yaml.org,2002:bool", {
        kind: "scalar",
        resolve: d => /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/.test(d),
        construct: d => /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/.test(d),
    });
    const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
    const sexagesimal = (s: string) => s.split(":").reduce((acc, p) => acc * 60 + Number(p), 0);
    const int = new T("tag:yaml.org,2002:int", {
        kind: "scalar",
        resolve: d => INT.test(d),
        construct: (d: string) => {
            let s = d.replace(/_/g, "");
            let sign = 1;
            if (s[0] === "-" || s[0] === "+") {
                if (s[0] === "-") sign = -1;
                s = s.slice(1);
            }
            if (s === "0") return 0;
            if (s.startsWith("0b")) return sign * parseInt(s.slice(2), 2);
            if (s.startsWith("0x")) return sign * parseInt(s.slice(2), 16);
            if (s[0] === "0") return sign * parseInt(s, 8);
            if (s.includes(":")) return sign * sexagesimal(s);
            return sign * Number(s);
        },
    });
    const FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
    const float = new T("tag:yaml.org,2002:float", {
        kind: "scalar",
        resolve: d => FLOAT.test(d),
        construct: (d: string) => {
            let s = d.replace(/_/g, "").toLowerCase();
            let sign = 1;
            if (s[0] === "-" || s[0] === "+") {
                if (s[0] === "-") sign = -1;
                s = s.slice(1);
            }
            if (s === ".inf") return sign * Infinity;
            if (s === ".nan") return NaN;
            if (s.includes(":")) return sign * sexagesimal(s);
            return sign * Number(s);
        },
    });
    const vault = new T("!vault", { kind: "scalar", construct: () => new OpaqueValue("a vault-encrypted value (!vault)") });
    const unsafe = new T("!unsafe", { kind: "scalar", construct: (d: string | null) => new UnsafeString(d ?? "") });
    yaml11 = { js: jsYaml, schema: jsYaml.FAILSAFE_SCHEMA.extend({ implicit: [nul, bool, int, float, jsYaml.types.merge], explicit: [vault, unsafe] }) };
    return yaml11;
}

interface YamlDoc {
    data: unknown;
    /** The 0-based line where each mapping or sequence starts (its key's line). */
    lines: WeakMap<object, number>;
    text: string[];
    /** Read as JSON: keys are found by their quoted name alone. */
    json?: boolean;
}

/** YAML as Ansible reads it (YAML 1.1 scalars, `!vault`, `!unsafe`); throws js-yaml's error (with the line) when it cannot. */
function loadYaml(text: string, file: string): YamlDoc {
    const lines = new WeakMap<object, number>();
    const open: number[] = [];
    const { js, schema } = yaml();
    const data = js.load(text, {
        schema,
        filename: file,
        listener: (ev, state) => {
            if (ev === "open") open.push(state.line);
            else {
                const l = open.pop()!;
                if (state.result !== null && typeof state.result === "object" && !lines.has(state.result)) lines.set(state.result, l);
            }
        },
    });
    return { data, lines, text: text.split(/\r\n|\n|\r/) };
}

function isMapping(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof OpaqueValue) && !(v instanceof UnsafeString);
}

/**
 * The 1-based line of `key` in the mapping `obj`. js-yaml reports where a
 * mapping starts (its parent key's line), so look for the key there (a flow
 * mapping) and on the lines below, up to the end of the block.
 */
function keyLine(doc: YamlDoc, obj: object, key: string): number {
    const esc0 = JSON.stringify(key);
    if (doc.json) {
        const i = doc.text.findIndex(l => l.includes(`${esc0}:`) || l.includes(`${esc0} :`));
        return i + 1;
    }
    const start = doc.lines.get(obj);
    if (start === undefined) return 0;
    const esc = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const indent = (s: string) => /^\s*/.exec(s)![0].length;
    const blockKey = new RegExp(`^\\s*(?:-\\s+)?(['"]?)${esc}\\1\\s*:`);
    if (obj === doc.data) {
        const i = doc.text.findIndex(l => indent(l) === 0 && blockKey.test(l));
        return i >= 0 ? i + 1 : start + 1;
    }
    if (new RegExp(`[{,]\\s*(['"]?)${esc}\\1\\s*:`).test(doc.text[start] ?? "")) return start + 1;
    const base = indent(doc.text[start] ?? "");
    let keyIndent = -1; // the mapping's own keys, not those of mappings inside it
    for (let i = start + 1; i < doc.text.length; i++) {
        const l = doc.text[i];
        if (l.trim() === "" || l.trim().startsWith("#")) continue;
        if (indent(l) <= base) break;
        if (keyIndent < 0) keyIndent = indent(l);
        if (indent(l) === keyIndent && blockKey.test(l)) return i + 1;
    }
    return start + 1;
}

function yamlVars(doc: YamlDoc, obj: Record<string, unknown>, file: string): [string, VarValue][] {
    return Object.keys(obj).map(k => [k, { value: obj[k], origin: { file, line: keyLine(doc, obj, k) } }]);
}

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

function yamlError(e: unknown, file: string): string {
    const err = e as { mark?: { line: number }; reason?: string; message?: string };
    if (err.mark && typeof err.mark.line === "number") return `${file}:${err.mark.line + 1}: ${err.reason ?? err.message}`;
    return `${file}: ${err.message ?? String(e)}`;
}

/**
 * The inventory in `text`, by its file name as Ansible picks the plugin:
 * `.yml`, `.yaml`, `.json` are YAML; no extension is YAML when it reads as
 * a YAML mapping, else INI; anything else is INI.
 */
export function parseInventory(text: string, file: string): Inventory {
    const ext = path.extname(file).toLowerCase();
    if (ext === ".yml" || ext === ".yaml" || ext === ".json") return parseYamlInventory(text, file);
    if (ext === "") {
        const y = parseYamlInventory(text, file);
        if (y.problems.length === 0) return y;
    }
    return parseIniInventory(text, file);
}

// ------------------------------------------------------------- vars files --

/** The variables of one group_vars/ or host_vars/ entry (all its files, merged in order). */
export interface VarsLayer {
    vars: Vars;
    problems: string[];
    /** Files smtp-port could not read but Ansible can (vault-encrypted). */
    skipped: string[];
}

/**
 * One group_vars/ or host_vars/ file: a YAML (or JSON) mapping of variable
 * names to values. An empty file has none; a vault-encrypted file is
 * reported in `skipped` (smtp-port has no vault password).
 */
export function parseVarsFile(text: string, file: string): VarsLayer {
    const layer: VarsLayer = { vars: new Map(), problems: [], skipped: [] };
    if (text.startsWith("$ANSIBLE_VAULT;")) {
        layer.skipped.push(file);
        return layer;
    }
    let doc: YamlDoc;
    try {
        // Ansible reads .json files with a JSON parser first.
        if (file.toLowerCase().endsWith(".json")) {
            try {
                const data = JSON.parse(text);
                doc = { data, lines: new WeakMap(), text: text.split(/\r\n|\n|\r/), json: true };
            } catch {
                doc = loadYaml(text, file);
            }
        } else {
            doc = loadYaml(text, file);
        }
    } catch (e) {
        layer.problems.push(yamlError(e, file));
        return layer;
    }
    if (doc.data === null || doc.data === undefined) return layer;
    if (!isMapping(doc.data)) {
        layer.problems.push(`${file}:1: must be a mapping of variable names to values, got ${show(doc.data)}`);
        return layer;
    }
    for (const [k, v] of yamlVars(doc, doc.data, file)) layer.vars.set(k, v);
    return layer;
}

function mergeLayers(layers: VarsLayer[]): VarsLayer {
    const out: VarsLayer = { vars: new Map(), problems: [], skipped: [] };
    for (const l of layers) {
        for (const [k, v] of l.vars) out.vars.set(k, v);
        out.problems.push(...l.problems);
        out.skipped.push(...l.skipped);
    }
    return out;
}

// ------------------------------------------------------------- resolving --

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

// ------------------------------------------------------------ known_hosts --

/** One line of a known_hosts file. */
export interface KnownHostsEntry {
    line: number;
    /** `@cert-authority` or `@revoked`; default none. */
    marker?: "cert-authority" | "revoked";
    /** The host names field as written. */
    hosts: string;
    /** `|1|salt|hash` entries: the salt and the HMAC-SHA1 of the name. */
    hashed?: { salt: Buffer; hash: Buffer };
    keyType: string;
    keyBase64: string;
}

/** A parsed known_hosts file. */
export interface KnownHosts {
    file: string;
    entries: KnownHostsEntry[];
    problems: string[];
}

/** The key blob of `type base64`, or a problem: the blob names its own type (RFC 4253 6.6). */
function keyBlob(type: string, b64: string): Buffer | string {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return "the key is not base64";
    const blob = Buffer.from(b64, "base64");
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n < 0 || blob.length < 4 + n) return "the key is truncated";
    const inner = blob.subarray(4, 4 + n).toString("latin1");
    if (inner !== type) return `the key says it is ${JSON.stringify(inner)}, not ${JSON.stringify(type)}`;
    return blob;
}

/**
 * A known_hosts file as sshd(8) describes it: `[marker] names keytype key
 * [comment]`, names a comma-separated list of patterns (`*`, `?`, `!`
 * negation, `[host]:port`) or one hashed `|1|salt|hash`. Blank lines and
 * `#` comments are skipped; a line ssh would ignore is a problem here,
 * naming the file and line.
 */
export function parseKnownHosts(text: string, file: string): KnownHosts {
    const kh: KnownHosts = { file, entries: [], problems: [] };
    text.split(/\r\n|\n|\r/).forEach((raw, n) => {
        const origin = `${file}:${n + 1}`;
        const s = raw.replace(/^[ \t]+/, "");
        if (s === "" || s[0] === "#") return;
        const fields = s.split(/[ \t]+/).filter(f => f !== "");
        let marker: KnownHostsEntry["marker"];
        if (fields[0].startsWith("@")) {
            if (fields[0] === "@cert-authority") marker = "cert-authority";
            else if (fields[0] === "@revoked") marker = "revoked";
            else {
                kh.problems.push(`${origin}: unknown marker ${fields[0]} (@cert-authority or @revoked)`);
                return;
            }
            fields.shift();
        }
        const [hosts, keyType, keyBase64] = fields;
        if (!hosts || !keyType || !keyBase64) {
            kh.problems.push(`${origin}: expected host names, a key type and a key`);
            return;
        }
        const blob = keyBlob(keyType, keyBase64);
        if (typeof blob === "string") {
            kh.problems.push(`${origin}: ${blob}`);
            return;
        }
        const entry: KnownHostsEntry = { line: n + 1, marker, hosts, keyType, keyBase64 };
        if (hosts.startsWith("|")) {
            const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(hosts);
            const salt = m ? Buffer.from(m[1], "base64") : undefined;
            const hash = m ? Buffer.from(m[2], "base64") : undefined;
            if (!salt || !hash || salt.length !== 20 || hash.length !== 20) {
                kh.problems.push(`${origin}: a hashed host name must be |1|salt|hash (20-byte base64 each)`);
                return;
            }
            entry.hashed = { salt, hash };
        }
        kh.entries.push(entry);
    });
    return kh;
}

/** The name ssh looks a host up by: `host` on port 22, `[host]:port` otherwise (lower case, as ssh does). */
export function knownHostsName(host: string, port: number = 22): string {
    const h = host.toLowerCase();
    return port === 22 ? h : `[${h}]:${port}`;
}

/** OpenSSH's match_pattern: `*` any run, `?` any one character. */
function glob(s: string, p: string): boolean {
    let si = 0, pi = 0, star = -1, mark = 0;
    while (si < s.length) {
        if (pi < p.length && (p[pi] === "?" || p[pi] === s[si])) {
            si++;
            pi++;
        } else if (pi < p.length && p[pi] === "*") {
            star = pi++;
            mark = si;
        } else if (star >= 0) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.length && p[pi] === "*") pi++;
    return pi === p.length;
}

/** Whether an entry's names match `name` (from {@link knownHostsName}): hashed by HMAC-SHA1, else OpenSSH's match_hostname. */
export function entryMatches(e: KnownHostsEntry, name: string): boolean {
    if (e.hashed) {
        const h = crypto.createHmac("sha1", e.hashed.salt).update(name).digest();
        return crypto.timingSafeEqual(h, e.hashed.hash);
    }
    let positive = false;
    for (const raw of e.hosts.split(",")) {
        const neg = raw.startsWith("!");
        const pat = (neg ? raw.slice(1) : raw).toLowerCase();
        if (glob(name, pat)) {
            // A matching negation rules the entry out, whatever else matches.
            if (neg) return false;
            positive = true;
        }
    }
    return positive;
}

/** Every entry whose names match the host on that port, markers included, as `ssh-keygen -F` lists them. Default port 22. */
export function lookupKnownHosts(kh: KnownHosts, host: string, port: number = 22): KnownHostsEntry[] {
    const name = knownHostsName(host, port);
    return kh.entries.filter(e => entryMatches(e, name));
}

/** Key types smtp-port pins, best first (the provider then offers only that type). */
export const PINNABLE_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/**
 * The key to pin for a host, `ssh-ed25519 AAAA...`, from known_hosts: the
 * host's own keys (not `@cert-authority` lines, not a key `@revoked`
 * anywhere in the file), the best type of {@link PINNABLE_KEY_TYPES}. Two
 * different keys of that type is a problem (a stale line): smtp-port pins
 * one key and does not guess. No key is a problem, never an unpinned host.
 */
export function pinHostKey(kh: KnownHosts, host: string, port: number = 22): { key: string; line: number } | { problem: string } {
    const name = knownHostsName(host, port);
    const matched = lookupKnownHosts(kh, host, port);
    const blob = (e: KnownHostsEntry) => Buffer.from(e.keyBase64, "base64").toString("base64");
    const revoked = new Set(kh.entries.filter(e => e.marker === "revoked").map(blob));
    const own = matched.filter(e => !e.marker);
    const usable = own.filter(e => !revoked.has(blob(e)));
    const scan = `ssh-keyscan ${port === 22 ? "" : `-p ${port} `}${host}`;
    if (usable.length === 0) {
        if (own.length > 0) return { problem: `every key for ${name} in ${kh.file} is @revoked (line ${own.map(e => e.line).join(", ")}): add the host's new key` };
        if (matched.some(e => e.marker === "cert-authority")) {
            return { problem: `${name} has only @cert-authority lines in ${kh.file}; smtp-port pins a host's own key: add it (\`${scan}\`, and check the fingerprint)` };
        }
        return { problem: `no key for ${name} in ${kh.file}: add it (\`${scan}\`, and check the fingerprint)` };
    }
    for (const type of PINNABLE_KEY_TYPES) {
        const ofType = usable.filter(e => e.keyType === type);
        if (ofType.length === 0) continue;
        const distinct = new Set(ofType.map(blob));
        if (distinct.size > 1) {
            return { problem: `${name} has ${distinct.size} different ${type} keys in ${kh.file} (lines ${ofType.map(e => e.line).join(", ")}): remove the stale one` };
        }
        return { key: `${type} ${ofType[0].keyBase64}`, line: ofType[0].line };
    }
    return { problem: `no key smtp-port can pin for ${name} in ${kh.file} (${PINNABLE_KEY_TYPES.join(", ")}); found ${[...new Set(usable.map(e => e.keyType))].join(", ")}` };
}

// ------------------------------------------------------------ host list --

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
            if (v.text.trim() === "" || /\s/.test(v.text)) add(names, `must be ${what} without spaces, got ${show(v)}`);
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

// ------------------------------------------------------------------ files --

/** Ansible's DataLoader.find_vars_files: `name`, `name.yml`, `.yaml`, `.json`, the first that exists; a folder gives all its files, sorted. */
export function findVarsFiles(dir: string, name: string): string[] {
    const exts = [".yml", ".yaml", ".json"];
    const inFolder = (d: string): string[] => fs.readdirSync(d).sort().flatMap(e => {
        if (e.startsWith(".") || e.endsWith("~")) return [];
        const full = path.join(d, e);
        const ext = path.extname(e);
        const st = fs.statSync(full);
        if (st.isDirectory()) return ext === "" ? inFolder(full) : [];
        return st.isFile() && (ext === "" || exts.includes(ext)) ? [full] : [];
    });
    if (name.startsWith("/")) return [];
    for (const ext of ["", ...exts]) {
        const p = path.join(dir, name + ext);
        if (!fs.existsSync(p)) continue;
        return fs.statSync(p).isDirectory() ? inFolder(p) : [p];
    }
    return [];
}

/**
 * Reads an inventory file and the group_vars/ and host_vars/ folders beside
 * it, as `ansible-inventory -i FILE` does. File names in problems are shown
 * relative to `baseDir` (default: as given).
 */
export function loadInventory(file: string, baseDir?: string): LoadedInventory {
    const shown = (p: string) => (baseDir ? path.relative(baseDir, p) || p : p);
    const inventory = parseInventory(fs.readFileSync(file, "utf8"), shown(file));
    // Ansible looks in the real folder (symlinks resolved); names are shown
    // under the folder as given.
    const given = path.dirname(file);
    let real = given;
    try {
        real = fs.realpathSync(given);
    } catch {
        // A folder that cannot be resolved has no vars folders to read.
    }
    const layers = (sub: string, names: Iterable<string>) => {
        const out = new Map<string, VarsLayer>();
        const folder = path.join(real, sub);
        if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) return out;
        for (const n of names) {
            const files = findVarsFiles(folder, n);
            const read = (f: string) => parseVarsFile(fs.readFileSync(f, "utf8"), shown(path.join(given, path.relative(real, f))));
            if (files.length > 0) out.set(n, mergeLayers(files.map(read)));
        }
        return out;
    };
    return { inventory, groupVars: layers("group_vars", inventory.groups.keys()), hostVars: layers("host_vars", inventory.hosts.keys()) };
}

/** Reads a known_hosts file (shown relative to `baseDir`). */
export function readKnownHosts(file: string, baseDir?: string): KnownHosts {
    return parseKnownHosts(fs.readFileSync(file, "utf8"), baseDir ? path.relative(baseDir, file) || file : file);
}

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
