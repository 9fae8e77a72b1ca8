// The package's public API (components/index.ts, what `import ... from
// "smtp-port"` gives): listed in the README, documented in TSDoc, and the same
// names at run time as in the declarations.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..", "..");
const INDEX = path.join(ROOT, "components", "index.ts");

interface Export {
    name: string;
    /** A value (function, class, constant) as well as, or instead of, a type. */
    value: boolean;
    symbol: ts.Symbol;
}

interface Api {
    checker: ts.TypeChecker;
    exports: Export[];
    /** Declared in the module's own folder (not in @pulumi/pulumi or Node's types). */
    ours: (s: ts.Symbol) => boolean;
}

const apis = new Map<string, Api>();

/** The exports of a module (components/index.ts) as the compiler sees them (the .d.ts a consumer gets says the same). */
function publicApi(index = INDEX): Api {
    const known = apis.get(index);
    if (known) return known;
    const program = ts.createProgram([index], {
        strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10, esModuleInterop: true, skipLibCheck: true, types: ["node"], noEmit: true,
    });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
    const exports = checker.getExportsOfModule(moduleSymbol).map(e => {
        const symbol = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        return { name: e.name, value: (symbol.flags & ts.SymbolFlags.Value) !== 0, symbol };
    });
    const dir = path.dirname(index) + path.sep;
    const ours = (s: ts.Symbol) => (s.declarations ?? []).some(d => d.getSourceFile().fileName.startsWith(dir));
    const api = { checker, exports, ours };
    apis.set(index, api);
    return api;
}

/** The names the README's "API" section lists: the backticked names in the first column of its table. */
function readmeApiNames(readme: string): string[] {
    const m = /^## API\n([\s\S]*?)(?=^## )/m.exec(readme);
    if (!m) throw new Error("README.md has no \"## API\" section");
    const names: string[] = [];
    for (const line of m[1].split("\n")) {
        if (!line.startsWith("| ") || /^\|\s*-+/.test(line) || /^\| Export/.test(line)) continue;
        const first = line.split("|")[1];
        for (const n of first.matchAll(/`([A-Za-z_$][A-Za-z0-9_$]*)`/g)) names.push(n[1]);
    }
    return names;
}

const docOf = (checker: ts.TypeChecker, s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim();

/**
 * What lacks TSDoc: an export itself; a member (property, method) of an
 * exported interface or class; a parameter of an exported function, or of
 * an exported class's constructor or public method, without its `@param`.
 */
function undocumented(index = INDEX): string[] {
    const { checker, exports, ours } = publicApi(index);
    const missing: string[] = [];
    const params = (where: string, decl: ts.SignatureDeclaration) => {
        const tagged = new Set(ts.getJSDocTags(decl).filter(ts.isJSDocParameterTag).map(t => t.name.getText()));
        for (const p of decl.parameters) if (!tagged.has(p.name.getText())) missing.push(`${where}: @param ${p.name.getText()}`);
    };
    const members = (where: string, s: ts.Symbol) => {
        for (const m of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(s))) {
            const d = m.declarations?.[0];
            if (!d || !ours(m)) continue;
            if (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
            if (!docOf(checker, m)) missing.push(`${where}.${m.name}`);
            if (ts.isMethodDeclaration(d)) params(`${where}.${m.name}`, d);
        }
    };
    for (const e of exports) {
        const s = e.symbol;
        if (!docOf(checker, s)) missing.push(e.name);
        if (s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) members(e.name, s);
        if (s.flags & ts.SymbolFlags.Class) {
            for (const d of s.declarations ?? []) {
                if (!ts.isClassDeclaration(d)) continue;
                for (const c of d.members) if (ts.isConstructorDeclaration(c)) params(`${e.name} constructor`, c);
            }
        }
        if (s.flags & ts.SymbolFlags.Function) {
            for (const d of s.declarations ?? []) if (ts.isFunctionDeclaration(d)) params(e.name, d);
        }
    }
    return missing;
}

describe("the public API (components/index.ts: the package's exports)", function () {
    // The compiler reads @pulumi/pulumi's and @pulumi/command's declarations.
    this.timeout(120_000);

    it("is listed in the README's API section, every name and no other", () => {
        const listed = readmeApiNames(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
        const exported = publicApi().exports.map(e => e.name);
        const dup = listed.filter((n, i) => listed.indexOf(n) !== i);
        assert.deepEqual(dup, [], "listed twice in README.md's API section");
        assert.deepEqual(exported.filter(n => !listed.includes(n)).sort(), [], "exported by components/index.ts but not listed in README.md's API section");
        assert.deepEqual(listed.filter(n => !exported.includes(n)).sort(), [], "listed in README.md's API section but not exported by components/index.ts");
    });

    it("exports at run time exactly its values (types as `export type`, so that every transpiler agrees with tsc)", () => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const runtime = Object.keys(require("../../components")).sort();
        assert.deepEqual(runtime, publicApi().exports.filter(e => e.value).map(e => e.name).sort());
    });

    it("has TSDoc on every export, every field and member, and every parameter", () => {
        assert.deepEqual(undocumented(), []);
    });

    it("the README's list is read as written: a name missing from it, or one too many, is found", () => {
        const readme = "# x\n\n## API\n\n| Export | What |\n| --- | --- |\n| `SmtpPort`, `describe` | the component |\n| `gone` | no longer |\n\n## Next\n| `NotApi` | x |\n";
        assert.deepEqual(readmeApiNames(readme), ["SmtpPort", "describe", "gone"]);
        assert.throws(() => readmeApiNames("# x\n## Usage\n"), /no "## API" section/);
    });

    it("the TSDoc check finds an export, a field, and a parameter without it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-api-"));
        try {
            fs.writeFileSync(path.join(dir, "index.ts"), [
                "/** Documented. */",
                "export interface A {",
                "    /** Documented. */",
                "    x: number;",
                "    y: string;",
                "}",
                "export function f(a: number, b: number): number { return a + b; }",
                "/** Documented. @param a documented */",
                "export function g(a: number, b: number): number { return a + b; }",
                "/** Documented. */",
                "export class C {",
                "    /** @param n documented */",
                "    constructor(n: string, m: string) { void n; void m; }",
                "    /** Documented. */",
                "    public z = 1;",
                "    public w = 2;",
                "}",
                "/** Documented. */",
                "export type T = string;",
            ].join("\n"));
            assert.deepEqual(undocumented(path.join(dir, "index.ts")).sort(), [
                "A.y", "C constructor: @param m", "C.w", "f", "f: @param a", "f: @param b", "g: @param b",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
