// Hand edits against smtp-port's own lines (issue 16), as a property test:
// random sequences of apply (random port), one random hand edit, repair
// (apply again) and revert, on the Debian, CRLF Windows and IANA files.
//
// What must hold (docs/hand-edits.md):
// - after every apply, the resolver gives the declared port for smtp/tcp and
//   smtp for the port, and no name/protocol has two active entries that the
//   original file did not already have;
// - an apply after a hand edit writes exactly the bytes a first apply writes
//   from the same base, the base being the original plus only the edits to
//   lines smtp-port never managed (an edit to one of its own lines is not the
//   user's content);
// - revert gives back that base, byte for byte.
//
// The base is tracked by the test itself, from what each hand edit touched.
// "A first apply from the same base" is the script run on a fresh copy of
// that base with a fresh state folder.
//
//   HAND_EDITS_COUNT=N       sequences per file under dash (default 16; the
//                            IANA file gets half)
//   HAND_EDITS_BASE_SEED=S   seed of the first sequence (default 16; "random"
//                            picks one and prints it)
//   HAND_EDITS_SEED=S        run only the sequence with that seed (printed
//                            with every failure), on every file
//   HAND_EDITS_SHELLS=all    also run a fifth of the counts under bash and
//                            busybox sh (default: dash only)
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SHELLS, Shell, runScript, resolve, tempDir } from "../support/hostScript";
import { ianaServicesText } from "../support/ianaServices";

/** What apply and revert say first when the file changed since smtp-port wrote it. */
const keptNote = (file: string) => `smtp-port: ${file} changed since smtp-port last wrote it; keeping those changes, except to smtp-port's own lines\n`;

// --- a seeded PRNG (mulberry32) ------------------------------------------------

export class Rng {
    private s: number;
    constructor(seed: number) { this.s = seed >>> 0; }
    next(): number {
        this.s = (this.s + 0x6d2b79f5) >>> 0;
        let t = this.s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
    pick<T>(a: readonly T[]): T { return a[Math.floor(this.next() * a.length)]; }
    chance(p: number): boolean { return this.next() < p; }
}

// --- the resolver, modelled on glibc's nss_files --------------------------------
// files-service.c: LINE_PARSER("#", STRING_FIELD(name, isspace, 1);
// INT_FIELD(port, ISSLASH, 10, 0, htons); STRING_FIELD(proto, isspace, 1))
// then the aliases split on isspace; internal_getent skips leading white space
// and lines that are empty or start with '#'. INT_FIELD's arguments are
// (variable, terminator, swallow, base, convert): that call swallows every
// slash (10 is true) and reads the port with strtoul base 0, so 0x19 and 031
// are 25. getservbyname: the first entry, in file order, with that protocol
// whose name or an alias is the name.

export interface Entry { line: number; name: string; port: number; proto: string; aliases: string[] }

const isspace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

export function parseEntry(raw: string, line = 0): Entry | null {
    let i = 0;
    while (i < raw.length && isspace(raw[i])) i++;
    if (i === raw.length || raw[i] === "#") return null;
    let s = raw.slice(i);
    const cut = s.search(/[#\n]/);
    if (cut >= 0) s = s.slice(0, cut);
    let p = 0;
    while (p < s.length && !isspace(s[p])) p++;
    const name = s.slice(0, p);
    if (p < s.length) { p++; while (p < s.length && isspace(s[p])) p++; }
    // strtoul base 0: white space, a sign, then 0x/0X hex, 0 octal or
    // decimal; htons keeps the low 16 bits. A value above 32 bits (a
    // negative one too) makes the line no entry: seen on glibc 2.36 (its
    // strtou32 rejects where older sources clamp), and checked below.
    let q = p;
    while (q < s.length && isspace(s[q])) q++;
    let neg = false;
    if (s[q] === "+" || s[q] === "-") { neg = s[q] === "-"; q++; }
    let radix = 10;
    let digits = "0123456789";
    if (s[q] === "0" && (s[q + 1] === "x" || s[q + 1] === "X") && /[0-9a-fA-F]/.test(s[q + 2] ?? "")) { radix = 16; digits = "0123456789abcdefABCDEF"; q += 2; }
    else if (s[q] === "0") { radix = 8; digits = "01234567"; }
    let d = q;
    while (d < s.length && digits.includes(s[d])) d++;
    if (d === q) return null;
    let v = 0n;
    for (const c of s.slice(q, d)) v = v * BigInt(radix) + BigInt(parseInt(c, 16));
    const ULONG_MAX = (1n << 64n) - 1n;
    if (v > ULONG_MAX) v = ULONG_MAX;
    if (neg) v = (ULONG_MAX + 1n - v) & ULONG_MAX;
    if (v > 0xffffffffn) return null;
    const port = Number(v & 0xffffn);
    let e = d;
    if (s[e] === "/") { while (s[e] === "/") e++; }
    else if (e < s.length) return null;
    let r = e;
    while (r < s.length && !isspace(s[r])) r++;
    const proto = s.slice(e, r);
    const aliases = s.slice(r).split(/[ \t\n\v\f\r]+/).filter(Boolean);
    return { line, name, port, proto, aliases };
}

export function entries(text: string): Entry[] {
    const out: Entry[] = [];
    text.split("\n").forEach((l, i) => { const e = parseEntry(l, i + 1); if (e) out.push(e); });
    return out;
}

export function getservbyname(es: Entry[], name: string, proto: string): Entry | undefined {
    return es.find(e => e.proto === proto && (e.name === name || e.aliases.includes(name)));
}

export function getservbyport(es: Entry[], port: number, proto: string): Entry | undefined {
    return es.find(e => e.proto === proto && e.port === port);
}

/** name/proto keys (names and aliases) held by more than one active entry. */
export function duplicates(es: Entry[]): Set<string> {
    const n = new Map<string, number>();
    for (const e of es) for (const k of new Set([e.name, ...e.aliases])) n.set(`${k}/${e.proto}`, (n.get(`${k}/${e.proto}`) ?? 0) + 1);
    return new Set([...n].filter(([, c]) => c > 1).map(([k]) => k));
}

// --- files as lines ----------------------------------------------------------------

interface Line { text: string; eol: string }

function toLines(s: string): Line[] {
    const out: Line[] = [];
    const re = /([^\n]*?)(\r?\n|$)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(s)) && m[0] !== "") {
        out.push({ text: m[1], eol: m[2] });
        if (m[2] === "") break;
    }
    return out;
}
const fromLines = (ls: Line[]) => ls.map(l => l.text + l.eol).join("");

/** A line of the base (the user's file): one object per line, kept across edits. */
interface BaseLine { text: string; eol: string }
/**
 * A line of the file: the base's (U), the base's commented out by smtp-port
 * (C), added by smtp-port (I), or added by hand (N); `ref` is its base line.
 * `edited`: one of smtp-port's lines edited by hand. `touched`: in or next to
 * a hand edit of this round.
 */
interface FileLine { text: string; eol: string; kind: "U" | "C" | "I" | "N"; ref?: BaseLine; edited?: boolean; touched?: boolean }

/** The file smtp-port wrote from `base`, line by line (it must be the base plus smtp-port's edits). */
function annotate(base: BaseLine[], managed: Line[]): FileLine[] {
    const out: FileLine[] = [];
    let j = 0;
    for (const w of managed) {
        if (j < base.length && w.text === base[j].text) out.push({ ...w, kind: "U", ref: base[j++] });
        else if (j < base.length && w.text === "#" + base[j].text) out.push({ ...w, kind: "C", ref: base[j++] });
        else out.push({ ...w, kind: "I" });
    }
    if (j !== base.length) throw new Error(`the managed file is not its base plus smtp-port's edits (base line ${j + 1} unmatched)`);
    return out;
}

// --- the fixtures --------------------------------------------------------------------

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", f), "utf8");
// share: the part of the count each file gets (the IANA file's 11,500 lines
// make each run several times slower).
const FILES: { name: string; text: () => string; share: number }[] = [
    { name: "Debian netbase", text: () => fixture("services.debian"), share: 1 },
    { name: "Windows CRLF", text: () => fixture("services.windows").replace(/\n/g, "\r\n"), share: 1 },
    { name: "IANA registry", text: ianaServicesText, share: 0.5 },
];

// --- hand edits -----------------------------------------------------------------------

/** Body and comment of a line, the body as words and the space after each. */
function split(text: string) {
    const h = text.indexOf("#");
    const body = h < 0 ? text : text.slice(0, h);
    const comment = h < 0 ? "" : text.slice(h);
    const lead = /^\s*/.exec(body)![0];
    const words: { w: string; sp: string }[] = [];
    const re = /(\S+)(\s*)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(body.slice(lead.length)))) words.push({ w: m[1], sp: m[2] });
    return { lead, words, comment };
}
const join = (p: ReturnType<typeof split>) => p.lead + p.words.map(x => x.w + x.sp).join("") + p.comment;

let handCounter = 0;
/** How often each kind of edit was made (printed with the results). */
const kindsSeen = new Map<string, number>();

// Aliases an edit gives: on smtp-port's lines anything, on the user's lines
// names no other entry has (a second entry for a name would be the user's
// own doing, not what this test is about).
const OUR_ALIASES = () => [[], ["mailer"], ["mail", "hand-alias"], ["hand-alias2"]];
const THEIR_ALIASES = () => { const n = ++handCounter; return [[], [`alias${n}`], [`alias${n}a`, `alias${n}b`]]; };

/** An entry's port, aliases or comment changed (the name and protocol kept). */
function changeEntry(rng: Rng, text: string, ports: number[], aliasChoices: () => string[][]): { text: string; what: string } {
    const p = split(text);
    const kind = rng.pick(["port", "aliases", "comment"] as const);
    if (kind === "port" && p.words.length >= 2) {
        const [port, proto] = p.words[1].w.split("/");
        let np = rng.pick(ports);
        if (String(np) === port) np = np === 25 ? 26 : 25;
        p.words[1].w = `${np}/${proto}`;
        return { text: join(p), what: `port ${port} -> ${np}` };
    }
    if (kind === "aliases" && p.words.length >= 2) {
        const before = p.words.slice(2).map(x => x.w).join(" ") || "(none)";
        const sp = p.words[p.words.length - 1].sp;
        const options = aliasChoices().filter(a => (a.join(" ") || "(none)") !== before);
        const aliases = rng.pick(options);
        p.words = [p.words[0], p.words[1], ...aliases.map(w => ({ w, sp: "\t" }))];
        p.words[1].sp = aliases.length ? "\t\t" : sp;
        p.words[p.words.length - 1].sp = sp;
        return { text: join(p), what: `aliases ${before} -> ${aliases.join(" ") || "(none)"}` };
    }
    const c = rng.pick(["# edited by hand", "#moved back by the admin", ""]);
    if (c === p.comment) return { text: text + " # edited", what: "comment appended" };
    p.comment = c;
    if (c === "" && p.words.length) p.words[p.words.length - 1].sp = p.words[p.words.length - 1].sp.replace(/\s+$/, "");
    else if (c !== "" && p.words.length && p.words[p.words.length - 1].sp === "") p.words[p.words.length - 1].sp = "\t";
    return { text: join(p), what: `comment -> ${JSON.stringify(c)}` };
}

/**
 * One hand edit of `file` (and of `base` where the edit is the user's own),
 * of a kind the issue lists: on the line smtp-port added (port, aliases or
 * comment changed, commented out, deleted, moved), on a line it commented out
 * (uncommented, deleted, changed, both), or elsewhere (another service
 * changed, a line deleted, a service, a comment or a blank line added). Away
 * from lines touched by an earlier edit of the round (two lines between), so
 * that each edit can be told apart. Returns what it did, or null when
 * nothing is left to edit.
 */
function handEdit(rng: Rng, file: FileLine[], base: BaseLine[], svc: string, ports: number[]): string | null {
    const free = (i: number, r = 2) => { for (let k = i - r; k <= i + r; k++) if (file[k]?.touched) return false; return true; };
    const idx = (pred: (l: FileLine, i: number) => boolean) => file.flatMap((l, i) => pred(l, i) && free(i) ? [i] : []);
    const added = idx(l => l.kind === "I" && !l.edited);
    const commented = idx(l => l.kind === "C" && !l.edited);
    // Names smtp-port manages (on any line it touched, with the protocol),
    // so that an edit "elsewhere" stays clear of them: those are the
    // managed kinds' business.
    const touched = new Set<string>([`${svc}/tcp`]);
    for (const l of file) {
        if (l.kind !== "I" && l.kind !== "C") continue;
        const e = parseEntry(l.text.replace(/^#/, ""));
        if (e) for (const k of [e.name, ...e.aliases]) touched.add(`${k}/${e.proto}`);
    }
    const clear = (e: Entry | null) => !e || ![e.name, ...e.aliases].some(k => touched.has(`${k}/${e.proto}`));
    const theirs = (l: FileLine) => l.kind === "U" || l.kind === "N";
    const unmanagedEntries = idx(l => theirs(l) && parseEntry(l.text) !== null && clear(parseEntry(l.text)));
    const unmanagedOther = idx(l => theirs(l) && clear(parseEntry(l.text.replace(/^\s*#/, ""))));
    const gaps = Array.from({ length: file.length + 1 }, (_, i) => i).filter(i => {
        for (let k = i - 2; k <= i + 1; k++) if (file[k]?.touched) return false;
        return true;
    });
    const eol = file.find(l => l.eol !== "")?.eol ?? "\n";
    const at = (l: FileLine, i: number) => `line ${i + 1} ${JSON.stringify(l.text)}`;
    // Where a line inserted before file line i goes in the base: after the
    // base line of the nearest line above that has one.
    const baseIndexAt = (i: number) => {
        for (let k = i - 1; k >= 0; k--) {
            const l = file[k];
            if (l.ref && !l.edited) return base.indexOf(l.ref) + 1;
        }
        return 0;
    };
    const remove = (i: number) => {
        const [l] = file.splice(i, 1);
        if (file[i - 1]) file[i - 1].touched = true;
        if (file[i]) file[i].touched = true;
        return l;
    };

    const kinds: string[] = [];
    // smtp-port's own lines are what this is about: twice as likely.
    for (let k = 0; k < 2; k++) {
        if (added.length) kinds.push("added:change", "added:change", "added:delete", "added:move", "added:comment-out");
        if (commented.length) kinds.push("commented:uncomment", "commented:delete", "commented:change", "commented:uncomment-change");
    }
    if (unmanagedEntries.length) kinds.push("other:change", "other:change");
    if (unmanagedOther.length) kinds.push("other:delete");
    if (gaps.length) kinds.push("new:service", "new:comment", "new:blank");
    if (!kinds.length) return null;
    const kind = rng.pick(kinds);
    kindsSeen.set(kind, (kindsSeen.get(kind) ?? 0) + 1);

    switch (kind) {
        case "added:change":
        case "added:comment-out": {
            const i = rng.pick(added);
            const l = file[i];
            const what = at(l, i);
            const c = kind === "added:change" ? changeEntry(rng, l.text, ports, OUR_ALIASES) : { text: "#" + l.text, what: "commented out" };
            Object.assign(l, { text: c.text, edited: true, touched: true });
            return `added ${what}: ${c.what}`;
        }
        case "added:delete": {
            const i = rng.pick(added);
            const what = at(file[i], i);
            remove(i);
            return `added ${what}: deleted`;
        }
        case "added:move": {
            const i = rng.pick(added);
            const what = at(file[i], i);
            const l = remove(i);
            const to = rng.pick(gaps.filter(g => g !== i && g !== i + 1).map(g => g > i ? g - 1 : g).filter(g => g <= file.length)) ?? file.length;
            Object.assign(l, { edited: true, touched: true });
            file.splice(to, 0, l);
            return `added ${what}: moved to line ${to + 1}`;
        }
        case "commented:uncomment": {
            const i = rng.pick(commented);
            const what = at(file[i], i);
            Object.assign(file[i], { text: file[i].text.slice(1), edited: true, touched: true });
            return `commented ${what}: uncommented`;
        }
        case "commented:delete": {
            const i = rng.pick(commented);
            const what = at(file[i], i);
            remove(i);
            return `commented ${what}: deleted`;
        }
        case "commented:change":
        case "commented:uncomment-change": {
            const i = rng.pick(commented);
            const what = at(file[i], i);
            const c = changeEntry(rng, file[i].text.slice(1), ports, OUR_ALIASES);
            Object.assign(file[i], { text: (kind === "commented:change" ? "#" : "") + c.text, edited: true, touched: true });
            return `commented ${what}: ${kind === "commented:change" ? "" : "uncommented, "}${c.what}`;
        }
        case "other:change": {
            const i = rng.pick(unmanagedEntries);
            const what = at(file[i], i);
            const c = changeEntry(rng, file[i].text, ports, THEIR_ALIASES);
            Object.assign(file[i], { text: c.text, touched: true });
            file[i].ref!.text = c.text;
            return `other ${what}: ${c.what}`;
        }
        case "other:delete": {
            const i = rng.pick(unmanagedOther);
            const what = at(file[i], i);
            const l = remove(i);
            base.splice(base.indexOf(l.ref!), 1);
            return `other ${what}: deleted`;
        }
        default: {
            const n = ++handCounter;
            const text = kind === "new:service" ? `hand${n}\t\t${rng.pick(ports)}/${rng.pick(["tcp", "tcp", "udp"])}${rng.chance(0.5) ? "\t\t# added by hand" : ""}`
                : kind === "new:comment" ? `# hand note ${n}` : "";
            const i = rng.pick(gaps);
            const ref: BaseLine = { text, eol };
            base.splice(baseIndexAt(i), 0, ref);
            file.splice(i, 0, { text, eol, kind: "N", ref, touched: true });
            return `${kind} ${JSON.stringify(text)} inserted at line ${i + 1}`;
        }
    }
}

// --- the sequences ----------------------------------------------------------------------

interface Failure { seed: number; file: string; shell: string; steps: string[]; error: string }

const REAL_RESOLVER_EVERY = 4; // the real getent on every fourth apply (and the first of each sequence)

function sequence(seed: number, fileName: string, original: string, shell: Shell, realChecks: { n: number }): Failure | null {
    const rng = new Rng(seed);
    handCounter = 0;
    const dir = tempDir();
    const file = path.join(dir, "services");
    const state = path.join(dir, "state");
    fs.writeFileSync(file, original);
    const steps: string[] = [];
    const origEntries = entries(original);
    const origDups = duplicates(origEntries);
    const filePorts = [...new Set(origEntries.filter(e => e.proto === "tcp").map(e => e.port))];
    // The base as the user owns it (original + edits to lines smtp-port
    // never managed), and the file line by line: they change together.
    const base: BaseLine[] = toLines(original);
    let lines: FileLine[] = base.map(b => ({ ...b, kind: "U" as const, ref: b }));
    let port = 25;
    let applies = 0;
    const oracleCache = new Map<string, string>();
    const firstApply = (baseText: string, p: number): string => {
        const key = `${p}\0${baseText}`;
        const hit = oracleCache.get(key);
        if (hit !== undefined) return hit;
        const d = tempDir();
        try {
            const f = path.join(d, "services");
            fs.writeFileSync(f, baseText);
            const r = runScript(shell, ["apply", "--port", String(p), "--file", f, "--state-dir", path.join(d, "state"), "--verify", "no"]);
            if (r.code !== 0) throw new Error(`first apply from the base failed: ${r.stderr}`);
            const out = fs.readFileSync(f, "utf8");
            oracleCache.set(key, out);
            return out;
        } finally { fs.rmSync(d, { recursive: true, force: true }); }
    };
    const check = (cond: boolean, msg: string) => { if (!cond) throw new Error(msg); };
    const firstDiff = (a: string, b: string) => {
        const x = a.split("\n"), y = b.split("\n");
        for (let i = 0; i < Math.max(x.length, y.length); i++) {
            if (x[i] !== y[i]) return `first difference at line ${i + 1}: got ${JSON.stringify(x[i])}, want ${JSON.stringify(y[i])}`;
        }
        return "same lines";
    };
    const apply = (p: number) => {
        steps.push(`apply --port ${p}`);
        const r = runScript(shell, ["apply", "--port", String(p), "--file", file, "--state-dir", state, "--verify", "no"]);
        check(r.code === 0 && r.json?.action === "apply", `apply --port ${p} exited ${r.code}: ${r.stderr.trim()}`);
        const got = fs.readFileSync(file, "utf8");
        const baseText = fromLines(base);
        const want = firstApply(baseText, p);
        check(got === want, `apply --port ${p} did not write what a first apply writes from the base (original + the edits to unmanaged lines); ${firstDiff(got, want)}; stderr: ${r.stderr.trim()}`);
        const es = entries(got);
        check(getservbyname(es, "smtp", "tcp")?.port === p, `model resolver: smtp/tcp -> ${getservbyname(es, "smtp", "tcp")?.port}, declared ${p}`);
        check(getservbyport(es, p, "tcp")?.name === "smtp", `model resolver: ${p}/tcp -> ${getservbyport(es, p, "tcp")?.name}, want smtp`);
        const dups = [...duplicates(es)].filter(k => !origDups.has(k));
        check(dups.length === 0, `two active entries for ${dups.join(", ")} after apply`);
        if (applies++ % REAL_RESOLVER_EVERY === 0) {
            realChecks.n++;
            const real = resolve(file, "smtp/tcp");
            check(real !== null && Number(real.split(" ")[1].split("/")[0]) === p, `getent services smtp/tcp: ${real}, declared ${p}`);
            const byPort = resolve(file, `${p}/tcp`);
            check(byPort !== null && byPort.split(" ")[0] === "smtp", `getent services ${p}/tcp: ${byPort}`);
        }
        port = p;
        lines = annotate(base, toLines(got));
    };
    const revert = () => {
        steps.push("revert");
        const r = runScript(shell, ["revert", "--file", file, "--state-dir", state]);
        check(r.code === 0 && r.json?.action === "revert", `revert exited ${r.code}: ${r.stderr.trim()}`);
        const got = fs.readFileSync(file, "utf8");
        const want = fromLines(base);
        check(got === want, `revert did not give back the original plus the edits to unmanaged lines; ${firstDiff(got, want)}; stderr: ${r.stderr.trim()}`);
        const dups = [...duplicates(entries(got))].filter(k => !origDups.has(k));
        check(dups.length === 0, `two active entries for ${dups.join(", ")} after revert`);
        // (The change counter outlives a revert on purpose.)
        const left = fs.existsSync(state) ? fs.readdirSync(state).filter(f => !f.endsWith(".change")) : [];
        check(left.length === 0, `state left after revert: ${left.join(", ")}`);
        lines = base.map(b => ({ ...b, kind: "U" as const, ref: b }));
        port = 25;
    };
    // The current port, a port held by another entry (17/qotd, any port of
    // the file), 25 (the original: nothing to manage), 2525, any port.
    const pickPort = () => rng.pick([port, 17, 17, 25, 2525, 2525, rng.pick(filePorts), rng.int(1, 65535)]);
    const editPorts = () => [25, 17, 2525, port, rng.pick(filePorts), rng.int(1, 65535)];
    // One hand edit, sometimes two or three apart from each other.
    const edit = () => {
        const n = rng.pick([1, 1, 1, 2, 2, 3]);
        const what: string[] = [];
        for (let k = 0; k < n; k++) {
            const w = handEdit(rng, lines, base, "smtp", editPorts());
            if (w) what.push(w);
        }
        for (const l of lines) delete l.touched;
        steps.push(`hand edit${what.length > 1 ? "s" : ""}: ${what.join("; ")}`);
        fs.writeFileSync(file, fromLines(lines));
    };
    try {
        apply(pickPort());
        const rounds = rng.int(1, 4);
        for (let k = 0; k < rounds; k++) {
            edit();
            if (rng.chance(0.2) && k < rounds - 1) { revert(); apply(pickPort()); continue; }
            apply(rng.chance(0.6) ? port : pickPort()); // the repair, or a move from a drifted file
        }
        if (rng.chance(0.6)) edit();
        revert();
        return null;
    } catch (e) {
        return { seed, file: fileName, shell: shell.name, steps, error: (e as Error).message };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const COUNT = Number(process.env.HAND_EDITS_COUNT ?? 16);
const BASE_SEED = process.env.HAND_EDITS_BASE_SEED === "random" ? Math.floor(Math.random() * 1e9) : Number(process.env.HAND_EDITS_BASE_SEED ?? 16);
const ONLY = process.env.HAND_EDITS_SEED === undefined ? undefined : Number(process.env.HAND_EDITS_SEED);
const shells = process.env.HAND_EDITS_SHELLS === "all" ? SHELLS : SHELLS.filter(s => s.name === "dash");

describe("hand edits of smtp-port's lines (property test, issue 16)", function () {
    this.timeout(600_000);
    for (const shell of shells) {
        for (const f of FILES) {
            const count = ONLY !== undefined ? 1 : Math.max(1, Math.round(COUNT * f.share / (shell.name === "dash" ? 1 : 5)));
            it(`${f.name} under ${shell.name}: ${count} random sequences of apply, hand edit, repair, revert`, function () {
                const original = f.text();
                const seeds = ONLY !== undefined ? [ONLY] : Array.from({ length: count }, (_, i) => BASE_SEED + i);
                const t0 = Date.now();
                const real = { n: 0 };
                kindsSeen.clear();
                const failures: Failure[] = [];
                for (const seed of seeds) {
                    const fail = sequence(seed, f.name, original, shell, real);
                    if (fail) failures.push(fail);
                }
                const secs = ((Date.now() - t0) / 1000).toFixed(1);
                process.stderr.write(`      hand edits: ${f.name}, ${shell.name}: ${seeds.length} sequences, seeds ${seeds[0]}..${seeds[seeds.length - 1]}, ${real.n} real getent checks, ${failures.length} failed, ${secs} s\n` +
                    `        edits: ${[...kindsSeen].sort().map(([k, n]) => `${k} ${n}`).join(", ")}\n`);
                if (failures.length) {
                    const first = failures[0];
                    assert.fail(`${failures.length} of ${seeds.length} sequences failed (seeds ${failures.map(x => x.seed).join(", ")}).\n` +
                        `First: HAND_EDITS_SEED=${first.seed} reproduces it (${first.file}, ${first.shell}):\n` +
                        first.steps.map((s, i) => `  ${i + 1}. ${s}`).join("\n") + `\n  -> ${first.error}`);
                }
            });
        }
    }
});

describe("hand edits: the resolver model agrees with glibc", function () {
    this.timeout(60_000);
    it("on tricky lines (indentation, CR, comments, signs, slashes, aliases)", () => {
        const text = [
            "  smtp 2525/tcp mail # indented", "#smtp 17/tcp", "relay\t24/tcp\tsmtp", "smtp 25tcp", "smtp +26/tcp", "smtp 27//tcp",
            "smtp 28/tcp\r", "qotd 17/tcp\rquote", "smtp\t29/tcp#mail", "x 65561/tcp", "smtp", "mail 30/udp smtp",
            "smtp 0x1f/tcp", "smtp 040/tcp", "smtp 09/tcp", "smtp 0x/tcp", "smtp -65535/tcp", "qotd 0x11/tcp", "smtp 41 /tcp", "smtp 42/ tcp",
            "smtp 4294967296/tcp", "smtp -0/tcp", "smtp 4294967295/tcp", "smtp 131071/tcp",
        ];
        const d = tempDir();
        try {
            for (let i = 0; i < text.length; i++) {
                const f = path.join(d, `s${i}`);
                const t = text.slice(i).join("\n") + "\n";
                fs.writeFileSync(f, t);
                const es = entries(t);
                for (const q of ["smtp/tcp", "smtp/udp", "17/tcp", "9/tcp"]) {
                    const [k, proto] = q.split("/");
                    const e = /^\d+$/.test(k) ? getservbyport(es, Number(k), proto) : getservbyname(es, k, proto);
                    const real = resolve(f, q);
                    const model = e ? `${e.name} ${e.port}/${e.proto}${e.aliases.length ? " " + e.aliases.join(" ") : ""}` : null;
                    assert.equal(model, real, `${q} on lines ${i + 1}..: ${JSON.stringify(t)}`);
                }
            }
        } finally { fs.rmSync(d, { recursive: true, force: true }); }
    });
});

// --- the cases named in the issue and the refusals, one by one, under every shell ---

/** The state folder smtp-port keeps for the one file it manages under a --state-dir. */
function stateFolder(state: string): string {
    const dirs = fs.readdirSync(state, { withFileTypes: true }).filter(e => e.isDirectory());
    assert.equal(dirs.length, 1, `one state folder in ${state}: ${dirs.map(d => d.name).join(", ")}`);
    return path.join(state, dirs[0].name);
}

/** Every file under a folder with its bytes, to show that a refusal changed nothing. */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (!fs.existsSync(dir)) return out;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) Object.assign(out, snapshot(p));
        else out[p] = fs.readFileSync(p, "latin1");
    }
    return out;
}

for (const shell of SHELLS) {
    describe(`hand edits of smtp-port's lines under ${shell.name}`, function () {
        this.timeout(120_000);
        const setup = (text: string) => {
            const dir = tempDir();
            const file = path.join(dir, "services");
            fs.writeFileSync(file, text);
            const state = path.join(dir, "state");
            const run = (...args: string[]) => runScript(shell, [...args, "--file", file, "--state-dir", state]);
            const read = () => fs.readFileSync(file, "utf8");
            const edit = (from: string | RegExp, to: string) => {
                const before = read();
                const after = before.replace(from, to);
                assert.notEqual(after, before, `the hand edit ${from} -> ${to} changed nothing`);
                fs.writeFileSync(file, after);
            };
            const firstApply = (text: string, port: number) => {
                const d = tempDir();
                const f = path.join(d, "services");
                fs.writeFileSync(f, text);
                const r = runScript(shell, ["apply", "--port", String(port), "--file", f, "--state-dir", path.join(d, "state"), "--verify", "no"]);
                assert.equal(r.code, 0, r.stderr);
                return fs.readFileSync(f, "utf8");
            };
            return { dir, file, state, run, read, edit, firstApply };
        };
        const debian = fixture("services.debian");
        const windows = fixture("services.windows").replace(/\n/g, "\r\n");

        it("the issue's case: the added line edited back to 25; preview shows drift, repair gives the converged bytes, revert the original", () => {
            const s = setup(debian);
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            const converged = s.read();
            s.edit("smtp\t\t2525/tcp\t\tmail", "smtp\t\t25/tcp\t\tmail");
            const p = s.run("preview", "--port", "2525");
            assert.equal(p.code, 0, p.stderr);
            assert.equal(p.json.drift, true);
            assert.equal(p.json.status, "would_change");
            assert.deepEqual(p.json.diff, ["-smtp\t\t25/tcp\t\tmail", "+smtp\t\t2525/tcp\t\tmail"]);
            const r = s.run("apply", "--port", "2525", "--verify", "no");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, `${keptNote(s.file)}` +
                `smtp-port: line 27: "smtp\t\t25/tcp\t\tmail" is an edit of smtp-port's own line "smtp\t\t2525/tcp\t\tmail": not kept as yours\n`);
            assert.equal(r.json.changed, true);
            assert.equal(s.read(), converged, "repair gives back the bytes of the first apply");
            // Again, and this time revert straight from the drifted file.
            s.edit("smtp\t\t2525/tcp\t\tmail", "smtp\t\t25/tcp\t\tmail");
            const back = s.run("revert");
            assert.equal(back.code, 0, back.stderr);
            assert.equal(back.json.mode, "merge");
            assert.equal(s.read(), debian, "revert gives back the original bytes: one smtp line");
        });

        it("the same on a CRLF file: the admin's line back to 'smtp 25/tcp mail', then repair and revert", () => {
            const s = setup(windows);
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            const converged = s.read();
            s.edit(/^smtp +2525\/tcp +mail +#Simple Mail Transfer Protocol\r$/m, "smtp 25/tcp mail\r");
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            assert.equal(s.read(), converged);
            s.edit(/^smtp +2525\/tcp.*\r$/m, "smtp 25/tcp mail\r");
            assert.equal(s.run("revert").code, 0);
            assert.equal(s.read(), windows);
        });

        it("every kind of edit to smtp-port's lines at once, with the user's edits elsewhere: repair = first apply from the base, revert = the base", () => {
            const s = setup(debian);
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            // Ours: the added line moved to the end with another comment, the
            // commented smtp line uncommented, the commented qotd line deleted.
            s.edit("smtp\t\t17/tcp\t\tmail\n", "");
            s.edit(/\n$/, "\nsmtp\t\t17/tcp\t\tmail # here now\n");
            s.edit("#smtp\t\t25/tcp\t\tmail", "smtp\t\t25/tcp\t\tmail");
            s.edit("#qotd\t\t17/tcp\t\tquote\n", "");
            // Theirs: a service changed, a line deleted, a comment and a service added.
            s.edit("ftp\t\t21/tcp", "ftp\t\t2121/tcp");
            s.edit(/^ssh\t.*\n/m, "");
            s.edit("telnet\t\t23/tcp\n", "telnet\t\t23/tcp\n# local: the admin's note\nbackup\t\t9000/tcp\n");
            const base = debian.replace("ftp\t\t21/tcp", "ftp\t\t2121/tcp").replace(/^ssh\t.*\n/m, "")
                .replace("telnet\t\t23/tcp\n", "telnet\t\t23/tcp\n# local: the admin's note\nbackup\t\t9000/tcp\n");
            assert.notEqual(base, debian);
            const r = s.run("apply", "--port", "17", "--verify", "no");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(s.read(), s.firstApply(base, 17));
            assert.equal(s.run("revert").code, 0);
            assert.equal(s.read(), base);
        });

        /** A refusal: exit 1, the reason on stderr and in the failed result, file and state untouched. */
        const refused = (s: ReturnType<typeof setup>, args: string[], why: string) => {
            const before = snapshot(s.dir);
            const r = s.run(...args);
            const reason = `refusing to change ${s.file}, nothing was written: ${why}`;
            assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
            assert.equal(r.stderr, `${keptNote(s.file)}` +
                `smtp-port: error: ${reason}\n`);
            assert.equal(r.json?.status, "failed", r.stdout);
            assert.equal(r.json.reason, reason);
            assert.equal(r.json.rolled_back, false);
            assert.deepEqual(snapshot(s.dir), before, "file and state untouched");
        };

        it("refuses an added active smtp entry (revert would leave two), names it, and goes on once it is gone", () => {
            const s = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\n");
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            s.edit("foo 99/tcp\n", "foo 99/tcp\nsmtp 587/tcp\n");
            const msg = `line 5: "smtp 587/tcp" would be a second active smtp/tcp entry once smtp-port's lines are put back, and smtp-port did not write it; delete it or comment it out, then run again`;
            refused(s, ["apply", "--port", "2525", "--verify", "no"], msg);
            refused(s, ["revert"], msg);
            refused(s, ["preview", "--port", "2525"], msg);
            s.edit("smtp 587/tcp", "#smtp 587/tcp");
            assert.equal(s.run("revert").code, 0);
            assert.equal(s.read(), "qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\n#smtp 587/tcp\n");
        });

        it("an added line the resolver skips (smtp x/tcp: no port number) is no second active entry: revert keeps it; apply refuses it as unparsable", () => {
            const s = setup("smtp 25/tcp mail\nx 1/tcp\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            s.edit("x 1/tcp\n", "x 1/tcp\nsmtp x/tcp mail\n");
            const a = s.run("apply", "--port", "17", "--verify", "no");
            assert.equal(a.code, 1);
            assert.equal(a.stderr, `${keptNote(s.file)}` +
                `line 3: cannot parse "smtp x/tcp mail"\n` +
                `smtp-port: error: refusing to change ${s.file}: a smtp entry cannot be parsed (see above); fix it by hand\n`);
            const r = s.run("revert");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(s.read(), "smtp 25/tcp mail\nx 1/tcp\nsmtp x/tcp mail\n");
        });

        it("names every refused line when there are several, the first in the reason", () => {
            const s = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\n");
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            s.edit("foo 99/tcp\n", "smtp 587/tcp\nfoo 99/tcp\nrelay 24/tcp smtp\n");
            const before = snapshot(s.dir);
            const r = s.run("revert");
            const lines = [`line 4: "smtp 587/tcp" would be a second active smtp/tcp entry once smtp-port's lines are put back, and smtp-port did not write it; delete it or comment it out, then run again`,
                `line 6: "relay 24/tcp smtp" would be a second active smtp/tcp entry once smtp-port's lines are put back, and smtp-port did not write it; delete it or comment it out, then run again`];
            const reason = `refusing to change ${s.file}, nothing was written: 2 hand edits cannot be told apart from smtp-port's own lines (see above); the first: ${lines[0]}`;
            assert.equal(r.code, 1);
            assert.equal(r.stderr, `${keptNote(s.file)}` +
                lines.map(l => l + "\n").join("") + `smtp-port: error: ${reason}\n`);
            assert.equal(r.json.reason, reason);
            assert.deepEqual(snapshot(s.dir), before);
        });

        it("a copy of the user's last line among the edits is matched as the user's: only the truly ambiguous line is refused", () => {
            // The part left to align has no line unique on both sides, and
            // the user's "x 1/tcp" (its last line there) is in it twice.
            const s = setup("smtp 25/tcp mail\nsmtp 25/tcp mail\n# c\ny 2/tcp\nx 1/tcp\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            assert.equal(s.read(), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n#smtp 25/tcp mail\n# c\ny 2/tcp\nx 1/tcp\n");
            fs.writeFileSync(s.file, "qotd 17/udp quote\nx 1/tcp\nx 1/tcp\nsmtp\t\t17/tcp\t\tmail\n");
            const before = snapshot(s.dir);
            const r = s.run("apply", "--port", "17", "--verify", "no");
            const reason = `refusing to change ${s.file}, nothing was written: line 1: cannot tell whether "qotd 17/udp quote" is your own entry or an edit of smtp-port's line "#smtp 25/tcp mail" it replaces; put smtp-port's line back as it wrote it and add yours on a line of its own, then run again`;
            assert.equal(r.code, 1);
            assert.equal(r.stderr, `${keptNote(s.file)}smtp-port: error: ${reason}\n`);
            assert.deepEqual(snapshot(s.dir), before);
        });

        it("of two smtp entries that appeared, the one where smtp-port's line was is taken for its edit; the other is the user's, commented out by the next apply", () => {
            const s = setup("qotd 17/udp quote\nx 1/tcp\n\ny 2/tcp\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            assert.equal(s.read(), "qotd 17/udp quote\nx 1/tcp\n\ny 2/tcp\nsmtp\t\t17/tcp\t\tmail\n");
            fs.writeFileSync(s.file, "smtp 25/tcp mail\nqotd 17/udp quote\n#qotd 17/tcp quote\n\nsmtp 17/tcp mail\n\n");
            const r = s.run("apply", "--port", "17", "--verify", "no");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, `${keptNote(s.file)}` +
                `smtp-port: line 5: "smtp 17/tcp mail" is an edit of smtp-port's own line "smtp\t\t17/tcp\t\tmail": not kept as yours\n`);
            assert.deepEqual([r.json.added, r.json.commented], ["smtp 17/tcp mail", ["smtp 25/tcp mail"]]);
            assert.equal(s.read(), "#smtp 25/tcp mail\nsmtp 17/tcp mail\nqotd 17/udp quote\n#qotd 17/tcp quote\n\n\n");
        });

        // A first apply at 17, a hand edit, then a second run (found with
        // edit-differ.js, made as small as it goes): what it says and leaves.
        const editThenRun = (c: { before: string; applied: string; edited: string; then: string[]; note?: string; after: string }) => {
            const s = setup(c.before);
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            assert.equal(s.read(), c.applied);
            fs.writeFileSync(s.file, c.edited);
            const r = s.run(...c.then);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, keptNote(s.file) + (c.note ?? ""));
            assert.equal(s.read(), c.after);
        };
        const addedLineDeleted = `smtp-port: smtp-port's own line "smtp\t\t17/tcp\t\tmail" was deleted: not kept as yours\n`;

        it("a copy of smtp-port's commented line added above it: the one beside smtp-port's added line is smtp-port's, and revert uncomments that one", () => editThenRun({
            before: "qotd 17/udp quote\nqotd 17/tcp quote\nx 1/tcp\n",
            applied: "qotd 17/udp quote\n#qotd 17/tcp quote\nsmtp\t\t17/tcp\t\tmail\nx 1/tcp\n",
            // The user's lines deleted, and smtp-port's commented line copied above itself.
            edited: "#qotd 17/tcp quote\n#qotd 17/tcp quote\nsmtp\t\t17/tcp\t\tmail\n",
            then: ["revert"],
            after: "#qotd 17/tcp quote\nqotd 17/tcp quote\n",
        }));

        it("the first line (a blank one) and smtp-port's added line deleted: the next apply goes on from the lines left", () => editThenRun({
            before: "\nqotd 17/udp quote\n",
            applied: "\nqotd 17/udp quote\nsmtp\t\t17/tcp\t\tmail\n",
            edited: "qotd 17/udp quote\n",
            then: ["apply", "--port", "18", "--verify", "no"],
            note: addedLineDeleted,
            after: "qotd 17/udp quote\nsmtp\t\t18/tcp\t\tmail\n",
        }));

        it("one of two identical lines of the user deleted, and smtp-port's added line: the next apply goes on from the lines left", () => editThenRun({
            before: "x 1/tcp\nx 1/tcp\nw 4/tcp smtp\n",
            applied: "x 1/tcp\nx 1/tcp\n#w 4/tcp smtp\nsmtp\t\t17/tcp\t\tmail\n",
            edited: "x 1/tcp\n#w 4/tcp smtp\n",
            then: ["apply", "--port", "18", "--verify", "no"],
            note: addedLineDeleted,
            after: "x 1/tcp\n#w 4/tcp smtp\nsmtp\t\t18/tcp\t\tmail\n",
        }));

        it("copies of smtp-port's commented line added on both sides of its added line: the user's, kept, and the next apply goes on", () => editThenRun({
            before: "w 4/tcp smtp\nsmtp 25/tcp mail\n",
            applied: "#w 4/tcp smtp\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n",
            edited: "#w 4/tcp smtp\n#smtp 25/tcp mail\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n#smtp 25/tcp mail\n",
            then: ["apply", "--port", "18", "--verify", "no"],
            after: "#w 4/tcp smtp\n#smtp 25/tcp mail\nsmtp 18/tcp mail\n#smtp 25/tcp mail\n#smtp 25/tcp mail\n",
        }));

        it("after a changed line, one of smtp-port's commented line and the user's identical copy deleted: the first one left is smtp-port's, and revert uncomments it", () => editThenRun({
            before: "y 2/tcp\nx 1/tcp\nsmtp 25/tcp mail\n#smtp 25/tcp mail\n",
            applied: "y 2/tcp\nx 1/tcp\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n#smtp 25/tcp mail\n",
            // The first line changed (so the alignment starts at x), smtp-port's
            // added line and one of the two identical commented lines deleted.
            edited: "y 3/tcp\nx 1/tcp\n#smtp 25/tcp mail\n# note\n",
            then: ["revert"],
            note: `smtp-port: smtp-port's own line "smtp 17/tcp mail" was deleted: not kept as yours\n`,
            after: "y 3/tcp\nx 1/tcp\nsmtp 25/tcp mail\n# note\n",
        }));

        it("smtp-port's added line moved above its two identical commented lines: revert restores the file, and the note names the second of them (line 3) as the one edited", () => editThenRun({
            before: "w 4/tcp smtp\nw 4/tcp smtp\nx 1/tcp\n",
            applied: "#w 4/tcp smtp\nsmtp\t\t17/tcp\t\tmail\n#w 4/tcp smtp\nx 1/tcp\n",
            // Between the added line and x, smtp-port's second commented line is
            // matched to the first copy there (line 2); its first, whose place
            // is gone, to the other (line 3).
            edited: "smtp\t\t17/tcp\t\tmail\n#w 4/tcp smtp\n#w 4/tcp smtp\nx 1/tcp\n\n",
            then: ["revert"],
            note: `smtp-port: line 3: "#w 4/tcp smtp" is an edit of smtp-port's own line "#w 4/tcp smtp": not kept as yours\n`,
            after: "w 4/tcp smtp\nw 4/tcp smtp\nx 1/tcp\n\n",
        }));

        it("a line the user added is remembered by an apply that changes nothing: deleting smtp-port's added line above it later is a plain deletion", () => {
            const s = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            fs.appendFileSync(s.file, "a 5/tcp\n");
            const again = s.run("apply", "--port", "17", "--verify", "no");
            assert.equal(again.json.status, "unchanged", again.stderr);
            // Had the second apply kept its old copy of what it wrote, "a 5/tcp"
            // would stand where smtp-port's line was: an edit of it, or not?
            s.edit("smtp 17/tcp mail\n", "");
            const r = s.run("revert");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, keptNote(s.file) + `smtp-port: smtp-port's own line "smtp 17/tcp mail" was deleted: not kept as yours\n`);
            assert.equal(s.read(), "qotd 17/tcp quote\nsmtp 25/tcp mail\na 5/tcp\n");
        });

        it("a file rewritten around smtp-port's deleted line: each entry that may stand for it is refused, both named, nothing written", () => {
            const s = setup("y 2/tcp\n\nx 1/tcp\nx 1/tcp\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            assert.equal(s.read(), "y 2/tcp\n\nx 1/tcp\nx 1/tcp\nsmtp\t\t17/tcp\t\tmail\n");
            // The user's lines reordered and copied, smtp-port's line gone. No
            // line is unique to both sides, so the files are compared whole
            // (longest common subsequence), whose edges count as nothing: the
            // blank line must not match the nothing past the new file's end.
            const edited = "x 1/tcp\nqotd 17/tcp quote\ny 2/tcp\ny 2/tcp\n";
            fs.writeFileSync(s.file, edited);
            const r = s.run("apply", "--port", "17", "--verify", "no");
            assert.equal(r.code, 1);
            const why = (line: number, entry: string) => `line ${line}: cannot tell whether "${entry}" is your own entry or an edit of smtp-port's line "smtp\t\t17/tcp\t\tmail" it replaces; put smtp-port's line back as it wrote it and add yours on a line of its own, then run again`;
            assert.equal(r.stderr, keptNote(s.file) + `${why(2, "qotd 17/tcp quote")}\n${why(4, "y 2/tcp")}\n` +
                `smtp-port: error: refusing to change ${s.file}, nothing was written: 2 hand edits cannot be told apart from smtp-port's own lines (see above); the first: ${why(2, "qotd 17/tcp quote")}\n`);
            assert.equal(s.read(), edited);
        });

        it("refuses an entry standing where smtp-port's line was, that is not recognizably that line", () => {
            const s = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\n");
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            assert.equal(s.read(), "qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 2525/tcp mail\nfoo 99/tcp\n");
            s.edit("smtp 2525/tcp mail\n", "submission 587/tcp\n");
            refused(s, ["apply", "--port", "2525", "--verify", "no"],
                `line 3: cannot tell whether "submission 587/tcp" is your own entry or an edit of smtp-port's line "smtp 2525/tcp mail" it replaces; put smtp-port's line back as it wrote it and add yours on a line of its own, then run again`);
            // Done as the message says: smtp-port's line back, the user's on a line of its own.
            fs.writeFileSync(s.file, "qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 2525/tcp mail\nfoo 99/tcp\nsubmission 587/tcp\n");
            assert.equal(s.run("revert").code, 0);
            assert.equal(s.read(), "qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\nsubmission 587/tcp\n");
        });

        // An entry that changed is matched first by name and protocol (in its
        // run, then anywhere: a move), and by the name alone only after that.
        describe("which deleted line a changed line is taken to be", () => {
            const before = "smtp 25/tcp mail\nqotd 17/tcp quote\nsmtp 26/sctp foo\n";
            const converged = "#smtp 25/tcp mail\nsmtp 2525/tcp mail\nqotd 17/tcp quote\n";
            const repaired = (s: ReturnType<typeof setup>, line: number, text: string) => {
                const r = s.run("apply", "--port", "2525", "--verify", "no");
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.stderr, `${keptNote(s.file)}` +
                    `smtp-port: line ${line}: "${text}" is an edit of smtp-port's own line "smtp 2525/tcp mail": not kept as yours\n`);
                assert.equal(s.read(), converged, "smtp-port's line is back; the user's deletion stays");
            };

            it("its protocol changed: smtp-port's line of that name in the same run, not the user's line of that name deleted elsewhere", () => {
                const s = setup(before);
                assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
                assert.equal(s.read(), "#smtp 25/tcp mail\nsmtp 2525/tcp mail\nqotd 17/tcp quote\nsmtp 26/sctp foo\n");
                s.edit("smtp 2525/tcp mail\nqotd 17/tcp quote\nsmtp 26/sctp foo\n", "smtp 2525/udp mail\nqotd 17/tcp quote\n");
                repaired(s, 2, "smtp 2525/udp mail");
            });

            it("moved over a deleted line of the user with the same name: a move of smtp-port's line, not an edit of the user's", () => {
                const s = setup(before);
                assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
                s.edit("smtp 2525/tcp mail\nqotd 17/tcp quote\nsmtp 26/sctp foo\n", "qotd 17/tcp quote\nsmtp 2525/tcp mail\n");
                repaired(s, 3, "smtp 2525/tcp mail");
            });
        });

        it("lines added at both ends of a file with a repeated line of smtp-port's: kept, and no edit of smtp-port's lines reported", () => {
            const s = setup("x 1/tcp\nsmtp 25/tcp mail\nsmtp 25/tcp mail\nqotd 17/tcp quote\n");
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            const converged = s.read();
            assert.equal(converged, "x 1/tcp\n#smtp 25/tcp mail\nsmtp 2525/tcp mail\n#smtp 25/tcp mail\nqotd 17/tcp quote\n");
            fs.writeFileSync(s.file, `new1 3/tcp\n${converged}new2 4/tcp\n`);
            const r = s.run("apply", "--port", "2525", "--verify", "no");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, `${keptNote(s.file)}`);
            assert.equal(s.read(), `new1 3/tcp\n${converged}new2 4/tcp\n`);
        });

        it("a copy of smtp-port's last line added before it, other lines between: the last copy is smtp-port's, and revert restores that one", () => {
            // The file's ends are matched first: after the common start, the
            // last line of the file is taken to be smtp-port's, the earlier
            // copy to be one the user added (kept as written).
            const s = setup("smtp 25/tcp mail\nqotd 17/tcp quote\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            s.edit("#smtp 25/tcp mail\nsmtp 17/tcp mail\n#qotd 17/tcp quote\n",
                "#smtp 25/tcp mail\nsmtp 17/tcp mail\ny 1/tcp\n#qotd 17/tcp quote\nz 2/tcp\n#qotd 17/tcp quote\n");
            const r = s.run("revert");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(s.read(), "smtp 25/tcp mail\ny 1/tcp\n#qotd 17/tcp quote\nz 2/tcp\nqotd 17/tcp quote\n");
        });

        /** Apply port 17 to ORIGINAL (it gives APPLIED), put EDITED in its place by hand, revert: the revert and the file it leaves. */
        const revertAfterEdit = (original: string, applied: string, edited: string) => {
            const s = setup(original);
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            assert.equal(s.read(), applied);
            fs.writeFileSync(s.file, edited);
            const r = s.run("revert");
            assert.equal(r.code, 0, r.stderr);
            return { file: s.file, stderr: r.stderr, reverted: s.read() };
        };

        it("copies of smtp-port's commented line added among repeated lines: the one between its old neighbours is smtp-port's, the others are kept as the user's", () => {
            // No line here is unique on both sides, so the lines are matched
            // by their longest common run: x, smtp-port's line, x.
            const { reverted } = revertAfterEdit("smtp 25/tcp mail\nx 1/tcp\nsmtp 25/tcp mail\nx 1/tcp\n", "#smtp 25/tcp mail\nsmtp 17/tcp mail\nx 1/tcp\n#smtp 25/tcp mail\nx 1/tcp\n", "x 1/tcp\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n#smtp 25/tcp mail\nx 1/tcp\n#smtp 25/tcp mail\nx 1/tcp\n#smtp 25/tcp mail\n");
            assert.equal(reverted, "x 1/tcp\nsmtp 25/tcp mail\n#smtp 25/tcp mail\nx 1/tcp\nsmtp 25/tcp mail\nx 1/tcp\n#smtp 25/tcp mail\n");
        });

        it("both of smtp-port's commented lines deleted by hand, its added line left between them: revert puts each back in its place", () => {
            const { reverted } = revertAfterEdit("smtp 25/tcp mail\nqotd 17/tcp quote\nx 1/tcp\n", "#smtp 25/tcp mail\nsmtp 17/tcp mail\n#qotd 17/tcp quote\nx 1/tcp\n", "smtp 17/tcp mail\nx 1/tcp\n");
            assert.equal(reverted, "smtp 25/tcp mail\nqotd 17/tcp quote\nx 1/tcp\n");
        });

        it("one of several identical lines deleted: the earliest copies count as the deleted ones, which decides where a line put back goes", () => {
            // Three copies of four stay; smtp-port's two lines are gone.
            const { reverted } = revertAfterEdit("x 1/tcp\nx 1/tcp\nqotd 17/tcp quote\nx 1/tcp\nx 1/tcp\n", "x 1/tcp\nx 1/tcp\n#qotd 17/tcp quote\nsmtp\t\t17/tcp\t\tmail\nx 1/tcp\nx 1/tcp\n", "# top\nx 1/tcp\nx 1/tcp\nx 1/tcp\n# end\n");
            assert.equal(reverted, "# top\nx 1/tcp\nqotd 17/tcp quote\nx 1/tcp\nx 1/tcp\n# end\n");
        });

        it("everything deleted but one of two identical lines: the earlier copy counts as deleted, and smtp-port's lines go back before the one left", () => {
            const { reverted } = revertAfterEdit("smtp 25/tcp mail\nx 1/tcp\nqotd 17/tcp quote\nx 1/tcp\n", "#smtp 25/tcp mail\nsmtp 17/tcp mail\nx 1/tcp\n#qotd 17/tcp quote\nx 1/tcp\n", "x 1/tcp\n");
            assert.equal(reverted, "smtp 25/tcp mail\nqotd 17/tcp quote\nx 1/tcp\n");
        });

        it("a long file of repeated lines (too long to compare whole): smtp-port's one unique line still anchors it, and the user's lines at both ends are kept", () => {
            // 212 by 214 lines is more than the whole-block comparison takes
            // (40,000 pairs): only the unique line splits it into parts.
            const repeated = "# r\n".repeat(210);
            const { reverted } = revertAfterEdit("smtp 25/tcp mail\n" + repeated, "#smtp 25/tcp mail\nsmtp 17/tcp mail\n" + repeated, "# top\nsmtp 17/tcp mail\n" + repeated + "end 2/tcp\n");
            assert.equal(reverted, "smtp 25/tcp mail\n# top\n" + repeated + "end 2/tcp\n");
        });

        it("a long file of repeated lines whose one line unique to both sides is the last of smtp-port's: still the anchor", () => {
            // 212 by 213 lines: too long to compare whole; the unique line
            // ends the part, and the user deleted smtp-port's commented line.
            const repeated = "# r\n".repeat(210);
            const { file, stderr, reverted } = revertAfterEdit(repeated + "smtp 25/tcp mail\n", repeated + "#smtp 25/tcp mail\nsmtp 17/tcp mail\n", "# top\n" + repeated + "smtp 17/tcp mail\nend 2/tcp\n");
            assert.equal(stderr, `${keptNote(file)}` +
                `smtp-port: smtp-port's own line "#smtp 25/tcp mail" was deleted: not kept as yours\n`);
            assert.equal(reverted, "smtp 25/tcp mail\n# top\n" + repeated + "end 2/tcp\n");
        });

        it("a part with no line unique to both sides is compared whole up to 40,000 line pairs (200 by 200), not at 40,001 (181 by 221)", () => {
            // The user copied smtp-port's commented line: no line of the file
            // is unique to both sides, so the whole file is one part.
            const r = (n: number) => "# r\n".repeat(n);
            const edited = (b: number) => "# top\n#smtp 25/tcp mail\n#smtp 25/tcp mail\n" + r(b) + "end 2/tcp\n";
            const added = `smtp-port: line 3: "#smtp 25/tcp mail" is an edit of smtp-port's own line "smtp 17/tcp mail": not kept as yours\n`;
            // 200 x 200: compared whole; the first copy is smtp-port's line, unchanged.
            const whole = revertAfterEdit("smtp 25/tcp mail\n" + r(198), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n" + r(198), edited(196));
            assert.equal(whole.stderr, keptNote(whole.file) + added);
            assert.equal(whole.reverted, "# top\nsmtp 25/tcp mail\n" + r(196) + "end 2/tcp\n");
            // 181 x 221: not compared; each copy is taken for an edit of one of smtp-port's lines.
            const over = revertAfterEdit("smtp 25/tcp mail\n" + r(179), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n" + r(179), edited(217));
            assert.equal(over.stderr, keptNote(over.file) + `smtp-port: line 2: "#smtp 25/tcp mail" is an edit of smtp-port's own line "#smtp 25/tcp mail": not kept as yours\n` + added);
            assert.equal(over.reverted, "# top\nsmtp 25/tcp mail\n" + r(217) + "end 2/tcp\n", "the same file back");
        });

        it("smtp-port's added line deleted and a line of the user's copied to the top, around repeated lines: revert keeps the file as the user left it", () => {
            // "x 1/tcp" is twice in the part being aligned, once as its last
            // line: a count that missed that line would take it for a line
            // unique on both sides and pair the wrong copy.
            const edited = "x 1/tcp\nx 1/tcp\n# local\n# local\nx 1/tcp\n";
            const { file, stderr, reverted } = revertAfterEdit("x 1/tcp\n# local\n# local\nx 1/tcp\n", "x 1/tcp\n# local\n# local\nx 1/tcp\nsmtp\t\t17/tcp\t\tmail\n", edited);
            assert.equal(stderr, `${keptNote(file)}` +
                `smtp-port: smtp-port's own line "smtp\t\t17/tcp\t\tmail" was deleted: not kept as yours\n`);
            assert.equal(reverted, edited);
        });

        it("smtp-port's added line, the file's last, moved by hand to the top: an edit of smtp-port's line, which revert takes out", () => {
            // Every line of the file is then aligned before smtp-port's last
            // line is reached: that line's move must still count.
            const { file, stderr, reverted } = revertAfterEdit("echo 7/tcp\nqotd 17/tcp quote\n", "echo 7/tcp\n#qotd 17/tcp quote\nsmtp\t\t17/tcp\t\tmail\n", "smtp\t\t17/tcp\t\tmail\necho 7/tcp\n#qotd 17/tcp quote\n");
            assert.equal(stderr, `${keptNote(file)}` +
                `smtp-port: line 1: "smtp\t\t17/tcp\t\tmail" is an edit of smtp-port's own line "smtp\t\t17/tcp\t\tmail": not kept as yours\n`);
            assert.equal(reverted, "echo 7/tcp\nqotd 17/tcp quote\n", "no smtp entry left on 17");
        });

        it("the user's first line deleted and a line added at the end, around a repeated line of smtp-port's: no edit of smtp-port's lines reported", () => {
            const s = setup("x 1/tcp\nsmtp 25/tcp mail\nsmtp 25/tcp mail\nqotd 17/tcp quote\n");
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            const edited = "#smtp 25/tcp mail\nsmtp 2525/tcp mail\n#smtp 25/tcp mail\nqotd 17/tcp quote\nnew2 4/tcp\n";
            s.edit("x 1/tcp\n#smtp 25/tcp mail\nsmtp 2525/tcp mail\n#smtp 25/tcp mail\nqotd 17/tcp quote\n", edited);
            const r = s.run("apply", "--port", "2525", "--verify", "no");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, `${keptNote(s.file)}`);
            assert.equal(s.read(), edited);
        });

        it("refuses a changed line that could be an edit of smtp-port's line or of the user's", () => {
            const s = setup("qotd 17/tcp quote\nqotd 18/tcp other\nsmtp 25/tcp mail\n");
            assert.equal(s.run("apply", "--port", "17", "--verify", "no").code, 0);
            assert.equal(s.read(), "#qotd 17/tcp quote\nqotd 18/tcp other\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            s.edit("#qotd 17/tcp quote\nqotd 18/tcp other\n", "qotd 19/tcp quote\n");
            refused(s, ["apply", "--port", "17", "--verify", "no"],
                `line 1: "qotd 19/tcp quote" could be an edit of smtp-port's line "#qotd 17/tcp quote" or of your line "qotd 18/tcp other"; put smtp-port's line back as it wrote it, run again, then make your change`);
        });

        it("state of an older smtp-port (no copy of what it wrote): rebuilt from the backup when the options match", () => {
            const s = setup(debian);
            assert.equal(s.run("apply", "--port", "2525", "--verify", "no").code, 0);
            const converged = s.read();
            const folder = stateFolder(s.state);
            fs.rmSync(path.join(folder, "managed"));
            s.edit("smtp\t\t2525/tcp\t\tmail", "smtp\t\t25/tcp\t\tmail");
            const r = s.run("apply", "--port", "2525", "--verify", "no");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(s.read(), converged);
            assert.ok(fs.existsSync(path.join(folder, "managed")), "the copy is kept from now on");
            // A revert has no options: the port comes from the added line.
            fs.rmSync(path.join(folder, "managed"));
            s.edit("smtp\t\t2525/tcp\t\tmail", "smtp\t\t25/tcp\t\tmail");
            const back = s.run("revert");
            assert.equal(back.code, 0, back.stderr);
            assert.doesNotMatch(back.stderr, /older version/);
            assert.equal(s.read(), debian);
        });

        it("state of an older smtp-port: a revert rebuilds it for a one-letter service too (the port is the added line's second field)", () => {
            const s = setup("qotd 17/tcp quote\nx 25/tcp\n");
            assert.equal(s.run("apply", "--port", "2525", "--service", "x", "--verify", "no").code, 0);
            assert.equal(s.read(), "qotd 17/tcp quote\n#x 25/tcp\nx\t\t2525/tcp\t\tmail\n");
            fs.rmSync(path.join(stateFolder(s.state), "managed"));
            s.edit("qotd 17/tcp quote\n", "qotd 17/tcp quote\nfoo 99/tcp\n");
            const back = s.run("revert", "--service", "x");
            assert.equal(back.code, 0, back.stderr);
            assert.doesNotMatch(back.stderr, /older version/);
            assert.equal(s.read(), "qotd 17/tcp quote\nfoo 99/tcp\nx 25/tcp\n");
        });

        it("state of an older smtp-port that cannot be rebuilt (other options): falls back to undoing its edits by their text, and says so", () => {
            const s = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            assert.equal(s.run("apply", "--port", "2525", "--aliases", "mail mailer", "--verify", "no").code, 0);
            fs.rmSync(path.join(stateFolder(s.state), "managed"));
            s.edit("qotd 17/tcp quote\n", "qotd 17/tcp quote\nfoo 99/tcp\n");
            const back = s.run("revert");
            assert.equal(back.code, 0, back.stderr);
            assert.match(back.stderr, /no copy of what smtp-port last wrote \(state of an older version\): undoing its edits by their text/);
            assert.equal(s.read(), "qotd 17/tcp quote\nfoo 99/tcp\nsmtp 25/tcp mail\n");
        });

        it("undoing an older version's edits by their text keeps CRLF line ends and the user's own commented lines", () => {
            const before = "qotd 17/tcp quote\r\n#foo 99/tcp\r\nsmtp 25/tcp mail\r\n";
            const s = setup(before);
            assert.equal(s.run("apply", "--port", "2525", "--aliases", "mail mailer", "--verify", "no").code, 0);
            fs.rmSync(path.join(stateFolder(s.state), "managed"));
            s.edit("qotd 17/tcp quote\r\n", "qotd 17/tcp quote\r\nbar 98/tcp\r\n");
            const back = s.run("revert");
            assert.equal(back.code, 0, back.stderr);
            assert.match(back.stderr, /undoing its edits by their text/);
            assert.equal(s.read(), "qotd 17/tcp quote\r\nbar 98/tcp\r\n#foo 99/tcp\r\nsmtp 25/tcp mail\r\n");
        });
    });
}
