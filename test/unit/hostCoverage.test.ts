import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// test/mutation/host-coverage.js rests on bash's xtrace: PS4 with $LINENO,
// written to BASH_XTRACEFD, switched on by the copy's first line. These run
// that first line for real, so a bash that stops tracing this way fails here
// rather than making every line look unrun.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { traced, linesRun } = require("../mutation/host-coverage");

const SCRIPT = [
    "#!/bin/sh",
    "set -eu",
    "say() { printf '%s\\n' \"$1\"; }",
    "if [ \"$1\" = yes ]; then",
    "    say taken",
    "else",
    "    say other",
    "fi",
    "x=$(printf sub)",
    "",
].join("\n");

describe("host-coverage (test/mutation/host-coverage.js): lines the shell ran, from bash's trace", () => {
    let dir: string;
    let traceDir: string;
    let copy: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-cov-"));
        traceDir = path.join(dir, "trace");
        fs.mkdirSync(traceDir);
        copy = path.join(dir, "s.sh");
        fs.writeFileSync(copy, traced(SCRIPT, traceDir));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("keeps every line where it was (only the #! line is replaced)", () => {
        const lines = fs.readFileSync(copy, "utf8").split("\n");
        assert.equal(lines.length, SCRIPT.split("\n").length);
        assert.deepEqual(lines.slice(1), SCRIPT.split("\n").slice(1));
    });

    it("under bash --posix, counts the lines that ran (a function's body, a branch, a $(...)) and not the branch that did not", () => {
        const r = spawnSync("/bin/bash", ["--posix", copy, "yes"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "taken\n");
        assert.equal(r.stderr, "", "the trace goes to its own file, not to stderr");
        const run = linesRun(traceDir);
        for (const line of [2, 3, 4, 5, 9]) assert.ok(run.has(line), `line ${line} ran: ${[...run]}`);
        assert.ok(!run.has(7), `line 7 (the else branch) did not run: ${[...run]}`);
    });

    it("under dash, the first line does nothing: the script runs as it is and leaves no trace", () => {
        const r = spawnSync("/bin/dash", [copy, "no"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "other\n");
        assert.deepEqual(fs.readdirSync(traceDir), []);
    });

    it("refuses a script that does not start with #! (its first line would be lost)", () => {
        assert.throws(() => traced("set -eu\n", traceDir), /no longer starts with #!/);
    });
});
