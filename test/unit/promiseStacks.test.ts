import { strict as assert } from "assert";
import { withoutPromiseStacks } from "../../components/promiseStacks";

describe("resource registration without the SDK's per-input stack traces", () => {
    const saved = process.env.PULUMI_DEBUG_PROMISE_LEAKS;
    afterEach(() => {
        if (saved === undefined) delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        else process.env.PULUMI_DEBUG_PROMISE_LEAKS = saved;
    });

    it("takes no stack traces while registering, and restores the limit after", () => {
        delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        const limit = Error.stackTraceLimit;
        const stack = withoutPromiseStacks(() => new Error("x").stack);
        assert.equal(stack, "Error: x");
        assert.equal(Error.stackTraceLimit, limit);
    });

    it("restores the limit when registering throws", () => {
        delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        const limit = Error.stackTraceLimit;
        assert.throws(() => withoutPromiseStacks(() => { throw new Error("duplicate resource"); }), { message: "duplicate resource" });
        assert.equal(Error.stackTraceLimit, limit);
    });

    it("keeps the traces when PULUMI_DEBUG_PROMISE_LEAKS asks for them", () => {
        process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
        const stack = withoutPromiseStacks(() => new Error("x").stack ?? "");
        assert.match(stack, /\n\s+at /);
    });
});
