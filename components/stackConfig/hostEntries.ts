// Per-host entries (`hosts`, `hostSecrets`) are where credentials leak and
// names drift: checked field by field, a plain-text credential removed.
import { FleetHosts } from "./fleetHosts";
import { HOST_FIELDS, HOST_SECRET_FIELDS } from "./hostConfig";
import { NAMESPACE } from "./keys";
import { fieldPath } from "./problemKey";
import { ProblemList } from "./problemList";
import { closest } from "./suggest";

/**
 * Fields of `smtp-port:hosts` entries that are not host fields. A
 * credential among them is removed from the entry: it is in plain text, so
 * it is never used or shown.
 */
export function hostEntryProblems(entries: unknown[], stack: string, problems: ProblemList): void {
    const ns = NAMESPACE;
    entries.forEach((h, i) => {
        if (h === null || typeof h !== "object" || Array.isArray(h)) return; // the component names it
        const entry = h as Record<string, unknown>;
        const host = typeof entry.name === "string" && entry.name !== "" ? entry.name : undefined;
        const at = `${ns}:hosts[${i}]`;
        for (const field of Object.keys(entry)) {
            if ((HOST_FIELDS as string[]).includes(field)) continue;
            if (!["privateKey", "password", "privateKeyPassword"].includes(field)) {
                problems.unknownField(at, field, HOST_FIELDS, "a host", host);
                continue;
            }
            const instead = field === "privateKeyPassword"
                ? "remove it: stack config has no key for a private key's passphrase (use a key without one, or the component's connection.privateKeyPassword)"
                : `remove it, and set it as a secret with pulumi config set --secret --path '${ns}:hostSecrets.${host ?? "NAME"}.${field}'${field === "privateKey" ? " < KEYFILE" : ""}`;
            problems.add(`${at}.${field}`, `must not be in ${ns}:hosts, which is plain text: ${instead} (and replace the credential if Pulumi.${stack}.yaml was shared)`, host);
            delete entry[field];
        }
    });
}

/** `smtp-port:hostSecrets` entries: each names a host of the fleet and holds only string credentials. */
export function hostSecretsProblems(perHost: Record<string, unknown>, fleet: FleetHosts, problems: ProblemList): void {
    const ns = NAMESPACE;
    const hostNames = fleet.hosts.map(h => (h as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === "string");
    const fleetKey = fleet.inventory !== undefined ? `${ns}:inventory` : `${ns}:hosts`;
    for (const [name, entry] of Object.entries(perHost)) {
        const at = `${ns}:hostSecrets${fieldPath([name])}`;
        if (!fleet.hostsUnknown && !hostNames.includes(name)) {
            const near = closest(name, hostNames);
            problems.add(at, near ? `names no host of ${fleetKey}: did you mean ${near}?` : `names no host of ${fleetKey} (the hosts: ${hostNames.join(", ")})`);
        }
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            problems.add(at, "must be an object with privateKey and/or password");
            continue;
        }
        for (const [field, v] of Object.entries(entry)) {
            if (!HOST_SECRET_FIELDS.includes(field)) problems.unknownField(at, field, HOST_SECRET_FIELDS, "a host's secrets");
            else if (typeof v !== "string") problems.add(`${at}.${field}`, "must be a string");
        }
    }
}
