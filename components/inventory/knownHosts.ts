// Host keys are pinned from an OpenSSH known_hosts file, matched as ssh
// matches them (hashed names, patterns, markers), so that no key is guessed.
import * as crypto from "crypto";

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
