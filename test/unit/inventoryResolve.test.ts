// components/inventory/ where the fixture tests leave gaps: the order in
// which a host's groups apply (depth, ansible_group_priority, name), the
// ssh variables' null values, the group_vars/ and host_vars/ folder rules,
// which reader a file name picks, known_hosts fields, hashed names and
// patterns, and the stack config keys that point at the files. Every
// Ansible value here was checked with ansible-inventory 2.19 (ansible-core
// 2.19.14) and every known_hosts match with `ssh-keygen -F`.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    InventoryError, loadInventory, lookupKnownHosts, parseIniInventory, parseInventory, parseKnownHosts, parseYamlInventory, pinHostKey,
    resolveInventory, stackHosts,
} from "../../components/inventory";
import type { Inventory, ResolvedInventory, StackHostsConfig } from "../../components/inventory";

const resolveText = (text: string, file: string): ResolvedInventory =>
    resolveInventory({ inventory: parseInventory(text, file), groupVars: new Map(), hostVars: new Map() });
const users = (inv: ResolvedInventory) => Object.fromEntries(inv.hosts.map(h => [h.name, h.user]));
/** The groups that have children, as ansible-inventory --list shows them. */
const withChildren = (inv: ResolvedInventory) => Object.fromEntries([...inv.groups].filter(([, c]) => c.length > 0));

describe("inventory: which group's value a host gets, as Ansible orders groups", () => {
    it("a deeper group wins over a shallower one, its depth the longest path from all; orphan groups are children of all", () => {
        const inv = resolveText([
            "[z]", "h1", "h2", "[a]", "h1", "[z:children]", "a",
            // c is at depth 2 through x and at depth 3 through a2 > b: it counts as 3, deeper than d (2).
            "[x]", "h3", "[b]", "h3", "[a2]", "[c]", "h3", "[d]", "h3", "[e]",
            "[x:children]", "c", "[b:children]", "c", "[a2:children]", "b", "[e:children]", "d",
            "[z:vars]", "ansible_user=z", "[a:vars]", "ansible_user=a", "[c:vars]", "ansible_user=c", "[d:vars]", "ansible_user=d",
        ].join("\n") + "\n", "hosts.ini");
        assert.deepEqual(inv.problems, []);
        // ansible-inventory --list: h1 a, h2 z, h3 c.
        assert.deepEqual(users(inv), { h1: "a", h2: "z", h3: "c" });
        assert.deepEqual(withChildren(inv), {
            all: ["ungrouped", "z", "x", "a2", "e"], z: ["a"], x: ["c"], b: ["c"], a2: ["b"], e: ["d"],
        });
        assert.deepEqual(inv.hosts.find(h => h.name === "h3")!.groups, ["a2", "all", "b", "c", "d", "e", "x"]);
    });

    it("groups of the same depth and priority apply by name, the last name winning, whatever order they are written in", () => {
        const inv = resolveText([
            "[m3]", "h4", "h5", "[m1]", "h4", "h5", "[m4]", "h4", "[m2]", "h4", "h5",
            "[m3:vars]", "ansible_user=m3", "[m1:vars]", "ansible_user=m1", "[m4:vars]", "ansible_user=m4", "[m2:vars]", "ansible_user=m2",
        ].join("\n") + "\n", "hosts.ini");
        // ansible-inventory --list: h4 m4, h5 m3.
        assert.deepEqual(users(inv), { h4: "m4", h5: "m3" });
        const names = ["g5", "g2", "g4", "g1", "g3"];
        for (let i = 0; i < names.length; i++) {
            const order = [...names.slice(i), ...names.slice(0, i)];
            const text = order.map(g => `[${g}]\nh\n[${g}:vars]\nansible_user=${g}\n`).join("");
            assert.equal(users(resolveText(text, "hosts.ini")).h, "g5", order.join(" "));
        }
    });

    it("ansible_group_priority: an integer, or a string Python's int() reads (spaces, a sign); a higher one wins at the same depth", () => {
        const inv = resolveText([
            "all:", "  children:",
            "    p1:", "      vars: {ansible_group_priority: \"5\", ansible_user: p1}", "      hosts: {k1: , k2: , k3: , k4: , k5: , k6: }",
            "    p2:", "      vars: {ansible_group_priority: \" 7 \", ansible_user: p2}", "      hosts: {k1: }",
            "    p3:", "      vars: {ansible_group_priority: \"-5\", ansible_user: p3}", "      hosts: {k2: }",
            "    p4:", "      vars: {ansible_group_priority: \"12\", ansible_user: p4}", "      hosts: {k3: }",
            "    p5:", "      vars: {ansible_group_priority: \"+9\", ansible_user: p5}", "      hosts: {k4: }",
            "    p6:", "      vars: {ansible_group_priority: \"3 \", ansible_user: p6}", "      hosts: {k5: }",
            "    p7:", "      vars: {ansible_group_priority: 6, ansible_user: p7}", "      hosts: {k6: }",
        ].join("\n") + "\n", "hosts.yml");
        assert.deepEqual(inv.problems, []);
        // ansible-inventory --list gives the same users.
        assert.deepEqual(users(inv), { k1: "p2", k2: "p1", k3: "p4", k4: "p5", k5: "p1", k6: "p7" });
    });

    it("an ansible_group_priority that is not an integer is refused, naming the line (Ansible fails to parse the file)", () => {
        for (const [v, shown] of [["\"abc\"", "\"abc\""], ["[5]", "[5]"], ["\"5x\"", "\"5x\""], ["\"x5\"", "\"x5\""], ["\"1e3\"", "\"1e3\""]]) {
            const inv = parseYamlInventory(`all:\n  children:\n    p1:\n      vars: {ansible_group_priority: ${v}}\n      hosts: {k1: }\n`, "hosts.yml");
            assert.deepEqual(inv.problems, [`hosts.yml:4: group "p1": [ansible_group_priority] must be an integer, got ${shown}`], v);
        }
    });

    it("a null ansible_ssh_* variable leaves the ansible_* one in force (the ssh plugin skips unset values)", () => {
        const inv = resolveText([
            "all:", "  hosts:", "    n1:", "      ansible_host: 10.0.0.1", "      ansible_ssh_host: ~", "      ansible_port: 2222",
            "      ansible_ssh_port: null", "      ansible_user: u", "      ansible_ssh_user:",
            "    n2:", "      ansible_ssh_host: 10.0.0.2", "      ansible_ssh_port: 2200", "      ansible_ssh_user: v",
        ].join("\n") + "\n", "hosts.yml");
        // ansible-inventory --list keeps the nulls; the ssh plugin skips them.
        assert.deepEqual(inv.hosts.map(h => [h.name, h.address, h.port, h.user]), [["n1", "10.0.0.1", 2222, "u"], ["n2", "10.0.0.2", 2200, "v"]]);
    });
});

describe("resolveInventory: inventories built by hand", () => {
    const origin = { file: "hand", line: 1 };
    const group = (name: string, children: string[], hosts: string[]) => ({ name, vars: new Map(), priority: 1, children, hosts });
    const hand = (groups: ReturnType<typeof group>[], hosts: string[], hostVars: [string, unknown][] = []): Inventory => ({
        file: "hand",
        groups: new Map([group("all", ["ungrouped"], []), group("ungrouped", [], []), ...groups].map(g => [g.name, g])),
        hosts: new Map(hosts.map(h => [h, { name: h, vars: new Map(hostVars.map(([k, value]) => [k, { value, origin }])), origin }])),
        problems: [],
    });

    it("a host in no group is in all and ungrouped", () => {
        const r = resolveInventory({ inventory: hand([], ["lone"]), groupVars: new Map(), hostVars: new Map() });
        assert.deepEqual(r.hosts.map(h => [h.name, h.groups, h.address, h.port, h.user]), [["lone", ["all", "ungrouped"], "lone", 22, undefined]]);
    });

    it("groups that are each other's child do not hang or overflow the resolver", () => {
        const r = resolveInventory({ inventory: hand([group("a", ["b"], ["h"]), group("b", ["a"], [])], ["h"]), groupVars: new Map(), hostVars: new Map() });
        assert.deepEqual(r.hosts.map(h => h.groups), [["a", "all", "b"]]);
    });

    it("group names with spaces nest like any other (Ansible warns and keeps them): no loop is found where there is none", () => {
        // "Stryker was here" is StrykerJS's placeholder text: a mutant that
        // gives every group that parent must not go unnoticed.
        const inv = parseYamlInventory([
            "all:", "  children:", "    mx:", "      children:",
            "        \"mail servers\":", "          hosts: {h1: }",
            "        \"Stryker was here\":", "          hosts: {h2: }",
        ].join("\n") + "\n", "g.yml");
        assert.deepEqual(inv.problems, []);
        // ansible-inventory --graph: all > mx > "mail servers" > h1, and > "Stryker was here" > h2.
        assert.deepEqual(resolveInventory({ inventory: inv, groupVars: new Map(), hostVars: new Map() }).hosts.map(h => [h.name, h.groups]),
            [["h1", ["all", "mail servers", "mx"]], ["h2", ["Stryker was here", "all", "mx"]]]);
    });

    it("a variable whose value is undefined is not set: ansible_host still applies", () => {
        const inv = hand([], ["h"], [["ansible_host", "10.0.0.9"], ["ansible_ssh_host", undefined], ["ansible_user", "u"], ["ansible_ssh_user", undefined]]);
        const r = resolveInventory({ inventory: inv, groupVars: new Map(), hostVars: new Map() });
        assert.deepEqual(r.hosts.map(h => [h.address, h.user]), [["10.0.0.9", "u"]]);
    });
});

describe("inventory model: groups and hosts as written", () => {
    it("all has ungrouped as its child; a host or child listed twice is kept once", () => {
        const inv = parseIniInventory("[g]\nmx1\nmx1\n[p:children]\ng\ng\n", "hosts.ini");
        assert.deepEqual(inv.problems, []);
        assert.deepEqual([...inv.groups.values()].map(g => [g.name, g.children, g.hosts, g.priority, [...g.vars]]), [
            ["all", ["ungrouped"], [], 1, []], ["ungrouped", [], [], 1, []], ["g", [], ["mx1"], 1, []], ["p", ["g"], [], 1, []],
        ]);
    });

    it("a host name ending in ':' is refused, naming the line, in INI and YAML (spaces after it too)", () => {
        // Ansible fails on the INI line; its YAML reader keeps "mx1:" as a host name ssh could not reach.
        assert.deepEqual(parseIniInventory("[g]\nmx1:\n", "hosts.ini").problems, [`hosts.ini:2: host pattern "mx1:" ends in ":" (reserved for a port)`]);
        assert.deepEqual(parseYamlInventory("all:\n  hosts:\n    \"mx1: \":\n", "hosts.yml").problems, [`hosts.yml:3: host pattern "mx1: " ends in ":" (reserved for a port)`]);
    });
});

describe("parseInventory: the reader picked by the file's name, as Ansible picks its plugin", () => {
    const yaml = "all:\n  hosts:\n    mx1:\n      ansible_port: 2222\n";
    const json = JSON.stringify({ all: { hosts: { mx1: { ansible_port: 2222 } } } });
    const ini = "mx1 ansible_port=2222\n";
    const hostsOf = (inv: Inventory) => [[...inv.hosts.keys()], inv.problems];

    it(".yml, .yaml and .json (any case) are YAML", () => {
        for (const [file, text] of [["hosts.yml", yaml], ["hosts.yaml", yaml], ["hosts.YML", yaml], ["hosts.json", json]]) {
            assert.deepEqual(parseInventory(text, file), parseYamlInventory(text, file), file);
            assert.deepEqual(hostsOf(parseInventory(text, file)), [["mx1"], []], file);
        }
    });

    it("no extension is YAML when it reads as an inventory mapping, else INI; any other extension is INI", () => {
        assert.deepEqual(parseInventory("all:\n", "hosts"), parseYamlInventory("all:\n", "hosts"));
        assert.deepEqual(parseInventory(ini, "hosts"), parseIniInventory(ini, "hosts"));
        // ansible-inventory refuses hosts.ini holding "all:" (the ini plugin), and reads "hosts" holding it (the yaml plugin).
        assert.deepEqual(parseInventory("all:\n", "hosts.ini").problems, [`hosts.ini:1: host pattern "all:" ends in ":" (reserved for a port)`]);
        assert.deepEqual(parseInventory("all:\n", "hosts.cfg"), parseIniInventory("all:\n", "hosts.cfg"));
    });
});

describe("loadInventory: the group_vars/ and host_vars/ folders as Ansible reads them", () => {
    let dir = "";
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-vars-"));
        const w = (p: string, text: string) => {
            fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
            fs.writeFileSync(path.join(dir, p), text);
        };
        w("hosts.ini", "[g]\nh1\n/mx1\n[empty]\nh1\n[order]\nh9\n");
        // Written out of order: the folder is read sorted by name, the last file winning.
        w("group_vars/g/b.yml", "ansible_user: b\n");
        w("group_vars/g/c.yml", "ansible_user: c\n");
        w("group_vars/g/a.yml", "ansible_user: a\n");
        w("group_vars/g/.hidden.yml", "ansible_port: 1\n");
        w("group_vars/g/x~", "ansible_port: 2\n");
        w("group_vars/g/~tilde.yml", "tilde: 1\n");
        w("group_vars/g/noext", "noext: 1\n");
        w("group_vars/g/sub/z.yml", "sub: 1\n");
        w("group_vars/g/sub.d/q.yml", "subd: 1\n");
        w("group_vars/g/other.txt", "txt: 1\n");
        // v1.yml ... v5.yml: file k sets order_i_j (i < j) to k wherever k is i or j, so that any order but
        // the sorted one leaves some order_i_j at i; Ansible gives every one j.
        for (let k = 1; k <= 5; k++) {
            const pairs = [1, 2, 3, 4, 5].filter(o => o !== k).map(o => `order_${Math.min(k, o)}_${Math.max(k, o)}: ${k}\n`);
            w(`group_vars/order/v${k}.yml`, pairs.join(""));
        }
        // A host name starting with / is never looked up in host_vars/ (Ansible's host_group_vars).
        w("host_vars/mx1.yml", "ansible_user: wrong\n");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads a group's folder sorted, into subfolders without an extension, skipping hidden and backup~ files and other extensions", () => {
        const loaded = loadInventory(path.join(dir, "hosts.ini"));
        const r = resolveInventory(loaded);
        const vars = (h: string) => Object.fromEntries([...r.hosts.find(x => x.name === h)!.vars].map(([k, v]) => [k, v.value]).sort());
        // ansible-inventory --list: both hosts get exactly these.
        const want = { ansible_user: "c", noext: 1, sub: 1, tilde: 1 };
        assert.deepEqual(vars("h1"), want);
        assert.deepEqual(vars("/mx1"), want);
        const want9: Record<string, number> = {};
        for (let i = 1; i <= 5; i++) for (let j = i + 1; j <= 5; j++) want9[`order_${i}_${j}`] = j;
        assert.deepEqual(vars("h9"), want9);
        // Only the names that have files are in the maps.
        assert.deepEqual([...loaded.groupVars.keys()], ["g", "order"]);
        assert.deepEqual([...loaded.hostVars.keys()], []);
    });

    it("a folder's files apply in code point order, as Python sorts names (not in UTF-16 order, as .sort() would)", () => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-vars-"));
        try {
            fs.writeFileSync(path.join(d, "hosts.ini"), "[g]\nh1\n");
            fs.mkdirSync(path.join(d, "group_vars", "g"), { recursive: true });
            // U+FF21 sorts before U+1F600 by code point, after it by UTF-16 unit (0xFF21 > 0xD83D).
            fs.writeFileSync(path.join(d, "group_vars", "g", "\uFF21.yml"), "x: fullwidth\n");
            fs.writeFileSync(path.join(d, "group_vars", "g", "\u{1F600}.yml"), "x: emoji\n");
            // ansible-inventory --list: x is emoji.
            assert.equal(resolveInventory(loadInventory(path.join(d, "hosts.ini"))).hosts[0].vars.get("x")?.value, "emoji");
        } finally {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("the inventory path is normalized as written (`..` after a symlink), and a symlink whose target has `..` resolves as the system resolves it", () => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-links-"));
        const w = (p: string, text: string) => {
            fs.mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
            fs.writeFileSync(path.join(d, p), text);
        };
        try {
            // T/L -> R/sub: T/L/../hosts.ini is T/hosts.ini for Ansible (the system would open R/hosts.ini).
            w("R/sub/.keep", "");
            w("R/hosts.ini", "hreal\n");
            w("R/group_vars/all.yml", "ansible_user: real\n");
            w("T/hosts.ini", "hlex\n");
            w("T/group_vars/all.yml", "ansible_user: lexical\n");
            fs.symlinkSync("../R/sub", path.join(d, "T", "L"));
            // D/L -> X/.., D/X -> ../A/B: D/L is A, for the system and Python's realpath (Node's fs.realpathSync says D).
            w("A/B/.keep", "");
            w("A/hosts.ini", "h1\n");
            w("A/group_vars/all.yml", "ansible_user: physical\n");
            w("D/group_vars/all.yml", "ansible_user: lexical\n");
            fs.symlinkSync("../A/B", path.join(d, "D", "X"));
            fs.symlinkSync("X/..", path.join(d, "D", "L"));
            const users = (file: string) => resolveInventory(loadInventory(file)).hosts.map(h => [h.name, h.user]);
            // ansible-inventory -i each path --list gives these.
            assert.deepEqual(users(`${d}/T/L/../hosts.ini`), [["hlex", "lexical"]]);
            assert.deepEqual(users(`${d}/D/L/hosts.ini`), [["h1", "physical"]]);
        } finally {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("a host_vars that is a file, not a folder, is skipped (Ansible warns), even for a host named '.'", () => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-vars-"));
        try {
            fs.writeFileSync(path.join(d, "hosts.ini"), ".\nh1\n");
            fs.writeFileSync(path.join(d, "host_vars"), "ansible_user: dot\n");
            const loaded = loadInventory(path.join(d, "hosts.ini"));
            assert.deepEqual([...loaded.hostVars.keys()], []);
            assert.deepEqual(resolveInventory(loaded).hosts.map(h => [h.name, h.user]), [[".", undefined], ["h1", undefined]]);
        } finally {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });
});

describe("known_hosts: fields, hashed names and patterns as ssh reads them", () => {
    const K1 = "AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx";
    const K2 = "AAAAC3NzaC1lZDI1NTE5AAAAILglGD6HQZQrKFT7lrBG7LVGKBGzV8dgF4+oT81/2iWu";
    const b64 = (n: number, fill = 7) => Buffer.alloc(n, fill).toString("base64");
    const blobOf = (type: string) => Buffer.concat([Buffer.from([0, 0, 0, type.length]), Buffer.from(type), Buffer.alloc(8, 1)]).toString("base64");

    it("names each line ssh would skip: a key with a stray character, a zero-length type, a missing field, a malformed hashed name", () => {
        const kh = parseKnownHosts([
            `mx1 ssh-ed25519 *${K1}`,
            "mx1 ssh-ed25519 AAAAAA==",
            "mx1 ssh-ed25519",
            "mx1",
            `||1|${b64(20)}|${b64(20)} ssh-ed25519 ${K1}`,
            `|1|${b64(20)}|${b64(20)}|x ssh-ed25519 ${K1}`,
            `|1|${b64(16)}|${b64(20)} ssh-ed25519 ${K1}`,
            `|1|${b64(20)}|${b64(16)} ssh-ed25519 ${K1}`,
            `|1|${b64(20)}|${b64(20)} ssh-ed25519 ${K1}`,
            `mx2\tssh-ed25519  ${K2}  `,
        ].join("\n"), "kh");
        const hashed = "a hashed host name must be |1|salt|hash (20-byte base64 each)";
        assert.deepEqual(kh.problems, [
            "kh:1: the key is not base64", `kh:2: the key says it is "", not "ssh-ed25519"`,
            "kh:3: expected host names, a key type and a key", "kh:4: expected host names, a key type and a key",
            `kh:5: ${hashed}`, `kh:6: ${hashed}`, `kh:7: ${hashed}`, `kh:8: ${hashed}`,
        ]);
        assert.deepEqual(kh.entries.map(e => [e.line, e.hosts, e.keyType, e.keyBase64, e.hashed?.salt.length]), [
            [9, `|1|${b64(20)}|${b64(20)}`, "ssh-ed25519", K1, 20], [10, "mx2", "ssh-ed25519", K2, undefined],
        ]);
    });

    it("patterns: ? is one character, * any run (also none at the end), and a name matches whole (as ssh-keygen -F)", () => {
        const kh = parseKnownHosts(["xb", "mx?", "mx1*", "db*2", "mail"].map(p => `${p} ssh-ed25519 ${K1}`).join("\n"), "kh");
        const lines = (h: string) => lookupKnownHosts(kh, h).map(e => e.line);
        const want: [string, number[]][] = [
            ["ab", []], ["xb", [1]], ["mx1", [2, 3]], ["mx12", [3]], ["db12", [4]], ["db2", [4]], ["db123", []], ["xmail", []], ["mail", [5]],
        ];
        assert.deepEqual(want.map(([h]) => [h, lines(h)]), want);
    });

    it("a host whose every own key is revoked names each line; keys of no pinnable type are named, each once", () => {
        const revoked = parseKnownHosts([`h ssh-ed25519 ${K1}`, `h ssh-ed25519 ${K2}`, `@revoked * ssh-ed25519 ${K1}`, `@revoked * ssh-ed25519 ${K2}`].join("\n"), "kh");
        assert.deepEqual(pinHostKey(revoked, "h"), { problem: "every key for h in kh is @revoked (line 1, 2): add the host's new key" });
        const sk = "sk-ssh-ed25519@openssh.com";
        const odd = parseKnownHosts([`h ssh-dss ${blobOf("ssh-dss")}`, `h ${sk} ${blobOf(sk)}`, `h ssh-dss ${blobOf("ssh-dss")}`].join("\n"), "kh");
        assert.deepEqual(odd.problems, []);
        assert.deepEqual(pinHostKey(odd, "h"), {
            problem: `no key smtp-port can pin for h in kh (ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa); found ssh-dss, ${sk}`,
        });
    });
});

describe("stackHosts: the config keys that point at the inventory", () => {
    const problems = (cfg: StackHostsConfig): string[] => {
        try {
            stackHosts(cfg, os.tmpdir());
        } catch (e) {
            assert.ok(e instanceof InventoryError);
            assert.equal(e.name, "InventoryError");
            return e.problems;
        }
        assert.fail("no InventoryError");
    };

    it("inventory and knownHosts must be non-blank paths; knownHosts is required with inventory", () => {
        const cases: [StackHostsConfig, string[]][] = [
            [{ inventory: "  ", knownHosts: "kh" }, [`[inventory] must be a file path, got "  "`]],
            [{ inventory: 5 as unknown as string, knownHosts: "kh" }, ["[inventory] must be a file path, got 5"]],
            [{ inventory: "hosts.ini", knownHosts: "  " }, [`[knownHosts] must be a file path, got "  "`]],
            [{ inventory: "hosts.ini", knownHosts: 5 as unknown as string }, ["[knownHosts] must be a file path, got 5"]],
            [{ inventory: "hosts.ini" }, ["[knownHosts] is required with smtp-port:inventory: the host keys are pinned from it"]],
        ];
        for (const [cfg, want] of cases) assert.deepEqual(problems(cfg), want, JSON.stringify(cfg));
    });

    it("inventoryGroups must be a list of non-empty group names", () => {
        for (const groups of [[5], [""], ["mx", ""], ["mx", 5]]) {
            assert.deepEqual(problems({ inventory: "hosts.ini", knownHosts: "  ", inventoryGroups: groups }), [
                `[knownHosts] must be a file path, got "  "`, `[inventoryGroups] must be a list of group names, got ${JSON.stringify(groups)}`,
            ], JSON.stringify(groups));
        }
    });
});
