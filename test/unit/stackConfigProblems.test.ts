// The stack config's problems that no other test reached: host entries that
// are not objects or have no usable name, hostSecrets in every wrong shape,
// a key of the wrong shape that is also a credential, knownHosts without an
// inventory, the order problems are listed in, and the errors' names. Each
// was a mutant of components/stackConfig/ that every test passed.
import { strict as assert } from "assert";
import {
    ConfigProblem, describeConfigProblem, readStackConfig, StackConfigError,
} from "../../components/stackConfig";
import { InventoryError } from "../../components/inventory";
import { CheckLinesError, decodeCheckLines } from "../../components/checkLines";
import { HOST_KEY, privateKey, configValues, secretKeys } from "../support/testConfig";

const PRIVATE = privateKey("problems");
const SECRETS = secretKeys("smtp-port:privateKey", "smtp-port:hostSecrets");
const host = (name: string, i: number) => ({ name, host: `198.18.0.${10 + i}`, hostKey: HOST_KEY });
const fleet = (n: number) => Array.from({ length: n }, (_, i) => host(`mx${i + 1}`, i));
const read = (set: Record<string, unknown>, isSecret = SECRETS) => readStackConfig(configValues({ port: "17", privateKey: PRIVATE, ...set }), isSecret, "dev");
const said = (set: Record<string, unknown>, isSecret = SECRETS) => read(set, isSecret).problems.map(describeConfigProblem);

describe("stack config problems: host entries", () => {
    it("an entry that is null is named by the component, not read as an object", () => {
        const r = read({ hosts: [null, host("mx2", 1)] });
        assert.deepEqual(r.problems.map(p => p.key), ["smtp-port:hosts[0]"]);
    });

    it("an entry with an empty name is named by its index only", () => {
        const r = read({ hosts: [{ ...host("", 0), colour: "red" }, host("mx2", 1)] });
        const unknown = r.problems.find(p => p.key === "smtp-port:hosts[0].colour");
        assert.ok(unknown, JSON.stringify(r.problems));
        assert.equal(unknown.host, undefined, "no host name for an empty one");
        assert.equal("host" in unknown, false);
    });

    it("a private key in a nameless entry: the secret's path says NAME", () => {
        const r = read({ hosts: [{ host: "198.18.0.10", hostKey: HOST_KEY, privateKey: "k" }] });
        const p = r.problems.find(x => x.key === "smtp-port:hosts[0].privateKey");
        assert.ok(p, JSON.stringify(r.problems));
        assert.match(p.message, /pulumi config set --secret --path 'smtp-port:hostSecrets\.NAME\.privateKey' < KEYFILE/);
    });
});

describe("stack config problems: hostSecrets", () => {
    it("a name far from every host lists the hosts", () => {
        assert.deepEqual(said({ hosts: fleet(2), hostSecrets: { zzzzzzzz: { password: "p" } } }), [
            "smtp-port:hostSecrets.zzzzzzzz names no host of smtp-port:hosts (the hosts: mx1, mx2)",
        ]);
    });

    it("a host without a name does not break the list of names", () => {
        assert.deepEqual(said({ hosts: [{ host: "198.18.0.10", hostKey: HOST_KEY }, host("mx2", 1)], hostSecrets: { mx9: { password: "p" } } })
            .filter(s => s.startsWith("smtp-port:hostSecrets")), [
            "smtp-port:hostSecrets.mx9 names no host of smtp-port:hosts: did you mean mx2?",
        ]);
    });

    it("an entry that is not an object, and a credential that is not a string", () => {
        assert.deepEqual(said({ hosts: fleet(2), hostSecrets: { mx1: "p", mx2: { password: 5 } } }), [
            "smtp-port:hostSecrets.mx1 must be an object with privateKey and/or password",
            "smtp-port:hostSecrets.mx2.password must be a string",
        ]);
    });

    it("privateKey and password are its fields: set as strings, no problem", () => {
        const r = read({ hosts: fleet(2), hostSecrets: { mx1: { password: "p" }, mx2: { privateKey: PRIVATE } } });
        assert.deepEqual(r.problems, []);
    });

    it("with knownHosts but no inventory, the hosts as written are still checked against hostSecrets", () => {
        const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, hosts: fleet(2), knownHosts: "known_hosts", hostSecrets: { mx9: { password: "p" } } }), SECRETS, "dev");
        assert.deepEqual(r.problems.map(describeConfigProblem), [
            "smtp-port:knownHosts is read only with smtp-port:inventory (set both, or neither)",
            "smtp-port:hostSecrets.mx9 names no host of smtp-port:hosts: did you mean mx1?",
        ].sort((a, b) => (a.startsWith("smtp-port:knownHosts") ? 1 : 0) - (b.startsWith("smtp-port:knownHosts") ? 1 : 0)));
        assert.deepEqual(r.args.hosts.map(h => h.name), ["mx1", "mx2"]);
        assert.deepEqual(r.warnings, []);
    });
});

describe("stack config problems: keys of the wrong shape", () => {
    it("hostSecrets in plain text and not an object: one problem, the shape (its value never shown)", () => {
        assert.deepEqual(said({ hosts: fleet(1), hostSecrets: "hunter2" }, secretKeys("smtp-port:privateKey")), [
            "smtp-port:hostSecrets must be an object",
        ]);
    });

    it("rollout set to null is not an object", () => {
        assert.deepEqual(said({ hosts: fleet(1), rollout: "null" }), [
            "smtp-port:rollout must be an object (in Pulumi.<stack>.yaml, or with pulumi config set --path 'smtp-port:rollout.FIELD' VALUE), got null",
        ]);
    });

    it("the port is read as a number, and a word is shown as the text it is", () => {
        assert.strictEqual(read({ hosts: fleet(1) }).args.port, 17);
        assert.deepEqual(said({ port: "true", hosts: fleet(1) }), ['smtp-port:port must be an integer from 1 to 65535, got "true"']);
    });

    it("two unknown fields of one host are both named, even one called undefined", () => {
        assert.deepEqual(read({ hosts: [{ ...host("mx1", 0), qqqqqqqqqq: 1, undefined: 2 }] }).problems.map(p => p.key), [
            "smtp-port:hosts[0].qqqqqqqqqq", "smtp-port:hosts[0].undefined",
        ]);
    });

    it("without a stack name, messages name Pulumi.<stack>.yaml", () => {
        const r = readStackConfig(configValues({ port: "17", hosts: fleet(1), privateKey: PRIVATE }), () => false);
        assert.deepEqual(r.problems.map(describeConfigProblem), [
            "smtp-port:privateKey must be a secret, but it is in plain text in Pulumi.<stack>.yaml: set it again with pulumi config set --secret smtp-port:privateKey < KEYFILE (and replace the credential if that file was shared)",
        ]);
    });
});

describe("stack config problems: an inventory's vars files", () => {
    // The inventory module names a vars file's line relative to the project
    // folder; the problem is the inventory's, at that file and line.
    for (const dir of ["group_vars", "host_vars"]) {
        it(`a problem in ${dir}/ is the inventory's, at the file and line`, () => {
            const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, inventory: "inv/hosts.ini", knownHosts: "known_hosts" }), SECRETS, "dev", {
                baseDir: "/project",
                readHosts: () => { throw new InventoryError([`inv/${dir}/mail.yml:3: host "mx1": [ansible_port] must be an integer from 1 to 65535, got "x"`]); },
            });
            assert.deepEqual(r.problems, [{
                key: "smtp-port:inventory", where: `inv/${dir}/mail.yml:3`, message: `host "mx1": [ansible_port] must be an integer from 1 to 65535, got "x"`,
            }]);
            assert.deepEqual(r.warnings, []);
        });
    }

    it("a line of another file in the inventory's folder is shown as the inventory module wrote it", () => {
        const text = "inv/notes.yml:1: something about notes";
        const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, inventory: "inv/hosts.ini", knownHosts: "known_hosts" }), SECRETS, "dev", {
            baseDir: "/project",
            readHosts: () => { throw new InventoryError([text]); },
        });
        assert.deepEqual(r.problems, [{ key: "smtp-port:inventory", message: text }]);
    });

    it("an inventory that yields no host: the host list's own problem, not a host's", () => {
        const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, inventory: "hosts.ini", knownHosts: "known_hosts" }), SECRETS, "dev", {
            readHosts: () => ({ hosts: [], warnings: [] }),
        });
        assert.deepEqual(r.problems.map(p => p.key), ["smtp-port:hosts"]);
        assert.match(r.problems[0].message, /^must list at least one host/);
    });
});

describe("stack config problems: the order they are listed in", () => {
    it("by key as Pulumi.yaml lists them, hosts by index (10 after 2), fields as HOST_FIELDS lists them (user before port), unknown fields after", () => {
        const hosts = fleet(12).map((h, i) => (i === 10 ? { ...h, port: "0" } : i === 2 ? { ...h, port: "0", user: "", zzzzzzzzzz: 1 } : h));
        const keys = read({ port: "0", hosts, rollout: { canary: "nope" } }).problems.map(p => p.key);
        assert.deepEqual(keys, [
            "smtp-port:port",
            "smtp-port:hosts[2].user",
            "smtp-port:hosts[2].port",
            "smtp-port:hosts[2].zzzzzzzzzz",
            "smtp-port:hosts[10].port",
            "smtp-port:rollout.canary",
        ]);
    });

    it("a key that is not a word after the namespace sorts first, with the unknown keys", () => {
        const keys = readStackConfig({ ...configValues({ port: "0", privateKey: PRIVATE, hosts: fleet(1) }), "smtp-port:-x": "1" }, SECRETS, "dev").problems.map(p => p.key);
        assert.deepEqual(keys, ["smtp-port:-x", "smtp-port:port"]);
    });

    it("problems of one key keep the order they were found in", () => {
        const r = readStackConfig(configValues({ port: "17", privateKey: PRIVATE, hosts: fleet(1) }), SECRETS, "dev", {
            readHosts: () => { throw new InventoryError(["[knownHosts] first", "[knownHosts] second", "[knownHosts] third"]); },
        });
        assert.deepEqual(r.problems.map(describeConfigProblem), [
            "smtp-port:knownHosts first", "smtp-port:knownHosts second", "smtp-port:knownHosts third",
        ]);
    });
});

describe("stack config problems: the errors", () => {
    it("StackConfigError and CheckLinesError say their names", () => {
        const problems: ConfigProblem[] = [{ key: "smtp-port:port", message: "must be an integer" }];
        const e = new StackConfigError(problems, "dev");
        assert.equal(e.name, "StackConfigError");
        assert.match(String(e), /^StackConfigError: smtp-port: the stack config of stack "dev" has 1 problem;/);
        let thrown: unknown;
        try { decodeCheckLines("smtp-check", "not json\n"); } catch (err) { thrown = err; }
        assert.ok(thrown instanceof CheckLinesError);
        assert.equal((thrown as Error).name, "CheckLinesError");
    });

    it("a check line is read without its surrounding blanks, and quoted so in an error", () => {
        assert.throws(() => decodeCheckLines("smtp-check", "   {oops}   \n"),
            (e: Error) => e.message === `smtp-check: line 1 of the listener check's output is not JSON: "{oops}"`);
    });
});
