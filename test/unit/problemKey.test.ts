// components/stackConfig/problemKey.ts: the config key, host and message a
// user sees for a problem. Covers what test/unit/stackConfigEdges.test.ts
// leaves open: paths outside a host's connection, entry indexes of two
// digits, names with spaces, vars files whose messages hold ": ", text that
// only mentions an entry or [inventoryGroups] part-way, and the problems of
// inventory hosts (dial settings, credentials, the whole host, other
// connection fields, which smtp-port:hosts entry names the host).
import { strict as assert } from "assert";
import { configKeyOfArg, describeConfigProblem, HostConfig, inventoryProblem, readStackConfig } from "../../components/stackConfig";
import { inventoryHostProblem } from "../../components/stackConfig/problemKey";
import { HOST_KEY, privateKey, configValues, secretKeys } from "../support/testConfig";

const PRIVATE = privateKey("problemKey");

/** A named function: it has a string `name` but is not a host entry. */
function mx1(): void {}

describe("problem keys: the config key of an argument's path", () => {
    const hs = [{ name: "mx1" }];

    it("a nested field outside the connection is named as written, not as a connection field or a secret", () => {
        assert.deepEqual(configKeyOfArg(["hosts", 0, "proxy", "port"], hs), { key: "smtp-port:hosts[0].proxy.port", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "proxy", "password"], hs), { key: "smtp-port:hosts[0].proxy.password", host: "mx1" });
    });

    it("only an object entry's name names the host: a named function is not a host entry", () => {
        assert.deepEqual(configKeyOfArg(["hosts", 0, "sudo"], [mx1]), { key: "smtp-port:hosts[0].sudo", host: undefined });
    });
});

describe("problem keys: inventory lines", () => {
    const files = { inventory: "ansible/hosts.ini", knownHosts: "ansible/known_hosts", varsDirs: ["ansible/group_vars/", "ansible/host_vars/"] };

    it("an smtp-port:hosts entry's line with an index of two digits is that entry's key", () => {
        const entries = Array.from({ length: 13 }, (_, i) => ({ name: `mx${i}` }));
        assert.deepEqual(inventoryProblem(`smtp-port:hosts[12] "mx12": [sshPort] comes from the inventory when smtp-port:inventory is set: remove it here`, files, entries),
            { key: "smtp-port:hosts[12].sshPort", message: "comes from the inventory when smtp-port:inventory is set: remove it here", host: "mx12" });
    });

    it("an entry's line quoting a name with spaces is that entry's key, with its host", () => {
        assert.deepEqual(inventoryProblem(`smtp-port:hosts[0] "mail one": [name] no host "mail one" in ansible/hosts.ini`, files, [{ name: "mail one" }]),
            { key: "smtp-port:hosts[0].name", message: `no host "mail one" in ansible/hosts.ini`, host: "mail one" });
    });

    it("an entry's host is named only by an object's name: a named function is not an entry", () => {
        assert.deepEqual(inventoryProblem("smtp-port:hosts[0]: [name] is required to match an inventory host", files, [mx1]),
            { key: "smtp-port:hosts[0].name", message: "is required to match an inventory host" });
    });

    it("a file's line that mentions an entry or [inventoryGroups] part-way stays that file's problem", () => {
        assert.deepEqual(inventoryProblem("ansible/hosts.ini:7: smtp-port:hosts[0]: [sshPort] is set here too", files, [{ name: "mx1" }]),
            { key: "smtp-port:inventory", where: "ansible/hosts.ini:7", message: "smtp-port:hosts[0]: [sshPort] is set here too" });
        assert.deepEqual(inventoryProblem("ansible/hosts.ini:2: see [inventoryGroups] web", files, []),
            { key: "smtp-port:inventory", where: "ansible/hosts.ini:2", message: "see [inventoryGroups] web" });
    });

    it("a vars file's line: the file (and line) end at the first ': ', the rest is the message", () => {
        assert.deepEqual(inventoryProblem("ansible/group_vars/all.yml: mapping values are not allowed here: x", files, []),
            { key: "smtp-port:inventory", where: "ansible/group_vars/all.yml", message: "mapping values are not allowed here: x" });
        assert.deepEqual(inventoryProblem("ansible/host_vars/mx1.yml:4: bad value: y", files, []),
            { key: "smtp-port:inventory", where: "ansible/host_vars/mx1.yml:4", message: "bad value: y" });
    });

    it("a problem whose first line names a vars folder without ': ' is the inventory's, whole, even if a later line has one", () => {
        const text = "ansible/group_vars/ is not a folder\nhint: create it or remove it";
        assert.deepEqual(inventoryProblem(text, files, []), { key: "smtp-port:inventory", message: text });
    });
});

describe("problem keys: an inventory host's problems", () => {
    const files = { inventory: "hosts.ini", knownHosts: "known_hosts" };
    const hosts = [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY }] as HostConfig[];

    it("a dial setting is named at the host's smtp-port:hosts entry, or at the inventory under the entry's field name", () => {
        const read = (entries: unknown[]) => readStackConfig(
            configValues({ port: "17", privateKey: PRIVATE, inventory: "hosts.ini", knownHosts: "known_hosts", hosts: entries }),
            secretKeys("smtp-port:privateKey"), "dev",
            { baseDir: "/nowhere", readHosts: () => ({ hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, dialErrorLimit: 0 }], warnings: [] }) },
        ).problems.map(describeConfigProblem);
        assert.deepEqual(read([{ name: "mx1", dialErrorLimit: 0 }]), ["smtp-port:hosts[0].dialErrorLimit (mx1) must be a positive integer, got 0"]);
        assert.deepEqual(read([]), [`smtp-port:inventory: hosts.ini: host "mx1": [dialErrorLimit] must be a positive integer, got 0`]);
    });

    it("a credential is named at smtp-port:hostSecrets under the host's name", () => {
        const message = "must be a Pulumi secret (pulumi.secret(...) or `pulumi config set --secret`), not a plain string";
        for (const field of ["password", "privateKey", "privateKeyPassword"]) {
            assert.deepEqual(inventoryHostProblem({ path: ["hosts", 0, "connection", field], message }, hosts, [{ name: "mx1" }], files),
                { key: `smtp-port:hostSecrets.mx1.${field}`, host: "mx1", message }, field);
        }
    });

    it("a connection field the host entry has no other name for keeps its own name", () => {
        assert.deepEqual(inventoryHostProblem({ path: ["hosts", 0, "connection", "keepAlive"], message: "must be a number" }, hosts, [{ name: "mx1" }], files),
            { key: "smtp-port:hosts[0].keepAlive", host: "mx1", message: "must be a number" });
    });

    it("the entry that names the host is found past entries that are not objects or name another host", () => {
        const entries = [null, "mx1", { name: "mx2" }, { name: "mx1" }];
        assert.deepEqual(inventoryHostProblem({ path: ["hosts", 0, "sudo"], message: `must be true or false, got "maybe"` }, hosts, entries, files),
            { key: "smtp-port:hosts[3].sudo", host: "mx1", message: `must be true or false, got "maybe"` });
        assert.deepEqual(inventoryHostProblem({ path: ["hosts", 0, "sudo"], message: `must be true or false, got "maybe"` }, hosts, [{ name: "mx2" }], files),
            { key: "smtp-port:inventory", where: "hosts.ini", message: `host "mx1": [sudo] must be true or false, got "maybe"` }, "no entry names mx1");
    });

    it("a problem with the whole host is named at the inventory as the host's [name], even when an entry names it", () => {
        assert.deepEqual(inventoryHostProblem({ path: ["hosts", 0], message: "must be an object with name and connection" }, hosts, [{ name: "mx1" }], files),
            { key: "smtp-port:inventory", where: "hosts.ini", message: `host "mx1": [name] must be an object with name and connection` });
    });

    it("a nested field outside the connection is named at the inventory by its dotted path", () => {
        assert.deepEqual(inventoryHostProblem({ path: ["hosts", 0, "proxy", "port"], message: "must be an integer" }, hosts, [], files),
            { key: "smtp-port:inventory", where: "hosts.ini", message: `host "mx1": [proxy.port] must be an integer` });
    });

    it("a problem of a host the list does not hold is named at the inventory, not at an entry that is not an object", () => {
        const p = inventoryHostProblem({ path: ["hosts", 1, "sudo"], message: "must be true or false" }, hosts, ["mx1", 7], files);
        assert.equal(p.key, "smtp-port:inventory");
        assert.equal(p.where, "hosts.ini");
        assert.match(p.message, /: \[sudo\] must be true or false$/);
    });
});
