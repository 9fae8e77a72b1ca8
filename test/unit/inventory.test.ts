import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { validateSmtpPortArgs } from "../../components/validate";
import { fleetFromConfig } from "../../components/stackConfig";
import {
    expandHostPattern, hostsFromInventory, InventoryError, inventoryHostsFromFiles, knownHostsName, loadInventory,
    lookupKnownHosts, parseIniInventory, parseInventory, parseKnownHosts, parseVarsFile, parseYamlInventory, pinHostKey, pyLiteral,
    readKnownHosts, resolveInventory, ResolvedHost, ResolvedInventory, shlexSplit, stackHosts, UnsafeString, OpaqueValue,
} from "../../components/inventory";
import { AnsibleList, ansibleInventory, hostGroups, tool } from "../support/ansible";

const ROOT = path.join(__dirname, "..", "..");
const FIX = path.join(ROOT, "test", "fixtures", "inventory");
const fx = (...p: string[]) => path.join(FIX, ...p);
const resolve = (file: string): ResolvedInventory => resolveInventory(loadInventory(fx(file), ROOT));
const host = (inv: ResolvedInventory, name: string): ResolvedHost => {
    const h = inv.hosts.find(x => x.name === name);
    assert.ok(h, `no host ${name} in ${inv.file}`);
    return h;
};
/** The file:line where a host's winning value of `v` was written. */
const origin = (h: ResolvedHost, v: string) => {
    const o = h.vars.get(v)?.origin;
    return o ? `${o.file}:${o.line}` : undefined;
};
const KH = () => readKnownHosts(fx("known_hosts"), ROOT);
const KEY = {
    mx1: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx",
    mx2: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILglGD6HQZQrKFT7lrBG7LVGKBGzV8dgF4+oT81/2iWu",
    mx3: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIICf4aCrZC3lGYSfY4gO9AkKpLTUEdQTNdsBfDx2XPPj",
    rsa: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDDjWIM5V7cJij7lkLNLY2Ig/PlxwZT9MY0Cm/9vqYEC56hHuSs6ydblOnqcLeB5tZVdAdQK+eKbRDxqWFBZKAEZJoM5da8Bo5ZvVWUiIxej7CblskkHwviXCGgchs/wfVHPPCsYFo4e5rizCqRO6W7GCL7/P9O1dg8t/qLBbO47Q==",
    wild: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINFPOnQ6BVKdF165g62sTA4aPl8pWh93zd7kFx9BfdUU",
};

// ------------------------------------------------------------ the tools --

/** `ansible-inventory -i FILE --list [...more]` (test/support/ansible.ts). */
const ansibleList = (file: string, ...more: string[]) => ansibleInventory(file, { more });

/** What Ansible's ssh connection would use for each host, from `ansible-inventory --list`. */
function fromAnsible(list: AnsibleList) {
    const hv = list._meta.hostvars;
    const groupsOf = hostGroups(list);
    // ansible-inventory shows `!unsafe` strings as {"__ansible_unsafe": text}.
    const plain = (v: unknown) => (v !== null && typeof v === "object" && "__ansible_unsafe" in v ? (v as Record<string, unknown>).__ansible_unsafe : v);
    // As the ssh plugin: the last of its variable names that is set wins.
    const pick = (vars: Record<string, unknown>, ...names: string[]) => {
        let out: unknown;
        for (const n of names) if (vars[n] !== undefined && vars[n] !== null) out = plain(vars[n]);
        return out;
    };
    return [...groupsOf.keys()].sort().map(name => {
        const vars = hv[name] ?? {};
        return {
            name, groups: groupsOf.get(name)!,
            address: pick(vars, "ansible_host", "ansible_ssh_host") ?? name,
            port: pick(vars, "ansible_port", "ansible_ssh_port") ?? 22,
            user: pick(vars, "ansible_user", "ansible_ssh_user"),
        };
    });
}

function fromSmtpPort(inv: ResolvedInventory) {
    const plain = (v: unknown) => (v instanceof UnsafeString ? v.text : v);
    return inv.hosts.map(h => ({ name: h.name, groups: h.groups, address: plain(h.address), port: plain(h.port), user: plain(h.user) }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Line numbers `ssh-keygen -F NAME -f FILE` reports. */
function sshKeygenLines(name: string, file: string): number[] {
    let out = "";
    try {
        out = execFileSync(tool("ssh-keygen"), ["-F", name, "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
        // Exit 1: not found (nothing printed).
        out = (e as { stdout?: string }).stdout ?? "";
    }
    return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map(m => Number(m[1]));
}

// ---------------------------------------------------------- INI pieces --

describe("inventory: INI values and lines as Ansible reads them", () => {
    const cases: [string, unknown][] = [
        ["22", 22], ["0x7e6", 2022], ["0o17", 15], ["1_000", 1000], ["-5", -5], ["1.5", 1.5],
        ["'root'", "root"], ["\"a b\"", "a b"], ["'a' \"b\"", "ab"], ["'tab\\there'", "tab\there"], ["r'a\\tb'", "a\\tb"],
        ["True", true], ["False", false], ["None", null],
        ["root", "root"], ["198.18.0.11", "198.18.0.11"], ["mx1.example.net", "mx1.example.net"], ["022", "022"],
        ["22 # a comment", 22], ["root # a comment", "root # a comment"], ["'03#pw'", "03#pw"], ["1+2", "1+2"], ["", ""],
        ["f'x'", "f'x'"], ["'unclosed", "'unclosed"], ["(22)", 22],
    ];
    for (const [text, want] of cases) {
        it(`reads ${JSON.stringify(text)} as ${JSON.stringify(want)}`, () => assert.deepEqual(pyLiteral(text), want));
    }

    it("marks Python containers and complex numbers as values it cannot use", () => {
        for (const t of ["[1, 2]", "{'a': 1}", "(1, 2)", "1j"]) assert.ok(pyLiteral(t) instanceof OpaqueValue, t);
    });

    it("splits host lines as shlex does, comments and quotes included", () => {
        assert.deepEqual(shlexSplit(`mx1 a="b c" d='e f' # comment`), ["mx1", "a=b c", "d=e f"]);
        assert.deepEqual(shlexSplit(`mx1 pw=ab#cd`), ["mx1", "pw=ab"]);
        assert.deepEqual(shlexSplit(`mx1 x="a\\"b" y=\\#z e=""`), ["mx1", "x=a\"b", "y=#z", "e="]);
        assert.throws(() => shlexSplit(`mx1 a="b`), /No closing quotation/);
    });

    it("expands host patterns: ports, IPv6 in brackets, ranges with padding, letters and steps", () => {
        assert.deepEqual(expandHostPattern("mx1:2222"), { names: ["mx1"], port: 2222 });
        assert.deepEqual(expandHostPattern("[2001:db8::7]:2022"), { names: ["2001:db8::7"], port: 2022 });
        assert.deepEqual(expandHostPattern("2001:db8::7"), { names: ["2001:db8::7"], port: undefined });
        assert.deepEqual(expandHostPattern("mx[08:10]").names, ["mx08", "mx09", "mx10"]);
        assert.deepEqual(expandHostPattern("mx[a:e:2]-[1:2]").names, ["mxa-1", "mxa-2", "mxc-1", "mxc-2", "mxe-1", "mxe-2"]);
        assert.deepEqual(expandHostPattern("bk[01:05:2].example.net:2201"), { names: ["bk01.example.net", "bk03.example.net", "bk05.example.net"], port: 2201 });
        assert.throws(() => expandHostPattern("mx[1:]"), /must specify end value/);
        assert.throws(() => expandHostPattern("mx[1:10:0]"), /step must not be zero/);
    });

    it("names the file and line of every problem in an INI inventory, all at once", () => {
        const inv = parseIniInventory([
            "[mx]", "mx1 ansible_port", "mx2 a=\"b", "mx[1:]", "[eu:children]", "eu_west", "[web:vars]", "x=1", "[mx:nope]", "[bad name]",
        ].join("\n"), "hosts.ini");
        assert.deepEqual(inv.problems, [
            `hosts.ini:2: expected key=value after the host name, got "ansible_port"`,
            "hosts.ini:3: cannot split the host line: No closing quotation",
            `hosts.ini:4: host pattern "mx[1:]": host range must specify end value`,
            "hosts.ini:9: section [mx:nope] has an unknown type (hosts, vars or children)",
            `hosts.ini:10: invalid section "[bad name]" (no spaces or other characters in a section name)`,
            `hosts.ini:6: [eu:children] names group "eu_west", which is not declared ([eu_west] or [eu_west:children])`,
            `hosts.ini:7: [web:vars] is for group "web", which is not declared ([web] or [web:children])`,
        ]);
    });

    it("refuses a children loop, naming the line", () => {
        const inv = parseIniInventory("[a:children]\nb\n[b:children]\na\n", "loop.ini");
        assert.deepEqual(inv.problems, [`loop.ini:4: adding group "a" as a child of "b" makes a loop`]);
    });
});

// --------------------------------------------------------- YAML pieces --

describe("inventory: YAML as Ansible (PyYAML, YAML 1.1) reads it", () => {
    it("reads plain scalars by YAML 1.1: yes/no, octal 022, 1:20, 1e3 stays a string", () => {
        const inv = parseYamlInventory("all:\n  hosts:\n    a: {u: no, p: 022, s: 1:20, e: 1e3, f: 1.5e+3, o: 0o26, n: ~, q: '022'}\n", "t.yml");
        const v = Object.fromEntries([...inv.hosts.get("a")!.vars].map(([k, x]) => [k, x.value]));
        assert.deepEqual(v, { u: false, p: 18, s: 80, e: "1e3", f: 1500, o: "0o26", n: null, q: "022" });
    });

    it("keeps !unsafe text literal and a !vault value opaque", () => {
        const inv = parseYamlInventory("all:\n  hosts:\n    a:\n      x: !unsafe '{{ y }}'\n      z: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        3132\n", "t.yml");
        const vars = inv.hosts.get("a")!.vars;
        assert.deepEqual(vars.get("x")!.value, new UnsafeString("{{ y }}"));
        assert.ok(vars.get("z")!.value instanceof OpaqueValue);
    });

    it("names the line of each host and variable", () => {
        const inv = resolveInventory({ inventory: parseYamlInventory(fs.readFileSync(fx("yaml", "hosts.yml"), "utf8"), "hosts.yml"), groupVars: new Map(), hostVars: new Map() });
        assert.equal(origin(host(inv, "mx02"), "ansible_port"), "hosts.yml:18");
        assert.equal(origin(host(inv, "mx03"), "ansible_port"), "hosts.yml:19");
        assert.equal(origin(host(inv, "mx01"), "ansible_host"), "hosts.yml:15");
        assert.equal(origin(host(inv, "mx05"), "ansible_user"), "hosts.yml:40");
        assert.deepEqual(host(inv, "mx04").origin, { file: "hosts.yml", line: 21 });
    });

    it("refuses what Ansible only warns about and skips (hosts would be lost), and plugin configs, naming the line", () => {
        assert.deepEqual(parseYamlInventory("# c\nmx: [mx1, mx2]\n", "l.yml").problems,
            [`l.yml:2: group "mx" must be a mapping with hosts, vars and children, got ["mx1","mx2"]`]);
        assert.deepEqual(parseYamlInventory("mx:\n  host:\n    mx1:\n", "k.yml").problems,
            [`k.yml:2: group "mx": unexpected key "host" (only hosts, vars and children)`]);
        assert.match(parseYamlInventory("plugin: aws_ec2\n", "p.yml").problems[0], /^p\.yml:1: this is a dynamic inventory plugin's configuration/);
        assert.match(parseYamlInventory("mx:\n  hosts:\n    mx1:\n  hosts:\n", "d.yml").problems[0], /^d\.yml:4: duplicated mapping key/);
        assert.deepEqual(parseYamlInventory("", "e.yml").problems, ["e.yml: the YAML inventory is empty"]);
    });

    it("picks the format by extension, and tries YAML first without one", () => {
        assert.equal(parseInventory("mx:\n  hosts:\n    mx1:\n", "inv").hosts.has("mx1"), true);
        assert.equal(parseInventory("[mx]\nmx1\n", "inv").hosts.has("mx1"), true);
        assert.equal(parseInventory("[mx]\nmx1\n", "inv.yml").problems.length > 0, true);
    });

    it("reads vars files: empty is nothing, vault-encrypted is skipped and said, a list is a problem", () => {
        assert.equal(parseVarsFile("", "g.yml").vars.size, 0);
        assert.deepEqual(parseVarsFile("$ANSIBLE_VAULT;1.1;AES256\n6162\n", "v.yml").skipped, ["v.yml"]);
        assert.deepEqual(parseVarsFile("- a\n", "l.yml").problems, [`l.yml:1: must be a mapping of variable names to values, got ["a"]`]);
    });
});

// ---------------------------------------------------------- precedence --

describe("inventory: groups, children and precedence", () => {
    it("group_vars/ beats the inventory's group vars; host vars beat both; host_vars/ beats all", () => {
        const inv = resolve("ini/hosts.ini");
        // group_vars/all.yml over [mx:vars] ansible_user=mx-admin.
        assert.equal(host(inv, "mx02").user, "deploy");
        assert.equal(origin(host(inv, "mx02"), "ansible_user"), "test/fixtures/inventory/ini/group_vars/all.yml:1");
        // mx04's own ansible_user='admin' over every group.
        assert.equal(host(inv, "mx04").user, "admin");
        // host_vars/relay0/ (a folder) over everything.
        assert.equal(host(inv, "relay0").user, "relay");
        assert.equal(host(inv, "mx05").address, "198.18.0.15");
    });

    it("orders groups by depth, then ansible_group_priority, then name", () => {
        const inv = resolve("ini/hosts.ini");
        // mx and eu_west are both at depth 2; eu_west's priority 5 puts its group_vars last.
        assert.equal(host(inv, "mx01").port, 2024);
        assert.equal(origin(host(inv, "mx01"), "ansible_port"), "test/fixtures/inventory/ini/group_vars/eu_west.yml:1");
        // group_vars/mx/ is a folder: its files in name order, .txt and hidden files ignored.
        assert.equal(host(inv, "mx05").port, 2023);
        // group_vars/eu (no extension) is read and eu.yml is not.
        assert.equal(host(inv, "mx01").user, "eu-noext");
    });

    it("keeps the first port of a host pattern, and prefers ansible_ssh_host to ansible_host", () => {
        const inv = resolve("ini/hosts.ini");
        assert.equal(host(inv, "mx03").port, 2200);
        assert.equal(host(inv, "mxa").address, "198.18.0.21");
        assert.deepEqual(host(inv, "relay0").groups, ["all", "mail", "mx"]);
    });
});

// ---------------------------------------- the same as ansible-inventory --

const AGREE = ["ini/hosts.ini", "yaml/hosts.yml", "fleet/hosts.ini", "fleet/hosts.yml", "noext/ini-inventory", "noext/yaml-inventory"];
const REFUSED_BY_BOTH = ["broken/undeclared-child.ini", "broken/vars-undeclared.ini", "broken/bad-range.ini", "broken/no-equals.ini", "broken/open-quote.ini", "broken/plugin.yml"];

describe("inventory: the same hosts, addresses, ports and users as ansible-inventory --list", function () {
    this.timeout(300000);
    const runs = new Map<string, Promise<{ code: number; out: string; err: string }>>();
    const run = (f: string) => {
        if (!runs.has(f)) runs.set(f, ansibleList(fx(f)));
        return runs.get(f)!;
    };
    before(function () {
        tool("ansible-inventory"); // fail here, loudly, when ansible-core is missing
        // Two at a time: the machine has two cores and others work on it.
        const all = [...AGREE, ...REFUSED_BY_BOTH, "broken/trailing-comment.ini", "broken/yaml11.yml", "broken/group-list.yml", "broken/typo-key.yml"];
        return all.reduce<Promise<unknown>>((p, f, i) => (i % 2 === 0 ? p.then(() => Promise.all([run(f), all[i + 1] ? run(all[i + 1]) : null])) : p), Promise.resolve());
    });

    for (const f of AGREE) {
        it(f, async () => {
            const r = await run(f);
            assert.equal(r.code, 0, `ansible-inventory failed on ${f}: ${r.err}`);
            const inv = resolve(f);
            assert.deepEqual(inv.problems, []);
            const mine = fromSmtpPort(inv);
            assert.ok(mine.length > 0);
            assert.deepEqual(mine, fromAnsible(JSON.parse(r.out)));
        });
    }

    for (const f of ["ini/hosts.ini", "yaml/hosts.yml"]) {
        it(`${f}, exported with ansible-inventory --list -y (the way in for dynamic inventories), reads the same`, async () => {
            const exported = await ansibleList(fx(f), "-y");
            assert.equal(exported.code, 0, exported.err);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-export-"));
            try {
                fs.writeFileSync(path.join(dir, "static.yml"), exported.out);
                const inv = resolveInventory(loadInventory(path.join(dir, "static.yml")));
                assert.deepEqual(inv.problems, []);
                assert.deepEqual(fromSmtpPort(inv), fromAnsible(JSON.parse((await run(f)).out)));
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }

    for (const f of REFUSED_BY_BOTH) {
        it(`${f}: refused by both`, async () => {
            const r = await run(f);
            assert.notEqual(r.code, 0, `ansible-inventory accepted ${f}`);
            assert.notDeepEqual(resolve(f).problems, []);
        });
    }

    it("an INI :vars line keeps a trailing comment in a string (Ansible too): the user is refused, naming the line", async () => {
        const r = await run("broken/trailing-comment.ini");
        const ansible = fromAnsible(JSON.parse(r.out));
        assert.deepEqual(ansible.map(h => [h.user, h.port]), [["root # the admin", 22]]);
        const inv = resolve("broken/trailing-comment.ini");
        assert.deepEqual(fromSmtpPort(inv).map(h => [h.user, h.port]), [["root # the admin", 22]]);
        const { problems } = hostsFromInventory(inv, KH());
        assert.deepEqual(problems, [`test/fixtures/inventory/broken/trailing-comment.ini:5: host "mx1": [ansible_user] must be a user name without spaces, ` +
            `got "root # the admin" (an INI :vars line keeps a trailing "# comment" as part of the value)`]);
    });

    it("YAML 1.1 makes `no` a boolean and leaves 0o26 a string (Ansible too): both refused, naming the lines", async () => {
        const r = await run("broken/yaml11.yml");
        const ansible = fromAnsible(JSON.parse(r.out));
        assert.deepEqual(ansible.map(h => [h.user, h.port]), [[false, "0o26"]]);
        const inv = resolve("broken/yaml11.yml");
        assert.deepEqual(fromSmtpPort(inv).map(h => [h.user, h.port]), [[false, "0o26"]]);
        assert.deepEqual(hostsFromInventory(inv, KH()).problems, [
            `test/fixtures/inventory/broken/yaml11.yml:5: host "mx1": [ansible_user] must be a user name, got false`,
            `test/fixtures/inventory/broken/yaml11.yml:6: host "mx1": [ansible_port] must be an integer from 1 to 65535, got "0o26"`,
        ]);
    });

    it("a group that is a list, or a mistyped key, loses its hosts in Ansible (a warning): here they are refused", async () => {
        for (const f of ["broken/group-list.yml", "broken/typo-key.yml"]) {
            const r = await run(f);
            assert.equal(r.code, 0);
            assert.deepEqual(fromAnsible(JSON.parse(r.out)), [], `${f}: Ansible kept hosts`);
            assert.equal(resolve(f).problems.length, 1, f);
        }
    });
});

// --------------------------------------------------------- known_hosts --

describe("known_hosts: parsing and lookup", () => {
    it("looks up [host]:port on any port but 22, in lower case as ssh does", () => {
        assert.equal(knownHostsName("MX1.example.net"), "mx1.example.net");
        assert.equal(knownHostsName("198.18.0.13", 2222), "[198.18.0.13]:2222");
        assert.equal(knownHostsName("2001:db8::7", 2022), "[2001:db8::7]:2022");
    });

    it("matches comma lists, wildcards and negations", () => {
        const kh = KH();
        const keys = (h: string, p?: number) => lookupKnownHosts(kh, h, p).filter(e => !e.marker).map(e => e.line);
        assert.deepEqual(keys("mx2.example.net"), [4]);
        assert.deepEqual(keys("198.18.0.12"), [4, 5]);
        assert.deepEqual(keys("mx1.lab.test"), [10]);
        assert.deepEqual(keys("mx9.lab.test"), []);
        assert.deepEqual(keys("198.18.0.13"), [8]);
        assert.deepEqual(keys("198.18.0.13", 2222), [7]);
    });

    it("pins the best key type, never a CA's, a revoked one, or one of two different keys", () => {
        const kh = KH();
        assert.deepEqual(pinHostKey(kh, "198.18.0.11"), { key: KEY.mx1, line: 3 });
        // ed25519 before ecdsa, whichever line comes first.
        assert.deepEqual(pinHostKey(kh, "198.18.0.12"), { key: KEY.mx2, line: 5 });
        assert.deepEqual(pinHostKey(kh, "198.18.0.13", 2222), { key: KEY.mx3, line: 7 });
        assert.deepEqual(pinHostKey(kh, "198.18.0.21"), { key: KEY.rsa, line: 14 });
        assert.deepEqual(pinHostKey(kh, "MX1.LAB.TEST"), { key: KEY.wild, line: 10 });
        assert.deepEqual(pinHostKey(kh, "198.18.0.20"), {
            problem: "every key for 198.18.0.20 in test/fixtures/inventory/known_hosts is @revoked (line 13): add the host's new key",
        });
        assert.deepEqual(pinHostKey(kh, "a.example.org"), {
            problem: "a.example.org has only @cert-authority lines in test/fixtures/inventory/known_hosts; smtp-port pins a host's own key: add it (`ssh-keyscan a.example.org`, and check the fingerprint)",
        });
        assert.deepEqual(pinHostKey(kh, "198.18.0.22"), {
            problem: "198.18.0.22 has 2 different ssh-ed25519 keys in test/fixtures/inventory/known_hosts (lines 15, 16): remove the stale one",
        });
        assert.deepEqual(pinHostKey(kh, "198.18.0.11", 2200), {
            problem: "no key for [198.18.0.11]:2200 in test/fixtures/inventory/known_hosts: add it (`ssh-keyscan -p 2200 198.18.0.11`, and check the fingerprint)",
        });
    });

    it("names the file and line of each line ssh would skip", () => {
        const kh = parseKnownHosts([
            "@bogus h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx",
            "h ssh-ed25519",
            "h ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx",
            "h ssh-ed25519 AAAA!!",
            "|1|abc|def ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx",
        ].join("\n"), "kh");
        assert.deepEqual(kh.problems, [
            "kh:1: unknown marker @bogus (@cert-authority or @revoked)",
            "kh:2: expected host names, a key type and a key",
            `kh:3: the key says it is "ssh-ed25519", not "ssh-rsa"`,
            "kh:4: the key is not base64",
            "kh:5: a hashed host name must be |1|salt|hash (20-byte base64 each)",
        ]);
    });
});

describe("known_hosts: the same lines as ssh-keygen -F, plain and hashed", function () {
    this.timeout(120000);
    const NAMES: [string, number][] = [
        ["198.18.0.11", 22], ["198.18.0.12", 22], ["mx2.example.net", 22], ["198.18.0.13", 22], ["198.18.0.13", 2222], ["198.18.0.11", 2222],
        ["mx1.lab.test", 22], ["mx9.lab.test", 22], ["a.example.org", 22], ["198.18.0.20", 22], ["198.18.0.21", 22], ["198.18.0.22", 22],
        ["mx4.example.net", 22], ["nowhere.example.net", 22],
    ];
    let fresh = "";
    before(() => {
        tool("ssh-keygen");
        // A freshly hashed copy as well as the committed one: new salts.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-kh-"));
        fresh = path.join(dir, "known_hosts");
        fs.copyFileSync(fx("known_hosts"), fresh);
        execFileSync(tool("ssh-keygen"), ["-H", "-f", fresh], { stdio: "ignore" });
    });
    after(() => fs.rmSync(path.dirname(fresh), { recursive: true, force: true }));

    for (const file of ["known_hosts", "known_hosts.hashed", "fresh"]) {
        it(file === "fresh" ? "a copy hashed now with ssh-keygen -H" : file, () => {
            const p = file === "fresh" ? fresh : fx(file);
            const kh = parseKnownHosts(fs.readFileSync(p, "utf8"), p);
            assert.deepEqual(kh.problems, []);
            if (file !== "known_hosts") assert.ok(kh.entries.filter(e => e.hashed).length >= 10, "the file is not hashed");
            for (const [h, port] of NAMES) {
                const name = knownHostsName(h, port);
                assert.deepEqual(lookupKnownHosts(kh, h, port).map(e => e.line), sshKeygenLines(name, p), `${name} in ${file}`);
            }
        });
    }

    it("an upper-case address finds the hashed line ssh finds (ssh lower-cases; ssh-keygen -F does not)", () => {
        const kh = parseKnownHosts(fs.readFileSync(fx("known_hosts.hashed"), "utf8"), "h");
        assert.deepEqual(lookupKnownHosts(kh, "MX4.Example.NET").map(e => e.line), sshKeygenLines("mx4.example.net", fx("known_hosts.hashed")));
    });
});

// --------------------------------------------------- the stack's hosts --

describe("hostsFromInventory: the stack's host list", () => {
    const fleet = (f = "fleet/hosts.ini") => resolve(f);

    it("gives each host of the groups its address, SSH port, user and pinned key, INI and YAML alike", () => {
        for (const f of ["fleet/hosts.ini", "fleet/hosts.yml"]) {
            const r = hostsFromInventory(fleet(f), KH(), { groups: ["mx"] });
            assert.deepEqual(r.problems, [], f);
            assert.deepEqual(r.hosts, [
                { name: "mx1", host: "198.18.0.11", sshPort: 22, user: "root", hostKey: KEY.mx1 },
                { name: "mx2", host: "198.18.0.12", sshPort: 22, user: "root", hostKey: KEY.mx2 },
                { name: "mx3", host: "198.18.0.13", sshPort: 2222, user: "root", hostKey: KEY.mx3 },
            ], f);
        }
    });

    it("pins the same keys from the hashed known_hosts", () => {
        const hashed = readKnownHosts(fx("known_hosts.hashed"), ROOT);
        assert.deepEqual(hostsFromInventory(fleet(), hashed, { groups: ["mx"] }).hosts.map(h => h.hostKey), [KEY.mx1, KEY.mx2, KEY.mx3]);
    });

    it("applies per-host settings from smtp-port:hosts by name", () => {
        const r = hostsFromInventory(fleet(), KH(), {
            groups: ["mx"],
            overrides: [{ name: "mx2", port: 2526, mta: "exim", restartCommand: "systemctl restart exim4" } as never],
        });
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.hosts[1], {
            name: "mx2", host: "198.18.0.12", sshPort: 22, user: "root", hostKey: KEY.mx2, port: 2526, mta: "exim", restartCommand: "systemctl restart exim4",
        });
        assert.equal(r.hosts[0].port, undefined);
    });

    it("refuses overrides of what the inventory decides, and of hosts it does not have", () => {
        const r = hostsFromInventory(fleet(), KH(), {
            groups: ["mx"],
            overrides: [
                { name: "mx1", host: "10.0.0.1", insecureIgnoreHostKey: true } as never,
                { name: "mx9", port: 17 } as never,
                { name: "web1", port: 17 } as never,
                { name: "mx2", port: 17 } as never,
                { name: "mx2", port: 18 } as never,
            ],
        });
        assert.deepEqual(r.problems, [
            `smtp-port:hosts[0] "mx1": [host] comes from ansible_host when smtp-port:inventory is set: remove it here`,
            `smtp-port:hosts[0] "mx1": [insecureIgnoreHostKey] comes from known_hosts when smtp-port:inventory is set: remove it here`,
            `smtp-port:hosts[1] "mx9": [name] no host "mx9" in test/fixtures/inventory/fleet/hosts.ini (with an inventory, hosts entries only override inventory hosts)`,
            `smtp-port:hosts[2] "web1": [name] host "web1" is not in inventoryGroups ["mx"]`,
            `smtp-port:hosts[4] "mx2": [name] is used twice (hosts[3] and hosts[4])`,
        ]);
    });

    it("names the inventory source of each field it decides", () => {
        const r = hostsFromInventory(fleet(), KH(), {
            groups: ["mx"],
            overrides: [{ name: "mx1", host: "10.0.0.1", sshPort: 2222, user: "ops", hostKey: "k", insecureIgnoreHostKey: true } as never],
        });
        assert.deepEqual(r.problems, [
            `smtp-port:hosts[0] "mx1": [host] comes from ansible_host when smtp-port:inventory is set: remove it here`,
            `smtp-port:hosts[0] "mx1": [sshPort] comes from ansible_port when smtp-port:inventory is set: remove it here`,
            `smtp-port:hosts[0] "mx1": [user] comes from ansible_user when smtp-port:inventory is set: remove it here`,
            `smtp-port:hosts[0] "mx1": [hostKey] comes from known_hosts when smtp-port:inventory is set: remove it here`,
            `smtp-port:hosts[0] "mx1": [insecureIgnoreHostKey] comes from known_hosts when smtp-port:inventory is set: remove it here`,
        ]);
    });

    it("a host without a key in known_hosts is a problem naming it, never an unpinned host", () => {
        const kh = parseKnownHosts(fs.readFileSync(fx("known_hosts"), "utf8").replace(/^198\.18\.0\.11 .*$/m, "# mx1 removed"), "kh");
        const r = hostsFromInventory(fleet(), kh, { groups: ["mx"] });
        assert.deepEqual(r.problems, [
            `kh: host "mx1": [hostKey] no key for 198.18.0.11 in kh: add it (\`ssh-keyscan 198.18.0.11\`, and check the fingerprint)`,
        ]);
        assert.deepEqual(r.hosts.map(h => h.name), ["mx2", "mx3"]);
        assert.ok(r.hosts.every(h => typeof h.hostKey === "string" && h.hostKey.startsWith("ssh-") && h.insecureIgnoreHostKey === undefined));
    });

    it("every host by default: a local connection is a problem naming where it was set", () => {
        const r = hostsFromInventory(fleet(), KH());
        assert.deepEqual(r.problems, [
            `test/fixtures/inventory/fleet/hosts.ini:9: host "web1": [ansible_connection] is "local"; smtp-port connects over SSH only (leave the host out with inventoryGroups)`,
        ]);
    });

    it("refuses an unknown group and an empty selection", () => {
        assert.deepEqual(hostsFromInventory(fleet(), KH(), { groups: ["mxx"] }).problems, [
            `test/fixtures/inventory/fleet/hosts.ini: [inventoryGroups] no group "mxx" in the inventory`,
        ]);
        assert.deepEqual(hostsFromInventory(fleet(), KH(), { groups: ["ungrouped"] }).problems, [
            `test/fixtures/inventory/fleet/hosts.ini: no hosts in group "ungrouped"`,
        ]);
    });

    it("says which Ansible settings it does not use, and which vault files it could not read", () => {
        const inv = parseIniInventory("[mx]\nmx1 ansible_host=198.18.0.11 ansible_ssh_private_key_file=~/.ssh/id\n", "i.ini");
        const r = hostsFromInventory(resolveInventory({
            inventory: inv, groupVars: new Map([["mx", parseVarsFile("$ANSIBLE_VAULT;1.1;AES256\n", "group_vars/mx.yml")]]), hostVars: new Map(),
        }), KH());
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.warnings, [
            "group_vars/mx.yml: vault-encrypted, not read (smtp-port has no vault password): keep ansible_host, ansible_port and ansible_user out of vaulted files",
            "ansible_ssh_private_key_file is set for mx1 and not used: set the key as a secret: pulumi config set --secret smtp-port:privateKey < KEY (or smtp-port:hostSecrets)",
        ]);
    });

    it("refuses templates, out-of-range ports and vaulted values, naming file, line, host and field", () => {
        const inv = resolve("broken/template.yml");
        assert.deepEqual(hostsFromInventory(inv, KH()).problems, [
            `test/fixtures/inventory/broken/template.yml:4: host "mx1": [ansible_host] is a Jinja2 template ("{{ inventory_hostname }}.example.net"); smtp-port does not evaluate templates: write the value`,
            `test/fixtures/inventory/broken/template.yml:5: host "mx1": [ansible_port] must be an integer from 1 to 65535, got 70000`,
        ]);
        const sp = resolveInventory({ inventory: parseYamlInventory("mx:\n  hosts:\n    mx1:\n      ansible_host: mx 1\n", "s.yml"), groupVars: new Map(), hostVars: new Map() });
        assert.deepEqual(hostsFromInventory(sp, KH()).problems, [`s.yml:4: host "mx1": [ansible_host] must be an address without spaces, got "mx 1"`]);
        const v = resolveInventory({ inventory: parseYamlInventory("mx:\n  hosts:\n    mx1:\n      ansible_user: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n", "v.yml"), groupVars: new Map(), hostVars: new Map() });
        assert.deepEqual(hostsFromInventory(v, KH()).problems.slice(0, 1), [
            `v.yml:4: host "mx1": [ansible_user] must be a user name, got a vault-encrypted value (!vault)`,
        ]);
    });
});

describe("inventoryHostsFromFiles: from stack config paths", () => {
    it("resolves paths against the project folder and returns the hosts", () => {
        const r = inventoryHostsFromFiles({ inventory: "test/fixtures/inventory/fleet/hosts.yml", knownHosts: "test/fixtures/inventory/known_hosts", baseDir: ROOT, groups: ["mx"] });
        assert.deepEqual(r.hosts.map(h => `${h.name} ${h.host}:${h.sshPort}`), ["mx1 198.18.0.11:22", "mx2 198.18.0.12:22", "mx3 198.18.0.13:2222"]);
        assert.deepEqual(r.warnings, []);
    });

    it("gives hosts that the component's validation accepts as they are", () => {
        const r = inventoryHostsFromFiles({
            inventory: "test/fixtures/inventory/fleet/hosts.ini", knownHosts: "test/fixtures/inventory/known_hosts.hashed", baseDir: ROOT, groups: ["mx"],
            overrides: [{ name: "mx3", port: 2526, mta: "postfix" } as never],
        });
        const args = fleetFromConfig({ port: "17", hosts: r.hosts }, { privateKey: pulumi.secret("key") });
        assert.deepEqual(validateSmtpPortArgs(args), []);
        // fleetFromConfig gives plain connections (the type allows Outputs for library users).
        const conns = args.hosts.map(h => h.connection as { host: string; port?: number; user?: string });
        assert.deepEqual(args.hosts.map((h, i) => [h.name, conns[i].host, conns[i].port, conns[i].user, h.port]), [
            ["mx1", "198.18.0.11", 22, "root", undefined], ["mx2", "198.18.0.12", 22, "root", undefined], ["mx3", "198.18.0.13", 2222, "root", 2526],
        ]);
    });

    it("throws one error listing every problem", () => {
        const err = (() => {
            try {
                inventoryHostsFromFiles({ inventory: "test/fixtures/inventory/broken/yaml11.yml", knownHosts: "test/fixtures/inventory/known_hosts", baseDir: ROOT });
            } catch (e) {
                return e;
            }
            return undefined;
        })();
        assert.ok(err instanceof InventoryError);
        assert.equal(err.problems.length, 2);
        assert.equal(err.message, [
            "smtp-port: the Ansible inventory cannot be used:",
            `  - test/fixtures/inventory/broken/yaml11.yml:5: host "mx1": [ansible_user] must be a user name, got false`,
            `  - test/fixtures/inventory/broken/yaml11.yml:6: host "mx1": [ansible_port] must be an integer from 1 to 65535, got "0o26"`,
        ].join("\n"));
    });

    it("names a missing file and the config key", () => {
        assert.throws(() => inventoryHostsFromFiles({ inventory: "nope.ini", knownHosts: "nope_hosts", baseDir: ROOT }), (e: unknown) => {
            const p = (e as InventoryError).problems;
            assert.equal(p.length, 2);
            assert.match(p[0], /^\[inventory\] cannot read nope\.ini: ENOENT/);
            assert.match(p[1], /^\[knownHosts\] cannot read nope_hosts: ENOENT/);
            return true;
        });
    });
});

describe("stackHosts: the config keys inventory, knownHosts, inventoryGroups and hosts", () => {
    const problems = (cfg: Parameters<typeof stackHosts>[0]) => {
        try {
            stackHosts(cfg, ROOT);
        } catch (e) {
            return (e as InventoryError).problems;
        }
        return [];
    };

    it("without an inventory, gives hosts as written", () => {
        const hosts = [{ name: "mx1", host: "h" }];
        assert.equal(stackHosts({ hosts }, ROOT).hosts, hosts);
    });

    it("with one, reads it and applies hosts entries as overrides", () => {
        const r = stackHosts({
            inventory: "test/fixtures/inventory/fleet/hosts.yml", knownHosts: "test/fixtures/inventory/known_hosts",
            inventoryGroups: ["mx"], hosts: [{ name: "mx1", restartCommand: "service postfix restart" }],
        }, ROOT);
        assert.deepEqual(r.hosts.map(h => [h.name, h.restartCommand]), [["mx1", "service postfix restart"], ["mx2", undefined], ["mx3", undefined]]);
    });

    it("refuses the keys that make no sense together, all at once", () => {
        assert.deepEqual(problems({ knownHosts: "k", inventoryGroups: ["mx"] }), [
            "[knownHosts] is read only with smtp-port:inventory (set both, or neither)",
            "[inventoryGroups] is read only with smtp-port:inventory",
            "[hosts] is required (or smtp-port:inventory and smtp-port:knownHosts)",
        ]);
        assert.deepEqual(problems({ inventory: "i.ini", knownHosts: "k", inventoryGroups: [] }), [`[inventoryGroups] must be a list of group names, got []`]);
        assert.deepEqual(problems({ inventory: "i.ini", inventoryGroups: "mx", hosts: { mx1: {} } }), [
            "[knownHosts] is required with smtp-port:inventory: the host keys are pinned from it",
            `[inventoryGroups] must be a list of group names, got "mx"`,
            `[hosts] must be a list of per-host settings, got {"mx1":{}}`,
        ]);
    });
});
