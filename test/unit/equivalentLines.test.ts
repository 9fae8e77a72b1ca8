import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

// The check of equivalent.json's host entries (test/mutation/equivalent-lines.js).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { check, lineOf } = require("../mutation/equivalent-lines");

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = fs.readFileSync(path.join(ROOT, "components", "host", "smtp-port.sh"), "utf8");
const ENTRIES = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "mutation", "equivalent.json"), "utf8"));
const HOST = "components/host/smtp-port.sh:";

type Verdict = { key: string; ok?: boolean; to?: string; problem?: string };
const withLineAt = (n: number, text: string) => { const l = SCRIPT.split("\n"); l.splice(n - 1, 0, text); return l.join("\n"); };

describe("equivalent.json's host entries (test/mutation/equivalent-lines.js)", () => {
    it("every entry names its mutant where the script has it now (after a script change: node test/mutation/equivalent-lines.js --fix)", () => {
        const bad = (check(ENTRIES, SCRIPT) as Verdict[]).filter(v => !v.ok);
        assert.deepEqual(bad, []);
        assert.ok(Object.keys(ENTRIES).filter(k => k.startsWith(HOST)).length > 0);
    });

    it("a line added above an entry moves it by one, below leaves it; a line that repeats is placed by its neighbours", () => {
        const middle = 900;
        const verdicts: Verdict[] = check(ENTRIES, withLineAt(middle, "# a new line"));
        for (const v of verdicts) {
            const at = lineOf(v.key);
            if (at < middle) assert.equal(v.ok, true, v.key);
            else assert.equal(v.to, v.key.replace(/@\d+:/, `@${at + 1}:`), v.key);
        }
        const repeated = Object.entries(ENTRIES).filter(([k, e]: [string, any]) => k.startsWith(HOST) && SCRIPT.split("\n").filter(l => l === e.line).length > 1);
        assert.ok(repeated.length > 0, "some entry's line is on several lines (return 0): the neighbour rule is tested");
    });

    it("an entry whose line is gone, or whose new place has an entry already, is left for a person", () => {
        const [key, e] = Object.entries(ENTRIES).find(([k]) => k.startsWith(HOST))! as [string, any];
        const gone: Verdict[] = check({ [key]: { ...e, line: `${e.line} # not in the script` } }, SCRIPT);
        assert.match(gone[0].problem!, /is no longer in the script with that mutant$/);
        const shifted = withLineAt(1, "#");
        const moved = key.replace(/@\d+:/, `@${lineOf(key) + 1}:`);
        const taken: Verdict[] = check({ [key]: e, [moved]: e }, shifted);
        assert.match(taken.find(v => v.key === key)!.problem!, /which has an entry of its own: remove one$/);
        assert.equal(taken.find(v => v.key === moved)!.ok, true);
        const bare: Verdict[] = check({ [key]: { why: e.why } }, SCRIPT);
        assert.equal(bare[0].problem, "no `from` or `line` to check it by");
    });
});
