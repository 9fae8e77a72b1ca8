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

/**
 * Problems with a port value, as a message without the field name, or undefined.
 * @param v the value to check: a port is a whole number from 1 to 65535
 */
export function portProblem(v: unknown): string | undefined {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
        return `must be an integer from 1 to 65535, got ${show(v)}`;
    }
    return undefined;
}

/** Folders any local user may write to: a state folder there could be planted by them (the host script refuses it too). */
const WORLD_WRITABLE = ["/tmp", "/var/tmp", "/dev/shm"];

/** An address as the host script's --verify-address and the listener check take it: a host name, IPv4, IPv6 or [IPv6]. */
const ADDRESS = /^(\[[0-9A-Fa-f.:]+\]|[A-Za-z0-9.:_-]+)$/;

function addressProblem(v: unknown, auto: boolean): string | undefined {
    if (typeof v !== "string" || !ADDRESS.test(v)) return `must be ${auto ? "auto, " : ""}a host name or an address (IPv6 may be in brackets), got ${show(v)}`;
    return undefined;
}

function stateDirProblem(v: unknown): string | undefined {
    const p = absPathProblem(v);
    if (p) return p;
    // As the host script judges it: the folder and the parent it is created
    // in must be writable by its owner only. A private folder inside /tmp
    // (mktemp -d) is fine; /tmp itself or a new folder directly in it is not.
    const dir = String(v).replace(/\/+$/, "") || "/";
    const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
    const open = WORLD_WRITABLE.find(w => dir === w || parent === w);
    if (open) return `must not be ${dir === open ? "" : "directly in "}${open}, which every local user may write to (they could plant the state that root restores from), got ${show(v)}`;
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

/**
 * One problem with the arguments: the field, as a path into `SmtpPortArgs`
 * (`["hosts", 1, "connection", "hostKey"]`; `[]` for the arguments as a
 * whole), and what is wrong with it, without the field's name. Callers that
 * know the field by another name (the stack program names config keys) map
 * the path; `validateSmtpPortArgs` names the argument.
 */
export interface ArgProblem {
    /** The field: `["hosts", 1, "connection", "hostKey"]`; `[]` for the arguments as a whole. */
    path: (string | number)[];
    /** What is wrong, without the field's name: `must be an integer from 1 to 65535, got 70000`. */
    message: string;
}

function booleanProblem(v: unknown): string | undefined {
    return typeof v === "boolean" ? undefined : `must be true or false, got ${show(v)}`;
}

function mtaProblem(v: unknown): string | undefined {
    return typeof v === "string" && MTAS.includes(v) ? undefined : `must be one of ${MTAS.join(", ")}, got ${show(v)}`;
}

function commandProblem(v: unknown): string | undefined {
    return typeof v === "string" && v.trim() !== "" ? undefined : "must be a non-empty command";
}

/** Records a problem at a field of the host being checked (`connection.port`). */
type AddProblem = (field: string, message: string) => void;

/**
 * Records `check`'s problem with a setting that was given. A setting left
 * out (undefined) takes its default, which needs no check; the fleet-wide
 * arguments and each host's overrides share this, so both word a problem
 * alike.
 */
function checkIfSet(add: AddProblem, field: string, value: unknown, check: (v: unknown) => string | undefined): void {
    if (value === undefined) return;
    const p = check(value);
    if (p) add(field, p);
}

function hostProblems(h: SmtpHostArgs, i: number, seen: Map<string, number>): ArgProblem[] {
    const out: ArgProblem[] = [];
    if (h === null || typeof h !== "object" || Array.isArray(h)) {
        out.push({ path: ["hosts", i], message: "must be an object with name and connection" });
        return out;
    }
    const add: AddProblem = (field, message) => out.push({ path: ["hosts", i, ...field.split(".")], message });
    hostNameProblems(h, i, seen, add);
    hostSettingProblems(h, add);
    hostAddressProblems(h, add);
    connectionProblems(h, add);
    return out;
}

/** The name: set, a plain name, and not another host's (`seen` remembers each name's index). */
function hostNameProblems(h: SmtpHostArgs, i: number, seen: Map<string, number>, add: AddProblem): void {
    if (typeof h.name !== "string" || h.name === "") add("name", "is required");
    else if (!HOST_NAME.test(h.name)) add("name", `must be letters, digits, . _ -, got ${show(h.name)}`);
    else if (seen.has(h.name)) add("name", `is used twice (hosts[${seen.get(h.name)}] and hosts[${i}])`);
    else seen.set(h.name, i);
}

/** The per-host overrides of fleet settings: port, paths, mail server, restart command, booleans. */
function hostSettingProblems(h: SmtpHostArgs, add: AddProblem): void {
    checkIfSet(add, "port", h.port, portProblem);
    checkIfSet(add, "servicesFile", h.servicesFile, absPathProblem);
    checkIfSet(add, "stateDir", h.stateDir, stateDirProblem);
    checkIfSet(add, "mta", h.mta, mtaProblem);
    checkIfSet(add, "restartCommand", h.restartCommand, commandProblem);
    for (const field of ["sudo", "requireOldPortClosed", "insecureIgnoreHostKey"] as const) checkIfSet(add, field, h[field], booleanProblem);
}

/** The addresses the listener check and the on-host check probe. */
function hostAddressProblems(h: SmtpHostArgs, add: AddProblem): void {
    if (h.checkAddress !== undefined && plain(h.checkAddress)) {
        const a = addressProblem(h.checkAddress, false);
        if (a) add("checkAddress", a);
    }
    if (h.verifyAddress !== undefined && h.verifyAddress !== "auto") {
        const a = addressProblem(h.verifyAddress, true);
        if (a) add("verifyAddress", a);
    }
}

/** The SSH connection: values known at program time only (an Output is checked by the provider). */
function connectionProblems(h: SmtpHostArgs, add: AddProblem): void {
    const c = h.connection as any;
    if (c === undefined || c === null) {
        add("connection", "is required");
        return;
    }
    if (!plain(c)) return;
    if (c.host === undefined || c.host === "") add("connection.host", "is required");
    else if (plain(c.host) && (typeof c.host !== "string" || c.host.trim() === "")) {
        add("connection.host", `must be a host name or address, got ${show(c.host)}`);
    }
    if (c.port !== undefined && plain(c.port) && portProblem(c.port)) add("connection.port", portProblem(c.port)!);
    if (c.user !== undefined && plain(c.user) && (typeof c.user !== "string" || c.user.trim() === "")) {
        add("connection.user", `must be a user name, got ${show(c.user)}`);
    }
    for (const f of ["dialErrorLimit", "perDialTimeout"]) {
        if (c[f] !== undefined && plain(c[f]) && !positiveInt(c[f])) add(`connection.${f}`, `must be a positive integer, got ${show(c[f])}`);
    }
    // A wrongly typed insecureIgnoreHostKey is named above; asking for a
    // host key as well would send the user the wrong way.
    const optedOut = h.insecureIgnoreHostKey === true || (h.insecureIgnoreHostKey !== undefined && typeof h.insecureIgnoreHostKey !== "boolean");
    if (c.hostKey === undefined || c.hostKey === "") {
        if (!optedOut) {
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

/** `[rollout.canary] must ...` (rollout.ts speaks strings) as a problem with a path. */
function fromFieldText(text: string): ArgProblem {
    const m = /^\[([^\]]+)\] (.*)$/s.exec(text);
    return m ? { path: m[1].split("."), message: m[2] } : { path: [], message: text };
}

/**
 * Every problem with the arguments, each with the path of its field.
 * Pure: no resources, no I/O. An empty list means valid.
 */
export function smtpPortArgsProblems(args: SmtpPortArgs): ArgProblem[] {
    if (args === null || typeof args !== "object") return [{ path: [], message: "arguments are required" }];
    const out: ArgProblem[] = [];
    const add = (field: string, message: string) => out.push({ path: field.split("."), message });
    const p = portProblem(args.port);
    if (p) add("port", p);
    checkIfSet(add, "service", args.service, nameProblem);
    if (args.protocol !== undefined && args.protocol !== "tcp" && args.protocol !== "udp") {
        add("protocol", `must be "tcp" or "udp", got ${show(args.protocol)}`);
    }
    if (args.aliases !== undefined) {
        if (!Array.isArray(args.aliases)) add("aliases", `must be a list of names, got ${show(args.aliases)}`);
        else args.aliases.forEach((a, i) => {
            const n = nameProblem(a);
            if (n) out.push({ path: ["aliases", i], message: n });
        });
    }
    if (args.conflicts !== undefined && args.conflicts !== "comment" && args.conflicts !== "fail") {
        add("conflicts", `must be "comment" or "fail", got ${show(args.conflicts)}`);
    }
    checkIfSet(add, "servicesFile", args.servicesFile, absPathProblem);
    checkIfSet(add, "stateDir", args.stateDir, stateDirProblem);
    checkIfSet(add, "restartCommand", args.restartCommand, commandProblem);
    checkIfSet(add, "mta", args.mta, mtaProblem);
    for (const field of ["sudo", "verifyOnHost", "requireOldPortClosed", "previewHosts", "failOnDrift"] as const) checkIfSet(add, field, args[field], booleanProblem);
    // The host script takes at most nine digits of seconds.
    if (args.verifyTimeout !== undefined && (!positiveInt(args.verifyTimeout) || args.verifyTimeout > 999_999_999)) {
        add("verifyTimeout", `must be a whole number of seconds from 1 to 999999999, got ${show(args.verifyTimeout)}`);
    }
    const lc = args.listenerCheck;
    if (lc !== undefined) {
        for (const f of ["timeoutMs", "attempts", "delayMs"] as const) {
            if (lc[f] !== undefined && !positiveInt(lc[f])) add(`listenerCheck.${f}`, `must be a positive integer, got ${show(lc[f])}`);
        }
    }
    if (!Array.isArray(args.hosts) || args.hosts.length === 0) {
        add("hosts", "must list at least one host");
    } else {
        const seen = new Map<string, number>();
        args.hosts.forEach((h, i) => out.push(...hostProblems(h, i, seen)));
        out.push(...rolloutProblems(args.rollout, args.hosts.map(h => h?.name), args.previewHosts !== false).map(fromFieldText));
    }
    return out;
}

/**
 * A problem as the component's argument names it: `[port] ...`,
 * `[aliases][1] ...`, `host "mx1": [connection.hostKey] ...` (`hosts[0]: ...`
 * for a host without a usable name).
 */
export function describeArgProblem(p: ArgProblem, args: SmtpPortArgs): string {
    if (p.path.length === 0) return p.message;
    if (p.path[0] === "hosts" && typeof p.path[1] === "number") {
        const i = p.path[1];
        const name = (args?.hosts?.[i] as SmtpHostArgs | undefined)?.name;
        const label = typeof name === "string" && name !== "" ? `host "${name}"` : `hosts[${i}]`;
        const rest = p.path.slice(2);
        return rest.length === 0 ? `${label}: ${p.message}` : `${label}: [${rest.join(".")}] ${p.message}`;
    }
    return `${closeNames(p.path)} ${p.message}`;
}

/** `["aliases", 1]` -> `[aliases][1]`; `["listenerCheck", "timeoutMs"]` -> `[listenerCheck.timeoutMs]`. */
function closeNames(path: (string | number)[]): string {
    const names: string[] = [];
    const indexes: string[] = [];
    for (const s of path) {
        if (typeof s === "number") indexes.push(`[${s}]`);
        else names.push(s);
    }
    return `[${names.join(".")}]${indexes.join("")}`;
}

/**
 * Every problem with the arguments, each naming the host and the field.
 * Pure: no resources, no I/O. An empty list means valid.
 * @param args the component's arguments as a program would pass them
 */
export function validateSmtpPortArgs(args: SmtpPortArgs): string[] {
    return smtpPortArgsProblems(args).map(p => describeArgProblem(p, args));
}

/**
 * Error thrown for invalid arguments: one message with every problem. A
 * `pulumi.RunError`, so that Pulumi prints the message alone: no stack
 * trace, which would only point into this file.
 */
export class SmtpPortArgsError extends pulumi.RunError {
    /**
     * @param component the component's name
     * @param problems every problem, as `validateSmtpPortArgs` words them
     * @param details the same problems with their fields as paths, for callers that name fields otherwise (stack config keys). Default: none
     */
    constructor(readonly component: string, readonly problems: string[], readonly details: ArgProblem[] = []) {
        super(`smtp-port "${component}": invalid arguments:\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "SmtpPortArgsError";
    }
}

/**
 * Throws SmtpPortArgsError listing every problem, or returns.
 * @param component the component's name, for the error
 * @param args the component's arguments as a program would pass them
 */
export function assertValidSmtpPortArgs(component: string, args: SmtpPortArgs): void {
    const details = smtpPortArgsProblems(args);
    if (details.length > 0) throw new SmtpPortArgsError(component, details.map(p => describeArgProblem(p, args)), details);
}
