// The helpers of components/stackConfig/ at their edges: suggestions, config keys of
// argument paths, the secret-key lookup, inventory problems by file and
// line, reserved keys, and inventory hosts' problems named where to fix them.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    closest, configIsSecret, configKeyOfArg, describeConfigProblem, editDistance, HostConfig, inventoryProblem, readStackConfig, STACK_CONFIG,
} from "../../components/stackConfig";
import { HOST_KEY, privateKey, configValues, secretKeys } from "../support/testConfig";

const PRIVATE = privateKey("edges");

describe("stack config edges: suggestions", () => {
    it("editDistance: insertions, deletions, substitutions, and a transposition anywhere as one", () => {
        assert.equal(editDistance("ab", "ba"), 1);
        assert.equal(editDistance("abc", "bac"), 1);
        assert.equal(editDistance("abc", "acb"), 1);
        assert.equal(editDistance("abc", "abc"), 0);
        assert.equal(editDistance("abc", ""), 3);
        assert.equal(editDistance("kitten", "sitting"), 3);
        assert.equal(editDistance("ca", "abc"), 3, "optimal string alignment: no edit of a transposed pair");
    });

    it("closest: within 2 edits, or a third of a long name; the first known name on a tie; case ignored", () => {
        assert.equal(closest("xy", ["ab"]), "ab", "2 edits of a short name");
        assert.equal(closest("xyz", ["abc"]), undefined, "3 edits of a 3-letter name");
        assert.equal(closest("restartXXXXand", ["restartCommand"]), "restartCommand", "4 edits of 14 letters (a third: 4)");
        assert.equal(closest("restXXXXXmmand", ["restartCommand"]), undefined, "5 edits of 14 letters");
        assert.equal(closest("ab", ["ax", "ay"]), "ax");
        assert.equal(closest("ab", ["zz", "ax", "ab"]), "ab", "a closer one later wins");
        assert.equal(closest("PORT", ["port"]), "port");
        assert.equal(closest("x", []), undefined);
    });
});

describe("stack config edges: the config key of an argument's path", () => {
    const hs = [{ name: "mx1" }, { name: "" }, null, "mx4"];
    it("credentials at hostSecrets, by the host's name or its index", () => {
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "password"], hs), { key: "smtp-port:hostSecrets.mx1.password", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "privateKeyPassword"], hs), { key: "smtp-port:hostSecrets.mx1.privateKeyPassword", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 1, "connection", "privateKey"], hs), { key: `smtp-port:hostSecrets["1"].privateKey`, host: undefined });
        assert.deepEqual(configKeyOfArg(["hosts", 2, "connection", "password"], hs), { key: `smtp-port:hostSecrets["2"].password`, host: undefined });
        assert.deepEqual(configKeyOfArg(["hosts", 3, "connection", "password"], hs), { key: `smtp-port:hostSecrets["3"].password`, host: undefined });
        assert.deepEqual(configKeyOfArg(["hosts", 9, "connection", "password"], hs), { key: `smtp-port:hostSecrets["9"].password`, host: undefined });
    });

    it("connection fields at the entry's own names; other paths as written", () => {
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "user"], hs), { key: "smtp-port:hosts[0].user", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "dialErrorLimit"], hs), { key: "smtp-port:hosts[0].dialErrorLimit", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "perDialTimeout"], hs), { key: "smtp-port:hosts[0].perDialTimeout", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "host"], hs), { key: "smtp-port:hosts[0].host", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection", "proxy", "host"], hs), { key: "smtp-port:hosts[0].proxy.host", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "connection"], hs), { key: "smtp-port:hosts[0].connection", host: "mx1" });
        assert.deepEqual(configKeyOfArg(["hosts", 0, "odd-field"], hs), { key: `smtp-port:hosts[0]["odd-field"]`, host: "mx1" });
        assert.deepEqual(configKeyOfArg(["aliases", 1], hs), { key: "smtp-port:aliases[1]" });
        assert.deepEqual(configKeyOfArg(["listenerCheck", "timeoutMs"], hs), { key: "smtp-port:listenerCheck.timeoutMs" });
        assert.deepEqual(configKeyOfArg(["hosts"], hs), { key: "smtp-port:hosts" });
        assert.deepEqual(configKeyOfArg(["hosts", "x"], hs), { key: "smtp-port:hosts.x" });
    });
});

describe("stack config edges: whether a key was set as a secret", () => {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => unknown };
    const saved = runtime.isConfigSecret;
    const savedEnv = process.env.PULUMI_CONFIG_SECRET_KEYS;
    afterEach(() => {
        runtime.isConfigSecret = saved;
        if (savedEnv === undefined) delete process.env.PULUMI_CONFIG_SECRET_KEYS;
        else process.env.PULUMI_CONFIG_SECRET_KEYS = savedEnv;
    });

    it("asks the SDK when it can, taking only true as yes", () => {
        runtime.isConfigSecret = k => (k === "smtp-port:privateKey" ? true : k === "smtp-port:password" ? "yes" : false);
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(["smtp-port:password", "smtp-port:hostSecrets"]);
        assert.equal(configIsSecret("smtp-port:privateKey"), true);
        assert.equal(configIsSecret("smtp-port:password"), false);
        assert.equal(configIsSecret("smtp-port:hostSecrets"), false, "the SDK's answer, not the list's");
    });

    it("without the SDK's function, reads the list every language host passes", () => {
        runtime.isConfigSecret = undefined;
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(["smtp-port:privateKey"]);
        assert.equal(configIsSecret("smtp-port:privateKey"), true);
        assert.equal(configIsSecret("smtp-port:password"), false);
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify({ "smtp-port:privateKey": true });
        assert.equal(configIsSecret("smtp-port:privateKey"), false, "not a list");
        process.env.PULUMI_CONFIG_SECRET_KEYS = "[not json";
        assert.equal(configIsSecret("smtp-port:privateKey"), false);
        delete process.env.PULUMI_CONFIG_SECRET_KEYS;
        assert.equal(configIsSecret("smtp-port:privateKey"), false);
    });
});

describe("stack config edges: inventory problems by key, file and line", () => {
    const files = { inventory: "ansible/hosts.ini", knownHosts: "ansible/known_hosts", varsDirs: ["ansible/group_vars/", "ansible/host_vars/"] };
    const entries = [{ name: "mx1" }, { name: "" }, null];

    it("a problem of a key of its own", () => {
        for (const k of ["inventory", "knownHosts", "inventoryGroups", "hosts"]) {
            assert.deepEqual(inventoryProblem(`[${k}] is wrong\nsecond line`, files, entries), { key: `smtp-port:${k}`, message: "is wrong\nsecond line" });
        }
        assert.deepEqual(inventoryProblem("[other] is wrong", files, entries), { key: "smtp-port:inventory", message: "[other] is wrong" });
    });

    it("a problem of an smtp-port:hosts entry, with the entry's host when it has a name", () => {
        assert.deepEqual(inventoryProblem(`smtp-port:hosts[0] "mx1": [sshPort] is not read here`, files, entries),
            { key: "smtp-port:hosts[0].sshPort", message: "is not read here", host: "mx1" });
        assert.deepEqual(inventoryProblem(`smtp-port:hosts[1]: [name] names no host`, files, entries), { key: "smtp-port:hosts[1].name", message: "names no host" });
        assert.deepEqual(inventoryProblem(`smtp-port:hosts[2]: [name] x`, files, entries), { key: "smtp-port:hosts[2].name", message: "x" });
        assert.deepEqual(inventoryProblem(`smtp-port:hosts[7]: [name] x`, files, entries), { key: "smtp-port:hosts[7].name", message: "x" });
    });

    it("a problem in a file, with the file and line as where; the known_hosts file at knownHosts", () => {
        assert.deepEqual(inventoryProblem("ansible/hosts.ini:12: bad line", files, entries), { key: "smtp-port:inventory", where: "ansible/hosts.ini:12", message: "bad line" });
        assert.deepEqual(inventoryProblem("ansible/hosts.ini: no hosts", files, entries), { key: "smtp-port:inventory", where: "ansible/hosts.ini", message: "no hosts" });
        assert.deepEqual(inventoryProblem("ansible/known_hosts:3: not a key", files, entries), { key: "smtp-port:knownHosts", where: "ansible/known_hosts:3", message: "not a key" });
        assert.deepEqual(inventoryProblem("ansible/group_vars/all.yml:4: bad", files, entries), { key: "smtp-port:inventory", where: "ansible/group_vars/all.yml:4", message: "bad" });
        assert.deepEqual(inventoryProblem("ansible/host_vars/mx1: unreadable", files, entries), { key: "smtp-port:inventory", where: "ansible/host_vars/mx1", message: "unreadable" });
        assert.deepEqual(inventoryProblem("ansible/hosts.ini:2: [inventoryGroups] names no group", files, entries),
            { key: "smtp-port:inventoryGroups", where: "ansible/hosts.ini:2", message: "names no group" });
        const same = { ...files, knownHosts: files.inventory };
        assert.deepEqual(inventoryProblem("ansible/hosts.ini:1: x", same, entries), { key: "smtp-port:inventory", where: "ansible/hosts.ini:1", message: "x" });
    });

    it("text that only looks like a file's is the inventory's, whole", () => {
        for (const text of ["ansible/hosts.ini.bak: x", "ansible/group_vars/", "elsewhere: x", ":5: x"]) {
            assert.deepEqual(inventoryProblem(text, files, entries), { key: "smtp-port:inventory", message: text }, text);
        }
        assert.deepEqual(inventoryProblem(":5: x", { inventory: "", varsDirs: [] }, entries), { key: "smtp-port:inventory", message: ":5: x" }, "no inventory file: nothing matches");
        assert.deepEqual(inventoryProblem("ansible/known_hosts:3: x", { ...files, knownHosts: undefined }, entries), { key: "smtp-port:inventory", message: "ansible/known_hosts:3: x" });
    });
});

describe("stack config edges: readStackConfig", () => {
    const HOSTS = [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY }];

    it("a reserved key set to anything but empty is refused, naming what to do", () => {
        STACK_CONFIG.legacyKey = { type: "string", description: "gone", reserved: "the hosts come from smtp-port:hosts now" };
        try {
            const r = readStackConfig(configValues({ port: "17", hosts: HOSTS, privateKey: PRIVATE, legacyKey: "x" }), secretKeys("smtp-port:privateKey"));
            assert.deepEqual(r.problems.map(describeConfigProblem), ["smtp-port:legacyKey is not read by this version: the hosts come from smtp-port:hosts now; remove it"]);
            const empty = readStackConfig(configValues({ port: "17", hosts: HOSTS, privateKey: PRIVATE, legacyKey: "" }), secretKeys("smtp-port:privateKey"));
            assert.deepEqual(empty.problems, [], "Pulumi.yaml's empty default");
        } finally {
            delete STACK_CONFIG.legacyKey;
        }
    });

    it("an unknown field of a named host carries the host; of an unnamed one, none", () => {
        const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, hosts: [{ ...HOSTS[0], colour: "red" }, { name: "", host: "h", hostKey: HOST_KEY, sudoo: true }] }), secretKeys("smtp-port:privateKey"));
        const byKey = Object.fromEntries(r.problems.map(p => [p.key, p]));
        assert.equal(byKey["smtp-port:hosts[0].colour"].host, "mx1");
        assert.equal(byKey["smtp-port:hosts[1].sudoo"].host, undefined);
        assert.equal(byKey["smtp-port:hosts[1].sudoo"].message, "is not a field of a host: did you mean smtp-port:hosts[1].sudo?");
    });

    it("an inventory host's connection problems are named at the inventory variable or known_hosts", () => {
        const readHosts = () => ({
            hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, sshPort: 70000, user: "" } as unknown as HostConfig,
                { name: "mx2", host: "", hostKey: "not a key" } as unknown as HostConfig],
            warnings: [],
        });
        const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, inventory: "hosts.ini", knownHosts: "known_hosts", hosts: [] }),
            secretKeys("smtp-port:privateKey"), "dev", { baseDir: "/nowhere", readHosts });
        assert.deepEqual(r.problems.map(describeConfigProblem).sort(), [
            `smtp-port:inventory: hosts.ini: host "mx1": [ansible_port] must be an integer from 1 to 65535, got 70000`,
            `smtp-port:inventory: hosts.ini: host "mx1": [ansible_user] must be a user name, got ""`,
            `smtp-port:inventory: hosts.ini: host "mx2": [ansible_host] is required`,
            `smtp-port:knownHosts: known_hosts: host "mx2": [hostKey] must be an OpenSSH public key like "ssh-ed25519 AAAA...", got "not a key"`,
        ].sort());
    });

    it("an inventory host's own setting is named at its smtp-port:hosts entry if one names it, else at the inventory; its name always at the inventory", () => {
        const read = (hosts: unknown[], entries: unknown[]) => readStackConfig(
            configValues({ port: "17", privateKey: PRIVATE, inventory: "hosts.ini", knownHosts: "known_hosts", hosts: entries }),
            secretKeys("smtp-port:privateKey"), "dev", { baseDir: "/nowhere", readHosts: () => ({ hosts: hosts as HostConfig[], warnings: [] }) },
        ).problems.map(describeConfigProblem);
        assert.deepEqual(read([{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, sudo: "maybe" }], []),
            [`smtp-port:inventory: hosts.ini: host "mx1": [sudo] must be true or false, got "maybe"`]);
        assert.deepEqual(read([{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, sudo: "maybe" }], [{ name: "mx1" }]),
            [`smtp-port:hosts[0].sudo (mx1) must be true or false, got "maybe"`]);
        assert.deepEqual(read([{ name: "mx@1", host: "10.0.0.1", hostKey: HOST_KEY }], [{ name: "mx@1" }]),
            [`smtp-port:inventory: hosts.ini: host "mx@1": [name] must be letters, digits, . _ -, got "mx@1"`]);
    });
});
