// report.ts and checkLines.ts field by field: a host's report from a failed
// and from a successful result, its one-line description in every variant,
// and the listener check's lines at their edges.
import { strict as assert } from "assert";
import { CheckLinesError, decodeCheckLines, missingCheckLine } from "../../components/checkLines";
import { ApplyResult, FailedResult } from "../../components/hostResult";
import { describe as describeHost, hostReport, SmtpHostResult } from "../../components/report";
import type { ResolvedHost } from "../../components/args";

const host = { name: "mx1", port: 17 } as ResolvedHost;
const applied: ApplyResult = {
    schema: 1, action: "apply", status: "changed", host: "mx1", file: "/etc/services", service: "smtp", protocol: "tcp", port: 17, old_port: 25,
    changed: true, added: "smtp 17/tcp mail", commented: ["smtp 25/tcp mail"], backup: "/var/lib/smtp-port/x/orig", mta: "postfix", mta_changed: true,
    restarted: true, verified: "220 mx1 ESMTP", resolver_port: 17, mta_port: 17, change: "2",
};
const failed: FailedResult = { schema: 1, action: "apply", status: "failed", host: "mx1", file: "/etc/services", reason: "no greeting", rolled_back: true };
const preview = { wouldChange: true, drift: false, change: "1", servicePort: 25, mtaPort: 25, diff: [], mtaDiff: [] };

describe("host report (report.ts)", () => {
    it("a successful run: every field from the result, the check and the look", () => {
        assert.deepEqual(hostReport(host, applied, { name: "mx1", ok: true, banner: "220 mx1 ESMTP", message: null }, { preview }, { name: "mx1", status: "changed" }), {
            name: "mx1", port: 17, oldPort: 25, changed: true, added: "smtp 17/tcp mail", commented: ["smtp 25/tcp mail"], backup: "/var/lib/smtp-port/x/orig",
            restarted: true, mta: "postfix", mtaChanged: true, verifiedOnHost: "220 mx1 ESMTP", resolverPort: 17, mtaPort: 17, changedThisUpdate: true,
            banner: "220 mx1 ESMTP", status: "changed", failure: null,
        });
    });

    it("a failed run: nothing from the result, the failure's detail; no check, no look", () => {
        assert.deepEqual(hostReport(host, failed, null, { preview: null, error: "unreachable" }, { name: "mx1", status: "rolled back", detail: "no greeting" }), {
            name: "mx1", port: 17, oldPort: null, changed: false, added: null, commented: [], backup: null, restarted: false, mta: "none", mtaChanged: false,
            verifiedOnHost: null, resolverPort: null, mtaPort: null, changedThisUpdate: null, banner: null, status: "rolled back", failure: "no greeting",
        });
        const quiet = hostReport(host, { ...applied, changed: false, restarted: false, mta_changed: false }, { name: "mx1", ok: true, banner: null, message: null },
            { preview: { ...preview, wouldChange: false } }, { name: "mx1", status: "already right" });
        assert.deepEqual([quiet.changed, quiet.restarted, quiet.mtaChanged, quiet.changedThisUpdate, quiet.banner], [false, false, false, false, null]);
    });

    it("describes a host in one line: the old port or none, what changed, the greeting or that the check is off", () => {
        const base = hostReport(host, applied, { name: "mx1", ok: true, banner: "220 mx1 ESMTP", message: null }, { preview }, { name: "mx1", status: "changed" });
        assert.equal(describeHost(base), `mx1: smtp 25 -> 17 (changed; commented 1 line; restarted), greeting "220 mx1 ESMTP"`);
        const r: SmtpHostResult = { ...base, oldPort: null, commented: ["a", "b"], restarted: false, banner: null };
        assert.equal(describeHost(r), "mx1: smtp none -> 17 (changed; commented 2 lines), listener check off");
        assert.equal(describeHost({ ...r, commented: [] }), "mx1: smtp none -> 17 (changed; commented 0 lines), listener check off");
        assert.equal(describeHost({ ...base, changed: false }), `mx1: smtp 25 -> 17 (unchanged), greeting "220 mx1 ESMTP"`);
    });
});

describe("listener check lines at their edges (checkLines.ts)", () => {
    it("a host the check printed nothing for has failed", () => {
        assert.deepEqual(missingCheckLine("mx3"), { name: "mx3", ok: false, banner: null, message: "the listener check printed no result for mx3" });
    });

    it("refuses JSON that is not an object, and a line without a name", () => {
        for (const [line, why] of [["null", "is not a JSON object"], ["5", "is not a JSON object"], ["[]", "is not a JSON object"], [`"x"`, "is not a JSON object"],
            [`{"name":"","ok":true}`, "has no host name"], [`{"name":5,"ok":true}`, "has no host name"], [`{"name":"mx1","ok":"true"}`, "has no boolean `ok`"]]) {
            assert.throws(() => decodeCheckLines("check", `\n${line}\n`), (e: Error) => e instanceof CheckLinesError && e.message === `check: line 2 of the listener check's output ${why}: ${JSON.stringify(line)}`, line);
        }
    });

    it("a passing line's message is dropped, a missing banner is null; a long line is cut in the error", () => {
        assert.deepEqual(decodeCheckLines("check", `{"name":"mx1","ok":true,"message":"ignored"}\n{"name":"mx2","ok":false,"banner":null,"message":"m"}`), {
            mx1: { name: "mx1", ok: true, banner: null, message: null },
            mx2: { name: "mx2", ok: false, banner: null, message: "m" },
        });
        const long = "x".repeat(400);
        assert.throws(() => decodeCheckLines("check", long), (e: Error) => e.message === `check: line 1 of the listener check's output is not JSON: ${JSON.stringify("x".repeat(300))}`);
    });
});
