import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { lazyModule } from "../../startup/defer-sdk-modules";
import { swcOptions } from "../../startup/transpile-ts";

const ROOT = path.resolve(__dirname, "../..");
const PRELOAD = path.join(ROOT, "startup", "preload.js");

/** node --require startup/preload.js -e SCRIPT, as Pulumi.yaml runs the program. */
function withPreload(script: string) {
    const r = spawnSync(process.execPath, ["--require", PRELOAD, "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Evaluates TypeScript as tsc compiles it for this project, with `require("m")` answered by `m`. */
function compiledWith(source: string, m: unknown): Record<string, any> {
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, esModuleInterop: true, target: ts.ScriptTarget.ES2022 } }).outputText;
    const exports: Record<string, any> = {};
    new Function("exports", "require", js)(exports, (name: string) => { assert.equal(name, "m"); return m; });
    return exports;
}

describe("program start-up (startup/preload.js)", () => {
    describe("stand-ins for modules the SDK loads eagerly", () => {
        const importer = 'import * as ns from "m"; import def from "m"; export const member = () => ns.value; export const whole = () => def;';

        it("loads nothing until a member is used, then behaves as the CommonJS module", () => {
            let loads = 0;
            const real = { value: 42 };
            const out = compiledWith(importer, lazyModule(() => { loads++; return real; }));
            assert.equal(loads, 0, "__importStar/__importDefault must not load the module");
            assert.equal(out.member(), 42);
            assert.equal(out.whole(), real, "a default import of a CommonJS module is the module itself");
            assert.equal(loads, 1);
        });

        it("gives an ES module's own default export", () => {
            const real = { __esModule: true, default: "the default", value: 7 };
            const out = compiledWith(importer, lazyModule(() => real));
            assert.equal(out.whole(), "the default");
            assert.equal(out.member(), 7);
        });

        it("lists the real module's keys", () => {
            const stand = lazyModule(() => ({ a: 1, b: 2 }));
            assert.deepEqual(Object.keys(stand), ["a", "b"]);
            assert.ok("a" in stand);
            assert.equal({ ...stand }.b, 2);
        });
    });

    it("loads @pulumi/pulumi without the TypeScript compiler or Arborist, and loads them when they are used", () => {
        const r = withPreload(`
            const loaded = () => [...new Set(Object.keys(require.cache)
                .map(f => (/node_modules\\/(typescript|@npmcli\\/arborist)\\//.exec(f) || [])[1]).filter(Boolean))].sort();
            const pulumi = require("@pulumi/pulumi");
            const atStart = loaded();
            (async () => {
                const fn = await pulumi.runtime.serializeFunction(() => 40 + 2);
                const paths = await pulumi.runtime.computeCodePaths();
                console.log(JSON.stringify({ atStart, after: loaded(), serialized: fn.text.includes("40 + 2"), codePaths: paths.size > 0 }));
            })();
        `);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { atStart: [], after: ["@npmcli/arborist", "typescript"], serialized: true, codePaths: true });
    });

    it("loads the whole program without the TypeScript compiler, Arborist or ssh2 (only a look needs ssh2)", () => {
        const r = withPreload(`
            const guarded = /node_modules\\/(typescript|@npmcli\\/arborist|ssh2)\\//;
            require("@pulumi/pulumi"); require("@pulumi/command");
            require("./components"); require("./components/stackConfig");
            const loaded = [...new Set(Object.keys(require.cache).map(f => (guarded.exec(f) || [])[1]).filter(Boolean))].sort();
            const ours = Object.keys(require.cache).filter(f => f.includes("/components/") && !f.includes("node_modules")).length;
            console.log(JSON.stringify({ loaded, ours: ours > 5 }));
        `);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), { loaded: [], ours: true });
    });

    it("runs TypeScript, and stack traces name lines of the .ts source", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-startup-"));
        try {
            const file = path.join(dir, "program.ts");
            fs.writeFileSync(file, [
                "interface Shape { n: number }",
                "const shape: Shape = { n: 1 };",
                "export class Fleet { readonly size: number = shape.n; }",
                "export function boom(): never {",
                "    throw new Error(`boom ${new Fleet().size}`);",
                "}",
                "boom();",
                "",
            ].join("\n"));
            const r = withPreload(`require(${JSON.stringify(file)})`);
            assert.notEqual(r.status, 0);
            assert.match(r.stderr, /Error: boom 1/);
            assert.match(r.stderr, /program\.ts:5:\d+/, r.stderr);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("transpiles as tsconfig.json says (target, modules, interop, strict)", () => {
        const { config } = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
        const o = config.compilerOptions;
        const swc = swcOptions("x.ts");
        assert.equal(swc.jsc?.target, String(o.target).toLowerCase());
        assert.equal(swc.module?.type, String(o.module).toLowerCase());
        assert.equal((swc.module as { noInterop?: boolean }).noInterop, !o.esModuleInterop);
        assert.equal((swc.module as { strictMode?: boolean }).strictMode, o.strict);
        assert.equal(swc.jsc?.transform?.useDefineForClassFields, true, "TypeScript's default from ES2022 on");
    });

    it("runs on the exact @pulumi/pulumi it was made for: pinned in package.json and the lock, and installed", () => {
        // startup/ and components/promiseStacks.ts rely on the SDK's internals.
        // The package leaves the SDK to its consumer (a peer dependency);
        // this repository's own program and tests run on the pinned one.
        const read = (f: string) => JSON.parse(fs.readFileSync(path.join(ROOT, f), "utf8"));
        const pkg = read("package.json");
        const pinned = pkg.devDependencies["@pulumi/pulumi"];
        assert.match(pinned, /^\d+\.\d+\.\d+$/, "an exact version, no range");
        assert.equal(pkg.dependencies?.["@pulumi/pulumi"], undefined, "not a regular dependency: a consumer's program has one SDK, its own");
        assert.equal(pkg.peerDependencies["@pulumi/pulumi"], `^${pinned}`, "the peer range starts at the pinned version, the one tested");
        const lock = read("package-lock.json").packages;
        assert.equal(lock[""].devDependencies["@pulumi/pulumi"], pinned, "the lock's root entry agrees");
        assert.equal(lock["node_modules/@pulumi/pulumi"].version, pinned);
        assert.equal(read("node_modules/@pulumi/pulumi/package.json").version, pinned, "installed");
    });

    it("is what Pulumi.yaml runs the program with", () => {
        const yaml = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
        assert.match(yaml, /^\s+typescript: false$/m);
        assert.match(yaml, /^\s+nodeargs: --require \.\/startup\/preload\.js$/m);
    });
});
