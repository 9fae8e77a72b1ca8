import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// test/mutation/report.js where StrykerJS's raw report is not (a fresh clone:
// test/mutation/out/ is not committed): the TypeScript/JS part is carried
// from the committed summary.json, naming the commit it measured and the
// measured files changed since. Runs the real report.js in a small git tree.
const ROOT = path.resolve(__dirname, "..", "..");
const TOOLS = ["report.js", "equivalent-lines.js", "shell-mutants.js"];

function git(cwd: string, ...args: string[]): string {
    const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
}

const write = (root: string, file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
};

describe("mutation report (test/mutation/report.js): StrykerJS results carried from the committed summary", () => {
    let root: string;
    let measured: string;
    const ts = { file: "components/a.ts", mutants: 10, killed: 8, timeout: 1, survived: 1, "no coverage": 0, equivalent: 0, invalid: 0, ignored: 0, error: 0, score: 90 };
    const survivor = { id: "components/a.ts:BooleanLiteral@3:5", file: "components/a.ts", op: "BooleanLiteral", line: 3, col: 5, from: "true", to: "false", status: "survived", detail: "" };

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-report-"));
        for (const t of TOOLS) write(root, `test/mutation/${t}`, fs.readFileSync(path.join(ROOT, "test", "mutation", t), "utf8"));
        write(root, "components/a.ts", "export const a = 1;\n");
        write(root, "components/host/smtp-port.sh", "#!/bin/sh\nset -eu\nif [ \"$#\" -gt 1 ]; then exit 2; fi\n");
        write(root, "test/mutation/equivalent.json", "{}\n");
        git(root, "init", "-q");
        git(root, "add", ".");
        git(root, "commit", "-qm", "measured");
        measured = git(root, "rev-parse", "--short", "HEAD");
        write(root, "test/mutation/summary.json", JSON.stringify({
            commit: measured, target: 90,
            typescript: { tool: "StrykerJS", ...ts, seconds: null },
            files: [ts], survivors: [survivor],
            equivalent: [{ id: "components/a.ts:StringLiteral@1:1", why: "a reason", from: "\"x\"", to: "\"\"" }],
        }));
        write(root, "test/mutation/out/host.json", JSON.stringify({
            tool: "host-mutants.js", layer: "test/host", file: "components/host/smtp-port.sh", run: 1, total: 1, jobs: 1,
            timeoutSeconds: 120, mutantSecondsTotal: 10, baselineSeconds: 5,
            mutants: [{ id: "test-boundary@3:18", op: "test-boundary", line: 3, col: 18, from: "-gt", to: "-ge", status: "killed", detail: "" }],
        }));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const report = () => {
        const r = spawnSync(process.execPath, ["test/mutation/report.js"], { cwd: root, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return {
            stderr: r.stderr,
            md: fs.readFileSync(path.join(root, "test/mutation/summary.md"), "utf8"),
            json: JSON.parse(fs.readFileSync(path.join(root, "test/mutation/summary.json"), "utf8")),
        };
    };

    it("keeps the totals, file rows, survivors and equivalents, says where they come from, and adds the host run", () => {
        const { md, json } = report();
        assert.deepEqual(json.typescript, { tool: "StrykerJS", ...ts, seconds: null, commit: measured });
        assert.deepEqual(json.files.map((f: { file: string }) => f.file), ["components/a.ts", "components/host/smtp-port.sh"]);
        assert.deepEqual(json.survivors, [survivor]);
        assert.deepEqual(json.equivalent.map((e: { id: string }) => e.id), ["components/a.ts:StringLiteral@1:1"]);
        assert.equal(json.host.killed, 1);
        assert.match(md, new RegExp(`\\| \\*\\*TypeScript/JS \\(StrykerJS, as measured on ${measured}\\)\\*\\* \\| 10 \\| 8 \\| 1 \\| 1 \\|`));
        assert.match(md, new RegExp(`carried from the summary of commit ${measured}.*None of the files it measured has changed since\\.`));
        assert.match(md, /### components\/a\.ts \(1\)\n\n.*\n.*\n\| `BooleanLiteral@3:5` \| 3 \| `true` \| `false` \|/);

        // A second report from the first one's summary still names the commit measured, not the one it was carried at.
        write(root, "x", "");
        git(root, "add", "x");
        git(root, "commit", "-qm", "later");
        assert.equal(report().json.typescript.commit, measured);
    });

    it("names the measured files changed since, in the summary and on stderr", () => {
        write(root, "components/a.ts", "export const a = 2;\n");
        git(root, "commit", "-qam", "changed");
        const { md, stderr } = report();
        assert.match(md, /\*\*Changed since, so not measured as they are now:\*\* `components\/a\.ts`; re-run StrykerJS/);
        assert.match(stderr, /carried TypeScript\/JS results are older than components\/a\.ts/);
    });

    it("uses StrykerJS's own report when it is there, and carries nothing", () => {
        write(root, "test/mutation/out/stryker.json", JSON.stringify({
            files: { "components/a.ts": { source: "export const a = 1;\n", mutants: [
                { mutatorName: "NumberLiteral", location: { start: { line: 1, column: 18 }, end: { line: 1, column: 19 } }, replacement: "0", status: "Killed" },
            ] } },
        }));
        const { md, json } = report();
        assert.equal(json.typescript.killed, 1);
        assert.equal(json.typescript.commit, git(root, "rev-parse", "--short", "HEAD"));
        assert.deepEqual(json.survivors, []);
        assert.doesNotMatch(md, /carried/);
    });
});
