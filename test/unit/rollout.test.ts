import { strict as assert } from "assert";
import { hostOutcome, planWaves, rolloutDecision, rolloutProblems } from "../../components/rollout";

const fleet = (n: number) => Array.from({ length: n }, (_, i) => `mx${i + 1}`);

describe("rollout waves", () => {
    it("puts every host in one wave by default", () => {
        assert.deepEqual(planWaves(fleet(3), undefined), [["mx1", "mx2", "mx3"]]);
    });
    it("starts with the canary alone, then batches of the rest in order", () => {
        assert.deepEqual(planWaves(fleet(5), { canary: "mx3", batchSize: 2 }), [["mx3"], ["mx1", "mx2"], ["mx4", "mx5"]]);
    });
    it("rounds a percentage up, to at least one host", () => {
        assert.deepEqual(planWaves(fleet(50), { batchSize: "10%" }).map(w => w.length), [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
        assert.deepEqual(planWaves(fleet(3), { batchSize: "1%" }), [["mx1"], ["mx2"], ["mx3"]]);
        assert.deepEqual(planWaves(fleet(50), { canary: "mx1", batchSize: "20%" }).map(w => w.length), [1, 10, 10, 10, 10, 9]);
    });
    it("keeps every host exactly once", () => {
        const w = planWaves(fleet(7), { canary: "mx7", batchSize: 3 }).flat().sort();
        assert.deepEqual(w, fleet(7).sort());
    });
    it("names bad settings", () => {
        assert.deepEqual(rolloutProblems({ canary: "mx9", batchSize: 0 }, fleet(3)), [
            `[rollout.canary] must name a host of the fleet, got "mx9"`,
            `[rollout.batchSize] must be a positive integer or a percentage like "20%", got 0`,
        ]);
        assert.deepEqual(rolloutProblems({ batchSize: "150%" }, fleet(3)).length, 1);
        assert.deepEqual(rolloutProblems({ batchSize: "abc" }, fleet(3)).length, 1);
        assert.deepEqual(rolloutProblems({ batchSize: "2" }, fleet(3)), []);
    });
});

describe("failure budget", () => {
    const ok = JSON.stringify({ action: "apply", changed: true, previous_port: 25 }) + "\n";
    const failed = `{"failed":true,"exit":1}\n`;
    const greeted = JSON.stringify({ ok: true, banner: "220 mx ESMTP" });

    it("names bad budgets", () => {
        assert.deepEqual(rolloutProblems({ failureBudget: 0 }, fleet(3)), [`[rollout.failureBudget] must be a whole number of hosts, at least 1, got 0`]);
        assert.deepEqual(rolloutProblems({ failureBudget: 1.5 }, fleet(3)).length, 1);
        assert.deepEqual(rolloutProblems({ failureBudget: "2" as any }, fleet(3)).length, 1);
        assert.deepEqual(rolloutProblems({ failureBudget: 2 }, fleet(3), false), [
            "[rollout.failureBudget] needs previewHosts: the look at each host is what finds unreachable hosts and retries failed ones",
        ]);
        assert.deepEqual(rolloutProblems({ failureBudget: 2 }, fleet(3)), []);
        assert.deepEqual(rolloutProblems("all" as any, fleet(3)).length, 1);
    });

    it("reads a host's outcome from what its steps printed", () => {
        assert.deepEqual(hostOutcome("mx1", ok, "", greeted, true), { name: "mx1", status: "changed" });
        assert.deepEqual(hostOutcome("mx1", ok, "", greeted, false), { name: "mx1", status: "already right" });
        assert.deepEqual(hostOutcome("mx1", ok, "", null, null), { name: "mx1", status: "changed" }, "no look: the script's own word");
        const rolledBack = "smtp-port: restarting the mail service: service postfix restart\nsmtp-port: error: mx2: no greeting on 2525 within 20s; rolled back in 1s: /etc/services and the postfix configuration are as before, greeting on 25 again ('220 mx2 ESMTP')\n";
        assert.deepEqual(hostOutcome("mx2", failed, rolledBack, JSON.stringify({ ok: false, skipped: true }), true), {
            name: "mx2", status: "rolled back",
            detail: "mx2: no greeting on 2525 within 20s; rolled back in 1s: /etc/services and the postfix configuration are as before, greeting on 25 again ('220 mx2 ESMTP')",
        });
        assert.deepEqual(hostOutcome("mx3", failed, "smtp-port: error: [mta] postfix: master.cf runs smtpd on port 25 by number\n", null, true), {
            name: "mx3", status: "failed", detail: "[mta] postfix: master.cf runs smtpd on port 25 by number",
        });
        assert.deepEqual(hostOutcome("mx4", failed, "sudo: a password is required\n", null, true), {
            name: "mx4", status: "failed", detail: "the host script exited with 1: sudo: a password is required",
        });
        assert.deepEqual(hostOutcome("mx5", ok, "", JSON.stringify({ ok: false, message: "listener check failed for mx5: timeout" }), true), {
            name: "mx5", status: "failed", detail: "listener check failed for mx5: timeout",
        });
        assert.equal(hostOutcome("mx6", "garbage", "", null, true).status, "failed");
    });

    const outcomes = [
        { name: "mx1", status: "changed" as const },
        { name: "mx2", status: "rolled back" as const, detail: "no greeting; rolled back in 1s" },
        { name: "mx3", status: "already right" as const },
        { name: "mx4", status: "unreachable" as const, detail: "ssh: timeout" },
    ];

    it("stops before the next wave once the budget is spent, listing every host", () => {
        const d = rolloutDecision("mail", 2, 3, 5, outcomes, ["mx5", "mx6"]);
        assert.equal(d.stop, true);
        assert.equal(d.text, [
            `smtp-port "mail": rollout stopped before wave 3 of 5: 2 hosts failed, the failure budget is 2; no later host was touched`,
            `  changed (1): mx1`,
            `  already right (1): mx3`,
            `  rolled back: mx2: no greeting; rolled back in 1s`,
            `  unreachable: mx4: ssh: timeout`,
            `  untouched (2): mx5, mx6`,
        ].join("\n"));
        assert.equal(rolloutDecision("mail", 3, 3, 5, outcomes, ["mx5"]).stop, false, "within the budget the rollout goes on");
    });

    it("fails at the end when any host failed, and says nothing that changes from run to run when all passed", () => {
        assert.equal(rolloutDecision("mail", 5, 6, 5, outcomes, []).stop, true);
        assert.match(rolloutDecision("mail", 5, 6, 5, outcomes, []).text, /^smtp-port "mail": 2 of 4 hosts failed \(failure budget 5\)\n/);
        const a = rolloutDecision("mail", 1, 2, 1, [{ name: "mx1", status: "changed" }, { name: "mx2", status: "changed" }], []);
        const b = rolloutDecision("mail", 1, 2, 1, [{ name: "mx1", status: "already right" }, { name: "mx2", status: "already right" }], []);
        assert.deepEqual(a, { stop: false, text: `smtp-port "mail": all 2 hosts passed: mx1, mx2` });
        assert.deepEqual(b, a, "a converged fleet's re-run shows no change on the verdict");
    });
});
