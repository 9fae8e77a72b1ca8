// The listener check (components/listener/listener-check.js) as the
// component talks to it: the hosts of a wave go in as JSON lines on its
// stdin, and it prints one JSON object a line per host. This is the only
// place that writes the first and reads the second.

/** One host of a wave, as the check reads it (a line of its stdin). */
export interface CheckTarget {
    /** The host's name. */
    name: string;
    /** The address the check connects to. */
    host: string;
    /** The new port, which must greet. */
    port: number;
    /** A port that must refuse connections after the change (the old one), or null. */
    oldPort: number | null;
}

/** What the check found for one host (a line of its stdout). */
export interface CheckLine {
    /** The host's name. */
    name: string;
    /** The new port greeted as expected (and the old one, if checked, refused). */
    ok: boolean;
    /** The greeting seen, or null. */
    banner: string | null;
    /** Why it failed, for people (set when `ok` is false). Never parsed. */
    message: string | null;
}

/** The check's stdin for a wave. */
export function checkInput(targets: CheckTarget[]): string {
    return targets.map(t => JSON.stringify({ name: t.name, host: t.host, port: t.port, oldPort: t.oldPort }) + "\n").join("");
}

/** The check's output could not be decoded. */
export class CheckLinesError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CheckLinesError";
    }
}

/**
 * The check's result for each host, by host name. Every non-empty line
 * must be one result object; `step` names the check in errors.
 * @param step the check step's name, for errors
 * @param stdout everything the check printed on stdout
 */
export function decodeCheckLines(step: string, stdout: string): Record<string, CheckLine> {
    const byName: Record<string, CheckLine> = {};
    stdout.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (line === "") return;
        const bad = (why: string) => new CheckLinesError(`${step}: line ${i + 1} of the listener check's output ${why}: ${JSON.stringify(line.slice(0, 300))}`);
        let r: any;
        try {
            r = JSON.parse(line);
        } catch {
            throw bad("is not JSON");
        }
        if (r === null || typeof r !== "object" || Array.isArray(r)) throw bad("is not a JSON object");
        if (typeof r.name !== "string" || r.name === "") throw bad("has no host name");
        if (typeof r.ok !== "boolean") throw bad("has no boolean `ok`");
        if (r.banner !== undefined && r.banner !== null && typeof r.banner !== "string") throw bad("has a `banner` that is not a string");
        if (!r.ok && typeof r.message !== "string") throw bad("reports a failure without a `message`");
        byName[r.name] = { name: r.name, ok: r.ok, banner: r.banner ?? null, message: r.ok ? null : r.message };
    });
    return byName;
}

/** What a host's outcome reads when the check printed nothing for it. */
export function missingCheckLine(name: string): CheckLine {
    return { name, ok: false, banner: null, message: `the listener check printed no result for ${name}` };
}
