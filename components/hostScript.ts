// The host script (components/host/smtp-port.sh) as the component runs it:
// its text, where it is copied to on each host, and the command line of each
// run. What the script prints back is decoded in components/hostResult.ts.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { ResolvedHost } from "./args";
import { HOST_RESULT_SCHEMA } from "./hostResult";
import { shellQuote, shellWords } from "./shell";

/** The host script: copied to every host (`remoteScriptPath`), and sent on stdin by a look. */
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
 * home, where both SFTP (the copy) and the command start, so it works for
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
    /** With `scriptFile`: how to copy it again, for the error a missing copy gives (e.g. `pulumi up --replace '<urn>'`). */
    recopy?: string;
}

/** The script's options for one run on one host: every setting, so the script's defaults never decide anything. */
export function scriptOptions(action: ScriptAction, h: ResolvedHost, o: RunOptions): (string | number)[] {
    const last = ["--host-label", h.name, "--report-failure", o.reportFailure ? "yes" : "no"];
    const where = ["--restart", h.restartCommand ?? "", "--state-dir", h.stateDir, "--mta", h.mta];
    if (action === "revert") return ["--file", h.servicesFile, ...where, ...last];
    return [
        "--port", h.port, "--file", h.servicesFile,
        "--service", h.service, "--protocol", h.protocol, "--aliases", h.aliases.join(" "), "--conflicts", h.conflicts,
        ...where,
        "--verify", h.verifyOnHost ? "yes" : "no", "--verify-timeout", h.verifyTimeout, "--verify-address", h.verifyAddress,
        "--require-old-port-closed", h.requireOldPortClosed ? "yes" : "no",
        ...last,
        ...(o.change === undefined ? [] : ["--change", o.change]),
    ];
}

/**
 * The command line of one run: the script read by `sh -s` from the
 * session's stdin (a look), or from the copy at `scriptFile` (the
 * reconcile; the login's shell opens it, so sudo needs no access to the
 * login's home). Every value is a quoted argument: nothing is spliced into
 * script text and nothing depends on the SSH server accepting environment
 * variables.
 */
export function hostCommand(action: ScriptAction, h: ResolvedHost, o: RunOptions): string {
    const words = [...(h.sudo ? ["sudo", "-n"] : []), "sh", "-s", "--", action, ...scriptOptions(action, h, o)];
    const run = o.scriptFile === undefined ? shellWords(words) : `${shellWords(words)} < ${shellQuote(o.scriptFile)}`;
    // With a failure budget, a host whose script could not even report (sudo
    // refused, the shell died) still ends its output with a result line.
    const soft = o.reportFailure && action === "apply";
    const line = soft ? `${run} || printf ${shellQuote(failedLine(action, h))} "$?"` : run;
    if (o.scriptFile === undefined) {
        // The digest only marks the script version in Pulumi's diffs.
        return o.digest === false ? line : `${line} # smtp-port.sh ${hostScript().digest}`;
    }
    // A copy someone removed: say so, and how to copy it again, rather
    // than the shell's "cannot open".
    const missing = missingScriptMessage(h, o.scriptFile, o.recopy);
    const otherwise = soft
        ? `printf '%s\\n' ${shellQuote(missing)} >&2; printf ${shellQuote(failedFormat(action, h, missing))}`
        : `printf '%s\\n' ${shellQuote(missing)} >&2; exit 3`;
    return `if [ -f ${shellQuote(o.scriptFile)} ]; then ${line}; else ${otherwise}; fi`;
}

/** What a run says when the copy of the script is not on the host (short: the command is kept in the state, twice). */
export function missingScriptMessage(h: ResolvedHost, scriptFile: string, recopy?: string): string {
    return `smtp-port: ${h.name}: ~/${scriptFile} is missing on the host (removed after smtp-port copied it); ` +
        `copy it again with: ${recopy ?? "pulumi up --replace <URN of the host's -script step>"}`;
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

/** Text as a printf format that prints it as it is (printf reads `\\` and `%` in its format). */
function printfLiteral(s: string): string {
    return s.replace(/[\\%]/g, c => c + c);
}
