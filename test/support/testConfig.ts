// Values the unit tests share: a host key, private keys that are easy to
// spot if they leak, and stack config values as Pulumi passes them.

/** A well-formed ed25519 public key; no test host holds its private half. */
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxh0oP0cn6JpoFvD7PBbsYybx9fS0XbO7wW+9yYSbMN";

/** A private key's shape with `tag` in it, so that a test can assert the text never shows up in output. */
export const privateKey = (tag: string) => `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-${tag}\n-----END OPENSSH PRIVATE KEY-----`;

/** A value as Pulumi passes it to the program: strings as they are, anything else as JSON. */
export const asConfig = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** A stack's config values (keys without the namespace) as Pulumi passes them, with no project defaults. */
export const configValues = (set: Record<string, unknown>): Record<string, string> =>
    Object.fromEntries(Object.entries(set).map(([k, v]) => [`smtp-port:${k}`, asConfig(v)]));

/** readStackConfig's `isSecret`: true for these full keys (set with `pulumi config set --secret`). */
export const secretKeys = (...keys: string[]) => (k: string) => keys.includes(k);
