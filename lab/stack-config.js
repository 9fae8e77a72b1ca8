#!/usr/bin/env node
// @ts-check
// Writes Pulumi.<stack>.yaml for the lab fleet from .lab/hosts.json (the lab
// of SMTP_PORT_LAB_ID): the port, the hosts with their pinned host keys and
// the restart command (per host where it differs: Exim hosts). The
// private key is not written here: callers set it as a secret
// (`pulumi config set --secret smtp-port:privateKey < key`).
//
//   node lab/stack-config.js STACK PORT [--hosts mx1,mx2] [--override mx2=2526]
//        [--extra-host name=ADDRESS:SSHPORT] [--rollout '{"canary":"mx2","batchSize":1}']
"use strict";
const fs = require("fs");
const path = require("path");

/**
 * @param {string[]} argv
 */
function main(argv) {
    const [stack, port, ...rest] = argv;
    if (!stack || !port) throw new Error("usage: stack-config.js STACK PORT [--hosts a,b] [--override name=port] [--extra-host name=addr:port]");
    const root = path.join(__dirname, "..");
    const labDir = require("child_process").execFileSync("sh", [path.join(root, "lab", "lab.sh"), "dir"], { encoding: "utf8" }).trim();
    const lab = JSON.parse(fs.readFileSync(path.join(labDir, "hosts.json"), "utf8"));
    /** @type {Record<string, string>} */
    const opts = {};
    /** @type {string[]} */
    const overrides = [];
    /** @type {string[]} */
    const extras = [];
    for (let i = 0; i < rest.length; i += 2) {
        if (rest[i] === "--override") overrides.push(rest[i + 1]);
        else if (rest[i] === "--extra-host") extras.push(rest[i + 1]);
        else opts[rest[i].replace(/^--/, "")] = rest[i + 1];
    }
    const only = opts.hosts ? opts.hosts.split(",") : null;
    /** @type {any[]} */
    const hosts = lab.hosts
        .filter((/** @type {any} */ h) => !only || only.includes(h.name))
        .map((/** @type {any} */ h) => ({
            name: h.name, host: h.address, user: h.user, hostKey: h.hostKey, dialErrorLimit: 3, perDialTimeout: 5,
            // A host whose mail server differs from the first host's (an Exim
            // host among Postfix hosts) gets its own restart command.
            ...(h.restartCommand !== lab.hosts[0].restartCommand ? { restartCommand: h.restartCommand } : {}),
        }));
    for (const o of overrides) {
        const [name, p] = o.split("=");
        const h = hosts.find(x => x.name === name);
        if (!h) throw new Error(`--override: no host ${name}`);
        h.port = p;
    }
    for (const e of extras) {
        const m = /^([^=]+)=([^:]+):(\d+)$/.exec(e);
        if (!m) throw new Error(`--extra-host wants name=address:port, got ${e}`);
        // Pinned to the first lab host's key: the point is that SSH fails.
        hosts.push({ name: m[1], host: m[2], sshPort: Number(m[3]), user: "root", hostKey: lab.hosts[0].hostKey, dialErrorLimit: 2, perDialTimeout: 3 });
    }
    /** @type {Record<string, unknown>} */
    const config = {
        "smtp-port:port": String(port),
        "smtp-port:restartCommand": lab.hosts[0].restartCommand,
        "smtp-port:hosts": hosts,
    };
    if (opts.rollout) config["smtp-port:rollout"] = JSON.parse(opts.rollout);
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    // JSON is YAML: no YAML library needed.
    let keep = "";
    if (fs.existsSync(file)) {
        // Keep secrets that `pulumi config set --secret` wrote (and the
        // stack's encryption salt).
        keep = fs.readFileSync(file, "utf8").split("\n")
            .filter(l => /^encryptionsalt:/.test(l) || /^  smtp-port:(privateKey|password|hostSecrets):/.test(l) || /^    secure:/.test(l)).join("\n");
    }
    const salt = keep.split("\n").filter(l => l.startsWith("encryptionsalt:"));
    const secrets = keep.split("\n").filter(l => !l.startsWith("encryptionsalt:") && l !== "");
    const lines = [...salt, "config:"];
    for (const [k, v] of Object.entries(config)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
    lines.push(...secrets);
    fs.writeFileSync(file, lines.join("\n") + "\n");
    process.stdout.write(file + "\n");
}

try {
    main(process.argv.slice(2));
} catch (e) {
    process.stderr.write(`stack-config: ${/** @type {Error} */ (e).message}\n`);
    process.exit(1);
}
