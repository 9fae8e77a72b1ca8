// One form for every config problem (`key (host): message`), and an error
// Pulumi prints as that list rather than as a stack trace.
import * as pulumi from "@pulumi/pulumi";

/** One problem with the stack config, naming the key as the user writes it. */
export interface ConfigProblem {
    /** `smtp-port:port`, `smtp-port:hosts[1].hostKey`. */
    key: string;
    /** The host's name, for a problem inside a `smtp-port:hosts` entry that has one. */
    host?: string;
    /**
     * For a problem inside a file the key names (`smtp-port:inventory`,
     * `smtp-port:knownHosts`): the file as shown, and the line where known,
     * `ansible/hosts.ini:12`. Default: none (a problem with the value itself).
     */
    where?: string;
    /** What is wrong, without the key: `must be an integer from 1 to 65535, got 70000`. */
    message: string;
}

/** `smtp-port:hosts[1].hostKey (mx2) is required: ...`; `smtp-port:inventory: hosts.ini:12: host "mx4": ...` */
export function describeConfigProblem(p: ConfigProblem): string {
    return `${p.key}${p.host ? ` (${p.host})` : ""}${p.where ? `: ${p.where}:` : ""} ${p.message}`;
}

/**
 * The error the stack program stops with when its config is wrong: one line
 * per problem. A `pulumi.RunError`, which Pulumi prints as the message alone:
 * the user gets the list, not a stack trace through the program's loader.
 */
export class StackConfigError extends pulumi.RunError {
    /**
     * @param problems every problem, each naming its key
     * @param stack the stack's name, for the message. Default: none
     */
    constructor(readonly problems: ConfigProblem[], stack?: string) {
        const n = problems.length;
        super([
            `smtp-port: the stack config${stack ? ` of stack "${stack}"` : ""} has ${n} problem${n === 1 ? "" : "s"}; no host was contacted or changed:`,
            ...problems.map(p => `  ${describeConfigProblem(p)}`),
        ].join("\n"));
        this.name = "StackConfigError";
    }
}
