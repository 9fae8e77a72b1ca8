// The package as another Pulumi program uses it: `npm pack` (which builds
// dist/ through `prepare`), the tarball installed into a copy of
// examples/lab-fleet outside this repository, and that program's real
// `pulumi up` and `pulumi destroy` against the lab. The program resolves
// nothing from this checkout: only the tarball and the npm cache.
//
// Lab: SMTP_PORT_LAB_ID (default 0, after the fleet test, which takes it
// down when it ends), 2 hosts.
import { strict as assert } from "assert";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { labById, Lab, ROOT } from "../support/lab";
import { Stack } from "../support/pulumi";
import { greeting } from "../support/e2eStack";

const LAB_ID = Number(process.env.SMTP_PORT_LAB_ID ?? 0);
const EXAMPLE = "lab-fleet";
const STACK = "e2e";
const PORT = 17;
const lab = labById(LAB_ID);

/**
 * npm with the environment of this process less npm's own variables: under
 * `npm test` they would carry this repository's settings (its prefix, its
 * ignore-scripts) into the consumer's install.
 */
function npm(args: string[], cwd: string, timeout = 600_000): SpawnSyncReturns<string> {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    return spawnSync("npm", args, { cwd, env, encoding: "utf8", timeout, maxBuffer: 1 << 26 });
}

function must(what: string, r: SpawnSyncReturns<string>): string {
    if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    return r.stdout;
}

describe("the package: packed, installed into a separate program, that program's pulumi up and destroy on the lab", function () {
    this.timeout(1_200_000);
    let tmp: string;
    let tarball: string;
    let packed: { filename: string; files: { path: string }[]; size: number; unpackedSize: number };
    let program: string;
    let installed: string;
    let fleet: Lab;
    let stack: Stack | undefined;
    const original: Record<string, string> = {};
    const mainCf: Record<string, string> = {};
    const hostNames = () => fleet.hosts.map(h => h.name);
    const addr = (h: string) => fleet.hosts.find(x => x.name === h)!.address;
    const pulumi = async (args: string[], opts: { input?: string } = {}) => {
        // The program was type checked against the package's declarations
        // (test 2); ts-node need not check it again on every run.
        const r = await stack!.run(args, { ...opts, env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } });
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
        return r;
    };

    before(async function () {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-package-"));
        // Scripts on: this repository's .npmrc turns them off, and `prepare` builds dist/.
        const out = must("npm pack", npm(["pack", "--ignore-scripts=false", "--json", "--pack-destination", tmp], ROOT));
        packed = JSON.parse(out.slice(out.indexOf("[")))[0];
        tarball = path.join(tmp, packed.filename);
        // The example as it is in the repository, beside the tarball where
        // its package.json expects it after `npm run package` at the root.
        program = path.join(tmp, "examples", EXAMPLE);
        fs.cpSync(path.join(ROOT, "examples", EXAMPLE), program, {
            recursive: true,
            filter: src => !/(^|\/)(node_modules|package-lock\.json|Pulumi\.(?!yaml$)[^/]*\.yaml)$/.test(path.relative(ROOT, src)),
        });
        const want = JSON.parse(fs.readFileSync(path.join(program, "package.json"), "utf8")).dependencies["smtp-port"];
        assert.equal(want, `file:../../${packed.filename}`, `examples/${EXAMPLE}/package.json: smtp-port must be the tarball npm pack makes at the repository root`);
        // The npm cache first (npm ci filled it with every package the
        // example needs); the registry only for what it lacks. No install
        // scripts: the only one, ssh2's optional native crypto binding, is not needed.
        must("npm install", npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], program));
        installed = path.join(program, "node_modules", "smtp-port");

        lab.down();
        fleet = lab.up(2);
        for (const h of hostNames()) {
            original[h] = lab.servicesOf(h);
            mainCf[h] = lab.inHost(h, "cat", "/etc/postfix/main.cf");
        }
        stack = new Stack(STACK, program);
        await pulumi(["stack", "init"]);
        await pulumi(["config", "set", "--secret", "privateKey"], { input: fs.readFileSync(fleet.keyPath, "utf8") });
        // The plain settings, as a user writes them in Pulumi.e2e.yaml
        // (JSON is YAML), after the key and salt that pulumi wrote.
        const ns = "smtp-port-example";
        const hosts = fleet.hosts.map(h => ({ name: h.name, host: h.address, user: h.user, hostKey: h.hostKey }));
        fs.appendFileSync(path.join(program, `Pulumi.${STACK}.yaml`), [
            `  ${ns}:port: ${PORT}`,
            `  ${ns}:restartCommand: ${JSON.stringify(fleet.hosts[0].restartCommand)}`,
            `  ${ns}:hosts: ${JSON.stringify(hosts)}`,
        ].join("\n") + "\n");
    });

    after(async function () {
        if (stack) {
            await stack.run(["destroy", "--yes", "--continue-on-error"]).catch(() => undefined);
            fs.rmSync(stack.backendDir, { recursive: true, force: true });
        }
        lab.down();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("1. npm pack: compiled JavaScript with declarations, the host script and the listener check; no sources, tests, lab, bench or engine", () => {
        const files = packed.files.map(f => f.path).sort();
        process.stderr.write(`      ${packed.filename}: ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${files.length} files\n`);
        for (const f of files) assert.match(f, /^(package\.json|README\.md|dist\/.+)$/, `${f} should not be in the package`);
        for (const f of files.filter(f => f.startsWith("dist/"))) assert.match(f, /\.(js|d\.ts|sh)$/, `${f}: dist/ holds modules, declarations and the two scripts`);
        // Every module of components/, compiled and declared.
        for (const m of fs.readdirSync(path.join(ROOT, "components")).filter(f => f.endsWith(".ts"))) {
            const base = m.slice(0, -3);
            assert.ok(files.includes(`dist/${base}.js`) && files.includes(`dist/${base}.d.ts`), `components/${m} compiled (dist/${base}.js, dist/${base}.d.ts)`);
        }
        // The scripts as they are in the repository, where the modules find them.
        assert.equal(fs.readFileSync(path.join(installed, "dist", "host", "smtp-port.sh"), "utf8"), fs.readFileSync(path.join(ROOT, "components", "host", "smtp-port.sh"), "utf8"));
        assert.equal(fs.readFileSync(path.join(installed, "dist", "listener", "listener-check.js"), "utf8"), fs.readFileSync(path.join(ROOT, "components", "listener", "listener-check.js"), "utf8"));
        const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
        assert.equal(pkg.name, "smtp-port");
        for (const f of [pkg.main, pkg.types, pkg.exports["."].default, pkg.exports["."].types]) {
            assert.ok(files.includes(path.normalize(f)), `${f} (package.json) is in the package`);
        }
        assert.deepEqual(Object.keys(pkg.dependencies).sort(), ["@pulumi/command", "js-yaml", "ssh2"], "only what the component needs at run time");
        assert.deepEqual(Object.keys(pkg.peerDependencies), ["@pulumi/pulumi"]);
    });

    it("2. installs into a separate program: one @pulumi/pulumi (the program's), the repository's exports and no others, found from any folder; the program type checks", () => {
        const node = (code: string, cwd: string) => spawnSync(process.execPath, ["-e", code], { cwd, encoding: "utf8" });
        // Resolved as the program resolves it, from a folder that is neither
        // the program's nor the repository's: nothing depends on the cwd.
        const req = `require(require.resolve("smtp-port", { paths: [${JSON.stringify(program)}] }))`;
        const exported = JSON.parse(must("node", node(`const m = ${req}; console.log(JSON.stringify({ keys: Object.keys(m).sort(), path: m.hostScriptPath, digest: m.hostScript().digest }))`, os.tmpdir())));
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const source = require("../../components");
        assert.deepEqual(exported.keys, Object.keys(source).sort(), "the tarball's exports are components/index.ts's");
        assert.equal(exported.path, path.join(fs.realpathSync(installed), "dist", "host", "smtp-port.sh"), "the host script is found in the installed package");
        assert.equal(exported.digest, source.hostScript().digest);
        const deep = node(`require("smtp-port/dist/stackConfig")`, program);
        assert.notEqual(deep.status, 0);
        assert.match(deep.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/, "no deep imports: the API is the package's main module");
        assert.ok(!fs.existsSync(path.join(installed, "node_modules", "@pulumi", "pulumi")), "no second @pulumi/pulumi inside the package");
        assert.equal(JSON.parse(fs.readFileSync(path.join(program, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version, "3.248.0");
        must("tsc -p . in the program", spawnSync(process.execPath, [path.join(program, "node_modules", "typescript", "bin", "tsc"), "-p", "."], { cwd: program, encoding: "utf8" }));
    });

    it("3. pulumi up moves every host: the resolver answers the new port, it greets 220, 25 is closed; the listener check runs from the installed package", async () => {
        await pulumi(["up", "--yes"]);
        for (const h of hostNames()) {
            assert.equal(lab.getent(h, "smtp/tcp"), `smtp ${PORT}/tcp mail`, `${h} resolver`);
            assert.equal(lab.getent(h, `${PORT}/tcp`), `smtp ${PORT}/tcp mail`);
            assert.match(lab.servicesOf(h), /^#qotd\t\t17\/tcp\t\tquote$/m, `${h} qotd commented`);
            assert.match(await greeting(addr(h), PORT), /^220 .*ESMTP/, `${h} greets on ${PORT}`);
            assert.equal(await greeting(addr(h), 25), "(connection refused)", `${h}: 25 closed`);
        }
        const out = JSON.parse((await pulumi(["stack", "output", "--json"])).stdout);
        for (const h of hostNames()) {
            assert.match(out.summary, new RegExp(`^${h}: smtp 25 -> ${PORT} \\(changed; commented 2 lines; restarted\\), greeting "220 `, "m"));
        }
        const state = (await pulumi(["stack", "export"])).stdout;
        assert.match(state, /"create": "node node_modules\/smtp-port\/dist\/listener\/listener-check\.js --timeout-ms/);
    });

    it("4. pulumi destroy gives every host its original services file and main.cf back, and the greeting on 25", async () => {
        await pulumi(["destroy", "--yes"]);
        for (const h of hostNames()) {
            assert.equal(lab.servicesOf(h), original[h], `${h} services byte-identical`);
            assert.equal(lab.inHost(h, "cat", "/etc/postfix/main.cf"), mainCf[h], `${h} main.cf byte-identical`);
            assert.match(await greeting(addr(h), 25), /^220 /, `${h} greets on 25 again`);
        }
    });
});
