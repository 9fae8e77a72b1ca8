// components/inventory/ at the edges of host patterns, INI lines and the
// stack's host list: what Ansible (ansible-core 2.19.14) makes of odd but
// legal inventory text, what it refuses, and how the host list says why a
// host cannot be used. Accepted inventories are compared with
// `ansible-inventory --list`; each refused one was checked by hand to be
// refused by ansible-inventory too (the problem texts are smtp-port's).
import { strict as assert } from "assert";
import {
    expandHostPattern, expandHostRange, hostsFromInventory, Inventory, parseIniInventory, parseKnownHosts, parseVarsFile, parseYamlInventory,
    resolveInventory, ResolvedInventory, VarsLayer,
} from "../../components/inventory";
import { AnsibleList, ansibleListOf, hostGroups } from "../support/ansible";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILjNwcLboLmh0YSQ6xnBl7ybwz6Erw0gh0YXTdsE3Mgx";
/** A known_hosts file that has the key for every host on every port. */
const KH = parseKnownHosts(`* ${KEY}\n`, "kh");

// ------------------------------------------------------------ ansible --

/** Per host of an ansible-inventory listing: its groups (through children, with all) and its variables. */
function ansibleHosts(list: AnsibleList): Record<string, { groups: string[]; vars: Record<string, unknown> }> {
    const out: Record<string, { groups: string[]; vars: Record<string, unknown> }> = {};
    for (const [name, groups] of hostGroups(list)) out[name] = { groups, vars: list._meta.hostvars[name] ?? {} };
    return out;
}

/** The same view of our reading of an inventory. */
function ourHosts(inv: Inventory): Record<string, { groups: string[]; vars: Record<string, unknown> }> {
    const r = resolveInventory({ inventory: inv, groupVars: new Map(), hostVars: new Map() });
    const out: Record<string, { groups: string[]; vars: Record<string, unknown> }> = {};
    for (const h of r.hosts) out[h.name] = { groups: h.groups, vars: Object.fromEntries([...h.vars].map(([k, v]) => [k, v.value])) };
    return out;
}

// ------------------------------------------------------- host patterns --

/** Host patterns Ansible accepts, with the names (in order) and port it gives them. */
const EXPANDS: [string, string[], number?][] = [
    // A missing begin is 0; a begin of "0" alone does not pad.
    ["zero[:3]", ["zero0", "zero1", "zero2", "zero3"]],
    ["ten[0:10]", ["ten0", "ten1", "ten2", "ten3", "ten4", "ten5", "ten6", "ten7", "ten8", "ten9", "ten10"]],
    // One letter to itself.
    ["let[a:a]", ["leta"]],
    // A negative step counts down, stopping short of end (Python's range(5, 2, -1)).
    ["down[5:1:-1]", ["down5", "down4", "down3"]],
    // ...and a letter range with a negative step is empty (Python's slice).
    ["ldown[a:c:-1]", []],
    // The step is read as Python's int(): spaces around it and a sign are fine.
    ["st1[1:5: 2]", ["st11", "st13", "st15"]],
    ["st2[1:5:2 ]", ["st21", "st23", "st25"]],
    ["st3[1:3:+2]", ["st31", "st33"]],
    ["st4[1:30:10]", ["st41", "st411", "st421"]],
    ["big[0:400:1000]", ["big0"]],
    ["hi[99990:99992]", ["hi99990", "hi99991", "hi99992"]],
    // The bounds too, as Python's int() reads them: spaces, a sign, "_" between digits.
    ["sp[1: 3]", ["sp1", "sp2", "sp3"]],
    ["tab[\t1:2]", ["tab1", "tab2"]],
    ["plus[+1:3]", ["plus1", "plus2", "plus3"]],
    ["neg[-1:1]", ["neg-1", "neg0", "neg1"]],
    ["u[1_0:1_2]", ["u10", "u11", "u12"]],
    ["w[1_00:1_02]", ["w100", "w101", "w102"]],
    ["stu[1:30:1_0]", ["stu1", "stu11", "stu21"]],
    // Padding to the begin's length counts the "_", and keeps a minus sign in front (Python's zfill).
    ["h[0_9:1_1]", ["h009", "h010", "h011"]],
    ["z[000:-12:-1]", ["z000", "z-01", "z-02", "z-03", "z-04", "z-05", "z-06", "z-07", "z-08", "z-09", "z-10"]],
    // Ports after ranges.
    ["bk[01:03].example.net:2201", ["bk01.example.net", "bk02.example.net", "bk03.example.net"], 2201],
    // Not an address (a label cannot end in "_"): the whole text is the name, ":2200" and all.
    ["mx_:2200", ["mx_:2200"]],
    // A range right before the port; an IPv6 address with a hex range, or in capitals.
    ["mx[1:2]:2222", ["mx1", "mx2"], 2222],
    ["[fe80::[a:c]]:2222", ["fe80::a", "fe80::b", "fe80::c"], 2222],
    ["[FE80::1]:2222", ["FE80::1"], 2222],
    // Not addresses either (empty labels, an empty address): names, ports and all.
    ["...:2222", ["...:2222"]],
    [":2222", [":2222"]],
];

/** Host patterns Ansible refuses, with the problem smtp-port gives. */
const REFUSED: [string, string][] = [
    ["mx[1:2", `cannot read the host range in "mx[1:2"`],
    ["a|b[1:2]", `cannot read the host range in "a|b[1:2]"`],
    ["mx[1:2:3:4]", `host range must be begin:end or begin:end:step`],
    ["mx[1:3:x]", `host range step must be a number, got "x"`],
    ["mx[1:3:x2]", `host range step must be a number, got "x2"`],
    ["mx[1:3:2x]", `host range step must be a number, got "2x"`],
    ["mx[c:a]", `host range must have begin <= end`],
    ["mx[1:c]", `host range bounds must be numbers or letters, got "1:c"`],
    ["mx[a:3]", `host range bounds must be numbers or letters, got "a:3"`],
    ["mx[x1:3]", `host range bounds must be numbers or letters, got "x1:3"`],
    ["mx[1x:3]", `host range bounds must be numbers or letters, got "1x:3"`],
    ["mx[1:3x]", `host range bounds must be numbers or letters, got "1:3x"`],
    ["mx[1:x3]", `host range bounds must be numbers or letters, got "1:x3"`],
    ["mx[1:2_]", `host range bounds must be numbers or letters, got "1:2_"`],
    ["mx[1__0:12]", `host range bounds must be numbers or letters, got "1__0:12"`],
    ["mx[_1:3]", `host range bounds must be numbers or letters, got "_1:3"`],
    ["mx[1:3:1_]", `host range step must be a number, got "1_"`],
    // A port that is not a number: no address, so the brackets are a range.
    ["[::1]:22x", `host range must specify end value`],
];

describe("inventory host patterns: ranges and ports as Ansible expands them", () => {
    for (const [pattern, names, port] of EXPANDS) {
        it(`${pattern} is ${names.length ? names.join(", ") : "no host"}${port ? ` on port ${port}` : ""}`, () => {
            assert.deepEqual(expandHostPattern(pattern), { names, port });
        });
    }

    it("ansible-inventory gives the same hosts and ports for every one of those patterns", async function () {
        this.timeout(120000);
        const ini = EXPANDS.map(([p], i) => `[g${i}]\n"${p}"\n`).join("");
        const list = await ansibleListOf(ini, "ranges.ini");
        EXPANDS.forEach(([pattern, names, port], i) => {
            const got = ((list[`g${i}`] as { hosts?: string[] } | undefined)?.hosts ?? []);
            assert.deepEqual(got, names, pattern);
            for (const n of got) assert.equal(list._meta.hostvars[n]?.ansible_port, port, `${pattern}: port of ${n}`);
        });
    });

    for (const [pattern, message] of REFUSED) {
        it(`refuses ${pattern}, as Ansible does`, () => {
            assert.throws(() => expandHostPattern(pattern), { message });
        });
    }

    it("names the line and the pattern of a refused range in an INI inventory", () => {
        assert.deepEqual(parseIniInventory("[mx]\nmx[1:3:x]\n", "hosts.ini").problems, [`hosts.ini:2: host pattern "mx[1:3:x]": host range step must be a number, got "x"`]);
    });

    it("refuses a range of more than 100000 hosts (Ansible has no limit: a typo must not make a million hosts)", () => {
        assert.equal(expandHostRange("mx[1:100000]").length, 100000);
        assert.equal(expandHostRange("mx[0:199998:2]").length, 100000);
        assert.throws(() => expandHostRange("mx[1:100001]"), /^Error: host range expands to more than 100000 hosts$/);
        assert.throws(() => expandHostRange("mx[0:200000:2]"), /^Error: host range expands to more than 100000 hosts$/);
        assert.throws(() => expandHostRange("mx[0:1000000:2]"), /^Error: host range expands to more than 100000 hosts$/);
    });
});

// ----------------------------------------------------------- INI lines --

describe("INI inventory lines as Ansible's ini plugin reads them", () => {
    const INI = [
        "  [mx]   # mail hosts",
        "  mx1",
        "mx2 =x",
        "; a comment",
        "# another",
        "[ungrouped:vars]",
        "ansible_user=nobody",
        "[mx:vars]",
        "# the user, and a comment with = in it",
        "; port=1",
        "ansible_user = root",
        "  ansible_port = 2222  ",
        "=empty",
        "[mx:children]",
        "sub   # a comment",
        "[sub]",
        "s1",
    ].join("\n") + "\n";

    it("indented lines, comments, `key = value` with spaces, [ungrouped:vars], an empty key and a commented header", () => {
        const inv = parseIniInventory(INI, "hosts.ini");
        assert.deepEqual(inv.problems, []);
        assert.deepEqual(ourHosts(inv), {
            mx1: { groups: ["all", "mx"], vars: { ansible_user: "root", ansible_port: 2222, "": "empty" } },
            mx2: { groups: ["all", "mx"], vars: { ansible_user: "root", ansible_port: 2222, "": "x" } },
            s1: { groups: ["all", "mx", "sub"], vars: { ansible_user: "root", ansible_port: 2222, "": "empty" } },
        });
    });

    it("ansible-inventory reads that file the same", async function () {
        this.timeout(120000);
        assert.deepEqual(ourHosts(parseIniInventory(INI, "hosts.ini")), ansibleHosts(await ansibleListOf(INI, "hosts.ini")));
    });

    it("refuses what Ansible refuses, naming the line", () => {
        const cases: [string, string[]][] = [
            ["[mx]\n---\n", [`hosts.ini:2: "---" is a YAML document start: name YAML inventories .yml or .yaml`]],
            ["[mx]\n\"--- \"\n", [`hosts.ini:2: "---" is a YAML document start: name YAML inventories .yml or .yaml`]],
            // Not a section (text after the "]"): a host line, whose pattern is not a range.
            ["[mx] junk\n", [`hosts.ini:1: host pattern "[mx]": host range must be begin:end or begin:end:step`, `hosts.ini:1: expected key=value after the host name, got "junk"`]],
            ["[p:children]\nbad:name\n[bad]\n", [`hosts.ini:2: expected a group name in [p:children], got "bad:name"`]],
            ["[p:children]\na b\n[a]\n", [`hosts.ini:2: expected a group name in [p:children], got "a b"`]],
            ["[mx:vars]\nansible_user\n[mx]\n", [`hosts.ini:2: expected key=value in [mx:vars], got "ansible_user"`]],
            // The lines of a refused section are not read (not as hosts, vars or children).
            ["[mx:nope]\nmx1\nx=1\n", ["hosts.ini:1: section [mx:nope] has an unknown type (hosts, vars or children)"]],
        ];
        for (const [text, problems] of cases) assert.deepEqual(parseIniInventory(text, "hosts.ini").problems, problems, text);
    });
});

// ------------------------------------------------------ the host list --

const noVars = (inventory: Inventory, groupVars = new Map<string, VarsLayer>(), hostVars = new Map<string, VarsLayer>()): ResolvedInventory =>
    resolveInventory({ inventory, groupVars, hostVars });
const yaml = (text: string) => noVars(parseYamlInventory(text, "hosts.yml"));
const ini = (text: string) => noVars(parseIniInventory(text, "hosts.ini"));

describe("hostsFromInventory: which connection values a host can use", () => {
    it("an empty (null) or missing variable counts as unset, as in Ansible's config manager", () => {
        const r = hostsFromInventory(yaml([
            "all:",
            "  hosts:",
            "    mx1:",
            "      ansible_host: 198.18.0.11",
            "      ansible_ssh_host:",
            "      ansible_connection:",
            "      ansible_ssh_pass:",
        ].join("\n")), KH);
        assert.deepEqual(r, { hosts: [{ name: "mx1", host: "198.18.0.11", sshPort: 22, hostKey: KEY }], problems: [], warnings: [] });
    });

    it("a value that is undefined counts as unset (a resolved inventory built by hand)", () => {
        const inv = ini("mx1 ansible_host=198.18.0.11 ansible_user=deploy\n");
        inv.hosts[0].vars.set("ansible_ssh_user", { value: undefined, origin: { file: "x", line: 1 } });
        assert.deepEqual(hostsFromInventory(inv, KH).hosts, [{ name: "mx1", host: "198.18.0.11", sshPort: 22, user: "deploy", hostKey: KEY }]);
    });

    it("takes !unsafe text as written and refuses it with spaces; an empty !unsafe is null (ansible-core 2.19), so unset", () => {
        const r = hostsFromInventory(yaml([
            "all:",
            "  hosts:",
            "    mx1:",
            "      ansible_host: !unsafe 'mx1.example.net'",
            "      ansible_user: !unsafe 'deploy'",
            "    mx2:",
            "      ansible_user: !unsafe 'ad min'",
            "    mx3:",
            "      ansible_host: !unsafe ''",
        ].join("\n")), KH);
        assert.deepEqual(r.hosts, [
            { name: "mx1", host: "mx1.example.net", sshPort: 22, user: "deploy", hostKey: KEY },
            { name: "mx3", host: "mx3", sshPort: 22, hostKey: KEY },
        ]);
        assert.deepEqual(r.problems, [
            `hosts.yml:7: host "mx2": [ansible_user] must be a user name without spaces, got "ad min"`,
        ]);
    });

    it("takes numbers as text (ansible_user=1000), and a quoted port; ports 1 and 65535 are fine", () => {
        const r = hostsFromInventory(yaml([
            "all:",
            "  hosts:",
            "    mx1: {ansible_user: 1000, ansible_port: '2222'}",
            "    mx2: {ansible_port: 1}",
            "    mx3: {ansible_port: 65535}",
        ].join("\n")), KH);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.hosts, [
            { name: "mx1", host: "mx1", sshPort: 2222, user: "1000", hostKey: KEY },
            { name: "mx2", host: "mx2", sshPort: 1, hostKey: KEY },
            { name: "mx3", host: "mx3", sshPort: 65535, hostKey: KEY },
        ]);
    });

    it("refuses an empty address and spaces, also in the ansible_ssh_* spellings, naming the variable", () => {
        const r = hostsFromInventory(ini([
            `mx1 ansible_host=""`,
            `mx2 ansible_ssh_host="mx 2"`,
            `mx3 ansible_ssh_user="ad min"`,
        ].join("\n")), KH);
        assert.deepEqual(r.hosts, []);
        assert.deepEqual(r.problems, [
            `hosts.ini:1: host "mx1": [ansible_host] must be an address without spaces, got ""`,
            `hosts.ini:2: host "mx2": [ansible_ssh_host] must be an address without spaces, got "mx 2"`,
            `hosts.ini:3: host "mx3": [ansible_ssh_user] must be a user name without spaces, got "ad min"`,
        ]);
    });

    it("connects over ssh only: ansible_connection=ssh is fine, local is a problem", () => {
        const r = hostsFromInventory(ini("mx1 ansible_connection=ssh\nmx2 ansible_connection=local\n"), KH);
        assert.deepEqual(r.hosts.map(h => h.name), ["mx1"]);
        assert.deepEqual(r.problems, [
            `hosts.ini:2: host "mx2": [ansible_connection] is "local"; smtp-port connects over SSH only (leave the host out with inventoryGroups)`,
        ]);
    });

    it("every ansible_connection Ansible runs over ssh is fine (short and qualified names)", () => {
        const kinds = ["ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh", "ansible.builtin.paramiko_ssh", "ansible.legacy.ssh"];
        const r = hostsFromInventory(ini(kinds.map((k, i) => `mx${i} ansible_connection=${k}\n`).join("")), KH);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.hosts.map(h => h.name), kinds.map((_, i) => `mx${i}`));
    });

    it("names each ssh variable smtp-port does not use, with what to do instead", () => {
        const r = hostsFromInventory(ini("mx1 ansible_ssh_common_args=-4 ansible_ssh_extra_args=-4 ansible_ssh_args=-4 ansible_ssh_private_key_file=k ansible_password=p ansible_ssh_pass=p\n"), KH);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.warnings, [
            "ansible_ssh_common_args is set for mx1 and not used: smtp-port connects directly (no ssh options, no jump hosts)",
            "ansible_ssh_extra_args is set for mx1 and not used: smtp-port connects directly (no ssh options, no jump hosts)",
            "ansible_ssh_args is set for mx1 and not used: smtp-port connects directly (no ssh options, no jump hosts)",
            "ansible_ssh_private_key_file is set for mx1 and not used: set the key as a secret: pulumi config set --secret smtp-port:privateKey < KEY (or smtp-port:hostSecrets)",
            "ansible_password is set for mx1 and not used: set it as a secret: smtp-port:password (or smtp-port:hostSecrets)",
            "ansible_ssh_pass is set for mx1 and not used: set it as a secret: smtp-port:password (or smtp-port:hostSecrets)",
        ]);
    });

    it("says nothing of a password or ssh option set empty; names one that is set", () => {
        const r = hostsFromInventory(ini(`mx1 ansible_password="" ansible_ssh_common_args="-o ProxyJump=bastion"\n`), KH);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.warnings, ["ansible_ssh_common_args is set for mx1 and not used: smtp-port connects directly (no ssh options, no jump hosts)"]);
    });
});

describe("hostsFromInventory: selection, vars files and per-host settings", () => {
    it("an empty selection names every group asked for; an inventory without hosts says so", () => {
        const inv = ini("[a]\n[b]\n");
        assert.deepEqual(hostsFromInventory(inv, KH, { groups: ["a", "b"] }).problems, [`hosts.ini: no hosts in group "a", "b"`]);
        assert.deepEqual(hostsFromInventory(inv, KH).problems, ["hosts.ini: no hosts"]);
    });

    it("reports the problems and vaulted files of the host_vars/ and group_vars/ of the hosts used, not of the others", () => {
        const inv = noVars(parseIniInventory("[mx]\nmx1\n[web]\nweb1\n", "hosts.ini"),
            new Map([["mx", parseVarsFile("- a\n", "group_vars/mx.yml")], ["web", parseVarsFile("- a\n", "group_vars/web.yml")]]),
            new Map([
                ["mx1", parseVarsFile("- b\n", "host_vars/mx1.yml")], ["web1", parseVarsFile("- b\n", "host_vars/web1.yml")],
                ["mx", parseVarsFile("$ANSIBLE_VAULT;1.1;AES256\n", "host_vars/mx.yml")],
            ]));
        const r = hostsFromInventory(inv, KH, { groups: ["mx"] });
        assert.deepEqual(r.problems, [
            `group_vars/mx.yml:1: must be a mapping of variable names to values, got ["a"]`,
            `host_vars/mx1.yml:1: must be a mapping of variable names to values, got ["b"]`,
        ]);
        assert.deepEqual(r.warnings, []);
        const vaulted = noVars(parseIniInventory("[mx]\nmx1\n", "hosts.ini"), new Map(),
            new Map([["mx1", parseVarsFile("$ANSIBLE_VAULT;1.1;AES256\n", "host_vars/mx1.yml")]]));
        assert.deepEqual(hostsFromInventory(vaulted, KH).warnings, [
            "host_vars/mx1.yml: vault-encrypted, not read (smtp-port has no vault password): keep ansible_host, ansible_port and ansible_user out of vaulted files",
        ]);
    });

    it("refuses a hosts entry without a name (null, not an object, a name that is not text or empty), naming its index", () => {
        const overrides = [null, undefined, "mx1", 5, {}, { name: 5 }, { name: "" }, { name: "mx1", port: 2526 }];
        const r = hostsFromInventory(ini("mx1\n"), KH, { overrides: overrides as never });
        assert.deepEqual(r.problems, [0, 1, 2, 3, 4, 5, 6].map(i => `smtp-port:hosts[${i}]: [name] is required to match an inventory host`));
        assert.deepEqual(r.hosts, [{ name: "mx1", host: "mx1", sshPort: 22, hostKey: KEY, port: 2526 }]);
    });
});
