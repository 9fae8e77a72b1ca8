// One command over SSH for a look, inside the program's own process (the
// ssh2 library), instead of one OpenSSH client process per host.
//
// Why in-process: a look is on the critical path of every preview, and a
// `pulumi up` previews first. Spawning `ssh` from the program costs a fork
// of a ~250 MB Node.js process per host, and libuv's spawn blocks the event
// loop until the child has exec'd: at 30 hosts on a 2-core runner that was
// ~0.9 s of blocked program (measured with the V8 profiler), and the looks
// started over a whole second. In-process, 30 sessions took 0.18 s of CPU.
// It is also what the change itself does: pulumi-command's provider speaks
// SSH in-process (Go's x/crypto/ssh) with the same connection settings.
//
// The private key never touches the disk (it did, in a 0600 temp file, for
// OpenSSH), and the host key is compared with the pinned one byte for byte,
// offering only the pinned key's algorithm, as the command provider does.
// Through a bastion (`connection.proxy`) the same holds for each hop.
import type { Client, ClientChannel, ConnectConfig } from "ssh2";

/** One SSH server to log in to: the host, or the bastion in front of it. */
export interface SshEndpoint {
    host: string;
    port: number;
    user: string;
    privateKey?: string;
    privateKeyPassword?: string;
    password?: string;
    /** An SSH agent's socket (`connection.agentSocketPath`, else `SSH_AUTH_SOCK`): its keys are offered, as the command provider offers them. */
    agent?: string;
    /** `ssh-ed25519 AAAA...` (the comment, if any, is ignored). Only this key's algorithm is offered. */
    hostKey?: string;
    /** Accept any host key (explicit opt-out): required when `hostKey` is not set. */
    insecureIgnoreHostKey: boolean;
}

/** Where a look runs its command. */
export interface SshTarget extends SshEndpoint {
    timeoutSeconds: number;
    /**
     * A bastion (`connection.proxy`): the look logs in to it, and reaches the
     * host through it (a direct-tcpip channel, as `ssh -J` does). Its host
     * key is pinned and verified like the host's.
     */
    proxy?: SshEndpoint;
}

/** The key blob of an OpenSSH public key line, or undefined when it is not one. */
export function hostKeyBlob(line: string): Buffer | undefined {
    const [type, b64] = line.trim().split(/\s+/);
    if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
    const blob = Buffer.from(b64, "base64");
    // The blob starts with its own type name (RFC 4253 6.6): a key pasted
    // under the wrong name is refused here rather than never matching.
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n < 0 || blob.length < 4 + n || blob.subarray(4, 4 + n).toString("latin1") !== type) return undefined;
    return blob;
}

// Worded as OpenSSH words them, which is what operators search for.
const SOCKET_ERRORS: Record<string, string> = {
    ECONNREFUSED: "Connection refused",
    ETIMEDOUT: "Connection timed out",
    EHOSTUNREACH: "No route to host",
    ENETUNREACH: "Network is unreachable",
    ENOTFOUND: "Name or service not known",
    EAI_AGAIN: "Temporary failure in name resolution",
};

/** The last lines of stderr, or what the exit says. */
function reason(stderr: string, code: number | null, signal: string | undefined): string {
    const tail = stderr.trim().split("\n").slice(-3).join(" / ");
    if (tail) return tail;
    return signal ? `the command was killed by signal ${signal}` : `the command exited with ${code}`;
}

/**
 * The host-key algorithms that can prove a key of this type: only these are
 * offered, so the server signs with the pinned key and no other. ssh2 offers
 * ed25519 first by default, so a host pinned by its RSA or ECDSA key would
 * present its ed25519 key and fail verification. An RSA key signs with
 * rsa-sha2-* nowadays (as the command provider offers them).
 */
export function hostKeyAlgorithms(keyType: string): string[] {
    return keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [keyType];
}

/** What ssh2 can verify as a host key (it has no security-key or certificate host keys). */
const VERIFIABLE = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "ssh-dss"];

/** `ssh-ed25519 SHA256:...`, as `ssh-keygen -l` shows a key. */
function fingerprint(blob: Buffer): string {
    const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const hash = (require("crypto") as typeof import("crypto")).createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
    return `${type} SHA256:${hash}`;
}

/** A pinned key and its type; no blob: any key (the opt-out). */
interface Pin { blob: Buffer | undefined; type: string }

/** The endpoint's pin, or (a string) why there is none to use: `field` is what to fix (`connection.hostKey`). */
function pinOf(e: SshEndpoint, field: string): Pin | string {
    if (e.insecureIgnoreHostKey && !e.hostKey) return { blob: undefined, type: "" };
    const blob = e.hostKey ? hostKeyBlob(e.hostKey) : undefined;
    if (!blob) {
        return e.hostKey
            ? `${field} of ${e.host} is not an OpenSSH public key like "ssh-ed25519 AAAA..."`
            : `no pinned host key for ${e.host} (${field}), and insecureIgnoreHostKey is not set`;
    }
    const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
    if (!VERIFIABLE.includes(type)) return `${field} of ${e.host} is a ${type} key, which the look's SSH client cannot verify: pin the host's ed25519, ECDSA or RSA key`;
    return { blob, type };
}

/**
 * One SSH login, with the host key checked against the pin. Resolves with
 * the ready client; rejects with a reason naming the host (and the field
 * to fix). `sock`: a channel through a bastion instead of a TCP connection.
 */
function login(e: SshEndpoint, pin: Pin, field: string, timeoutSeconds: number,
    onClient: (c: Client) => void, sock?: NodeJS.ReadableStream & NodeJS.WritableStream): Promise<Client> {
    return new Promise((resolve, reject) => {
        // Loaded here, not at the top: only a preview looks, and the update
        // run of a `pulumi up` takes the preview's looks.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { Client: SshClient } = require("ssh2") as { Client: new () => Client };
        const conn = new SshClient();
        onClient(conn);
        let refused: string | undefined;
        let settled = false;
        const done = (err?: Error) => {
            if (settled) return;
            settled = true;
            if (err) reject(err);
            else resolve(conn);
        };
        conn.on("ready", () => done());
        conn.on("error", (err: Error & { level?: string; code?: string; syscall?: string }) => {
            if (err.syscall === "connect" || err.syscall === "getaddrinfo") done(new Error(`ssh: connect to host ${e.host} port ${e.port}: ${SOCKET_ERRORS[err.code ?? ""] ?? err.message}`));
            else if (refused) done(new Error(refused));
            else if (pin.blob && /no matching host key format/.test(err.message)) {
                done(new Error(`host key verification failed for ${e.host}: it has no ${pin.type} host key, the type ${field} pins (${fingerprint(pin.blob)})`));
            } else if (err.level === "client-authentication") done(new Error(`authentication failed for ${e.user}@${e.host} (all configured methods were refused)`));
            else if (/Timed out while waiting for handshake/.test(err.message)) done(new Error(`no SSH handshake from ${e.host}:${e.port} within ${timeoutSeconds} s`));
            else done(new Error(err.message));
        });
        conn.on("close", () => done(new Error(`the connection to ${e.host}:${e.port} closed before the login finished`)));
        const config: ConnectConfig = {
            host: e.host,
            port: e.port,
            sock: sock as ConnectConfig["sock"],
            username: e.user,
            privateKey: e.privateKey,
            passphrase: e.privateKeyPassword,
            password: e.password,
            agent: e.agent,
            readyTimeout: timeoutSeconds * 1000,
            algorithms: pin.blob ? { serverHostKey: hostKeyAlgorithms(pin.type) as any } : undefined,
            hostVerifier: (key: Buffer) => {
                if (!pin.blob || key.equals(pin.blob)) return true;
                refused = `host key verification failed for ${e.host}: it presented ${fingerprint(key)}, but ${field} pins ${fingerprint(pin.blob)}`;
                return false;
            },
        };
        try {
            conn.connect(config);
        } catch (err) {
            // A key ssh2 cannot parse (or decrypt) throws here.
            done(new Error(`cannot use ${field.replace(/\.hostKey$/, "")}.privateKey: ${(err as Error).message}`));
        }
    });
}

/**
 * Standard input sent only when the command asks for it: when the first
 * line of its stdout is `onRequest` (that line is not part of what the run
 * returns). Until stdout has a first line (or the command ends) the input
 * stays open and empty, so the command must not wait for its input before
 * it prints that line; a command that does not ask gets none.
 */
export interface StdinOnRequest {
    onRequest: string;
    text: string;
    /** Called when the command asked, and so was sent `text`. */
    onSend?: () => void;
}

/**
 * Run `command` on the host (through `proxy`, if set) with `stdin` as its
 * standard input (or sent when it asks: `StdinOnRequest`); resolve with its
 * stdout when it exits 0, reject with a clear reason otherwise. Nothing is
 * sent to a server before its host key matched the pin (or the opt-out was
 * given for it).
 */
export async function runOverSsh(t: SshTarget, stdin: string | StdinOnRequest, command: string): Promise<string> {
    const hops: [SshEndpoint, string][] = t.proxy ? [[t.proxy, "connection.proxy"], [t, "connection"]] : [[t, "connection"]];
    const pins: Pin[] = [];
    for (const [e, field] of hops) {
        if (!e.privateKey && !e.password && !e.agent) throw new Error(`no private key, password or agentSocketPath in ${field}, and no SSH agent (SSH_AUTH_SOCK)`);
        const pin = pinOf(e, `${field}.hostKey`);
        if (typeof pin === "string") throw new Error(pin);
        pins.push(pin);
    }
    const clients: Client[] = [];
    try {
        let sock: (NodeJS.ReadableStream & NodeJS.WritableStream) | undefined;
        if (t.proxy) {
            const bastion = await login(t.proxy, pins[0], "connection.proxy.hostKey", t.timeoutSeconds, c => clients.push(c))
                .catch(e => { throw new Error(`proxy: ${(e as Error).message}`); });
            const via = `proxy ${t.proxy.host}`;
            sock = await new Promise<ClientChannel>((resolve, reject) => {
                // The bastion answers when its own connect ends, which can take minutes.
                const timer = setTimeout(() => reject(new Error(`${via} did not connect to ${t.host} port ${t.port} within ${t.timeoutSeconds} s`)), t.timeoutSeconds * 1000);
                bastion.forwardOut("127.0.0.1", 0, t.host, t.port, (err, channel) => {
                    clearTimeout(timer);
                    if (err) reject(new Error(`${via} could not connect to ${t.host} port ${t.port}: ${err.message}`));
                    else resolve(channel);
                });
            });
        }
        const conn = await login(t, pins[pins.length - 1], "connection.hostKey", t.timeoutSeconds, c => clients.push(c), sock);
        return await exec(conn, t, stdin, command);
    } finally {
        for (const c of clients.reverse()) c.end();
    }
}

/** Run the command on a logged-in client: its stdout, or why it failed. */
function exec(conn: Client, t: SshTarget, stdin: string | StdinOnRequest, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        let settled = false;
        const finish = (err: Error | undefined, out?: string) => {
            if (settled) return;
            settled = true;
            if (err) reject(err);
            else resolve(out ?? "");
        };
        conn.on("error", (e: Error) => finish(new Error(e.message)));
        conn.on("close", () => finish(new Error(`the connection to ${t.host}:${t.port} closed before the command finished`)));
        conn.exec(command, (err: Error | undefined, stream: ClientChannel) => {
            if (err) {
                finish(new Error(`could not start the command: ${err.message}`));
                return;
            }
            // Decoded once at the end: a chunk may end inside a UTF-8 character.
            const out: Buffer[] = [], errOut: Buffer[] = [];
            let code: number | null = null;
            let signal: string | undefined;
            // Stdin on request: undecided until stdout has a whole first line (or the command ends).
            const ask = typeof stdin === "string" ? undefined : Buffer.from(`${stdin.onRequest}\n`);
            let asked = false, decided = ask === undefined;
            stream.on("data", (d: Buffer) => {
                out.push(d);
                if (decided || typeof stdin === "string" || ask === undefined) return;
                const head = Buffer.concat(out);
                if (head.length < ask.length && ask.subarray(0, head.length).equals(head)) return;
                decided = true;
                asked = head.subarray(0, ask.length).equals(ask);
                if (asked) stdin.onSend?.();
                stream.end(asked ? stdin.text : undefined);
            });
            stream.stderr.on("data", (d: Buffer) => { errOut.push(d); });
            stream.on("exit", (c: number | null, s?: string) => { code = c; signal = s; });
            stream.on("close", () => {
                const all = Buffer.concat(out);
                finish(code === 0 ? undefined : new Error(reason(Buffer.concat(errOut).toString("utf8"), code, signal)),
                    (asked && ask ? all.subarray(ask.length) : all).toString("utf8"));
            });
            if (typeof stdin === "string") stream.end(stdin);
        });
    });
}
