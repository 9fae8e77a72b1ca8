// rollout.ts at its edges: every form a batch size may take and every one it
// refuses, the singular and plural of each message, and outcomes decided by
// fields other than `changed`.
import { strict as assert } from "assert";
import { ApplyResult, FailedResult } from "../../components/hostResult";
import { applyResultOf, hostOutcome, isFailure, planWaves, rolloutDecision, rolloutProblems } from "../../components/rollout";

const fleet = (n: number) => Array.from({ length: n }, (_, i) => `mx${i + 1}`);
const sizes = (n: number, batchSize: number | string) => planWaves(fleet(n), { batchSize }).map(w => w.length);
const BAD = (v: unknown) => `[rollout.batchSize] must be a positive integer or a percentage like "20%", got ${JSON.stringify(v)}`;

describe("rollout: batch sizes", () => {
    it("accepts percentages with spaces around the number and the sign, and decimals", () => {
        for (const s of ["10%", " 10%", "10% ", "10 %", " 10 % ", "12.25%", "1.5%", "100%", "0.5%"]) {
            assert.deepEqual(rolloutProblems({ batchSize: s }, fleet(20)), [], s);
        }
        assert.deepEqual(sizes(20, " 10 % "), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
        assert.deepEqual(sizes(20, "12.25%"), [3, 3, 3, 3, 3, 3, 2], "2.45 hosts: 3");
        assert.deepEqual(sizes(20, "1.5%"), Array(20).fill(1), "0.3 hosts: at least 1");
        assert.deepEqual(sizes(5, "100%"), [5], "100% is one wave of the whole fleet");
        assert.deepEqual(sizes(10, "99.5%"), [10]);
    });

    it("refuses percentages out of range or with anything else around them", () => {
        for (const s of ["0%", "0.0%", "100.5%", "101%", "x10%", "10%x", "10%%", "-10%", "10.%", ".5%", "1.x%", "10 x%", "%"]) {
            assert.deepEqual(rolloutProblems({ batchSize: s }, fleet(20)), [BAD(s)], s);
            assert.deepEqual(planWaves(fleet(3), { batchSize: s }), [["mx1", "mx2", "mx3"]], `${s}: planWaves falls back to one wave`);
        }
    });

    it("accepts counts as numbers or digit strings (with spaces), and refuses the rest", () => {
        for (const s of [1, 3, 12, "1", "12", " 3 ", "3 "]) assert.deepEqual(rolloutProblems({ batchSize: s }, fleet(20)), [], String(s));
        assert.deepEqual(sizes(30, "12"), [12, 12, 6]);
        assert.deepEqual(sizes(5, " 2 "), [2, 2, 1]);
        assert.deepEqual(sizes(5, 2), [2, 2, 1]);
        for (const s of [0, -1, 2.5, NaN, "0", "00", "x3", "3x", "-3", "1e3", "0x10", "2.0", "", " "]) {
            assert.deepEqual(rolloutProblems({ batchSize: s }, fleet(20)), [BAD(s)], String(s));
        }
        assert.deepEqual(sizes(3, "0"), [3], "a refused size is one wave");
    });

    it("a count larger than the fleet is one wave; a percentage of an empty fleet is checked against one host", () => {
        assert.deepEqual(sizes(3, 10), [3]);
        assert.deepEqual(rolloutProblems({ batchSize: "50%" }, []), []);
        assert.deepEqual(planWaves([], { batchSize: "50%" }), []);
    });

    it("refuses settings that are not an object, quoting them", () => {
        for (const r of ["all", 3, null, true]) {
            assert.deepEqual(rolloutProblems(r as any, fleet(2)), [`[rollout] must be an object like { canary: "mx1", batchSize: "10%", failureBudget: 2 }, got ${JSON.stringify(r)}`]);
        }
        assert.deepEqual(rolloutProblems(undefined, fleet(2)), []);
        assert.deepEqual(rolloutProblems({}, fleet(2)), []);
        assert.deepEqual(rolloutProblems({ failureBudget: 1 }, fleet(2), false).length, 1);
        assert.deepEqual(rolloutProblems({ failureBudget: 1 }, fleet(2)), [], "previewHosts defaults to true");
    });

    it("a canary not in the fleet starts no wave of its own", () => {
        assert.deepEqual(planWaves(fleet(3), { canary: "mx9", batchSize: 2 }), [["mx1", "mx2"], ["mx3"]]);
        assert.deepEqual(planWaves(fleet(3), { canary: "mx2" }), [["mx2"], ["mx1", "mx3"]]);
    });
});

describe("rollout: outcomes and decisions, word by word", () => {
    const applied = (changed: boolean, mtaChanged: boolean): ApplyResult => ({
        schema: 1, action: "apply", status: changed || mtaChanged ? "changed" : "unchanged", host: "mx1", file: "/etc/services", service: "smtp",
        protocol: "tcp", port: 17, old_port: 25, changed, added: null, commented: [], backup: null, mta: "postfix", mta_changed: mtaChanged,
        restarted: true, verified: null, resolver_port: 17, mta_port: 17, change: "1",
    });

    it("a change of the MTA settings alone is a change; a failed check without a message says so", () => {
        assert.deepEqual(hostOutcome("mx1", applied(false, true), null, null), { name: "mx1", status: "changed" });
        assert.deepEqual(hostOutcome("mx1", applied(true, false), null, null), { name: "mx1", status: "changed" });
        assert.deepEqual(hostOutcome("mx1", applied(false, false), null, null), { name: "mx1", status: "already right" });
        assert.deepEqual(hostOutcome("mx1", applied(false, false), { name: "mx1", ok: true, banner: "220 x", message: null }, null), { name: "mx1", status: "already right" });
        assert.deepEqual(hostOutcome("mx1", applied(true, false), { name: "mx1", ok: false, banner: null, message: null }, true),
            { name: "mx1", status: "failed", detail: "the listener check failed" });
    });

    it("only rolled back, failed and unreachable count against the budget", () => {
        assert.deepEqual((["changed", "already right", "rolled back", "failed", "unreachable"] as const).map(status => isFailure({ name: "x", status })),
            [false, false, true, true, true]);
    });

    it("under a budget, undecodable output is a failed host naming the file; a programming error is still thrown", () => {
        assert.deepEqual(applyResultOf("mx6", "/etc/services.mx6", "", true), {
            schema: 1, action: "apply", status: "failed", host: "mx6", file: "/etc/services.mx6",
            reason: `mx6: the host script printed no result line (stdout: "")`, rolled_back: false,
        } as FailedResult);
        assert.throws(() => applyResultOf("mx6", "/etc/services", undefined as any, true), TypeError);
    });

    it("says host and hosts, failed and passed, for one and for several", () => {
        assert.deepEqual(rolloutDecision("mail", 1, 2, 1, [{ name: "mx1", status: "changed" }], []),
            { stop: false, text: `smtp-port "mail": all 1 host passed: mx1` });
        assert.deepEqual(rolloutDecision("mail", 1, 2, 2, [{ name: "mx1", status: "changed" }], ["mx2"]),
            { stop: false, text: `smtp-port "mail": wave 2 of 2 may start: every host before it passed (mx1)` });
        assert.deepEqual(rolloutDecision("mail", 1, 2, 1, [{ name: "mx1", status: "failed" }], []),
            { stop: true, text: `smtp-port "mail": 1 of 1 host failed (failure budget 1)\n  failed: mx1` });
        assert.deepEqual(rolloutDecision("mail", 1, 2, 3, [{ name: "mx1", status: "failed", detail: "x" }], ["mx2", "mx3"]),
            { stop: true, text: `smtp-port "mail": rollout stopped before wave 2 of 3: 1 host failed, the failure budget is 1; no later host was touched\n  failed: mx1: x\n  untouched (2): mx2, mx3` });
        assert.deepEqual(rolloutDecision("mail", 2, 2, 3, [{ name: "mx1", status: "unreachable", detail: "ssh: timeout" }, { name: "mx2", status: "already right" }], ["mx3"]),
            { stop: false, text: `smtp-port "mail": wave 2 of 3 may start: 1 host failed so far, the failure budget is 2\n  already right (1): mx2\n  unreachable: mx1: ssh: timeout\n  untouched (1): mx3` });
        assert.deepEqual(rolloutDecision("mail", 3, 3, 3, [{ name: "mx1", status: "failed", detail: "a" }, { name: "mx2", status: "rolled back", detail: "b" }], ["mx3"]),
            { stop: false, text: `smtp-port "mail": wave 3 of 3 may start: 2 hosts failed so far, the failure budget is 3\n  rolled back: mx2: b\n  failed: mx1: a\n  untouched (1): mx3` });
    });

    it("the gate stops exactly when the failures reach the budget", () => {
        const two = [{ name: "mx1", status: "failed" as const }, { name: "mx2", status: "failed" as const }];
        assert.equal(rolloutDecision("mail", 2, 2, 3, two, []).stop, true);
        assert.equal(rolloutDecision("mail", 3, 2, 3, two, []).stop, false);
        assert.equal(rolloutDecision("mail", 3, 4, 3, two, []).stop, true, "at the end any failure stops");
        assert.equal(rolloutDecision("mail", 3, 3, 3, two, []).stop, false, "wave 3 of 3 is a gate, not the end");
    });
});
