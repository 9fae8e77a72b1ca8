// INI inventories hold Python literals (Ansible runs ast.literal_eval on
// them): read here as Ansible reads them, so a value means the same to both.
import { OpaqueValue } from "./values";

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
        // A backslash escapes the next character in every kind of quote, raw and triple-quoted included.
        if (rest[j] === "\\") {
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
        // An imaginary number may have them (08j is 8j).
        if (num[1] === undefined && /^0+[0-9]+$/.test(lit) && !/^0+$/.test(lit)) return NOT_LITERAL;
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
