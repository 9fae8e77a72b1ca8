import { strict as assert } from "assert";
import { CheckLine } from "../../components/checkLines";
import { ApplyResult, FailedResult, HostResultError } from "../../components/hostResult";
import * as pulumi from "@pulumi/pulumi";
import {
    applyResultOf, Dependencies, hostOutcome, HostOutcome, planRollout, planWaves, RolloutDecision, rolloutDecision, RolloutHost, RolloutPlan,
    rolloutProblems, wireRollout,
} from "../../components/rollout";

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
    it("rounds a percentage up, not to the nearest: 14 hosts at 10% are 7 waves of 2", () => {
        // 1.4 hosts a wave: rounding to the nearest would make 14 waves of 1.
        assert.deepEqual(planWaves(fleet(14), { batchSize: "10%" }).map(w => w.length), [2, 2, 2, 2, 2, 2, 2]);
        assert.deepEqual(planWaves(fleet(14), { batchSize: "15%" }).map(w => w.length), [3, 3, 3, 3, 2], "2.1 is 3");
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

describe("rollout plan", () => {
    it("names one check for a single wave, and gates and a verdict only with a budget", () => {
        assert.deepEqual(planRollout("mail", fleet(2), undefined, true), {
            component: "mail", waves: [{ hosts: ["mx1", "mx2"], gate: undefined, check: "mail-check" }], verdict: undefined, failureBudget: undefined,
        });
        assert.deepEqual(planRollout("mail", fleet(3), { canary: "mx2", batchSize: 2, failureBudget: 1 }, true), {
            component: "mail",
            waves: [
                { hosts: ["mx2"], gate: undefined, check: "mail-wave1-check" },
                { hosts: ["mx1", "mx3"], gate: "mail-wave2-gate", check: "mail-wave2-check" },
            ],
            verdict: "mail-verdict",
            failureBudget: 1,
        });
        assert.deepEqual(planRollout("mail", fleet(2), { batchSize: 1 }, false).waves.map(w => [w.gate, w.check]), [[undefined, undefined], [undefined, undefined]]);
    });
});

describe("failure budget", () => {
    const applied = (host: string, changed: boolean): ApplyResult => ({
        schema: 1, action: "apply", status: changed ? "changed" : "unchanged", host, file: "/etc/services", service: "smtp", protocol: "tcp",
        port: 17, old_port: 25, changed, added: null, commented: [], backup: null, mta: "postfix", mta_changed: false, restarted: changed,
        verified: null, resolver_port: 17, mta_port: 17, change: "1",
    });
    const failed = (host: string, reason: string, rolledBack: boolean): FailedResult => ({
        schema: 1, action: "apply", status: "failed", host, file: "/etc/services", reason, rolled_back: rolledBack,
    });
    const greeted: CheckLine = { name: "mx1", ok: true, banner: "220 mx ESMTP", message: null };

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

    it("reads a host's outcome from its result fields, never from its messages", () => {
        assert.deepEqual(hostOutcome("mx1", applied("mx1", true), greeted, true), { name: "mx1", status: "changed" });
        assert.deepEqual(hostOutcome("mx1", applied("mx1", true), greeted, false), { name: "mx1", status: "already right" }, "the look decides");
        assert.deepEqual(hostOutcome("mx1", applied("mx1", true), null, null), { name: "mx1", status: "changed" }, "no look: the script's own word");
        assert.deepEqual(hostOutcome("mx1", applied("mx1", false), null, null), { name: "mx1", status: "already right" });
        // A reason that reads like a rollback does not make one: only rolled_back does.
        assert.deepEqual(hostOutcome("mx2", failed("mx2", "no greeting on 2525 within 20s", true), null, true), {
            name: "mx2", status: "rolled back", detail: "no greeting on 2525 within 20s",
        });
        assert.deepEqual(hostOutcome("mx3", failed("mx3", "x; rolled back in 1s: y", false), null, true), {
            name: "mx3", status: "failed", detail: "x; rolled back in 1s: y",
        });
        assert.deepEqual(hostOutcome("mx5", applied("mx5", true), { name: "mx5", ok: false, banner: null, message: "listener check failed for mx5: timeout" }, true), {
            name: "mx5", status: "failed", detail: "listener check failed for mx5: timeout",
        });
    });

    it("decodes a host's apply output once: a failure the script reported, one it could not report, and garbage", () => {
        const reported = failed("mx1", "the restart command failed", true);
        assert.deepEqual(applyResultOf("mx1", "/etc/services", "progress\n" + JSON.stringify(reported) + "\n", true), reported);
        const garbage = applyResultOf("mx6", "/etc/services", "garbage", true);
        assert.equal(garbage.status, "failed");
        assert.match((garbage as FailedResult).reason, /^mx6: the host script's result line is not JSON/);
        assert.throws(() => applyResultOf("mx6", "/etc/services", "garbage", false), HostResultError, "without a budget it fails the program");
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

describe("rollout wiring (fake steps: no engine)", () => {
    type Fake = { step: string };
    const step = (s: string) => ({ step: s } as unknown as pulumi.Resource);
    const names = async (deps: Dependencies) => (await deps).map(d => (d as unknown as Fake).step);

    /** Wires `plan` with steps that record what each waits for; `unreachable` hosts are not attempted. */
    function wire(plan: RolloutPlan, unreachable: string[] = [], failing: string[] = []) {
        const waits: Record<string, Dependencies> = {};
        const decisions: Record<string, pulumi.Output<RolloutDecision>> = {};
        const afterSteps: Record<string, Promise<pulumi.Resource[]>> = {};
        const checked: Record<string, Promise<RolloutHost<string>[]>> = {};
        const results = wireRollout<string>(plan, {
            host: (name, dependsOn) => {
                const attempted = Promise.resolve(!unreachable.includes(name));
                waits[name] = dependsOn(attempted);
                const outcome: HostOutcome = unreachable.includes(name) ? { name, status: "unreachable", detail: "no route" }
                    : failing.includes(name) ? { name, status: "rolled back", detail: "no greeting" } : { name, status: "changed" };
                return { name, reconcile: step(`${name}-reconcile`), attempted, checkTarget: pulumi.output(null), finish: () => ({ outcome: pulumi.output(outcome), result: name }) };
            },
            check: (s, _hosts, attempted) => { checked[s] = attempted; return { step: step(s), lines: pulumi.output<Record<string, CheckLine>>({}) }; },
            decision: (s, d, after) => { decisions[s] = d; afterSteps[s] = after; return step(s); },
        });
        return { results, waits, decisions, afterSteps, checked };
    }
    const value = <T>(o: pulumi.Output<T>) => new Promise<T>(res => o.apply(v => { res(v); return v; }));

    it("without a budget: each wave waits for the previous wave's check, or its reconciles when checks are off", async () => {
        const w = wire(planRollout("mail", fleet(5), { canary: "mx5", batchSize: 2 }, true));
        assert.deepEqual(w.results, ["mx5", "mx1", "mx2", "mx3", "mx4"]);
        assert.deepEqual(await names(w.waits.mx5), []);
        assert.deepEqual(await names(w.waits.mx1), ["mail-wave1-check"]);
        assert.deepEqual(await names(w.waits.mx4), ["mail-wave2-check"]);
        const off = wire(planRollout("mail", fleet(3), { batchSize: 2 }, false));
        assert.deepEqual(await names(off.waits.mx3), ["mx1-reconcile", "mx2-reconcile"]);
        assert.deepEqual(Object.keys(off.decisions), [], "no gates, no verdict");
    });

    it("with a budget: gates count earlier waves, an unreachable host waits behind the verdict and is left out of its check", async () => {
        const w = wire(planRollout("mail", fleet(4), { batchSize: 2, failureBudget: 1 }, true), ["mx2"], ["mx3"]);
        assert.deepEqual(Object.keys(w.decisions), ["mail-wave2-gate", "mail-verdict"]);
        assert.deepEqual(await names(w.waits.mx1), []);
        assert.deepEqual(await names(w.waits.mx2), ["mail-verdict"]);
        assert.deepEqual(await names(w.waits.mx3), ["mail-wave2-gate"]);
        assert.deepEqual((await w.checked["mail-wave1-check"]).map(h => h.name), ["mx1"]);
        assert.deepEqual(await names(w.afterSteps["mail-wave2-gate"]), ["mx1-reconcile", "mail-wave1-check"]);
        assert.deepEqual(await names(w.afterSteps["mail-verdict"]), ["mx1-reconcile", "mail-wave1-check", "mx3-reconcile", "mx4-reconcile", "mail-wave2-check"]);
        const gate = await value(w.decisions["mail-wave2-gate"]);
        assert.equal(gate.stop, true, "mx2 spent the budget of 1");
        assert.match(gate.text, /untouched \(2\): mx3, mx4$/);
        const verdict = await value(w.decisions["mail-verdict"]);
        assert.equal(verdict.stop, true);
        assert.match(verdict.text, /^smtp-port "mail": 2 of 4 hosts failed \(failure budget 1\)/);
    });
});
