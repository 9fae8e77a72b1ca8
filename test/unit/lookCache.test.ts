import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { invocation, lookKey, saveLooks, takeLooks } from "../../components/lookCache";

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

    it("removes hand-overs older than an hour", () => {
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "1-1", dir);
        const old = path.join(dir, fs.readdirSync(dir)[0]);
        fs.utimesSync(old, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
        saveLooks("smtp", { mx1: { key: "k1", preview } }, "2-2", dir);
        assert.equal(fs.readdirSync(dir).length, 1);
        assert.deepEqual(takeLooks("smtp", "1-1", dir), {});
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
