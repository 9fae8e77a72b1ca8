// Pulumi passes each key as a string: typed here by its declaration, and an
// unknown key or a credential in plain text refused rather than ignored.
import { booleanFromConfig, wholeNumberFromConfig } from "./componentArgs";
import { ConfigKeySpec, NAMESPACE, STACK_CONFIG } from "./keys";
import { ProblemList } from "./problemList";
import { closest } from "./suggest";

function show(v: unknown): string {
    return JSON.stringify(v) ?? String(v);
}

/** Keys of the `smtp-port:` namespace that are not settings (a misspelt key would otherwise be ignored). */
export function unknownKeyProblems(values: Record<string, string>, problems: ProblemList): void {
    const ns = NAMESPACE;
    const known = Object.keys(STACK_CONFIG);
    for (const full of Object.keys(values)) {
        if (!full.startsWith(`${ns}:`)) continue;
        const name = full.slice(ns.length + 1);
        if (name in STACK_CONFIG) continue;
        const near = closest(name, known);
        problems.add(full, near
            ? `is not a setting of smtp-port: did you mean ${ns}:${near}?`
            : `is not a setting of smtp-port (the settings: ${known.map(k => `${ns}:${k}`).join(", ")})`);
    }
}

/**
 * Every set key's value, typed as its spec says (numbers and booleans from
 * their strings, objects and lists from JSON); a value that cannot be used
 * (reserved, the wrong shape, a credential in plain text) is left out, with
 * its problem.
 */
export function topLevelValues(values: Record<string, string>, isSecret: (key: string) => boolean, stack: string, problems: ProblemList): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(STACK_CONFIG)) {
        const key = `${NAMESPACE}:${name}`;
        const text = values[key];
        if (text === undefined) continue;
        if (spec.reserved !== undefined) {
            if (text !== "") problems.add(key, `is not read by this version: ${spec.reserved}; remove it`);
            continue;
        }
        const value = typedValue(name, spec, text, problems);
        if (!value.ok) continue;
        raw[name] = value.value;
        if (spec.secret && text !== "" && text !== "{}" && !isSecret(key)) {
            plainSecretProblem(name, stack, problems);
            delete raw[name];
        }
    }
    return raw;
}

/** One key's text as its spec's type; not ok (with the problem) for an object or list that is not one. */
function typedValue(name: string, spec: ConfigKeySpec, text: string, problems: ProblemList): { ok: boolean; value?: unknown } {
    switch (spec.type) {
        case "integer":
            return { ok: true, value: wholeNumberFromConfig(text) };
        case "boolean":
            return { ok: true, value: booleanFromConfig(text) };
        case "string":
            // Pulumi.yaml's default for an optional string: unset.
            return { ok: true, value: text === "" ? undefined : text };
    }
    const key = `${NAMESPACE}:${name}`;
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        v = text;
    }
    const isList = Array.isArray(v);
    const isObject = v !== null && typeof v === "object" && !isList;
    if (spec.type === "array" ? !isList : !isObject) {
        const what = spec.type === "array" ? "a list" : "an object";
        const how = spec.type === "array" ? `pulumi config set --path '${key}[0].name' mx1` : `pulumi config set --path '${key}.FIELD' VALUE`;
        // A credential's value is never shown.
        problems.add(key, spec.secret ? `must be ${what}` : `must be ${what} (in Pulumi.<stack>.yaml, or with ${how}), got ${show(v)}`);
        return { ok: false };
    }
    // Pulumi.yaml's default for inventoryGroups: every group.
    return { ok: true, value: name === "inventoryGroups" && isList && (v as unknown[]).length === 0 ? undefined : v };
}

/** A credential key set in plain text: how to set it as a secret (never its value). */
function plainSecretProblem(name: string, stack: string, problems: ProblemList): void {
    const key = `${NAMESPACE}:${name}`;
    const how = name === "hostSecrets" ? `pulumi config set --secret --path '${key}.NAME.privateKey' < KEYFILE` : name === "privateKey" ? `pulumi config set --secret ${key} < KEYFILE` : `pulumi config set --secret ${key}`;
    problems.add(key, `must be a secret, but it is in plain text in Pulumi.${stack}.yaml: set it again with ${how} (and replace the credential if that file was shared)`);
}
