// The small readers under every inventory value, at their edges: Python
// literals in INI values (ast.literal_eval, as Ansible's ini plugin runs it),
// shlex on INI host lines, group_vars/ and host_vars/ files (JSON first, then
// YAML, as Ansible's DataLoader), and how a value and its place are shown.
//
// The INI values are compared with `ansible-inventory --list` on one file
// that holds them all; the few that ansible-inventory cannot show (it fails
// on the whole file, or trims them) were checked by hand against Python 3.11's
// ast.literal_eval and shlex.split(comments=True), the calls Ansible makes.
import { strict as assert } from "assert";
import * as path from "path";
import { OpaqueValue, parseIniInventory, parseVarsFile, pyLiteral, shlexSplit } from "../../components/inventory";
import { show, where } from "../../components/inventory/values";
import { AnsibleList, ansibleInventory } from "../support/ansible";


/** `ansible-inventory -i hosts.ini --list` on `files` (path -> text): the hostvars of each host. */
async function ansibleHostvars(files: Record<string, string>): Promise<Record<string, Record<string, unknown>>> {
    const inv = Object.fromEntries(Object.entries(files).map(([f, text]) => [path.join("inv", f), text]));
    const r = await ansibleInventory(path.join("inv", "hosts.ini"), { files: inv });
    if (r.code !== 0) throw new Error(`ansible-inventory failed: ${r.err}`);
    return (JSON.parse(r.out) as AnsibleList)._meta.hostvars;
}

/** A value from ansible-inventory as text: it shows a string Ansible never templates (read from a bytes literal) as {"__ansible_unsafe": text}. */
function plain(v: unknown): unknown {
    return v !== null && typeof v === "object" && "__ansible_unsafe" in v ? (v as Record<string, unknown>).__ansible_unsafe : v;
}

// ------------------------------------------------ INI values: literals --

/** [text after `v=` in a [lit:vars] line, what both Ansible and smtp-port make of it]. */
const SAME_AS_ANSIBLE: { what: string; cases: [string, unknown][] }[] = [
    {
        what: "escapes: control characters, octal (up to three digits), \\x with two hex digits, \\U with eight",
        cases: [
            [String.raw`'\a'`, "\x07"], [String.raw`'\b'`, "\b"], [String.raw`'\f'`, "\f"], [String.raw`'\n'`, "\n"], [String.raw`'\r'`, "\r"], [String.raw`'\v'`, "\v"],
            [String.raw`'\101BC'`, "ABC"], [String.raw`'\1x'`, "\x01x"], [String.raw`'\xZ41'`, String.raw`'\xZ41'`], [String.raw`'\x4'`, String.raw`'\x4'`],
            [String.raw`'\U0001F600'`, "\u{1F600}"], [String.raw`'\u00e9x'`, "éx"], [String.raw`b'\u0041'`, String.raw`\u0041`],
            [String.raw`b'\N{EM DASH}'`, String.raw`\N{EM DASH}`], ["'é'", "é"], ["b'é'", "b'é'"],
        ],
    },
    {
        what: "string prefixes: u, b, r and rb/br in any case and order; no other pair",
        cases: [
            ["u'x'", "x"], ["U'x'", "x"], ["b'x'", "x"], ["B'x'", "x"],
            [String.raw`rb'a\tb'`, String.raw`a\tb`], [String.raw`Rb'a\tb'`, String.raw`a\tb`], [String.raw`br'a\tb'`, String.raw`a\tb`], [String.raw`bR'a\tb'`, String.raw`a\tb`], ["BR'x'", "x"],
            ["ur'x'", "ur'x'"], ["ru'x'", "ru'x'"], ["ub'x'", "ub'x'"], ["bu'x'", "bu'x'"], ["rr'x'", "rr'x'"], ["bb'x'", "bb'x'"], ["uu'x'", "uu'x'"],
            ["fr'x'", "fr'x'"], ["rf'x'", "rf'x'"], ["fb'x'", "fb'x'"],
        ],
    },
    {
        what: "strings side by side join, but bytes and text do not mix; a quote in a comment is no string; an escaped quote does not close",
        cases: [
            ["'a'  'b'", "ab"], ["\"a\" 'b'", "ab"], ["b'a' b'b'", "ab"], ["b'a' 'b'", "b'a' 'b'"], ["'a' b'b'", "'a' b'b'"],
            ["'a' 5", "'a' 5"], ["5 'a'", "5 'a'"], ["22 # it's", 22], [String.raw`'''a\'''`, String.raw`'''a\'''`],
        ],
    },
    {
        what: "numbers: floats without a leading digit, exponents, underscores, hex, octal and binary with their digits only",
        cases: [
            [".5", 0.5], [".25", 0.25], ["1.25", 1.25], [".5e1", 5], ["5.", 5], ["1e3", 1000], ["1e10", 1e10], ["1E-3", 0.001], ["1.5e+2", 150], ["1_0.2_5", 10.25], ["1__0", "1__0"], ["1_", "1_"],
            ["0x_1f", 31], ["0xg", "0xg"], ["0o_17", 15], ["0o8", "0o8"], ["0b101", 5], ["0b_101", 5], ["0B11", 3], ["0b12", "0b12"], ["0b12j", "0b12j"], ["[0b12]", "[0b12]"],
        ],
    },
    {
        what: "leading zeros: refused in a decimal integer unless all zeros, allowed in a float",
        cases: [["00", 0], ["0_0", 0], ["000", 0], ["0100", "0100"], ["01.5", 1.5], ["007.5", 7.5], ["08.5", 8.5], ["08e1", 80], ["0e5", 0]],
    },
    {
        what: "signs and parentheses: one sign before one number, parentheses only as a matched pair",
        cases: [
            ["(-5)", -5], ["(True)", true], ["-5)", "-5)"], ["'(' -5)", "'(' -5)"], ["(-5 ')'", "(-5 ')'"], ["(5 (", "(5 ("], ["(5", "(5"],
            ["'-' 5", "'-' 5"], ["--5", "--5"], ["(+)", "(+)"], ["+", "+"], ["-True", "-True"], ["[1; 2]", "[1; 2]"], ["True False", "True False"],
        ],
    },
];

/** Texts Ansible reads as a literal smtp-port cannot use as an address, port or user (a container, a complex number, a \N{...} name). */
const OPAQUE: [string, string][] = [
    ["1+2j", "a Python complex number"], ["-1j", "a Python complex number"], ["(-1j)", "a Python complex number"], ["1J", "a Python complex number"],
    [String.raw`'\N{EM DASH}'`, "a Python \\N{...} escape"], [String.raw`u'\N{EM DASH}'`, "a Python \\N{...} escape"], [String.raw`'a' '\N{EM DASH}'`, "a Python \\N{...} escape"],
    ["[1, 2]", "a Python list, tuple, set or dict"], ["{'a': 1}", "a Python list, tuple, set or dict"], ["(1, 2)", "a Python list, tuple, set or dict"],
];

/** Values Ansible read and smtp-port once did not (triple-quoted strings with an escaped quote, an imaginary number with leading zeros). */
const FIXED: [string, unknown][] = [[String.raw`'''a\''''`, "a'"], [String.raw`"""a\""""`, "a\""]];
const FIXED_OPAQUE: [string, string][] = [["08j", "a Python complex number"]];

const ALL = [...SAME_AS_ANSIBLE.flatMap(g => g.cases.map(c => c[0])), ...OPAQUE.map(c => c[0]), ...FIXED.map(c => c[0]), ...FIXED_OPAQUE.map(c => c[0])];
const key = (text: string) => `v${ALL.indexOf(text)}`;

// Host lines as shlex splits them: a backslash in double quotes escapes only " and \, '' is an empty word.
const HOST_LINE = String.raw`q1 a="a\b" b="a\\b" c="\\" d="\q" e='' f=x\ y`;
const HOST_LINE_VARS = { a: "a\\b", b: "a\\b", c: "\\", d: "\\q", e: "", f: "x y" };

const INI = ["[lit]", "h0", HOST_LINE, "", "[lit:vars]", ...ALL.map(t => `${key(t)}=${t}`), ""].join("\n");

describe("INI values and host lines: the same as ansible-inventory --list", function () {
    this.timeout(120000);
    let ansible: Record<string, Record<string, unknown>>;
    const ours = () => parseIniInventory(INI, "hosts.ini"); // per test: Stryker runs a describe body once, before any mutant is active
    const oursValue = (text: string) => ours().groups.get("lit")!.vars.get(key(text))?.value;

    before(async () => {
        assert.deepEqual(ours().problems, []);
        ansible = await ansibleHostvars({ "hosts.ini": INI });
    });

    for (const g of SAME_AS_ANSIBLE) {
        it(g.what, () => {
            for (const [text, want] of g.cases) {
                assert.deepEqual(plain(ansible.h0[key(text)]), want, `ansible-inventory on ${text}`);
                assert.deepEqual(oursValue(text), want, `smtp-port on ${text}`);
                assert.deepEqual(pyLiteral(text), want, `pyLiteral on ${text}`);
            }
        });
    }

    it("a container, a complex number or a \\N{...} name is a literal to Ansible, and a value smtp-port says it cannot use", () => {
        for (const [text, what] of OPAQUE) {
            assert.notDeepEqual(ansible.h0[key(text)], text, `ansible-inventory reads ${text} as a literal`);
            assert.deepEqual(pyLiteral(text), new OpaqueValue(what), text);
        }
    });

    it("host line words: quotes, backslashes and empty quotes as shlex splits them", () => {
        const vars = Object.fromEntries(Object.keys(HOST_LINE_VARS).map(k => [k, ansible.q1[k]]));
        assert.deepEqual(vars, HOST_LINE_VARS);
        const q1 = ours().hosts.get("q1")!;
        assert.deepEqual(Object.fromEntries([...q1.vars].map(([k, v]) => [k, v.value])), HOST_LINE_VARS);
    });

    describe("values smtp-port once read differently from Ansible", () => {
        it("a triple-quoted string ends at an unescaped closing quote", () => {
            for (const [text, want] of FIXED) {
                assert.deepEqual(plain(ansible.h0[key(text)]), want, `ansible-inventory on ${text}`);
                assert.deepEqual(pyLiteral(text), want, text);
            }
        });

        it("an imaginary number may have leading zeros (08j is 8j)", () => {
            for (const [text, what] of FIXED_OPAQUE) {
                assert.notDeepEqual(ansible.h0[key(text)], text, `ansible-inventory reads ${text} as a literal`);
                assert.deepEqual(pyLiteral(text), new OpaqueValue(what), text);
            }
        });
    });
});

describe("INI values and host lines that ansible-inventory cannot show (checked against Python's ast.literal_eval and shlex)", () => {
    it("a value of a host line keeps its spaces: around a lone sign it is no literal", () => {
        // `h v="- "` gives ast.literal_eval("- "): a SyntaxError, so the text.
        for (const text of ["- ", "-", " + "]) assert.equal(pyLiteral(text), text, JSON.stringify(text));
        assert.equal(pyLiteral("  5 "), 5);
    });

    it("shlex: leading blanks and an empty line give no empty word; '' is one", () => {
        assert.deepEqual(shlexSplit(" mx1"), ["mx1"]);
        assert.deepEqual(shlexSplit(""), []);
        assert.deepEqual(shlexSplit("   "), []);
        assert.deepEqual(shlexSplit("a\t b"), ["a", "b"]);
        assert.deepEqual(shlexSplit("a '' b"), ["a", "", "b"]);
    });

    it("shlex: in double quotes a backslash escapes only \" and \\", () => {
        assert.deepEqual(shlexSplit(String.raw`"a\b"`), [String.raw`a\b`]);
        assert.deepEqual(shlexSplit(String.raw`"a\\b"`), [String.raw`a\b`]);
        assert.deepEqual(shlexSplit(String.raw`"\\"`), ["\\"]);
    });

    it("shlex: a line ending in a backslash or inside a quote is an error, as Ansible's", () => {
        assert.throws(() => shlexSplit("mx1 a\\"), /^Error: No escaped character$/);
        assert.throws(() => shlexSplit("mx1 a 'b"), /^Error: No closing quotation$/);
        assert.throws(() => shlexSplit("mx1 a \"b"), /^Error: No closing quotation$/);
    });
});

// --------------------------------------------------------- vars files --

describe("group_vars/ and host_vars/ files: JSON first, then YAML, whatever the extension (as Ansible's DataLoader)", function () {
    this.timeout(120000);
    const JSON_VARS = `{\n  "ansible_port": 2222,\n  "ansible_port": 2200,\n  "ansible_user": "a\\/b",\n  "x": 1e3\n}\n`;
    const files: Record<string, string> = {
        "hosts.ini": "[mx]\nmx1\nmx2\nmx3\n",
        "group_vars/mx.yml": JSON_VARS,
        "group_vars/all.yml": "null\n",
        "host_vars/mx1.yml": "",
        "host_vars/mx2.yaml": "# nothing\n---\n",
        "host_vars/mx3.json": "{\"ansible_host\": \"10.0.0.3\"}\n",
    };
    let ansible: Record<string, Record<string, unknown>>;
    before(async () => {
        ansible = await ansibleHostvars(files);
    });
    const values = (file: string) => Object.fromEntries([...parseVarsFile(files[file], file).vars].map(([k, v]) => [k, v.value]));

    /** JSON_VARS read under `file`'s name: the last of two equal keys wins, 1e3 is a number, \/ is /, each on its line. */
    const readsJsonVars = (file: string) => {
        const layer = parseVarsFile(JSON_VARS, file);
        assert.deepEqual(layer.problems, [], file);
        assert.deepEqual([...layer.vars].map(([k, v]) => [k, v.value, v.origin]), [
            ["ansible_port", 2200, { file, line: 2 }], ["ansible_user", "a/b", { file, line: 4 }], ["x", 1000, { file, line: 5 }],
        ], file);
    };

    it("a .json file is read as JSON: the last of two equal keys wins, 1e3 is a number, \\/ is /; its variables are found on their lines", () => {
        for (const file of ["group_vars/mx.json", "group_vars/MX.JSON"]) readsJsonVars(file);
        assert.deepEqual(values("host_vars/mx3.json"), { ansible_host: "10.0.0.3" });
        assert.equal(ansible.mx3.ansible_host, "10.0.0.3");
    });

    it("a .yml file or one with no extension that is JSON is read as JSON too (smtp-port once read it as YAML only)", () => {
        assert.deepEqual(ansible.mx1, { ansible_port: 2200, ansible_user: "a/b", x: 1000 });
        for (const file of ["group_vars/mx.yml", "group_vars/mx"]) readsJsonVars(file);
        assert.deepEqual(values("group_vars/mx.yml"), ansible.mx1);
    });

    it("a file that is not JSON is YAML, with its lines", () => {
        const layer = parseVarsFile("# the port\nansible_port: 2222\nansible_user: deploy\n", "group_vars/mx.json");
        assert.deepEqual([...layer.vars].map(([k, v]) => [k, v.value, v.origin.line]), [["ansible_port", 2222, 2], ["ansible_user", "deploy", 3]]);
        assert.deepEqual(layer.problems, []);
    });

    it("an empty file, a comment alone or null sets nothing and is no problem", () => {
        for (const file of ["group_vars/all.yml", "host_vars/mx1.yml", "host_vars/mx2.yaml"]) {
            assert.deepEqual(parseVarsFile(files[file], file), { vars: new Map(), problems: [], skipped: [] }, file);
        }
        assert.deepEqual(parseVarsFile("null", "group_vars/all.json"), { vars: new Map(), problems: [], skipped: [] });
        assert.deepEqual(ansible.mx2, { ansible_port: 2200, ansible_user: "a/b", x: 1000 });
    });
});

// ------------------------------------------------- showing values --

describe("how a problem shows a value and where it was written", () => {
    it("where: file:line, or the file alone when the line is unknown", () => {
        assert.equal(where({ file: "group_vars/mx.json", line: 0 }), "group_vars/mx.json");
        assert.equal(where({ file: "hosts.ini", line: 1 }), "hosts.ini:1");
    });

    it("show: strings quoted, numbers and null as JSON, nothing for a missing value, what cannot be read by what it is", () => {
        assert.equal(show(undefined), "nothing");
        assert.equal(show("a\"b"), "\"a\\\"b\"");
        assert.equal(show(22), "22");
        assert.equal(show(null), "null");
        assert.equal(show(10n), "10");
        assert.equal(show(new OpaqueValue("a Python complex number")), "a Python complex number");
    });
});
