// The host script (components/host/smtp-port.sh) as the component runs it:
// its text, shipped on stdin, and the command line of each run. What the
// script prints back is decoded in components/hostResult.ts.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { ResolvedHost } from "./args";
import { HOST_RESULT_SCHEMA } from "./hostResult";
import { shellQuote, shellWords } from "./shell";

/** The host script, shipped to every host on stdin. */
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
    /** Mark the script version in the command (for diffs). Default true. */
    digest?: boolean;
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
 * The command line that runs the script read from stdin (`sh -s`). Every
 * value is a quoted argument: nothing is spliced into script text and
 * nothing depends on the SSH server accepting environment variables.
 */
export function hostCommand(action: ScriptAction, h: ResolvedHost, o: RunOptions): string {
    const words = [...(h.sudo ? ["sudo", "-n"] : []), "sh", "-s", "--", action, ...scriptOptions(action, h, o)];
    // With a failure budget, a host whose script could not even report (sudo
    // refused, the shell died) still ends its output with a result line.
    const line = o.reportFailure && action === "apply"
        ? `${shellWords(words)} || printf ${shellQuote(failedLine(action, h))} "$?"`
        : shellWords(words);
    // The digest only marks the script version in Pulumi's diffs.
    return o.digest === false ? line : `${line} # smtp-port.sh ${hostScript().digest}`;
}

/**
 * A `printf` format printing the schema-1 FailedResult of a run that ended
 * before the script reported (`%s`: its exit status).
 */
export function failedLine(action: ScriptAction, h: ResolvedHost): string {
    const head = JSON.stringify({ schema: HOST_RESULT_SCHEMA, action, status: "failed", host: h.name, file: h.servicesFile }).slice(0, -1);
    // printf reads `\` and `%` in its format: the file name's stay literal.
    return `${head.replace(/[\\%]/g, c => c + c)},"reason":"the host script exited with %s before reporting","rolled_back":false}\\n`;
}
