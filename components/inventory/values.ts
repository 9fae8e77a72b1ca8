// The value types every reader and check of an inventory shares, so that a
// problem can name where a value was written and show it as it was written.

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

export function where(o: Origin): string {
    return o.line > 0 ? `${o.file}:${o.line}` : o.file;
}

export function show(v: unknown): string {
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
