// engine/build.sh never overwrites a plugin it did not build: one put in an
// engine folder by hand (Pulumi's own build, to check the e2e suite against
// it), or one another checkout built from other sources into a shared
// SMTP_PORT_ENGINE_DIR. Either, replaced mid-run, once made a test run use a
// binary it did not ask for. It still rebuilds its own plugin when the
// sources change.
//
// Each case runs the real script against a temporary engine folder. The CLI
// is a placeholder (build.sh reuses any executable bin/pulumi), so only the
// language host is built, from the Go caches the engine build has warmed.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../support/lab";

const VERSION = "v3.248.0";
const NAME = "pulumi-language-nodejs";

describe("engine/build.sh: a plugin it did not build is never overwritten", function () {
    this.timeout(300_000);
    let dir: string;
    let bin: string;
    let stamps: string;
    let plugin: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-engine-"));
        bin = path.join(dir, VERSION, "bin");
        stamps = path.join(dir, VERSION, "stamps");
        plugin = path.join(bin, NAME);
        fs.mkdirSync(bin, { recursive: true });
        fs.mkdirSync(stamps, { recursive: true });
        fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        fs.writeFileSync(plugin, "#!/bin/sh\necho not ours\n", { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const build = () => spawnSync("sh", [path.join(ROOT, "engine", "build.sh")], {
        encoding: "utf8", env: { ...process.env, SMTP_PORT_ENGINE_DIR: dir }, timeout: 280_000,
    });
    const sha256 = (f: string) => require("crypto").createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    const stamp = (what: string, value: string) => fs.writeFileSync(path.join(stamps, `${NAME}.${what}`), value + "\n");
    const refused = (r: ReturnType<typeof build>, message: string) => {
        assert.equal(r.status, 1, r.stderr);
        assert.equal(r.stderr.trim().split("\n").pop(), `engine: error: ${NAME}: ${plugin} ${message}`);
        assert.equal(fs.readFileSync(plugin, "utf8"), "#!/bin/sh\necho not ours\n", "the plugin is left as it was");
    };

    it("a plugin put there by hand, with no stamp of ours", () => {
        refused(build(), "was not built by engine/build.sh; remove it to build ours, or set SMTP_PORT_ENGINE_DIR to another folder");
    });

    it("a plugin swapped in after ours was built (its digest is not the one recorded)", () => {
        stamp("src-sha256", "sources of an older build");
        stamp("bin-sha256", "0".repeat(64));
        refused(build(), "is not the binary engine/build.sh built there; remove it to build ours, or set SMTP_PORT_ENGINE_DIR to another folder");
    });

    it("a plugin another checkout built from other sources", () => {
        stamp("src-sha256", "sources of another checkout");
        stamp("bin-sha256", sha256(plugin));
        stamp("built-by", "/elsewhere/smtp-port");
        refused(build(), `was built from /elsewhere/smtp-port, whose sources differ from ${ROOT}'s; give this checkout its own SMTP_PORT_ENGINE_DIR`);
    });

    it("its own plugin, from older sources, is rebuilt, and the new one is stamped as ours", () => {
        stamp("src-sha256", "sources of an older build");
        stamp("bin-sha256", sha256(plugin));
        stamp("built-by", ROOT);
        const r = build();
        assert.equal(r.status, 0, r.stderr);
        assert.notEqual(fs.readFileSync(plugin, "utf8").slice(0, 20), "#!/bin/sh\necho not ours", "rebuilt");
        assert.equal(fs.readFileSync(path.join(stamps, `${NAME}.bin-sha256`), "utf8").trim(), sha256(plugin));
        assert.equal(fs.readFileSync(path.join(stamps, `${NAME}.built-by`), "utf8").trim(), ROOT);
        // And the second run finds it up to date: nothing to refuse, nothing rebuilt.
        const again = build();
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, new RegExp(`engine: ${NAME}: up to date`));
    });
});
