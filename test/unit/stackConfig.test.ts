// The stack program's config: what Pulumi passes in, what the user is told.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    STACK_CONFIG, HOST_FIELDS, readStackConfig, describeConfigProblem, StackConfigError, configKeyOfArg, closest, editDistance, HostConfig,
} from "../../components/stackConfig";
import { InventoryError, StackHostsConfig } from "../../components/inventory";
import { SmtpPortArgsError, assertValidSmtpPortArgs } from "../../components/validate";
import { HOST_KEY, privateKey, asConfig, secretKeys } from "../support/testConfig";

// js-yaml comes with @pulumi/pulumi; only the tests read YAML.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const yaml = require("js-yaml");

const ROOT = path.join(__dirname, "..", "..");
const PRIVATE = privateKey("recognisable-7731");

/** A value as Pulumi passes it to the program: strings as they are, anything else as JSON. */

/** Pulumi.yaml's `config:` block. */
function projectConfig(): Record<string, any> {
    return yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config;
}

/** What Pulumi passes for a stack that sets `set` (keys without the namespace): Pulumi.yaml's defaults, then the stack's values. */
function passed(set: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, decl] of Object.entries(projectConfig())) if (decl.default !== undefined) out[k] = asConfig(decl.default);
    for (const [k, v] of Object.entries(set)) out[`smtp-port:${k}`] = asConfig(v);
    return out;
}

const HOSTS = [
    { name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY },
    { name: "mx2", host: "10.0.0.2", hostKey: HOST_KEY },
];
const hosts = (over: Record<string, unknown> = {}, i = 1) => HOSTS.map((h, j) => (j === i ? { ...h, ...over } : h));
const lines = (set: Record<string, unknown>, secret: string[] = ["smtp-port:privateKey"]) =>
    readStackConfig(passed(set), secretKeys(...secret), "dev").problems.map(describeConfigProblem);
const ok = { port: "17", hosts: HOSTS, privateKey: PRIVATE };

describe("stack config: Pulumi.yaml declares every key the program reads", () => {
    it("has the keys of STACK_CONFIG, in its order, with the same type, items, description and default", () => {
        const declared = projectConfig();
        assert.deepEqual(Object.keys(declared), Object.keys(STACK_CONFIG).map(k => `smtp-port:${k}`));
        for (const [k, spec] of Object.entries(STACK_CONFIG)) {
            const d = declared[`smtp-port:${k}`];
            assert.deepEqual(d, {
                type: spec.type,
                ...(spec.items ? { items: { type: spec.items } } : {}),
                description: spec.description,
                ...(spec.default !== undefined ? { default: spec.default } : {}),
            }, k);
        }
    });

    it("declares no key `secret: true` and gives every key but port a default (Pulumi requires the others)", () => {
        for (const [k, d] of Object.entries(projectConfig())) {
            assert.equal(d.secret, undefined, k);
            assert.equal(d.default === undefined, k === "smtp-port:port", k);
        }
    });

    it("declares inventory and knownHosts as strings and inventoryGroups as a list of strings, none of them reserved", () => {
        assert.equal(STACK_CONFIG.inventory.type, "string");
        assert.equal(STACK_CONFIG.knownHosts.type, "string");
        assert.deepEqual(projectConfig()["smtp-port:inventoryGroups"].items, { type: "string" });
        assert.deepEqual(Object.entries(STACK_CONFIG).filter(([, s]) => s.reserved !== undefined), []);
    });

    it("reads Pulumi.example.yaml without a problem", () => {
        const example = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.example.yaml"), "utf8")).config;
        const values: Record<string, string> = {};
        for (const [k, v] of Object.entries(example)) values[k] = asConfig(v);
        assert.deepEqual(readStackConfig(values, () => false, "example").problems, []);
    });
});

describe("stack config: a valid config", () => {
    it("passes a host's verifyAddress to the component, and refuses a bad one naming the key", () => {
        const good = readStackConfig(passed({ ...ok, hosts: hosts({ verifyAddress: "[::1]" }) }), secretKeys("smtp-port:privateKey"), "dev");
        assert.deepEqual(good.problems, []);
        assert.equal(good.args.hosts[1].verifyAddress, "[::1]");
        assert.equal(good.args.hosts[0].verifyAddress, undefined);
        assert.deepEqual(lines({ ...ok, hosts: hosts({ verifyAddress: "a b" }) }),
            ["smtp-port:hosts[1].verifyAddress (mx2) must be auto, a host name or an address (IPv6 may be in brackets), got \"a b\""]);
    });

    it("gives the component's arguments, with Pulumi.yaml's empty defaults read as unset", async () => {
        const { args, problems } = readStackConfig(passed(ok), secretKeys("smtp-port:privateKey"), "dev");
        assert.deepEqual(problems, []);
        assert.equal(args.port, 17);
        assert.equal(args.restartCommand, undefined);
        assert.equal(args.rollout, undefined);
        assert.equal(args.servicesFile, "/etc/services");
        assert.equal(args.sudo, false);
        assert.equal(args.hosts.length, 2);
        const c = args.hosts[1].connection as any;
        assert.equal(c.host, "10.0.0.2");
        assert.equal(c.user, "root");
        assert.equal(c.password, undefined);
        assert.ok(pulumi.Output.isInstance(c.privateKey));
        assert.equal(await (c.privateKey as any).isSecret, true);
    });

    it("takes numbers and booleans that `config set --path` or hand-written YAML stored as strings", () => {
        const { args, problems } = readStackConfig(passed({ ...ok, hosts: hosts({ sshPort: "2222", sudo: "true", port: "2525", dialErrorLimit: "3" }) }), secretKeys("smtp-port:privateKey"));
        assert.deepEqual(problems, []);
        assert.equal((args.hosts[1].connection as any).port, 2222);
        assert.equal((args.hosts[1].connection as any).dialErrorLimit, 3);
        assert.equal(args.hosts[1].sudo, true);
        assert.equal(args.hosts[1].port, 2525);
    });

    it("leaves other namespaces alone", () => {
        assert.deepEqual(lines({ ...ok }, ["smtp-port:privateKey"]), []);
        const values = { ...passed(ok), "command:foo": "x", "pulumi:tags": "{}", "smtp-portx:port": "1" };
        assert.deepEqual(readStackConfig(values, secretKeys("smtp-port:privateKey")).problems, []);
    });
});

describe("stack config: what the user is told", () => {
    it("names the key of a bad port", () => {
        assert.deepEqual(lines({ ...ok, port: "70000" }), ["smtp-port:port must be an integer from 1 to 65535, got 70000"]);
        assert.deepEqual(lines({ ...ok, port: "17.5" }), [`smtp-port:port must be an integer from 1 to 65535, got "17.5"`]);
    });

    it("names the host entry of a host without a pinned key, with the host's name", () => {
        assert.deepEqual(lines({ ...ok, hosts: hosts({ hostKey: undefined }) }), [
            `smtp-port:hosts[1].hostKey (mx2) is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key`,
        ]);
        assert.deepEqual(lines({ ...ok, hosts: hosts({ hostKey: undefined, insecureIgnoreHostKey: true }) }), []);
    });

    it("refuses a plain-text private key or password without ever showing it", () => {
        const got = lines({ ...ok, password: "hunter2-recognisable" }, []);
        assert.deepEqual(got, [
            "smtp-port:privateKey must be a secret, but it is in plain text in Pulumi.dev.yaml: set it again with pulumi config set --secret smtp-port:privateKey < KEYFILE (and replace the credential if that file was shared)",
            "smtp-port:password must be a secret, but it is in plain text in Pulumi.dev.yaml: set it again with pulumi config set --secret smtp-port:password (and replace the credential if that file was shared)",
        ]);
        assert.ok(!got.join("\n").includes("recognisable"));
    });

    it("refuses a private key in a host entry (plain text), pointing to hostSecrets, without showing it", () => {
        const got = lines({ ...ok, hosts: hosts({ privateKey: PRIVATE }) });
        assert.deepEqual(got, [
            "smtp-port:hosts[1].privateKey (mx2) must not be in smtp-port:hosts, which is plain text: remove it, and set it as a secret with pulumi config set --secret --path 'smtp-port:hostSecrets.mx2.privateKey' < KEYFILE (and replace the credential if Pulumi.dev.yaml was shared)",
        ]);
        assert.ok(!got.join("\n").includes("recognisable"));
        assert.deepEqual(lines({ ...ok, hosts: hosts({ password: "hunter2-recognisable", privateKeyPassword: "pp-recognisable" }) }), [
            "smtp-port:hosts[1].password (mx2) must not be in smtp-port:hosts, which is plain text: remove it, and set it as a secret with pulumi config set --secret --path 'smtp-port:hostSecrets.mx2.password' (and replace the credential if Pulumi.dev.yaml was shared)",
            "smtp-port:hosts[1].privateKeyPassword (mx2) must not be in smtp-port:hosts, which is plain text: remove it: stack config has no key for a private key's passphrase (use a key without one, or the component's connection.privateKeyPassword) (and replace the credential if Pulumi.dev.yaml was shared)",
        ]);
    });

    it("never shows a credential of the wrong shape", () => {
        assert.deepEqual(lines({ ...ok, hostSecrets: "mx1:hunter2-recognisable" }, ["smtp-port:privateKey", "smtp-port:hostSecrets"]), ["smtp-port:hostSecrets must be an object"]);
    });

    it("checks hostSecrets: a secret, naming hosts of the fleet, with known fields", () => {
        const hs = { mx2: { privateKey: PRIVATE }, mx3: { password: "p" }, mx1: { pasword: "p" } };
        assert.deepEqual(lines({ ...ok, hostSecrets: hs }, ["smtp-port:privateKey"]), [
            "smtp-port:hostSecrets must be a secret, but it is in plain text in Pulumi.dev.yaml: set it again with pulumi config set --secret --path 'smtp-port:hostSecrets.NAME.privateKey' < KEYFILE (and replace the credential if that file was shared)",
        ]);
        assert.deepEqual(lines({ ...ok, hostSecrets: hs }, ["smtp-port:privateKey", "smtp-port:hostSecrets"]), [
            "smtp-port:hostSecrets.mx3 names no host of smtp-port:hosts: did you mean mx1?",
            "smtp-port:hostSecrets.mx1.pasword is not a field of a host's secrets: did you mean smtp-port:hostSecrets.mx1.password?",
        ]);
    });

    it("names a per-host field of the wrong type", () => {
        assert.deepEqual(lines({ ...ok, hosts: hosts({ sshPort: "twenty-two", sudo: "yes", dialErrorLimit: 0, user: 7, requireOldPortClosed: "no" }) }), [
            `smtp-port:hosts[1].sshPort (mx2) must be an integer from 1 to 65535, got "twenty-two"`,
            "smtp-port:hosts[1].user (mx2) must be a user name, got 7",
            "smtp-port:hosts[1].dialErrorLimit (mx2) must be a positive integer, got 0",
            `smtp-port:hosts[1].sudo (mx2) must be true or false, got "yes"`,
            `smtp-port:hosts[1].requireOldPortClosed (mx2) must be true or false, got "no"`,
        ]);
    });

    it("names an entry that is not an object by its index", () => {
        assert.deepEqual(lines({ ...ok, hosts: [HOSTS[0], "mx2"] }), ["smtp-port:hosts[1] must be an object with name and connection"]);
    });

    it("names a top-level value of the wrong shape (Pulumi.yaml's types catch these first; the program does not rely on it)", () => {
        assert.deepEqual(lines({ ...ok, hosts: "mx1" }), [`smtp-port:hosts must be a list (in Pulumi.<stack>.yaml, or with pulumi config set --path 'smtp-port:hosts[0].name' mx1), got "mx1"`]);
        assert.deepEqual(lines({ ...ok, sudo: "yes" }), [`smtp-port:sudo must be true or false, got "yes"`]);
        assert.deepEqual(lines({ ...ok, rollout: "canary" }), [`smtp-port:rollout must be an object (in Pulumi.<stack>.yaml, or with pulumi config set --path 'smtp-port:rollout.FIELD' VALUE), got "canary"`]);
    });

    it("refuses an unknown key, naming the closest known one", () => {
        assert.deepEqual(lines({ ...ok, prot: "17" }), ["smtp-port:prot is not a setting of smtp-port: did you mean smtp-port:port?"]);
        assert.deepEqual(lines({ ...ok, restartcommand: "x" }), ["smtp-port:restartcommand is not a setting of smtp-port: did you mean smtp-port:restartCommand?"]);
        assert.deepEqual(lines({ ...ok, rolout: {} }), ["smtp-port:rolout is not a setting of smtp-port: did you mean smtp-port:rollout?"]);
        assert.deepEqual(lines({ ...ok, colour: "blue" }), [
            `smtp-port:colour is not a setting of smtp-port (the settings: ${Object.keys(STACK_CONFIG).map(k => `smtp-port:${k}`).join(", ")})`,
        ]);
    });

    it("refuses an unknown field of a host or of rollout, without also asking for the field it misspells", () => {
        assert.deepEqual(lines({ ...ok, hosts: hosts({ hostKey: undefined, hostkey: HOST_KEY }) }), [
            "smtp-port:hosts[1].hostkey (mx2) is not a field of a host: did you mean smtp-port:hosts[1].hostKey?",
        ]);
        assert.deepEqual(lines({ ...ok, hosts: hosts({ colour: 1 }) }), [
            `smtp-port:hosts[1].colour (mx2) is not a field of a host (the fields: ${HOST_FIELDS.join(", ")})`,
        ]);
        assert.deepEqual(lines({ ...ok, rollout: { canery: "mx1" } }), ["smtp-port:rollout.canery is not a field of smtp-port:rollout: did you mean smtp-port:rollout.canary?"]);
    });


    it("names rollout fields by their key", () => {
        assert.deepEqual(lines({ ...ok, rollout: { canary: "mx9", failureBudget: "three" } }), [
            `smtp-port:rollout.canary must name a host of the fleet, got "mx9"`,
            `smtp-port:rollout.failureBudget must be a whole number of hosts, at least 1, got "three"`,
        ]);
    });

    it("lists every problem, one line each, in Pulumi.yaml's order, unknown keys first", () => {
        assert.deepEqual(lines({ prot: "17", port: "0", hosts: hosts({ hostKey: undefined, sshPort: "x" }), privateKey: "k" }, []), [
            "smtp-port:prot is not a setting of smtp-port: did you mean smtp-port:port?",
            "smtp-port:port must be an integer from 1 to 65535, got 0",
            `smtp-port:hosts[1].sshPort (mx2) must be an integer from 1 to 65535, got "x"`,
            "smtp-port:hosts[1].hostKey (mx2) is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key",
            "smtp-port:privateKey must be a secret, but it is in plain text in Pulumi.dev.yaml: set it again with pulumi config set --secret smtp-port:privateKey < KEYFILE (and replace the credential if that file was shared)",
        ]);
    });

    it("says an empty fleet needs hosts", () => {
        assert.deepEqual(lines({ port: "17", privateKey: PRIVATE }), [
            "smtp-port:hosts must list at least one host (or take them from an Ansible inventory: smtp-port:inventory and smtp-port:knownHosts)",
        ]);
    });
});

describe("stack config: the error", () => {
    it("is a pulumi.RunError (Pulumi prints its message alone) with a header and one line per problem", () => {
        const { problems } = readStackConfig(passed({ ...ok, port: "70000", prot: "1" }), secretKeys("smtp-port:privateKey"));
        const e = new StackConfigError(problems, "dev");
        assert.ok(pulumi.RunError.isInstance(e));
        assert.equal(e.message, [
            `smtp-port: the stack config of stack "dev" has 2 problems; no host was contacted or changed:`,
            "  smtp-port:prot is not a setting of smtp-port: did you mean smtp-port:port?",
            "  smtp-port:port must be an integer from 1 to 65535, got 70000",
        ].join("\n"));
        assert.match(new StackConfigError(problems.slice(0, 1)).message, /^smtp-port: the stack config has 1 problem;/);
    });

    it("keeps the argument names for library users (no stack config), also as a RunError", () => {
        let err: unknown;
        try {
            assertValidSmtpPortArgs("fleet", { port: 70000, hosts: [{ name: "mx2", connection: { host: "h" } }] });
        } catch (e) { err = e; }
        assert.ok(err instanceof SmtpPortArgsError);
        assert.ok(pulumi.RunError.isInstance(err));
        assert.equal((err as Error).message, [
            `smtp-port "fleet": invalid arguments:`,
            "  - [port] must be an integer from 1 to 65535, got 70000",
            `  - host "mx2": [connection.hostKey] is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key`,
        ].join("\n"));
        assert.deepEqual((err as SmtpPortArgsError).details.map(d => d.path), [["port"], ["hosts", 0, "connection", "hostKey"]]);
    });
});

describe("stack config: helpers", () => {
    it("maps argument paths to config keys", () => {
        const hs = [{ name: "mx1" }, {}];
        assert.deepEqual(configKeyOfArg(["port"], hs), { key: "smtp-port:port" });
        assert.deepEqual(configKeyOfArg(["rollout", "canary"], hs), { key: "smtp-port:rollout.canary" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "port"], hs), { key: "smtp-port:hosts[0].sshPort", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 1, "connection", "hostKey"], hs), { key: "smtp-port:hosts[1].hostKey", host: undefined });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "privateKey"], hs), { key: "smtp-port:hostSecrets.mx1.privateKey", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "sudo"], hs), { key: "smtp-port:hosts[0].sudo", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 1], hs), { key: "smtp-port:hosts[1]", host: undefined });
    });

    it("counts a transposition as one edit, and suggests only close names", () => {
        assert.equal(editDistance("prot", "port"), 1);
        assert.equal(editDistance("", "abc"), 3);
        assert.equal(closest("prot", Object.keys(STACK_CONFIG)), "port");
        assert.equal(closest("HOSTKEY", ["hostKey", "host"]), "hostKey");
        assert.equal(closest("colour", Object.keys(STACK_CONFIG)), undefined);
    });
});

describe("stack config: hosts from an Ansible inventory (smtp-port:inventory, knownHosts, inventoryGroups)", () => {
    const FLEET_INI = "test/fixtures/inventory/fleet/hosts.ini";
    const FLEET_YML = "test/fixtures/inventory/fleet/hosts.yml";
    const KNOWN = "test/fixtures/inventory/known_hosts";
    const PINNED = {
        mx1: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx",
        mx2: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILglGD6HQZQrKFT7lrBG7LVGKBGzV8dgF4+oT81/2iWu",
        mx3: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIICf4aCrZC3lGYSfY4gO9AkKpLTUEdQTNdsBfDx2XPPj",
    };
    const inv = { port: "17", privateKey: PRIVATE, inventory: FLEET_INI, knownHosts: KNOWN, inventoryGroups: ["mx"] };
    /** readStackConfig on the real files, paths relative to `baseDir` (default the repository). */
    const read = (set: Record<string, unknown>, baseDir = ROOT, secret = ["smtp-port:privateKey"]) =>
        readStackConfig(passed(set), secretKeys(...secret), "dev", { baseDir });
    const said = (set: Record<string, unknown>, baseDir = ROOT) => read(set, baseDir).problems.map(describeConfigProblem);
    const connections = (r: ReturnType<typeof read>) => r.args.hosts.map(h => {
        const c = h.connection as any;
        return [h.name, c.host, c.port, c.user, c.hostKey];
    });

    /** A project folder of its own (a temporary one) holding `files`. */
    function project(files: Record<string, string>): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-stackconfig-"));
        for (const [f, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
            fs.writeFileSync(path.join(dir, f), text);
        }
        return dir;
    }
    const KH_LINES = (names: (keyof typeof PINNED)[]) => names.map(n => `198.18.0.1${n.slice(2)} ${PINNED[n]}\n`).join("");
    const INI = "[mx]\nmx1 ansible_host=198.18.0.11\nmx2 ansible_host=198.18.0.12\nmx3 ansible_host=198.18.0.13\n\n[mx:vars]\nansible_user=root\n";

    it("takes names, addresses, SSH ports, users from the inventory and the keys from known_hosts, with no problem and no warning", async () => {
        const r = read(inv);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.warnings, []);
        assert.deepEqual(connections(r), [
            ["mx1", "198.18.0.11", 22, "root", PINNED.mx1],
            ["mx2", "198.18.0.12", 22, "root", PINNED.mx2],
            ["mx3", "198.18.0.13", 2222, "root", PINNED.mx3],
        ]);
        assert.equal(r.args.port, 17);
        // The credentials still come from the secrets.
        assert.equal(await ((r.args.hosts[2].connection as any).privateKey as any).isSecret, true);
        for (const h of r.args.hosts) assert.equal(h.insecureIgnoreHostKey, undefined, `${h.name}: never unpinned`);
    });

    it("reads a YAML inventory and a hashed known_hosts file to the same hosts", () => {
        const r = read({ ...inv, inventory: FLEET_YML, knownHosts: "test/fixtures/inventory/known_hosts.hashed" });
        assert.deepEqual(r.problems, []);
        assert.deepEqual(connections(r), connections(read(inv)));
    });

    it("applies smtp-port:hosts entries as per-host settings, by name, whatever their order", () => {
        const r = read({ ...inv, hosts: [{ name: "mx3", port: "2526", mta: "postfix" }, { name: "mx1", restartCommand: "service postfix restart", sudo: "true" }] });
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.args.hosts.map(h => [h.name, h.port, h.mta, h.restartCommand, h.sudo]), [
            ["mx1", undefined, undefined, "service postfix restart", true],
            ["mx2", undefined, undefined, undefined, undefined],
            ["mx3", 2526, "postfix", undefined, undefined],
        ]);
        assert.equal((r.args.hosts[2].connection as any).port, 2222, "the SSH port is the inventory's");
    });

    it("names a per-host setting the component refuses at its own smtp-port:hosts entry, not at the inventory host's index", () => {
        // mx3 is the inventory's third host and the first entry of smtp-port:hosts.
        assert.deepEqual(said({ ...inv, hosts: [{ name: "mx3", port: "70000", servicesFile: "etc/services" }] }), [
            "smtp-port:hosts[0].port (mx3) must be an integer from 1 to 65535, got 70000",
            `smtp-port:hosts[0].servicesFile (mx3) must be an absolute path, got "etc/services"`,
        ]);
    });

    it("refuses connection fields in smtp-port:hosts (the inventory and known_hosts give them) and entries naming no inventory host", () => {
        assert.deepEqual(said({ ...inv, hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, port: "2525" }, { name: "mx9", mta: "exim" }, { name: "web1" }] }), [
            "smtp-port:hosts[0].host (mx1) comes from ansible_host when smtp-port:inventory is set: remove it here",
            "smtp-port:hosts[0].hostKey (mx1) comes from known_hosts when smtp-port:inventory is set: remove it here",
            `smtp-port:hosts[1].name (mx9) no host "mx9" in ${FLEET_INI} (with an inventory, hosts entries only override inventory hosts)`,
            `smtp-port:hosts[2].name (web1) host "web1" is not in inventoryGroups ["mx"]`,
        ]);
    });

    it("a host whose key is not in known_hosts is an error naming the host, never an unpinned host", () => {
        const dir = project({ "hosts.ini": INI, known_hosts: KH_LINES(["mx1", "mx3"]) });
        try {
            const r = read({ ...inv, inventory: "hosts.ini", knownHosts: "known_hosts" }, dir);
            const text = r.problems.map(describeConfigProblem);
            assert.deepEqual(text, [
                "smtp-port:knownHosts: known_hosts: host \"mx2\": [hostKey] no key for 198.18.0.12 in known_hosts: add it (`ssh-keyscan 198.18.0.12`, and check the fingerprint)",
            ]);
            assert.equal(new StackConfigError(r.problems, "dev").message, [
                `smtp-port: the stack config of stack "dev" has 1 problem; no host was contacted or changed:`,
                `  ${text[0]}`,
            ].join("\n"));
            // The same file with the key added: no problem.
            fs.appendFileSync(path.join(dir, "known_hosts"), KH_LINES(["mx2"]));
            assert.deepEqual(said({ ...inv, inventory: "hosts.ini", knownHosts: "known_hosts" }, dir), []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names the file and line of every inventory problem, under smtp-port:inventory, all at once", () => {
        assert.deepEqual(said({ ...inv, inventory: "test/fixtures/inventory/broken/yaml11.yml", inventoryGroups: [] }), [
            `smtp-port:inventory: test/fixtures/inventory/broken/yaml11.yml:5: host "mx1": [ansible_user] must be a user name, got false`,
            `smtp-port:inventory: test/fixtures/inventory/broken/yaml11.yml:6: host "mx1": [ansible_port] must be an integer from 1 to 65535, got "0o26"`,
        ]);
    });

    it("names problems of group_vars/ and host_vars/ files and of known_hosts lines by their file and line", () => {
        const dir = project({
            "ansible/hosts.ini": INI,
            "ansible/host_vars/mx2.yml": "ansible_port: 70000\n",
            "ansible/known_hosts": KH_LINES(["mx1", "mx2", "mx3"]) + "@trusted 198.18.0.11 " + PINNED.mx1 + "\n",
        });
        try {
            assert.deepEqual(said({ ...inv, inventory: "ansible/hosts.ini", knownHosts: "ansible/known_hosts" }, dir), [
                `smtp-port:inventory: ${path.join("ansible", "host_vars", "mx2.yml")}:1: host "mx2": [ansible_port] must be an integer from 1 to 65535, got 70000`,
                "smtp-port:knownHosts: ansible/known_hosts:4: unknown marker @trusted (@cert-authority or @revoked)",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("inventoryGroups: [] (Pulumi.yaml's default) is every host; a group the inventory lacks is named", () => {
        // fleet/hosts.ini also has web1, a local connection: taking every host takes it too.
        assert.deepEqual(said({ ...inv, inventoryGroups: [] }), [
            `smtp-port:inventory: ${FLEET_INI}:9: host "web1": [ansible_connection] is "local"; smtp-port connects over SSH only (leave the host out with inventoryGroups)`,
        ]);
        assert.deepEqual(said({ ...inv, inventoryGroups: ["mx", "db"] }), [`smtp-port:inventoryGroups: ${FLEET_INI}: no group "db" in the inventory`]);
    });

    it("names a file it cannot read, and the keys that make no sense alone", () => {
        const got = said({ ...inv, inventory: "nope.ini", knownHosts: "nope_hosts" });
        assert.equal(got.length, 2);
        assert.match(got[0], /^smtp-port:inventory cannot read nope\.ini: ENOENT: no such file or directory/);
        assert.match(got[1], /^smtp-port:knownHosts cannot read nope_hosts: ENOENT: no such file or directory/);
        assert.deepEqual(said({ ...inv, knownHosts: "" }), ["smtp-port:knownHosts is required with smtp-port:inventory: the host keys are pinned from it"]);
        assert.deepEqual(said({ ...ok, knownHosts: KNOWN, inventoryGroups: ["mx"] }), [
            "smtp-port:knownHosts is read only with smtp-port:inventory (set both, or neither)",
            "smtp-port:inventoryGroups is read only with smtp-port:inventory",
        ]);
    });

    it("says inventory settings it does not use as warnings naming the key, not as problems", () => {
        const dir = project({ "hosts.ini": INI + "ansible_ssh_private_key_file=~/.ssh/id_ed25519\n", known_hosts: KH_LINES(["mx1", "mx2", "mx3"]) });
        try {
            const r = read({ ...inv, inventory: "hosts.ini", knownHosts: "known_hosts" }, dir);
            assert.deepEqual(r.problems, []);
            assert.deepEqual(r.warnings, [
                "smtp-port:inventory: ansible_ssh_private_key_file is set for mx1, mx2, mx3 and not used: set the key as a secret: pulumi config set --secret smtp-port:privateKey < KEY (or smtp-port:hostSecrets)",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("checks hostSecrets and rollout.canary against the inventory's hosts", () => {
        const secret = ["smtp-port:privateKey", "smtp-port:hostSecrets"];
        const r = read({ ...inv, hostSecrets: { mx3: { password: "p" }, mx9: { password: "p" } }, rollout: { canary: "mx2" } }, ROOT, secret);
        assert.deepEqual(r.problems.map(describeConfigProblem), ["smtp-port:hostSecrets.mx9 names no host of smtp-port:inventory: did you mean mx1?"]);
        assert.deepEqual(said({ ...inv, rollout: { canary: "mx4" } }), [`smtp-port:rollout.canary must name a host of the fleet, got "mx4"`]);
    });

    it("names an inventory host the component refuses at the inventory", () => {
        const dir = project({ "hosts.ini": "mx@1 ansible_host=198.18.0.11\n", known_hosts: KH_LINES(["mx1"]) });
        try {
            assert.deepEqual(said({ ...inv, inventory: "hosts.ini", knownHosts: "known_hosts", inventoryGroups: [] }, dir), [
                `smtp-port:inventory: hosts.ini: host "mx@1": [name] must be letters, digits, . _ -, got "mx@1"`,
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("adds no host-list noise when the inventory is unusable, and sorts its problems among the others by key", () => {
        assert.deepEqual(said({ ...inv, port: "0", inventory: "test/fixtures/inventory/broken/yaml11.yml", inventoryGroups: [], rollout: { canary: "mx1" }, hostSecrets: {} }), [
            "smtp-port:port must be an integer from 1 to 65535, got 0",
            `smtp-port:inventory: test/fixtures/inventory/broken/yaml11.yml:5: host "mx1": [ansible_user] must be a user name, got false`,
            `smtp-port:inventory: test/fixtures/inventory/broken/yaml11.yml:6: host "mx1": [ansible_port] must be an integer from 1 to 65535, got "0o26"`,
        ]);
    });

    it("reads the files only through files.readHosts, relative to files.baseDir", () => {
        const calls: [StackHostsConfig, string][] = [];
        const readHosts = (cfg: StackHostsConfig, baseDir: string) => {
            calls.push([cfg, baseDir]);
            return { hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, port: 2525 } as HostConfig], warnings: ["note"] };
        };
        const r = readStackConfig(passed({ ...inv, hosts: [{ name: "mx1", port: "2525" }] }), secretKeys("smtp-port:privateKey"), "dev", { baseDir: "/nowhere", readHosts });
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.warnings, ["smtp-port:inventory: note"]);
        assert.deepEqual(calls, [[{ hosts: [{ name: "mx1", port: "2525" }], inventory: FLEET_INI, knownHosts: KNOWN, inventoryGroups: ["mx"] }, "/nowhere"]]);
        assert.equal(r.args.hosts[0].port, 2525);
        // Without an inventory it is asked too (knownHosts alone is an error there), and its answer is used.
        const none = readStackConfig(passed(ok), secretKeys("smtp-port:privateKey"), "dev", {
            readHosts: () => { throw new InventoryError(["[knownHosts] is read only with smtp-port:inventory (set both, or neither)"]); },
        });
        assert.deepEqual(none.problems.map(describeConfigProblem), ["smtp-port:knownHosts is read only with smtp-port:inventory (set both, or neither)"]);
    });

    it("without an inventory, reads no file and gives hosts as written", () => {
        const r = readStackConfig(passed(ok), secretKeys("smtp-port:privateKey"), "dev", { baseDir: "/nonexistent-project" });
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.warnings, []);
        assert.deepEqual(r.args.hosts.map(h => h.name), ["mx1", "mx2"]);
    });
});
