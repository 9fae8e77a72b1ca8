import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cacheDir, invocation, lookKey, saveLooks, takeLooks } from "../../components/lookCache";

const preview = { wouldChange: false, drift: false, change: "3", servicePort: 17, mtaPort: 17, diff: [], mtaDiff: [] };

describe("looks handed from the preview to the update of one `pulumi up`", () => {
    let dir: string;
    beforeEach(() => { dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "looks-test-")), "cache"); });
    afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

    it("gives the update run what the preview run of the same command saved, once", () => {
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "4242-99", dir);
        assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
        assert.deepEqual(takeLooks("smtp", "4242-99", dir), { mx1: { key: "k1", preview } });
        assert.deepEqual(takeLooks("smtp", "4242-99", dir), {}, "taken: a second update run reads the hosts");
    });

    it("never mixes commands or components", () => {
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "4242-99", dir);
        assert.deepEqual(takeLooks("smtp", "4242-100", dir), {}, "another pulumi process (or a reused pid)");
        assert.deepEqual(takeLooks("other", "4242-99", dir), {}, "another component");
    });

    it("ignores a folder that is not private", () => {
        fs.mkdirSync(dir, { mode: 0o755 });
        fs.chmodSync(dir, 0o755);
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        assert.deepEqual(fs.readdirSync(dir), [], "nothing written where others could read or plant it");
        assert.deepEqual(takeLooks("smtp", "1-1", dir), {});
    });

    it("an update run creates no folder: it only takes what a preview left", () => {
        assert.deepEqual(takeLooks("smtp", "1-1", dir), {});
        assert.equal(fs.existsSync(dir), false);
    });

    it("ignores a private folder that another user owns (root included, it could plant looks)", function () {
        if (process.getuid?.() !== 0) this.skip();
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        fs.chownSync(dir, 4321, 4321);
        assert.deepEqual(takeLooks("smtp", "1-1", dir), {}, "not read");
        assert.equal(fs.readdirSync(dir).length, 1, "and not removed");
        saveLooks("smtp", { mx2: { key: "k2", preview } }, "2-2", dir);
        assert.equal(fs.readdirSync(dir).length, 1, "nothing written there either");
        fs.chownSync(dir, 0, 0);
        assert.deepEqual(Object.keys(takeLooks("smtp", "1-1", dir)), ["mx1"], "control: as root's, it is read");
    });

    it("ignores a file where the folder should be", () => {
        fs.writeFileSync(dir, "", { mode: 0o700 });
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        assert.deepEqual(takeLooks("smtp", "1-1", dir), {});
        assert.equal(fs.readFileSync(dir, "utf8"), "");
    });

    it("removes hand-overs older than an hour", () => {
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        const old = path.join(dir, fs.readdirSync(dir)[0]);
        fs.utimesSync(old, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "2-2", dir);
        assert.equal(fs.readdirSync(dir).length, 1);
        assert.deepEqual(takeLooks("smtp", "1-1", dir), {});
    });

    describe("another run sweeping the folder at the same time", () => {
        // The race, made on purpose: node's `fs` module itself (not this
        // file's import of it, a copy of its bindings) is patched so that
        // the other run removes the stale file at the named moment. Each
        // test checks that the patch was called: a lookCache.ts that stops
        // calling fs.statSync on the module makes them fail, not pass.
        const nodeFs: { statSync: typeof fs.statSync } = require("fs");
        const realStat = nodeFs.statSync;
        afterEach(() => { nodeFs.statSync = realStat; });

        function staleFile(): string {
            saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
            const old = path.join(dir, fs.readdirSync(dir)[0]);
            fs.utimesSync(old, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
            return old;
        }

        for (const moment of ["before this run looks at its age", "between its age and its removal"]) {
            it(`a stale hand-over removed by the other ${moment}: this run still saves its looks`, () => {
                const old = staleFile();
                let raced = 0;
                nodeFs.statSync = ((p: fs.PathLike, o?: fs.StatSyncOptions) => {
                    if (p !== old) return realStat(p, o);
                    raced++;
                    if (moment.startsWith("before")) fs.unlinkSync(old);
                    const st = realStat(p, o);
                    if (!moment.startsWith("before")) fs.unlinkSync(old);
                    return st;
                }) as typeof fs.statSync;
                saveLooks("smtp", { mx2: { key: "k2", preview } }, "2-2", dir);
                nodeFs.statSync = realStat;
                assert.equal(raced, 1, "the stale file's age was read through the patched fs.statSync");
                assert.equal(fs.existsSync(old), false);
                assert.deepEqual(takeLooks("smtp", "2-2", dir), { mx2: { key: "k2", preview } });
            });
        }
    });

    it("keys a look on where it went and what it ran", () => {
        assert.equal(lookKey({ host: "a", command: "x" }), lookKey({ host: "a", command: "x" }));
        assert.notEqual(lookKey({ host: "a", command: "x" }), lookKey({ host: "a", command: "y" }));
    });

    it("names the `pulumi` process it runs under by its pid and start time, where /proc tells", function () {
        if (!fs.existsSync(`/proc/${process.ppid}/stat`)) this.skip();
        // Under mocha: mocha's parent stands where the language host would,
        // and its parent (some process, with a start time) where `pulumi` would.
        const stat = fs.readFileSync(`/proc/${process.ppid}/stat`, "utf8");
        const grandparent = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
        const inv = invocation();
        assert.ok(inv !== undefined, "/proc is there: the invocation must be known");
        assert.match(inv, /^\d+-\d+$/);
        assert.equal(inv.split("-")[0], grandparent);
    });
});

describe("look hand-over: folder, file mode, age, a race, bad files", () => {
    let dir: string;
    const restore: (() => void)[] = [];
    beforeEach(() => { dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "looks-test-")), "cache"); });
    afterEach(() => {
        while (restore.length > 0) restore.pop()!();
        fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    });

    it("the folder is smtp-port-<uid> in the temporary folder, smtp-port-user where there are no uids", () => {
        assert.equal(cacheDir(), path.join(os.tmpdir(), `smtp-port-${process.getuid!()}`));
        const getuid = process.getuid;
        (process as any).getuid = undefined;
        restore.push(() => { process.getuid = getuid; });
        assert.equal(cacheDir(), path.join(os.tmpdir(), "smtp-port-user"));
        // Without uids the folder's own owner is taken as ours: a private folder still works.
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "7-7", dir);
        assert.deepEqual(takeLooks("smtp", "7-7", dir), { mx1: { key: "k1", preview } });
    });

    it("writes the hand-over readable by this user only, and no temporary file is left", () => {
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        const files = fs.readdirSync(dir);
        assert.equal(files.length, 1);
        assert.match(files[0], /^looks-1-1-[0-9a-f]{16}\.json$/);
        assert.equal(fs.statSync(path.join(dir, files[0])).mode & 0o777, 0o600);
    });

    it("removes only hand-overs (looks-*) older than an hour, not newer ones, nor other files", () => {
        const now = 1_700_000_000_000;
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        saveLooks("smtp", { mx1: { key: "k2", preview } }, "2-2", dir);
        saveLooks("smtp", { mx1: { key: "k3", preview } }, "3-3", dir);
        const [f1, f2, f3] = ["1-1", "2-2", "3-3"].map(inv => fs.readdirSync(dir).find(f => f.startsWith(`looks-${inv}-`))!);
        const other = path.join(dir, "other.json");
        fs.writeFileSync(other, "{}");
        const age = (f: string, ms: number) => fs.utimesSync(f, (now - ms) / 1000, (now - ms) / 1000);
        age(path.join(dir, f1), 3600_001);  // older than an hour: removed
        age(path.join(dir, f2), 3600_000);  // exactly an hour: kept
        age(path.join(dir, f3), 1000);      // fresh: kept
        age(other, 10 * 3600_000);          // not a hand-over: kept
        const dateNow = Date.now;
        Date.now = () => now;
        restore.push(() => { Date.now = dateNow; });
        saveLooks("smtp", { mx1: { key: "k4", preview } }, "4-4", dir);
        const left = fs.readdirSync(dir).sort();
        assert.deepEqual(left, [f2, f3, fs.readdirSync(dir).find(f => f.startsWith("looks-4-4-"))!, "other.json"].sort());
        assert.deepEqual(takeLooks("smtp", "2-2", dir), { mx1: { key: "k2", preview } });
        assert.deepEqual(takeLooks("smtp", "3-3", dir), { mx1: { key: "k3", preview } });
    });

    it("still gives the looks when the file went away between reading and removing it", function () {
        this.timeout(10_000);
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        const file = path.join(dir, fs.readdirSync(dir)[0]);
        const text = fs.readFileSync(file, "utf8");
        fs.rmSync(file);
        // The hand-over as a FIFO whose writer removes it before writing: when
        // the read ends (the writer closes), the file is gone, as when another
        // run took it meanwhile.
        execFileSync("mkfifo", ["-m", "600", file]);
        const writer = spawn("sh", ["-c", 'exec 3>"$1"; rm "$1"; printf %s "$2" >&3; exec 3>&-', "sh", file, text], { stdio: "ignore" });
        try {
            assert.deepEqual(takeLooks("smtp", "1-1", dir), { mx1: { key: "k1", preview } });
        } finally {
            writer.kill();
        }
        assert.deepEqual(fs.readdirSync(dir), []);
    });

    it("a hand-over that is not an object gives no looks (and is removed)", () => {
        for (const text of ["null", "5", `"x"`, "false", "{not json"]) {
            saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
            const file = path.join(dir, fs.readdirSync(dir)[0]);
            fs.writeFileSync(file, text);
            assert.deepEqual(takeLooks("smtp", "1-1", dir), {}, text);
            if (text !== "{not json") assert.deepEqual(fs.readdirSync(dir), [], text);
            else fs.rmSync(file);
        }
    });

    it("no hand-over without a folder of ours: a file in its place, or a missing folder", () => {
        fs.mkdirSync(path.dirname(dir), { recursive: true });
        fs.writeFileSync(dir, "not a folder");
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        assert.equal(fs.readFileSync(dir, "utf8"), "not a folder");
        assert.deepEqual(takeLooks("smtp", "1-1", path.join(path.dirname(dir), "missing")), {});
        assert.deepEqual(takeLooks("smtp", undefined, path.join(path.dirname(dir), "missing")), {});
    });
});
