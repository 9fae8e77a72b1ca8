// The host script prints what components/hostResult.ts decodes: one schema-1
// line per run, for every action, success or failure, under every shell.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { decodeHostResult } from "../../components/hostResult";
import { SHELLS, runScript, shimDir, tempDir } from "../support/hostScript";

for (const shell of SHELLS) {
    describe(`host script result lines under ${shell.name} decode with components/hostResult.ts`, function () {
        this.timeout(30_000);
        const world = () => {
            const dir = tempDir();
            const file = path.join(dir, "services");
            fs.writeFileSync(file, "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            const common = ["--file", file, "--state-dir", path.join(dir, "state"), "--host-label", "mx1"];
            const run = (action: "apply" | "revert" | "status" | "preview", ...args: string[]) => {
                const r = runScript(shell, [action, ...args, ...common]);
                const decoded = decodeHostResult("mx1", action, r.stdout);
                assert.equal(decoded.host, "mx1");
                assert.equal(decoded.file, file);
                return { r, decoded: decoded as any };
            };
            return { file, run };
        };

        it("apply, preview, status, revert: each decodes, with the status the action reports", () => {
            const w = world();
            assert.equal(w.run("preview", "--port", "17").decoded.status, "would_change");
            const a = w.run("apply", "--port", "17", "--verify", "no");
            assert.equal(a.decoded.status, "changed");
            assert.equal(a.decoded.old_port, 25);
            assert.equal(a.decoded.change, "1");
            assert.equal(w.run("apply", "--port", "17").decoded.status, "unchanged");
            assert.equal(w.run("preview", "--port", "17").decoded.status, "no_change");
            const s = w.run("status", "--port", "17");
            assert.equal(s.decoded.status, "managed");
            assert.equal(s.decoded.drift, false);
            assert.equal(s.decoded.interrupted, false);
            assert.equal(w.run("revert").decoded.status, "reverted");
            assert.equal(w.run("revert").decoded.status, "unchanged");
            assert.equal(w.run("status").decoded.status, "not_managed");
        });

        it("a failure of each action is a failed result on stdout, exit 1; exit 0 with --report-failure yes", () => {
            const w = world();
            for (const action of ["apply", "preview", "status", "revert"] as const) {
                const bad = w.run(action, "--port", "0");
                assert.equal(bad.r.code, 1, action);
                assert.deepEqual({ ...bad.decoded }, { schema: 1, action, status: "failed", host: "mx1", file: w.file,
                    reason: "[port] must be an integer from 1 to 65535, got '0'", rolled_back: false });
                const soft = w.run(action, "--port", "0", "--report-failure", "yes");
                assert.equal(soft.r.code, 0, action);
                assert.equal(soft.decoded.status, "failed");
                assert.equal(soft.r.stderr, "smtp-port: error: [port] must be an integer from 1 to 65535, got '0'\n", "the message stays on stderr");
            }
            const rolled = w.run("apply", "--port", "17", "--restart", "exit 3", "--report-failure", "yes");
            assert.equal(rolled.r.code, 0);
            assert.equal(rolled.decoded.status, "failed");
            assert.equal(rolled.decoded.rolled_back, true);
            assert.match(rolled.decoded.reason, /^mx1: the restart command failed; rolled back in \d+s: /);
        });

        it("a run stopped by a signal or a failing command still ends stdout with a failed result", () => {
            const w = world();
            const r = runScript(shell, ["apply", "--port", "17", "--file", w.file, "--state-dir", path.join(path.dirname(w.file), "state"),
                "--host-label", "mx1", "--restart", "kill -TERM $PPID; sleep 0.2"]);
            assert.notEqual(r.code, 0);
            const d: any = decodeHostResult("mx1", "apply", r.stdout);
            assert.equal(d.status, "failed");
            assert.match(d.reason, /^mx1: smtp-port stopped \(exit status 130\) while working on .*services; see its messages, the next run repairs an interrupted write$/);
        });

        it("with --report-failure yes, a run stopped by a signal exits 0 with its failed result, as every reported failure does", () => {
            const w = world();
            const r = runScript(shell, ["apply", "--port", "17", "--file", w.file, "--state-dir", path.join(path.dirname(w.file), "state"),
                "--host-label", "mx1", "--report-failure", "yes", "--restart", "kill -TERM $PPID; sleep 0.2"]);
            assert.equal(r.code, 0, r.stderr);
            const d: any = decodeHostResult("mx1", "apply", r.stdout);
            assert.equal(d.status, "failed");
            assert.match(d.reason, /^mx1: smtp-port stopped \(exit status 130\) while working on /);
        });

        it("with --report-failure yes, an error inside a command substitution (the file unreadable for its checksum) still fails the run, with one failed result", () => {
            const w = world();
            const args = ["--file", w.file, "--state-dir", path.join(path.dirname(w.file), "state"), "--host-label", "mx1", "--verify", "no"];
            assert.equal(runScript(shell, ["apply", "--port", "17", ...args]).code, 0);
            const applied = fs.readFileSync(w.file, "utf8");
            // The checksum of the file as read (WORK/snap) fails, as a read error would; the backup's succeeds.
            const shim = shimDir({ sha256sum: 'case "$(readlink /proc/$$/fd/0)" in */snap) echo "sha256sum: -: Input/output error" >&2; exit 1 ;; esac\nexec sha256sum "$@"' });
            const r = runScript(shell, ["apply", "--port", "18", ...args, "--report-failure", "yes"], { pathPrefix: shim });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout.split("\n").filter(l => l).length, 1, `one result line: ${r.stdout}`);
            const d: any = decodeHostResult("mx1", "apply", r.stdout);
            assert.equal(d.status, "failed");
            assert.match(d.reason, /^mx1: smtp-port stopped \(exit status 1\) while working on /);
            assert.match(r.stderr, /smtp-port: error: cannot checksum \S+\/snap\n/);
            assert.equal(fs.readFileSync(w.file, "utf8"), applied);
        });
    });
}

for (const shell of SHELLS) {
    describe(`host script under ${shell.name} on a host the first versions managed`, function () {
        this.timeout(30_000);
        it("reads the change number from $STATE_DIR.generation, and a backup without a stored checksum", () => {
            const dir = tempDir();
            const file = path.join(dir, "services");
            const text = "qotd 17/tcp quote\nsmtp 25/tcp mail\n";
            fs.writeFileSync(file, text);
            const state = path.join(dir, "state");
            const args = ["--file", file, "--state-dir", state];
            assert.equal(runScript(shell, ["apply", "--port", "17", ...args]).code, 0);
            const key = file.slice(1).replace(/\//g, "_");
            // As the first versions left it: the number in .generation, no orig.sum.
            fs.renameSync(path.join(state, `${key}.change`), path.join(state, `${key}.generation`));
            fs.writeFileSync(path.join(state, `${key}.generation`), "5\n");
            fs.rmSync(path.join(state, key, "orig.sum"));
            const pv = runScript(shell, ["preview", "--port", "17", ...args]);
            assert.equal(pv.json.change, "5");
            assert.ok(!fs.existsSync(path.join(state, key, "orig.sum")), "a preview writes nothing");
            const a = runScript(shell, ["apply", "--port", "2525", ...args]);
            assert.equal(a.code, 0, a.stderr);
            assert.equal(a.json.change, "6");
            assert.deepEqual(fs.readdirSync(state).sort(), [key, `${key}.change`].sort(), "the number moved to .change");
            assert.ok(fs.existsSync(path.join(state, key, "orig.sum")), "the checksum kept from now on");
            assert.equal(runScript(shell, ["revert", ...args]).json.status, "reverted");
            assert.equal(fs.readFileSync(file, "utf8"), text);
        });
    });
}
