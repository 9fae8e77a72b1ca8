import { strict as assert } from "assert";
import { planWaves, rolloutProblems } from "../../components/rollout";

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
