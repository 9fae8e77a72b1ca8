import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { shellWords } from "./shell";

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

/** Parameters of one host script run. */
export interface HostScriptCall {
    action: "apply" | "revert" | "status" | "preview";
    port?: number;
    file: string;
    service?: string;
    protocol?: string;
    aliases?: string[];
    conflicts?: string;
    restart?: string;
    stateDir: string;
    sudo: boolean;
    mta?: string;
    verify?: boolean;
    verifyTimeout?: number;
    oldPort?: "closed" | "any";
    /** Host name for the script's messages. */
    label?: string;
    /** The change number this apply makes (see the host script's --change). */
    change?: number | string;
}

/**
 * The command line that runs the script read from stdin (`sh -s`). Every
 * value is a quoted argument: nothing is spliced into script text and
 * nothing depends on the SSH server accepting environment variables.
 */
export function hostCommand(call: HostScriptCall, opts: { digest?: boolean; reportFailure?: boolean } = {}): string {
    const words: (string | number)[] = call.sudo ? ["sudo", "-n", "sh", "-s", "--"] : ["sh", "-s", "--"];
    words.push(call.action);
    if (call.port !== undefined) words.push("--port", call.port);
    words.push("--file", call.file);
    if (call.service !== undefined) words.push("--service", call.service);
    if (call.protocol !== undefined) words.push("--protocol", call.protocol);
    if (call.aliases !== undefined) words.push("--aliases", call.aliases.join(" "));
    if (call.conflicts !== undefined) words.push("--conflicts", call.conflicts);
    if (call.restart !== undefined) words.push("--restart", call.restart);
    words.push("--state-dir", call.stateDir);
    if (call.mta !== undefined) words.push("--mta", call.mta);
    if (call.verify !== undefined) words.push("--verify", call.verify ? "yes" : "no");
    if (call.verifyTimeout !== undefined) words.push("--check-timeout", call.verifyTimeout);
    if (call.oldPort !== undefined) words.push("--old-port", call.oldPort);
    if (call.label !== undefined) words.push("--host-label", call.label);
    if (call.change !== undefined) words.push("--change", call.change);
    // With a failure budget a failed host is a result, not a failed step
    // (which would stop Pulumi from starting anything else): its error stays
    // on stderr, and this line ends stdout.
    const line = opts.reportFailure ? `${shellWords(words)} || printf '{"failed":true,"exit":%s}\\n' "$?"` : shellWords(words);
    // The digest only marks the script version in Pulumi's diffs.
    return opts.digest === false ? line : `${line} # smtp-port.sh ${hostScript().digest}`;
}

/** The JSON object on the last line of a command's output (the host script's result, the listener check's); throws when there is none. */
export function lastJsonLine(output: string): any {
    return JSON.parse(output.trim().split("\n").pop() ?? "");
}
