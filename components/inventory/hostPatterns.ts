// Inventory host names may carry a port and ranges (`mx[01:03]:2222`):
// expanded as Ansible expands them, so one pattern gives the same hosts.

const ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

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

/** Python's int() of a text (ASCII digits): spaces around, a sign, "_" between digits; undefined when it is not a number. */
function pyInt(text: string): number | undefined {
    return /^\s*[-+]?[0-9]+(?:_[0-9]+)*\s*$/.test(text) ? Number(text.replace(/_/g, "")) : undefined;
}

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
    const step = pyInt(stepText);
    if (step === undefined) throw new Error(`host range step must be a number, got ${JSON.stringify(stepText)}`);
    if (step === 0) throw new Error("host range step must not be zero");
    let fill = (x: string | number) => String(x);
    if (beg[0] === "0" && beg.length > 1) {
        if (beg.length !== end.length) throw new Error("host range must specify equal-length begin and end formats");
        fill = x => {
            const s = String(x);
            // Python's zfill: a minus sign stays in front of the zeros.
            return s.startsWith("-") ? "-" + s.slice(1).padStart(beg.length - 1, "0") : s.padStart(beg.length, "0");
        };
    }
    let seq: (string | number)[] = [];
    const iBeg = ASCII_LETTERS.indexOf(beg);
    const iEnd = ASCII_LETTERS.indexOf(end);
    if (iBeg >= 0 && iEnd >= 0) {
        if (iBeg > iEnd) throw new Error("host range must have begin <= end");
        // Python's slice [beg:end+1:step]: empty for a negative step.
        if (step > 0) for (let k = iBeg; k <= iEnd; k += step) seq.push(ASCII_LETTERS[k]);
    } else {
        // Python's int(), as Ansible reads them: " 3", "+1", "-1" and "1_0" are numbers too.
        const b = pyInt(beg), e = pyInt(end);
        if (b === undefined || e === undefined) throw new Error(`host range bounds must be numbers or letters, got ${JSON.stringify(nrange)}`);
        if (Math.floor(Math.abs((e - b) / step)) + 1 > 100000) throw new Error("host range expands to more than 100000 hosts");
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
