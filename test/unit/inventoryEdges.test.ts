// components/inventory/ at edges the fixture-based tests do not reach: Python
// literal escapes and whitespace, unpadded ranges, IPv6 forms, an empty
// host name, a group as its own child, a truncated known_hosts key, and
// the ansible_ssh_port spelling.
import { strict as assert } from "assert";
import {
    expandHostPattern, expandHostRange, hostsFromInventory, parseIniInventory, parseKnownHosts, parseYamlInventory, pyLiteral, resolveInventory,
} from "../../components/inventory";

describe("inventory edges", () => {
    it("pyLiteral: escapes as Python reads them; spaces, tabs, form feeds and line ends around a number; a sign", () => {
        const cases: [string, unknown][] = [
            [String.raw`'\''`, "'"], [String.raw`"\""`, "\""], [String.raw`'\\'`, "\\"], [String.raw`'\x41'`, "A"], [String.raw`'\q'`, "\\q"],
            [String.raw`'\t'`, "\t"], [String.raw`'\101'`, "A"], [String.raw`'\u00e9'`, "é"],
            ["5\t", 5], ["5\f", 5], ["5\r", 5], ["5\n", 5], ["5 ", 5], ["\t5", 5],
            ["+5", 5], ["-5", -5], ["- 5", -5], ["*5", "*5"], ["5 6", "5 6"],
        ];
        for (const [text, want] of cases) assert.deepEqual(pyLiteral(text), want, JSON.stringify(text));
    });

    it("expandHostRange: pads only when the begin has a leading zero", () => {
        assert.deepEqual(expandHostRange("mx[98:100]"), ["mx98", "mx99", "mx100"]);
        assert.deepEqual(expandHostRange("mx[9:10]"), ["mx9", "mx10"]);
        assert.deepEqual(expandHostRange("mx[0:2]"), ["mx0", "mx1", "mx2"]);
        assert.deepEqual(expandHostRange("mx[08:10]"), ["mx08", "mx09", "mx10"]);
        assert.throws(() => expandHostRange("mx[08:100]"), /equal-length begin and end/);
    });

    it("expandHostPattern: every compressed IPv6 form is an address, not a host and port", () => {
        for (const a of ["1:2:3:4:5:6:7:8", "1::8", "1:2::8", "1:2:3::8", "1:2:3:4::8", "1:2:3:4:5::8", "1:2:3:4:5:6::8", "1::", "::8", "::", "::ffff:10.0.0.1"]) {
            const r = expandHostPattern(a);
            assert.deepEqual([r.names, r.port], [[a], undefined], a);
            assert.deepEqual(expandHostPattern(`[${a}]:2022`), { names: [a], port: 2022 }, `[${a}]:2022`);
        }
        assert.deepEqual(expandHostPattern("mx1:2222"), { names: ["mx1"], port: 2222 });
    });

    it("an empty host name is a problem naming the file and line, in INI and YAML; so is an empty YAML group name", () => {
        assert.deepEqual(parseIniInventory("[g]\n\"\"\n", "hosts.ini").problems, ["hosts.ini:2: empty host name"]);
        assert.deepEqual(parseYamlInventory("all:\n  hosts:\n    \"\":\n", "hosts.yml").problems, ["hosts.yml:3: empty host name"]);
        const g = parseYamlInventory("all:\n  children:\n    \"\":\n      hosts:\n        mx1:\n", "hosts.yml");
        assert.deepEqual(g.problems, ["hosts.yml:3: empty group name"]);
        assert.equal(g.groups.has(""), false);
        assert.equal(g.hosts.has("mx1"), false, "nothing under the empty group is read");
    });

    it("a group cannot be its own child", () => {
        assert.deepEqual(parseIniInventory("[a:children]\na\n", "hosts.ini").problems, [`hosts.ini:2: group "a" cannot be its own child`]);
    });

    it("a known_hosts key shorter than its own length field is truncated", () => {
        assert.deepEqual(parseKnownHosts("mx1 ssh-ed25519 AAAA\n", "kh").problems, ["kh:1: the key is truncated"]);
        // A length of 11 ("ssh-ed25519") but only 4 bytes after it.
        const short = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-")]).toString("base64");
        assert.deepEqual(parseKnownHosts(`mx1 ssh-ed25519 ${short}\n`, "kh").problems, ["kh:1: the key is truncated"]);
    });

    it("ansible_ssh_port is named as written", () => {
        const inv = resolveInventory({ inventory: parseIniInventory("mx1 ansible_host=10.0.0.1 ansible_ssh_port=0\n", "hosts.ini"), groupVars: new Map(), hostVars: new Map() });
        const problems = hostsFromInventory(inv, parseKnownHosts("", "kh")).problems.filter(p => p.includes("port"));
        assert.deepEqual(problems, [`hosts.ini:1: host "mx1": [ansible_ssh_port] must be an integer from 1 to 65535, got 0`]);
    });
});
