// YAML read as Ansible reads it (PyYAML's YAML 1.1 scalars, !vault, !unsafe),
// with the line of each key: YAML inventories and vars files share it.
import { OpaqueValue, UnsafeString, VarValue } from "./values";

interface JsYamlType {
    new(tag: string, opts: { kind: "scalar" | "sequence" | "mapping"; resolve?: (d: any) => boolean; construct?: (d: any) => unknown }): { resolve(d: any): boolean; construct(d: any): unknown };
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
// Ansible reads YAML with PyYAML, which resolves plain scalars by YAML 1.1 (yes/no/on/off are
// booleans, 022 is octal 18, 1:20 is 80, 1e3 is a string); js-yaml's default schema is YAML 1.2.
// These are PyYAML's resolvers, so that `ansible_port: 022` means here what it means there; since
// ansible-core 2.19 they resolve an `!unsafe` scalar too (`!unsafe 022` is 18): only a string stays unsafe.
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
    const unsafe = new T("!unsafe", { kind: "scalar", construct: (d: string | null) => { const s = d ?? ""; const t = [nul, bool, int, float].find(x => x.resolve(s)); return t ? t.construct(s) : new UnsafeString(s); } });
    yaml11 = { js: jsYaml, schema: jsYaml.FAILSAFE_SCHEMA.extend({ implicit: [nul, bool, int, float, jsYaml.types.merge], explicit: [vault, unsafe] }) };
    return yaml11;
}

export interface YamlDoc {
    data: unknown;
    /** The 0-based line where each mapping or sequence starts (its key's line). */
    lines: WeakMap<object, number>;
    text: string[];
    /** Read as JSON: keys are found by their quoted name alone. */
    json?: boolean;
}

/** YAML as Ansible reads it (YAML 1.1 scalars, `!vault`, `!unsafe`); throws js-yaml's error (with the line) when it cannot. */
export function loadYaml(text: string, file: string): YamlDoc {
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

export function isMapping(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof OpaqueValue) && !(v instanceof UnsafeString);
}

/**
 * The 1-based line of `key` in the mapping `obj`. js-yaml reports where a
 * mapping starts (its parent key's line), so look for the key there (a flow
 * mapping) and on the lines below, up to the end of the block.
 */
export function keyLine(doc: YamlDoc, obj: object, key: string): number {
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

export function yamlVars(doc: YamlDoc, obj: Record<string, unknown>, file: string): [string, VarValue][] {
    return Object.keys(obj).map(k => [k, { value: obj[k], origin: { file, line: keyLine(doc, obj, k) } }]);
}

export function yamlError(e: unknown, file: string): string {
    const err = e as { mark?: { line: number }; reason?: string; message?: string };
    if (err.mark && typeof err.mark.line === "number") return `${file}:${err.mark.line + 1}: ${err.reason ?? err.message}`;
    return `${file}: ${err.message ?? String(e)}`;
}
