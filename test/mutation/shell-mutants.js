// Mutation operators for a POSIX sh script (components/host/smtp-port.sh).
// No maintained mutation tool handles shell, so this is a small one of our
// own: a lexer that knows which characters are shell code, quoted text,
// comments, here-documents or an embedded awk program, and operators that
// only touch code. Every mutant has a stable id, "operator@line:column"
// (1-based, of the original text), so that runs can be compared and known
// equivalent mutants listed by id.
"use strict";

/** Character contexts. */
const CODE = 0, SQ = 1, DQ = 2, COMMENT = 3, HEREDOC = 4;

/**
 * Classifies every character of `src`: ctx[i] is one of the contexts above,
 * top[i] is true when the character is code at the outermost level (not in a
 * $(...) or ${...}), sqKind[i] names the program a single-quoted string holds
 * ("awk", "perl", "python" or "") and sqStart[i] where that string opens.
 */
function lex(src) {
    const n = src.length;
    const ctx = new Uint8Array(n);
    const top = new Uint8Array(n);
    const sqKind = new Array(n).fill("");
    // A stack of frames: {t: "code", depth} for the script or a $(...),
    // {t: "param"} for ${...} (ends at }), {t: "dq"} for "...".
    const stack = [{ t: "code", depth: 0 }];
    let heredocs = []; // delimiters waiting for the end of the current line
    let i = 0;
    const lineStartOf = (k) => src.lastIndexOf("\n", k - 1) + 1;
    while (i < n) {
        const c = src[i];
        const f = stack[stack.length - 1];
        const atTop = stack.length === 1;
        if (c === "\n" && heredocs.length && f.t === "code") {
            ctx[i] = CODE; top[i] = atTop ? 1 : 0;
            i++;
            // Skip each here-document body up to its delimiter line.
            for (const d of heredocs) {
                while (i < n) {
                    const e = src.indexOf("\n", i);
                    const end = e === -1 ? n : e;
                    const line = src.slice(i, end);
                    for (let k = i; k <= Math.min(end, n - 1); k++) ctx[k] = HEREDOC;
                    i = end + 1;
                    if (line.trim() === d) break;
                }
            }
            heredocs = [];
            continue;
        }
        if (f.t === "dq") {
            ctx[i] = DQ;
            if (c === "\\") { ctx[i + 1] = DQ; i += 2; continue; }
            if (c === '"') { stack.pop(); i++; continue; }
            if (c === "$" && src[i + 1] === "(") { ctx[i + 1] = CODE; stack.push({ t: "code", depth: 1 }); i += 2; continue; }
            if (c === "$" && src[i + 1] === "{") { ctx[i + 1] = DQ; stack.push({ t: "param" }); i += 2; continue; }
            i++;
            continue;
        }
        // code or param
        ctx[i] = CODE; top[i] = atTop ? 1 : 0;
        if (c === "\\") { ctx[i + 1] = CODE; top[i + 1] = top[i]; i += 2; continue; }
        if (c === "'") {
            const end = src.indexOf("'", i + 1);
            const stop = end === -1 ? n : end;
            // What program the quoted text is: look back over the command
            // (this line and the lines it continues) for awk, perl or python.
            let from = lineStartOf(i);
            while (from > 0) {
                const prevEnd = from - 1;
                const prevStart = lineStartOf(prevEnd);
                if (!/\\\s*$/.test(src.slice(prevStart, prevEnd))) break;
                from = prevStart;
            }
            const before = src.slice(from, i);
            const kind = /\bawk\b/.test(before) ? "awk" : /\bperl\b/.test(before) ? "perl" : /\bpython3?\b/.test(before) ? "python" : "";
            for (let k = i + 1; k < stop; k++) { ctx[k] = SQ; sqKind[k] = kind; }
            // An awk comment (# after a blank, outside a string) is not code:
            // its numbers are not constants to change.
            if (kind === "awk") {
                for (let k = i + 1; k < stop; k++) {
                    if (src[k] !== "#" || !/\s/.test(src[k - 1])) continue;
                    const ls = Math.max(src.lastIndexOf("\n", k - 1) + 1, i + 1);
                    if ((src.slice(ls, k).match(/"/g) || []).length % 2) continue;
                    const e = src.indexOf("\n", k);
                    const end = e === -1 || e > stop ? stop : e;
                    for (; k < end; k++) ctx[k] = COMMENT;
                }
            }
            if (stop < n) { ctx[stop] = CODE; top[stop] = top[i]; }
            i = stop + 1;
            continue;
        }
        if (c === '"') { stack.push({ t: "dq" }); i++; continue; }
        if (c === "#" && (i === 0 || /[\s;|&()]/.test(src[i - 1]))) {
            const e = src.indexOf("\n", i);
            const end = e === -1 ? n : e;
            for (let k = i; k < end; k++) ctx[k] = COMMENT;
            i = end;
            continue;
        }
        if (c === "$" && src[i + 1] === "(") { ctx[i + 1] = CODE; stack.push({ t: "code", depth: 1 }); i += 2; continue; }
        if (c === "$" && src[i + 1] === "{") { ctx[i + 1] = CODE; stack.push({ t: "param" }); i += 2; continue; }
        if (f.t === "param" && c === "}") { stack.pop(); i++; continue; }
        if (f.t === "code" && c === "(") { f.depth++; i++; continue; }
        if (f.t === "code" && c === ")") {
            if (f.depth > 0) { f.depth--; if (f.depth === 0 && stack.length > 1) stack.pop(); }
            i++;
            continue;
        }
        if (c === "<" && src[i + 1] === "<" && src[i + 2] !== "<") {
            const m = /^<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(src.slice(i));
            if (m) {
                heredocs.push(m[2]);
                for (let k = i; k < i + m[0].length; k++) { ctx[k] = CODE; top[k] = top[i]; }
                i += m[0].length;
                continue;
            }
        }
        i++;
    }
    return { ctx, top, sqKind };
}

/** positionIn(src)(off): 1-based line and column of offset `off`. */
function positionIn(src) {
    const nl = [];
    for (let k = src.indexOf("\n"); k !== -1; k = src.indexOf("\n", k + 1)) nl.push(k);
    return (off) => {
        // The newlines before off: their count is the line's number - 1.
        let lo = 0, hi = nl.length;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (nl[mid] < off) lo = mid + 1; else hi = mid; }
        return { line: lo + 1, col: off - (lo ? nl[lo - 1] : -1) };
    };
}

/**
 * textHash(src).edit(start, end, to): a hash of src with [start, end)
 * replaced by `to` (polynomial, mod 2^61 - 1), without building that text;
 * `.whole`: the hash of src itself.
 */
function textHash(src) {
    const M = (1n << 61n) - 1n, B = 1000003n;
    const n = src.length;
    const pre = new Array(n + 1);
    const pow = new Array(n + 1);
    pre[0] = 0n; pow[0] = 1n;
    for (let i = 0; i < n; i++) { pre[i + 1] = (pre[i] * B + BigInt(src.charCodeAt(i))) % M; pow[i + 1] = (pow[i] * B) % M; }
    const part = (a, b) => (((pre[b] - pre[a] * pow[b - a]) % M) + M) % M;
    return {
        whole: pre[n],
        edit(start, end, to) {
            let h = pre[start];
            for (let i = 0; i < to.length; i++) h = (h * B + BigInt(to.charCodeAt(i))) % M;
            return (h * pow[n - end] + part(end, n)) % M;
        },
    };
}

const KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "in", "{", "}", ";;", "!"]);

/**
 * Every mutant of `src`: {id, op, line, col, start, end, from, to, text}
 * where text is the mutated script. Sorted by position, then operator;
 * mutants that give a script identical to an earlier one are left out.
 */
function mutants(src) {
    const { ctx, top, sqKind } = lex(src);
    const out = [];
    const add = (op, start, from, to) => out.push({ op, start, end: start + from.length, from, to });
    const allIn = (s, e, want) => { for (let k = s; k < e; k++) if (!want(k)) return false; return true; };
    const isCode = (k) => ctx[k] === CODE;
    const isAwk = (k) => ctx[k] === SQ && sqKind[k] === "awk";
    const scan = (re, pred, fn) => {
        re.lastIndex = 0;
        for (let m; (m = re.exec(src));) {
            const s = m.index + (m.groups && m.groups.pre ? m.groups.pre.length : 0);
            const tok = m.groups && m.groups.tok !== undefined ? m.groups.tok : m[0];
            if (allIn(s, s + tok.length, pred)) fn(s, tok, m);
        }
    };

    // --- comparison and boundary flips ---------------------------------------
    const REL = { lt: ["le", "ge"], le: ["lt", "gt"], gt: ["ge", "le"], ge: ["gt", "lt"], eq: ["ne"], ne: ["eq"] };
    scan(/(?<pre>\s)(?<tok>-(lt|le|gt|ge|eq|ne))(?=\s)/g, isCode, (s, tok) => {
        const [b, neg] = REL[tok.slice(1)];
        if (neg) { add("test-boundary", s, tok, "-" + b); add("test-negate", s, tok, "-" + neg); }
        else add("test-negate", s, tok, "-" + b);
    });
    scan(/(?<pre>\s)(?<tok>!?=)(?=\s)/g, isCode, (s, tok) => add("test-negate", s, tok, tok === "=" ? "!=" : "="));
    // Awk: <, <=, >, >=, ==, != (not >> or > "file", which are output redirections).
    scan(/(?<tok><=|>=|==|!=|<(?![<=])|>(?![>=]))/g, isAwk, (s, tok) => {
        if (tok === ">" && /^\s*"/.test(src.slice(s + 1))) return;
        if ((tok === "<" || tok === ">") && (src[s - 1] === tok || src[s - 1] === "-" || src[s - 1] === "=")) return;
        const B = { "<": "<=", "<=": "<", ">": ">=", ">=": ">" };
        const N = { "<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "==" };
        if (B[tok]) add("awk-boundary", s, tok, B[tok]);
        add("awk-negate", s, tok, N[tok]);
    });

    // --- negated conditions and swapped branches ---------------------------------
    scan(/(?<pre>(?:^|[\s;(]))(?<tok>(?:if|elif|until|while) (?:! )?)(?=\S)/gm, isCode, (s, tok, m) => {
        const kw = tok.split(" ")[0];
        const rest = src.slice(s + tok.length, s + tok.length + 8);
        if (kw === "while" && !rest.startsWith("[")) return; // while :, while read: negating only hangs
        if (tok.endsWith("! ")) add("cond-negate", s, tok, kw + " ");
        else add("cond-negate", s, tok, kw + " ! ");
    });
    // [ ! -f x ] -> [ -f x ] and [ -f x ] -> [ ! -f x ]
    scan(/(?<pre>\[ )(?<tok>! )(?=-[a-z] )/g, isCode, (s, tok) => add("test-negate", s, tok, ""));
    scan(/(?<pre>\[ )(?<tok>-[defrswxnz] )/g, isCode, (s, tok) => add("test-negate", s, tok, "! " + tok));
    scan(/&&|\|\|/g, isCode, (s, tok) => add("andor-swap", s, tok, tok === "&&" ? "||" : "&&"));
    scan(/&&|\|\|/g, isAwk, (s, tok) => add("andor-swap", s, tok, tok === "&&" ? "||" : "&&"));
    scan(/(?<pre>(?:^|[\s=;(]))(?<tok>true|false)(?=$|[\s;)])/gm, isCode, (s, tok) => add("bool-flip", s, tok, tok === "true" ? "false" : "true"));

    // --- constant changes ------------------------------------------------------
    scan(/(?<![\w$#&.!\-\[\]\/\\%{])\d+(?![\w.\]\/>-])/g, (k) => isCode(k) || isAwk(k), (s, tok) => {
        const v = Number(tok);
        add("const-inc", s, tok, String(v + 1));
        if (v > 0) add("const-dec", s, tok, String(v - 1));
    });
    // Option defaults and other literals assigned in code: NAME="value" -> NAME="".
    scan(/(?<pre>(?:^|[\s;])[A-Z_][A-Z0-9_]*=)(?<tok>"[^"$`\\]+")/gm, isCode, (s, tok) => add("string-empty", s, tok, '""'));
    // The alternatives of a case pattern: "tcp | udp)" -> "udp)" and "tcp)".
    scan(/^(?<pre>[ \t]*)(?<tok>[^\s()#][^()\n]*? \| [^()\n]*?)\)/gm, (k) => ctx[k] !== COMMENT && ctx[k] !== HEREDOC && ctx[k] !== DQ, (s, tok) => {
        if (ctx[s] !== CODE) return;
        const alts = tok.split(" | ");
        if (alts.some(a => /\s/.test(a))) return; // a pipeline, not a pattern
        alts.forEach((a, k) => add("case-drop-alt", s, tok, alts.filter((_, j) => j !== k).join(" | ")));
    });

    // --- dropped commands ------------------------------------------------------
    const lines = [];
    for (let s = 0; s < src.length;) {
        const e = src.indexOf("\n", s);
        const end = e === -1 ? src.length : e;
        lines.push({ s, e: end });
        s = end + 1;
    }
    const continues = (t) => /(\\|\||&&|\{|\(|\bdo|\bthen|\bin|\belse)\s*$/.test(t);
    lines.forEach((L, idx) => {
        const text = src.slice(L.s, L.e);
        const ind = /^\s*/.exec(text)[0].length;
        const cs = L.s + ind;
        if (cs >= L.e || ctx[cs] !== CODE || !top[cs]) return;
        if (L.s > 0 && ctx[L.s - 1] !== HEREDOC && (ctx[L.s - 1] !== CODE || !top[L.s - 1])) return; // a quote or $( ... ) goes on
        // The whole line is one command at the top level, and no quote
        // opens or closes across its ends.
        if (L.e < src.length && (ctx[L.e] !== CODE || !top[L.e])) return;
        const prev = idx > 0 ? src.slice(lines[idx - 1].s, lines[idx - 1].e) : "";
        if (idx > 0 && continues(prev.replace(/\s+#.*$/, ""))) return;
        let codeText = "";
        for (let k = cs; k < L.e; k++) if (ctx[k] !== COMMENT) codeText += src[k];
        codeText = codeText.trimEnd();
        if (!codeText || continues(codeText)) return;
        const first = codeText.split(/\s+/)[0];
        // A case arm: the first unquoted parenthesis on the line closes.
        let paren = -1;
        for (let k = cs; k < L.e; k++) {
            if (ctx[k] === CODE && (src[k] === "(" || src[k] === ")")) { paren = k; break; }
        }
        if (paren !== -1 && src[paren] === ")" && src[paren - 1] !== "$") {
            // "pattern) body ;;" -> "pattern) : ;;"
            const rest = src.slice(paren + 1, cs + codeText.length);
            const arm = /^(\s+)(.+?)(\s*;;)$/.exec(rest);
            if (arm && arm[2] !== ":") add("drop-command", paren + 1 + arm[1].length, arm[2], ":");
            return;
        }
        if (KEYWORDS.has(first) || /^[A-Za-z_]\w*\(\)/.test(codeText)) return;
        if (/^(;;|esac|fi|done|\}|\))/.test(codeText)) return;
        add("drop-command", cs, codeText, ":");
    });
    // Commands inside a line: flush, sync, rm, cmp -s (a guard: always true or always false).
    scan(/(?<pre>(?:^|[\s;&|!(]))(?<tok>(?:flush|sync|rm|cmp -s)(?=[\s;]|$)[^;&|)\n]*?)(?=\s*(?:;|&&|\|\||\||\)|\\?\n|$))/gm, isCode, (s, tok) => {
        if (!top[s] && src.slice(0, s).lastIndexOf("$(") > src.slice(0, s).lastIndexOf("\n")) return;
        if (tok.startsWith("cmp")) { add("drop-command", s, tok, ":"); add("guard-false", s, tok, "false"); }
        else add("drop-command", s, tok, ":");
    });

    // Ids, mutated text, de-duplication: a mutant whose text is the
    // script's, or an earlier mutant's, is dropped. Texts are compared by
    // hash, and in full only when two hashes agree: building all 1,600
    // texts of a 60 KB script to compare them took seconds. A mutant's text
    // is made when it is read.
    const textOf = (m) => (m === null ? src : src.slice(0, m.start) + m.to + src.slice(m.end));
    const hash = textHash(src);
    const position = positionIn(src);
    const seen = new Map([[hash.whole, [null]]]);
    const result = [];
    out.sort((a, b) => a.start - b.start || a.op.localeCompare(b.op) || a.to.localeCompare(b.to));
    const ids = new Map();
    for (const m of out) {
        const h = hash.edit(m.start, m.end, m.to);
        const same = seen.get(h) || [];
        if (same.length && same.some(o => textOf(o) === textOf(m))) continue;
        same.push(m);
        seen.set(h, same);
        const { line, col } = position(m.start);
        let id = `${m.op}@${line}:${col}`;
        const k = ids.get(id) || 0;
        ids.set(id, k + 1);
        if (k) id += `#${k + 1}`;
        result.push({ id, op: m.op, line, col, from: m.from, to: m.to, get text() { return textOf(m); } });
    }
    return result;
}

module.exports = { lex, mutants, CODE, SQ, DQ, COMMENT, HEREDOC };
