import * as pulumi from "@pulumi/pulumi";
import { SmtpPortArgs, SmtpHostArgs } from "./args";
import { rolloutProblems } from "./rollout";

/** Names that go into a services file and resource names: no whitespace, `#` or shell metacharacters. */
const NAME = /^[A-Za-z0-9._+-]+$/;
const MTAS = ["postfix", "exim", "sendmail", "auto", "none"];
const HOST_NAME = /^[A-Za-z0-9._-]+$/;
/** Host keys as OpenSSH prints them: type and base64 blob. */
const HOST_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( .*)?$/;

function show(v: unknown): string {
    return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** Problems with a port value, as a message without the field name, or undefined. */
export function portProblem(v: unknown): string | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
        return `must be an integer from 1 to 65535, got ${show(v)}`;
    }
    return undefined;
}

function absPathProblem(v: unknown): string | undefined {
    if (typeof v !== "string" || !v.startsWith("/")) return `must be an absolute path, got ${show(v)}`;
    if (/[\0\n\r]/.test(v)) return "must not contain NUL or line breaks";
    return undefined;
}

function nameProblem(v: unknown): string | undefined {
    if (typeof v !== "string" || !NAME.test(v)) {
        return `must be a plain name (letters, digits, . _ + -; no whitespace, # or shell characters), got ${show(v)}`;
    }
    return undefined;
}

function positiveInt(v: unknown): boolean {
    return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** True when a value is known at program time (not an Output or a Promise). */
function plain(v: unknown): boolean {
    return !pulumi.Output.isInstance(v) && !(v instanceof Promise);
}

function hostProblems(h: SmtpHostArgs, i: number, seen: Map<string, number>): string[] {
    const out: string[] = [];
    const label = typeof h?.name === "string" && h.name !== "" ? `host "${h.name}"` : `hosts[${i}]`;
    const add = (field: string, msg: string) => out.push(`${label}: [${field}] ${msg}`);
    if (h === null || typeof h !== "object") {
        out.push(`hosts[${i}]: must be an object with name and connection`);
        return out;
    }
    if (typeof h.name !== "string" || h.name === "") add("name", "is required");
    else if (!HOST_NAME.test(h.name)) add("name", `must be letters, digits, . _ -, got ${show(h.name)}`);
    else if (seen.has(h.name)) add("name", `is used twice (hosts[${seen.get(h.name)}] and hosts[${i}])`);
    else seen.set(h.name, i);

    if (h.port !== undefined) {
        const p = portProblem(h.port);
        if (p) add("port", p);
    }
    if (h.servicesFile !== undefined) {
        const p = absPathProblem(h.servicesFile);
        if (p) add("servicesFile", p);
    }
    if (h.stateDir !== undefined) {
        const p = absPathProblem(h.stateDir);
        if (p) add("stateDir", p);
    }
    if (h.mta !== undefined && !MTAS.includes(h.mta)) add("mta", `must be one of ${MTAS.join(", ")}, got ${show(h.mta)}`);
    if (h.restartCommand !== undefined && (typeof h.restartCommand !== "string" || h.restartCommand.trim() === "")) {
        add("restartCommand", "must be a non-empty command");
    }
    const c = h.connection as any;
    if (c === undefined || c === null) {
        add("connection", "is required");
    } else if (plain(c)) {
        if (c.host === undefined || (plain(c.host) && (typeof c.host !== "string" || c.host.trim() === ""))) {
            add("connection.host", "is required");
        }
        if (c.port !== undefined && plain(c.port) && portProblem(c.port)) add("connection.port", portProblem(c.port)!);
        if (c.hostKey === undefined || c.hostKey === "") {
            if (h.insecureIgnoreHostKey !== true) {
                add("connection.hostKey", "is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key");
            }
        } else if (plain(c.hostKey) && (typeof c.hostKey !== "string" || !HOST_KEY.test(c.hostKey.trim()))) {
            add("connection.hostKey", `must be an OpenSSH public key like "ssh-ed25519 AAAA...", got ${show(c.hostKey)}`);
        }
        for (const secret of ["privateKey", "password", "privateKeyPassword"]) {
            if (typeof c[secret] === "string" && c[secret] !== "") {
                add(`connection.${secret}`, "must be a Pulumi secret (pulumi.secret(...) or `pulumi config set --secret`), not a plain string");
            }
        }
    }
    return out;
}

/**
 * Every problem with the arguments, each naming the host and the field.
 * Pure: no resources, no I/O. An empty list means valid.
 */
export function validateSmtpPortArgs(args: SmtpPortArgs): string[] {
    const out: string[] = [];
    if (args === null || typeof args !== "object") return ["arguments are required"];
    const p = portProblem(args.port);
    if (p) out.push(`[port] ${p}`);
    if (args.service !== undefined) {
        const n = nameProblem(args.service);
        if (n) out.push(`[service] ${n}`);
    }
    if (args.protocol !== undefined && args.protocol !== "tcp" && args.protocol !== "udp") {
        out.push(`[protocol] must be "tcp" or "udp", got ${show(args.protocol)}`);
    }
    if (args.aliases !== undefined) {
        if (!Array.isArray(args.aliases)) out.push(`[aliases] must be a list of names, got ${show(args.aliases)}`);
        else args.aliases.forEach((a, i) => {
            const n = nameProblem(a);
            if (n) out.push(`[aliases][${i}] ${n}`);
        });
    }
    if (args.conflicts !== undefined && args.conflicts !== "comment" && args.conflicts !== "fail") {
        out.push(`[conflicts] must be "comment" or "fail", got ${show(args.conflicts)}`);
    }
    for (const field of ["servicesFile", "stateDir"] as const) {
        if (args[field] !== undefined) {
            const a = absPathProblem(args[field]);
            if (a) out.push(`[${field}] ${a}`);
        }
    }
    if (args.restartCommand !== undefined && (typeof args.restartCommand !== "string" || args.restartCommand.trim() === "")) {
        out.push("[restartCommand] must be a non-empty command");
    }
    if (args.mta !== undefined && !MTAS.includes(args.mta)) out.push(`[mta] must be one of ${MTAS.join(", ")}, got ${show(args.mta)}`);
    if (args.verifyTimeout !== undefined && !positiveInt(args.verifyTimeout)) out.push(`[verifyTimeout] must be a positive integer, got ${show(args.verifyTimeout)}`);
    const lc = args.listenerCheck;
    if (lc !== undefined) {
        for (const f of ["timeoutMs", "attempts", "delayMs"] as const) {
            if (lc[f] !== undefined && !positiveInt(lc[f])) out.push(`[listenerCheck.${f}] must be a positive integer, got ${show(lc[f])}`);
        }
    }
    if (!Array.isArray(args.hosts) || args.hosts.length === 0) {
        out.push("[hosts] must list at least one host");
    } else {
        const seen = new Map<string, number>();
        args.hosts.forEach((h, i) => out.push(...hostProblems(h, i, seen)));
        out.push(...rolloutProblems(args.rollout, args.hosts.map(h => h?.name), args.previewHosts !== false));
    }
    return out;
}

/** Error thrown for invalid arguments: one message with every problem. */
export class SmtpPortArgsError extends Error {
    constructor(readonly component: string, readonly problems: string[]) {
        super(`smtp-port "${component}": invalid arguments:\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "SmtpPortArgsError";
    }
}

/** Throws SmtpPortArgsError listing every problem, or returns. */
export function assertValidSmtpPortArgs(component: string, args: SmtpPortArgs): void {
    const problems = validateSmtpPortArgs(args);
    if (problems.length > 0) throw new SmtpPortArgsError(component, problems);
}
