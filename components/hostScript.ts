// The host script (components/host/smtp-port.sh) as the component runs it:
// its text, where it is copied to on each host, and the command line of each
// run. What the script prints back is decoded in components/hostResult.ts.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { defaults, ResolvedHost } from "./args";
import { HOST_RESULT_SCHEMA } from "./hostResult";
import { shellQuote, shellWords } from "./shell";

/** The host script: copied to every host (`remoteScriptPath`, `copyCommand`), and sent on stdin by a look when the host has no copy. */
export const hostScriptPath = path.join(__dirname, "host", "smtp-port.sh");

let cached: { text: string; digest: string } | undefined;

/** The script text and a short digest of it (shown in the command line so that script changes show in diffs). */
export function hostScript(): { text: string; digest: string } {
    if (!cached) {
        const text = fs.readFileSync(hostScriptPath, "utf8");
        const digest = crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
        cached = { text, digest };
    }
    return cached;
}

/**
 * Where the reconcile finds the script on a host: relative to the login's
 * home, where every SSH command starts (the copy's too), so it works for
 * any login user, root or not, with or without sudo (the login's shell
 * opens the file; root never reads a user's home). The digest in the name
 * makes a new script a new path: the copy runs again, and so does every
 * reconcile whose command names it.
 */
export function remoteScriptPath(): string {
    return `.smtp-port/smtp-port-${hostScript().digest}.sh`;
}

/** The script's actions the component runs: `apply` (create/update), `preview` (the look), `revert` (delete). */
export type ScriptAction = "apply" | "preview" | "revert";

/** How one run is made, besides the host's settings. */
export interface RunOptions {
    /**
     * A failed run is a result, not a failed step: the script reports the
     * failure and exits 0. An apply that dies before reporting (sudo
     * refused, the shell killed) then gets a result line of ours
     * (`failedLine`); a look (preview) that dies fails with its stderr.
     */
    reportFailure: boolean;
    /** The change token an apply records (see the script's `--change`); absent when the host was not looked at. */
    change?: string;
    /** Mark the script version in the command (for diffs) when it is read from stdin. Default true. */
    digest?: boolean;
    /**
     * Run the copy of the script at this path on the host (relative to the
     * login's home) instead of reading it from the session's stdin.
     */
    scriptFile?: string;
}

/** `yes`/`no`, as the script's flags spell a boolean. */
function yesNo(b: boolean): string {
    return b ? "yes" : "no";
}

/**
 * The script's own default of each flag the component may leave out, in
 * the script's spelling: the component's defaults (components/args.ts),
 * which the script holds too (test/host/defaults.test.ts proves each one
 * against the script's usage). A flag whose value is its default is not
 * passed: the command lines are kept in Pulumi's state twice per host
 * (inputs and outputs) and rewritten with every checkpoint.
 */
export const SCRIPT_DEFAULTS: Readonly<Record<string, string>> = {
    "--file": defaults.servicesFile,
    "--service": defaults.service,
    "--protocol": defaults.protocol,
    "--aliases": defaults.aliases.join(" "),
    "--conflicts": defaults.conflicts,
    // No restart command (null): the script finds the mail server's own.
    "--restart": defaults.restartCommand ?? "",
    "--state-dir": defaults.stateDir,
    "--mta": defaults.mta,
    "--verify": yesNo(defaults.verifyOnHost),
    "--verify-timeout": String(defaults.verifyTimeout),
    "--verify-address": defaults.verifyAddress,
    "--require-old-port-closed": yesNo(defaults.requireOldPortClosed),
    "--report-failure": "no",
};

/**
 * The script's options for one run on one host: every setting that differs
 * from the script's default (`SCRIPT_DEFAULTS`), the host label and the
 * change token always.
 */
export function scriptOptions(action: ScriptAction, h: ResolvedHost, o: RunOptions): (string | number)[] {
    const pairs: [string, string | number][] = [];
    const where: [string, string | number][] = [["--restart", h.restartCommand ?? ""], ["--state-dir", h.stateDir], ["--mta", h.mta]];
    if (action === "revert") pairs.push(["--file", h.servicesFile], ...where);
    else {
        pairs.push(
            ["--port", h.port], ["--file", h.servicesFile],
            ["--service", h.service], ["--protocol", h.protocol], ["--aliases", h.aliases.join(" ")], ["--conflicts", h.conflicts],
            ...where,
            ["--verify", yesNo(h.verifyOnHost)], ["--verify-timeout", h.verifyTimeout], ["--verify-address", h.verifyAddress],
            ["--require-old-port-closed", yesNo(h.requireOldPortClosed)],
        );
    }
    pairs.push(["--host-label", h.name], ["--report-failure", yesNo(o.reportFailure)]);
    if (action !== "revert" && o.change !== undefined) pairs.push(["--change", o.change]);
    return pairs.filter(([flag, v]) => SCRIPT_DEFAULTS[flag] !== String(v)).flat();
}

/** The words that run the script with `sh -s` (under `sudo -n` when the host's `sudo` is set). */
function runWords(action: ScriptAction, h: ResolvedHost, o: RunOptions): (string | number)[] {
    return [...(h.sudo ? ["sudo", "-n"] : []), "sh", "-s", "--", action, ...scriptOptions(action, h, o)];
}

/**
 * The command line of one run: the script read by `sh -s` from the
 * session's stdin, or from the copy at `scriptFile` (the reconcile; the
 * login's shell opens it, so sudo needs no access to the login's home).
 * Every value is a quoted argument: nothing is spliced into script text
 * and nothing depends on the SSH server accepting environment variables.
 */
export function hostCommand(action: ScriptAction, h: ResolvedHost, o: RunOptions): string {
    const words = runWords(action, h, o);
    const run = o.scriptFile === undefined ? shellWords(words) : `${shellWords(words)} < "$f"`;
    // With a failure budget, a host whose script could not even report (sudo
    // refused, the shell died) still ends its output with a result line.
    const soft = o.reportFailure && action === "apply";
    const line = soft ? `${run} || printf ${shellQuote(failedLine(action, h))} "$?"` : run;
    if (o.scriptFile === undefined) {
        // The digest only marks the script version in Pulumi's diffs.
        return o.digest === false ? line : `${line} # smtp-port.sh ${hostScript().digest}`;
    }
    // A copy someone removed (or that could not be made): say so, and how
    // to copy it again, rather than the shell's "cannot open". The path is
    // named once ($f): the line is kept in the state four times per host.
    const missing = missingScriptMessage(h, PATH_HERE);
    const otherwise = soft
        ? `printf ${shellQuote(`${withPath(missing)}\\n`)} "$f" >&2; printf ${shellQuote(withPath(failedFormat(action, h, missing), false))} "$f"`
        : `printf ${shellQuote(`${withPath(missing)}\\n`)} "$f" >&2; exit 3`;
    return `f=${shellQuote(o.scriptFile)}; if [ -f "$f" ]; then ${line}; else ${otherwise}; fi`;
}

/** Shell words giving the short digest (as `hostScript().digest`) of `file` (a shell word itself), or nothing without sha256sum. */
function digestOf(file: string): string {
    return `"$(sha256sum < "${file}" 2>/dev/null | cut -c1-12)"`;
}

/** What the look's first stdout line is when the host has no good copy of the script and waits for it on stdin. */
export const SEND_SCRIPT = "#smtp-port: send the script";

/**
 * The look's command line: the `preview` of the host's copy of this script
 * (`scriptFile`) when it is there with this digest; else it prints
 * `SEND_SCRIPT` and reads the script from the session's stdin (the first
 * look at a host, or a copy that was removed or is not this version).
 * Writes nothing on the host. A host without `sha256sum` is always sent
 * the script.
 */
export function lookCommand(h: ResolvedHost, scriptFile: string): string {
    const run = shellWords(runWords("preview", h, { reportFailure: true }));
    return `f=${shellQuote(scriptFile)}; if [ -f "$f" ] && [ ${digestOf("$f")} = ${shellQuote(hostScript().digest)} ]; ` +
        `then ${run} < "$f"; else echo ${shellQuote(SEND_SCRIPT)}; ${run}; fi`;
}

/**
 * The copy's command line: nothing when the host has this version's copy
 * (`scriptFile`, checked by digest); else it prints `SEND_SCRIPT`, reads
 * the script from the session's stdin into a temporary file beside the
 * copy, and renames it over the copy only once it is whole (its size, and
 * its digest where `sha256sum` exists): a cut connection never leaves a
 * truncated script for the reconcile to run. Writes nothing else.
 */
export function copyCommand(scriptFile: string): string {
    const { text, digest } = hostScript();
    const whole = `[ "$(wc -c < "$t" | tr -d ' ')" = ${Buffer.byteLength(text)} ] && { ! command -v sha256sum >/dev/null || [ ${digestOf("$t")} = "$d" ]; }`;
    return `f=${shellQuote(scriptFile)}; d=${shellQuote(digest)}; if [ -f "$f" ] && [ ${digestOf("$f")} = "$d" ]; then :; ` +
        `else echo ${shellQuote(SEND_SCRIPT)}; umask 077; mkdir -p "\${f%/*}"; t="$f.$$"; ` +
        `if cat > "$t" && ${whole}; then mv -f "$t" "$f"; else rm -f "$t"; echo "the copy of the host script to ~/$f did not arrive whole" >&2; exit 1; fi; fi`;
}

/** What a run says when the copy of the script is not on the host (short: the command is kept in the state, twice). */
export function missingScriptMessage(h: ResolvedHost, scriptFile: string): string {
    return `smtp-port: ${h.name}: ~/${scriptFile} is not on the host; pulumi up copies it again`;
}

/**
 * A `printf` format printing the schema-1 FailedResult of a run that ended
 * before the script reported (`%s`: its exit status).
 */
export function failedLine(action: ScriptAction, h: ResolvedHost): string {
    return `${resultHead(action, h)},"reason":"the host script exited with %s before reporting","rolled_back":false}\\n`;
}

/** A `printf` format (no conversions) printing a schema-1 FailedResult with `reason`. */
function failedFormat(action: ScriptAction, h: ResolvedHost, reason: string): string {
    return `${resultHead(action, h)},"reason":${printfLiteral(JSON.stringify(reason))},"rolled_back":false}\\n`;
}

/** The start of a FailedResult line as a printf format: every field but the reason. */
function resultHead(action: ScriptAction, h: ResolvedHost): string {
    return printfLiteral(JSON.stringify({ schema: HOST_RESULT_SCHEMA, action, status: "failed", host: h.name, file: h.servicesFile }).slice(0, -1));
}

/** Where the copy's path goes in a message made into a printf format by `withPath` (JSON leaves it as it is). */
const PATH_HERE = "\uE000";

/** A printf format of `text` with `%s` (the path, `"$f"`) where `PATH_HERE` is; `literal`: make the rest of the text a format first. */
function withPath(text: string, literal = true): string {
    return text.split(PATH_HERE).map(t => (literal ? printfLiteral(t) : t)).join("%s");
}

/** Text as a printf format that prints it as it is (printf reads `\\` and `%` in its format). */
function printfLiteral(s: string): string {
    return s.replace(/[\\%]/g, c => c + c);
}
