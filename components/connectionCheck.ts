// Pinning and secret checks on connections as they resolve. validate.ts
// checks what is known when the program starts; a connection (or its host
// key, or its bastion `proxy`) given as an Output is only known later, and
// without this it would reach the provider unchecked: an unpinned key is
// accepted silently there. Every host waits for this check before it is
// looked at or changed.
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ResolvedHost } from "./args";
import { validateSmtpPortArgs } from "./validate";

/** A connection with every Input resolved. */
export type ResolvedConnection = pulumi.Unwrap<command.types.input.remote.ConnectionArgs>;

const CREDENTIALS = ["privateKey", "password", "privateKeyPassword"] as const;

/** Stands in for a credential that reached the program as a secret (validate.ts refuses only plain strings). */
const SECRET = Object.freeze({ secret: true });

/**
 * Every problem with one host's resolved connection, named as validate.ts
 * names them (`host "mx1": [connection.hostKey] ...`), the bastion's as
 * `[connection.proxy.hostKey]`. `secret` says, per credential path
 * (`privateKey`, `proxy.password`), whether it was a Pulumi secret.
 */
export function connectionProblems(name: string, conn: ResolvedConnection, insecureIgnoreHostKey: boolean, secret: Record<string, boolean>): string[] {
    const check = (c: Record<string, unknown>, prefix: string) => {
        const masked = { ...c };
        for (const f of CREDENTIALS) if (secret[prefix + f] && typeof c[f] === "string") masked[f] = SECRET;
        const problems = validateSmtpPortArgs({ port: 1, hosts: [{ name, connection: masked as any, insecureIgnoreHostKey }] });
        return prefix === "" ? problems : problems.map(p => p.replace("[connection.", `[connection.${prefix}`));
    };
    const out = check(conn as Record<string, unknown>, "");
    if (conn.proxy !== undefined && conn.proxy !== null) out.push(...check(conn.proxy as Record<string, unknown>, "proxy."));
    return out;
}

/** Is it known only later (an Output or a Promise)? */
function later(v: unknown): boolean {
    return pulumi.Output.isInstance(v) || v instanceof Promise;
}

/**
 * Whether each credential of a connection reaches the program as a secret,
 * by path. The first Output (or Promise) on the way down decides for
 * everything inside it: that is as fine as secrecy can be told.
 */
export async function credentialSecrecy(connection: pulumi.Input<command.types.input.remote.ConnectionArgs>): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    const walk = async (v: unknown, prefix: string, fields: string[]): Promise<void> => {
        if (later(v)) {
            const s = await pulumi.isSecret(pulumi.output(v));
            for (const f of fields) out[prefix + f] = s;
        } else if (v !== null && typeof v === "object") {
            for (const f of fields) {
                const [head, ...rest] = f.split(".");
                const inner = (v as Record<string, unknown>)[head];
                if (rest.length > 0) await walk(inner, `${prefix}${head}.`, [rest.join(".")]);
                else out[prefix + f] = later(inner) ? await pulumi.isSecret(pulumi.output(inner)) : false;
            }
        }
    };
    await walk(connection, "", [...CREDENTIALS, ...CREDENTIALS.map(f => `proxy.${f}`)]);
    return out;
}

/**
 * Every host's connection, resolved and checked. The Output fails with one
 * ResourceError on `component` listing every problem of every host, so no
 * host is looked at or changed when one connection is wrong.
 */
export function checkedConnections(component: pulumi.Resource, name: string, hosts: ResolvedHost[]): pulumi.Output<ResolvedConnection[]> {
    const each = hosts.map(h => pulumi.all([pulumi.output(h.connection), credentialSecrecy(h.connection)]));
    return pulumi.all(each).apply(all => {
        const problems = all.flatMap(([conn, secret], i) => connectionProblems(hosts[i].name, conn, hosts[i].insecureIgnoreHostKey, secret));
        if (problems.length > 0) {
            throw new pulumi.ResourceError(`smtp-port "${name}": invalid connections (checked once they resolved):\n${problems.map(p => `  - ${p}`).join("\n")}`, component, true);
        }
        return all.map(([conn]) => conn);
    });
}
