import { strict as assert } from "assert";
import { checkInput, CheckLinesError, decodeCheckLines } from "../../components/checkLines";

describe("the listener check's lines", () => {
    it("writes one host a line, with the old port or null", () => {
        assert.equal(checkInput([
            { name: "mx1", host: "198.18.0.11", port: 17, oldPort: 25 },
            { name: "mx2", host: "::1", port: 2525, oldPort: null },
        ]), `{"name":"mx1","host":"198.18.0.11","port":17,"oldPort":25}\n{"name":"mx2","host":"::1","port":2525,"oldPort":null}\n`);
        assert.equal(checkInput([]), "");
    });

    it("reads one result per host, by name", () => {
        const out = [
            JSON.stringify({ name: "mx1", ok: true, host: "198.18.0.11", port: 17, banner: "220 mx1 ESMTP", attempts: 1, elapsedMs: 4 }),
            "",
            JSON.stringify({ name: "mx2", ok: false, banner: null, message: "listener check failed for mx2 (198.18.0.12:17): connection refused" }),
            "",
        ].join("\n");
        assert.deepEqual(decodeCheckLines("fleet-check", out), {
            mx1: { name: "mx1", ok: true, banner: "220 mx1 ESMTP", message: null },
            mx2: { name: "mx2", ok: false, banner: null, message: "listener check failed for mx2 (198.18.0.12:17): connection refused" },
        });
        assert.deepEqual(decodeCheckLines("fleet-check", ""), {});
    });

    it("refuses anything else, naming the step and the line", () => {
        const bad: [string, RegExp][] = [
            ["Warning: something\n", /^fleet-check: line 1 of the listener check's output is not JSON: "Warning: something"$/],
            [`{"name":"mx1","ok":true}\n[1]\n`, /line 2 .* is not a JSON object/],
            [`{"ok":true}`, /has no host name/],
            [`{"name":"mx1","ok":"yes"}`, /has no boolean `ok`/],
            [`{"name":"mx1","ok":true,"banner":220}`, /`banner` that is not a string/],
            [`{"name":"mx1","ok":false}`, /reports a failure without a `message`/],
        ];
        for (const [out, re] of bad) assert.throws(() => decodeCheckLines("fleet-check", out), (e: Error) => e instanceof CheckLinesError && re.test(e.message), out);
    });
});
