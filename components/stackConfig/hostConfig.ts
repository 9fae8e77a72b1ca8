// The shape of a `smtp-port:hosts` entry, on its own so that the inventory
// module can build entries without depending on the config reader.

/** One host as written in stack config (`smtp-port:hosts`). No secrets here. */
export interface HostConfig {
    name: string;
    /** SSH address. */
    host: string;
    /** SSH port. Default 22. */
    sshPort?: number;
    /** SSH user. Default root. */
    user?: string;
    /** Pinned host key, `ssh-ed25519 AAAA...`. */
    hostKey?: string;
    insecureIgnoreHostKey?: boolean;
    /** SSH dial attempts before the host counts as unreachable. Default 10 (the provider's). */
    dialErrorLimit?: number;
    /** Seconds per SSH dial attempt. Default 15 (the provider's). */
    perDialTimeout?: number;
    port?: number | string;
    servicesFile?: string;
    restartCommand?: string;
    sudo?: boolean;
    checkAddress?: string;
    /** The address the on-host check probes. Default `auto` (where the MTA listens). */
    verifyAddress?: string;
    stateDir?: string;
    mta?: string;
    requireOldPortClosed?: boolean;
}

/** The fields of a `smtp-port:hosts` entry, in the README's order. */
export const HOST_FIELDS: (keyof HostConfig)[] = [
    "name", "host", "sshPort", "user", "hostKey", "insecureIgnoreHostKey", "dialErrorLimit", "perDialTimeout",
    "port", "servicesFile", "restartCommand", "sudo", "checkAddress", "verifyAddress", "stateDir", "mta", "requireOldPortClosed",
];

export const HOST_SECRET_FIELDS = ["privateKey", "password"];
