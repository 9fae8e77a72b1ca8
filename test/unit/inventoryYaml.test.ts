// YAML inventories and vars files as ansible-core 2.19 reads them
// (components/inventory/ansibleYaml.ts and yaml.ts): every plain scalar
// PyYAML's YAML 1.1 resolvers turn into null, a boolean, an integer or a
// float (checked here against ansible-inventory), explicit tags, !vault and
// !unsafe; the line each key is credited to (block and flow mappings, blank
// lines, comments, nested and merged keys, JSON vars files); and which
// inventory shapes are empty, refused or accepted.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OpaqueValue, parseVarsFile, parseYamlInventory, UnsafeString } from "../../components/inventory";
import { isMapping } from "../../components/inventory/ansibleYaml";
import { ansibleInventory } from "../support/ansible";


/**
 * parseYamlInventory from freshly loaded modules. ansibleYaml.ts builds its
 * YAML 1.1 schema once per process, on first use; loading it afresh builds
 * it while the calling test runs, so that StrykerJS's perTest coverage
 * credits the schema's code to the tests that check it (docs/mutation.md).
 */
function freshParse(): typeof parseYamlInventory {
    for (const m of ["ansibleYaml", "yaml"]) delete require.cache[require.resolve(`../../components/inventory/${m}`)];
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require("../../components/inventory/yaml") as typeof import("../../components/inventory/yaml")).parseYamlInventory;
}

/** The variables of `host` as values, in the order written. */
const valuesOf = (inv: ReturnType<typeof parseYamlInventory>, host: string): Record<string, unknown> => {
    const h = inv.hosts.get(host);
    assert.ok(h, `no host ${host}: ${inv.problems.join("; ")}`);
    return Object.fromEntries([...h.vars].map(([k, v]) => [k, v.value]));
};
/** The line of each variable of `host`. */
const linesOf = (inv: ReturnType<typeof parseYamlInventory>, host: string): Record<string, number> => {
    const h = inv.hosts.get(host);
    assert.ok(h, `no host ${host}: ${inv.problems.join("; ")}`);
    return Object.fromEntries([...h.vars].map(([k, v]) => [k, v.origin.line]));
};

// ------------------------------------------------------------- scalars --

/** A plain scalar as written, and what ansible-inventory --list gives for it (checked by the last describe). */
const SCALARS: [string, unknown][] = [
    // null
    ["~", null], ["null", null], ["Null", null], ["NULL", null], ["", null], ["nulls", "nulls"],
    // booleans: YAML 1.1's words, whole words only; y and n stay strings
    ["yes", true], ["Yes", true], ["YES", true], ["no", false], ["No", false], ["NO", false],
    ["true", true], ["True", true], ["TRUE", true], ["false", false], ["False", false], ["FALSE", false],
    ["on", true], ["On", true], ["ON", true], ["off", false], ["Off", false], ["OFF", false],
    ["y", "y"], ["n", "n"], ["xyes", "xyes"], ["yesx", "yesx"],
    // binary
    ["0b101", 5], ["-0b1_1", -3], ["+0b11", 3], ["0b2", "0b2"], ["0b", "0b"], ["x0b1", "x0b1"],
    // octal: a leading 0
    ["017", 15], ["-017", -15], ["+0_17", 15], ["07", 7], ["08", "08"],
    // decimal: 0 has no sign in Python (no -0)
    ["0", 0], ["-0", 0], ["+0", 0], ["12", 12], ["-12", -12], ["+12_3", 123], ["1_000", 1000], ["123", 123],
    ["12x", "12x"], ["x12", "x12"],
    // hexadecimal
    ["0x1F", 31], ["-0xff", -255], ["+0x_a", 10], ["0xg", "0xg"], ["x0x1", "x0x1"],
    // base 60: 1:20 is 80 (and a port of 1:20 is port 80)
    ["1:20", 80], ["-1:20:30", -4830], ["+1:20", 80], ["190:20:30", 685230], ["1:2:3", 3723],
    ["1:60", "1:60"], ["x1:20", "x1:20"], ["1:20x", "1:20x"],
    // floats need a dot, and an exponent needs its sign (1e3 and 1.5e3 are strings)
    ["1.5", 1.5], ["12.5", 12.5], ["-1.5", -1.5], ["+1.5", 1.5], ["1.25", 1.25], ["1.", 1], ["1_0.0_1", 10.01],
    ["1.5e+3", 1500], ["-1.5e+3", -1500], ["1.0e+10", 1e10], ["1.5e3", "1.5e3"], ["1.5x", "1.5x"], ["x1.5", "x1.5"],
    [".5", 0.5], [".25", 0.25], [".5e+3", 500], [".5e+10", 5e9], ["-.5", "-.5"],
    ["1:20.5", 80.5], ["-1:20.5", -80.5], ["+1:20.5", 80.5], ["12:30.5", 750.5], ["190:20:30.5", 685230.5],
    ["1:20:30.5", 4830.5], ["1:2.5", 62.5], ["1:20.", 80], ["1:20.25", 80.25],
    [".inf", Infinity], [".Inf", Infinity], [".INF", Infinity], ["-.inf", -Infinity], ["-.Inf", -Infinity], ["+.inf", Infinity],
    ["x.inf", "x.inf"], [".nan", NaN], [".NaN", NaN], [".NAN", NaN], ["-.nan", "-.nan"],
    ["1e3", "1e3"], ["0o26", "0o26"],
];
const key = (i: number) => `v${String(i).padStart(3, "0")}`;
const SCALARS_YAML = ["all:", "  hosts:", "    h:", ...SCALARS.map(([text], i) => `      ${key(i)}: ${text}`)].join("\n") + "\n";

/** Explicit tags, !vault and !unsafe, with what ansible-inventory gives (a vault value is opaque here: no password). */
const TAGGED: [string, unknown][] = [
    ["!!null ''", null], ["!!bool 'yes'", true], ["!!int '0x1F'", 31], ["!!float '1.5'", 1.5], ["!!str 12", "12"],
    ["!unsafe x", new UnsafeString("x")], ["!unsafe '{{ x }}'", new UnsafeString("{{ x }}")], ["!unsafe '1e3'", new UnsafeString("1e3")],
    // ansible-core 2.19 resolves an !unsafe scalar as a plain one, quoted or not: only a string stays unsafe.
    ["!unsafe", null], ["!unsafe ''", null], ["!unsafe '~'", null], ["!unsafe 2222", 2222], ["!unsafe '2222'", 2222], ["!unsafe 022", 18],
    ["!unsafe 0x1F", 31], ["!unsafe 1:20", 80], ["!unsafe 1.5", 1.5], ["!unsafe yes", true], ["!unsafe 'off'", false],
];
const TAGGED_YAML = ["all:", "  hosts:", "    t:", ...TAGGED.map(([text], i) => `      ${key(i)}: ${text}`)].join("\n") + "\n";

describe("inventory YAML: scalars as ansible-core 2.19 (PyYAML, YAML 1.1) reads them", () => {
    it("resolves every plain scalar to the null, boolean, integer, float or string Ansible gets", () => {
        const got = valuesOf(freshParse()(SCALARS_YAML, "s.yml"), "h");
        SCALARS.forEach(([text, want], i) => assert.deepEqual(got[key(i)], want, JSON.stringify(text)));
        assert.equal(Object.keys(got).length, SCALARS.length);
    });

    it("reads explicit YAML tags, !unsafe as a plain scalar whose strings stay unsafe, and !vault opaque", () => {
        const got = valuesOf(freshParse()(TAGGED_YAML, "t.yml"), "t");
        TAGGED.forEach(([text, want], i) => assert.deepEqual(got[key(i)], want, text));
        const vault = valuesOf(freshParse()("all:\n  hosts:\n    v:\n      pw: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        3132\n", "v.yml"), "v");
        assert.deepEqual(vault, { pw: new OpaqueValue("a vault-encrypted value (!vault)") });
    });

    it("refuses an explicit tag on a value it cannot have, naming the line", () => {
        assert.deepEqual(freshParse()("all:\n  hosts:\n    h:\n      p: !!int 22x\n", "t.yml").problems,
            ["t.yml:4: cannot resolve a node with !<tag:yaml.org,2002:int> explicit tag"]);
    });
});

// --------------------------------------------------------------- lines --

/** Blank lines, a line of spaces and comments inside a host's block; a key nested deeper first; merged keys. */
const LINES_YAML = [
    "# a fleet",                 // 1
    "all:",                      // 2
    "  vars:",                   // 3
    "    base: &base",           // 4
    "      ansible_user: deploy",// 5
    "  hosts:",                  // 6
    "    mx1:",                  // 7
    "      ansible_host: 10.0.0.1", // 8
    "",                          // 9
    "  ",                        // 10
    "  # a comment, less indented than the keys", // 11
    "      ansible_port: 2201",  // 12
    "    mx2:",                  // 13
    "          # a comment, more indented than the keys", // 14
    "      opts:",               // 15
    "        ansible_port: 1",   // 16
    "      ansible_port: 2202",  // 17
    "    mx3:",                  // 18
    "      <<: *base",           // 19
    "      ansible_host: 10.0.0.3", // 20
    "    mx4:",                  // 21
    "      ansible_user: other", // 22
    "    mx6: {ansible_port: 2206, opts: {", // 23
    "      ansible_port: 1}}",   // 24
    "    mx7:",                  // 25
    "      {ansible_port: 2207}",// 26
    "    mx5:",                  // 27
    "      <<: *base",           // 28
].join("\n") + "\n";

describe("inventory YAML: the line of each host variable", () => {
    const inv = () => parseYamlInventory(LINES_YAML, "l.yml"); // per test: Stryker runs a describe body once, before any mutant is active

    it("reads the fleet as Ansible does", () => {
        assert.deepEqual(inv().problems, []);
        assert.deepEqual(valuesOf(inv(), "mx1"), { ansible_host: "10.0.0.1", ansible_port: 2201 });
        assert.deepEqual(valuesOf(inv(), "mx2"), { opts: { ansible_port: 1 }, ansible_port: 2202 });
        assert.deepEqual(valuesOf(inv(), "mx3"), { ansible_user: "deploy", ansible_host: "10.0.0.3" });
        assert.deepEqual(valuesOf(inv(), "mx6"), { ansible_port: 2206, opts: { ansible_port: 1 } });
        assert.deepEqual(valuesOf(inv(), "mx5"), { ansible_user: "deploy" });
    });

    it("skips blank lines, lines of spaces and comments at any indentation", () => {
        assert.deepEqual(linesOf(inv(), "mx1"), { ansible_host: 8, ansible_port: 12 });
    });

    it("credits the host's own key, not the same name in a mapping nested above it", () => {
        assert.deepEqual(linesOf(inv(), "mx2"), { opts: 15, ansible_port: 17 });
    });

    it("credits a key merged with << to the host's line, never to the next host's key of that name", () => {
        assert.deepEqual(linesOf(inv(), "mx3"), { ansible_user: 18, ansible_host: 20 });
        assert.deepEqual(linesOf(inv(), "mx4"), { ansible_user: 22 });
        assert.deepEqual(linesOf(inv(), "mx5"), { ansible_user: 27 });
    });

    it("finds keys of a flow mapping on its own line, even when one spans lines", () => {
        assert.deepEqual(linesOf(inv(), "mx6"), { ansible_port: 23, opts: 23 });
        assert.deepEqual(linesOf(inv(), "mx7"), { ansible_port: 26 });
    });

    it("names the line of a top-level group, not of a key of that name inside another group", () => {
        assert.deepEqual(parseYamlInventory("# groups\nmx:\n  vars:\n    web: 1\nweb: [a]\n", "g.yml").problems,
            [`g.yml:5: group "web" must be a mapping with hosts, vars and children, got ["a"]`]);
        // A flow mapping at the top: the line where it starts.
        assert.deepEqual(parseYamlInventory("# groups\n{web: [a]}\n", "f.yml").problems,
            [`f.yml:2: group "web" must be a mapping with hosts, vars and children, got ["a"]`]);
    });

    it("finds the keys of a JSON vars file by their quoted names", () => {
        const layer = parseVarsFile(`{\n  "ansible_host": "10.0.0.1",\n  "ansible_port" : 2201\n}\n`, "group_vars/mx.json");
        assert.deepEqual(layer.problems, []);
        assert.deepEqual([...layer.vars].map(([k, v]) => [k, v.value, v.origin.line]), [["ansible_host", "10.0.0.1", 2], ["ansible_port", 2201, 3]]);
    });
});

// -------------------------------------------------------------- shapes --

describe("inventory YAML: what is empty, refused or accepted", () => {
    it("an inventory with no data is empty, whatever form the nothing takes", () => {
        for (const text of ["", "# only a comment\n", "---\n", "~\n", "''\n"]) {
            assert.deepEqual(parseYamlInventory(text, "e.yml").problems, ["e.yml: the YAML inventory is empty"], JSON.stringify(text));
        }
    });

    it("an inventory that is not a mapping is refused, showing what it is", () => {
        assert.deepEqual(parseYamlInventory("hello\n", "s.yml").problems, [`s.yml:1: a YAML inventory must be a mapping of group names, got "hello"`]);
        assert.deepEqual(parseYamlInventory("42\n", "n.yml").problems, [`n.yml:1: a YAML inventory must be a mapping of group names, got 42`]);
        assert.deepEqual(parseYamlInventory("- mx1\n", "l.yml").problems, [`l.yml:1: a YAML inventory must be a mapping of group names, got ["mx1"]`]);
    });

    it("a plugin configuration is refused at its plugin key, with the command that exports its hosts", () => {
        assert.deepEqual(parseYamlInventory("regions: [eu-west-1]\nplugin: amazon.aws.aws_ec2\n", "aws.yml").problems, [
            "aws.yml:2: this is a dynamic inventory plugin's configuration, not an inventory: " +
            "export the hosts with `ansible-inventory -i aws.yml --list -y > static.yml` and name that file",
        ]);
    });

    it("an empty group, and empty hosts, vars and children, are accepted (Ansible too)", () => {
        const inv = parseYamlInventory("mx:\nweb:\n  hosts:\n  vars:\n  children:\n", "e.yml");
        assert.deepEqual(inv.problems, []);
        assert.deepEqual(["mx", "web"].map(g => inv.groups.get(g)), [
            { name: "mx", vars: new Map(), priority: 1, children: [], hosts: [] },
            { name: "web", vars: new Map(), priority: 1, children: [], hosts: [] },
        ]);
    });

    it("hosts as a list, host variables as a list, or a child group that is a list are refused (Ansible too), and the child is not added", () => {
        assert.deepEqual(parseYamlInventory("mx:\n  hosts: [mx1, mx2]\n", "h.yml").problems, [`h.yml:2: group "mx": hosts must be a mapping, got ["mx1","mx2"]`]);
        assert.deepEqual(parseYamlInventory("mx:\n  hosts:\n    mx1: [a]\n", "v.yml").problems, [`v.yml:3: host "mx1": its variables must be a mapping, got ["a"]`]);
        const inv = parseYamlInventory("mx:\n  children:\n    bad: [x]\n", "c.yml");
        assert.deepEqual(inv.problems, [`c.yml:3: group "bad" must be a mapping with hosts, vars and children, got ["x"]`]);
        assert.deepEqual(inv.groups.get("mx")!.children, []);
        assert.equal(inv.groups.has("bad"), false);
    });

    it("a YAML error names the file and line with js-yaml's reason alone; one without a line names the file", () => {
        assert.deepEqual(parseYamlInventory("mx:\n  hosts:\n    mx1:\n  hosts:\n", "d.yml").problems, ["d.yml:4: duplicated mapping key"]);
        // Two documents: Ansible refuses them too ("expected a single document").
        assert.deepEqual(parseYamlInventory("mx:\n  hosts:\n    a:\n---\nweb:\n", "m.yml").problems, ["m.yml: expected a single document in the stream, but found more"]);
        assert.deepEqual(parseVarsFile("a: 1\n---\nb: 2\n", "group_vars/all.yml").problems, ["group_vars/all.yml: expected a single document in the stream, but found more"]);
    });

    it("isMapping: only a plain object is a mapping", () => {
        const cases: [unknown, boolean][] = [
            [{}, true], [{ a: 1 }, true], [null, false], [undefined, false], ["a", false], [1, false], [true, false], [[], false],
            [new OpaqueValue("x"), false], [new UnsafeString("x"), false],
        ];
        for (const [v, want] of cases) assert.equal(isMapping(v), want, String(v));
    });
});

// ------------------------------------------------------------- Ansible --

/** `ansible-inventory -i FILE --list` (test/support/ansible.ts). */
const ansibleList = (file: string) => ansibleInventory(file);

/**
 * ansible-inventory's hostvars. Python's json writes the floats inf and nan
 * as bare Infinity and NaN, which JSON.parse refuses: they are read as
 * numbers here. `!unsafe` strings come as {"__ansible_unsafe": text}.
 */
function ansibleHostvars(out: string): Record<string, Record<string, unknown>> {
    const marked = out.replace(/: (-?Infinity|NaN)(,?)$/gm, ': {"__number": "$1"}$2');
    return JSON.parse(marked, (_k, v) => {
        if (v !== null && typeof v === "object" && "__number" in v) return Number(v.__number);
        if (v !== null && typeof v === "object" && "__ansible_unsafe" in v) return new UnsafeString(v.__ansible_unsafe);
        return v;
    })._meta.hostvars;
}

describe("inventory YAML: the same values and hosts as ansible-inventory --list", function () {
    this.timeout(120000);

    it("every scalar, tag and !unsafe value of the tables above, and the hosts of the line cases", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-yaml-"));
        try {
            fs.writeFileSync(path.join(dir, "scalars.yml"), SCALARS_YAML + TAGGED_YAML.replace(/^all:\n {2}hosts:\n/, ""));
            fs.writeFileSync(path.join(dir, "lines.yml"), LINES_YAML);
            const [scalars, lines] = await Promise.all([ansibleList(path.join(dir, "scalars.yml")), ansibleList(path.join(dir, "lines.yml"))]);
            assert.equal(scalars.code, 0, scalars.err);
            assert.equal(lines.code, 0, lines.err);
            const hv = ansibleHostvars(scalars.out);
            SCALARS.forEach(([text, want], i) => assert.deepEqual(hv.h[key(i)], want, JSON.stringify(text)));
            TAGGED.forEach(([text, want], i) => assert.deepEqual(hv.t[key(i)], want, text));
            const mine = parseYamlInventory(LINES_YAML, "l.yml");
            const theirs = ansibleHostvars(lines.out);
            for (const h of ["mx1", "mx2", "mx3", "mx4", "mx5", "mx6", "mx7"]) {
                // Ansible gives each host the group all's vars too (base, here).
                const { base, ...own } = theirs[h];
                assert.deepEqual(base, { ansible_user: "deploy" });
                assert.deepEqual(valuesOf(mine, h), own, h);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
