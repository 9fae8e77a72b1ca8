// The decoder of the host script's result lines (components/hostResult.ts):
// the short form of an apply (`--result short`), completed from what the
// caller gave, and refused where it cannot be.
import { strict as assert } from "assert";
import { ApplyGiven, decodeHostResult, HostResultError } from "../../components/hostResult";

const GIVEN: ApplyGiven = { file: "/etc/services", service: "smtp", protocol: "tcp", port: 17 };
const REST = {
    old_port: 25, changed: true, added: "smtp\t\t17/tcp\t\tmail", commented: ["smtp\t\t25/tcp\t\tmail"], backup: "/var/lib/smtp-port/etc_services/orig",
    mta: "postfix", mta_changed: true, restarted: true, verified: "220 mx1 ESMTP Postfix", resolver_port: 17, mta_port: 17, change: "1",
};
const line = (o: object) => `smtp-port: progress on stdout is ignored\n${JSON.stringify(o)}\n`;

describe("host result lines: the short form of an apply", () => {
    it("completes a short line from what the apply was given, in the full form's order", () => {
        const r = decodeHostResult("mx1", "apply", line({ schema: 1, action: "apply", status: "changed", form: "short", ...REST }), GIVEN);
        const full = { schema: 1, action: "apply", status: "changed", host: "mx1", ...GIVEN, ...REST };
        assert.deepEqual(r, full);
        assert.deepEqual(Object.keys(r), Object.keys(full));
        assert.ok(!("form" in r));
    });

    it("reads a full line as before, given or not", () => {
        const full = { schema: 1, action: "apply", status: "unchanged", host: "mx1", ...GIVEN, ...REST };
        assert.deepEqual(decodeHostResult("mx1", "apply", line(full)), full);
        assert.deepEqual(decodeHostResult("mx1", "apply", line(full), GIVEN), full);
    });

    it("refuses a short line it cannot complete, or where there is none, naming the host", () => {
        const short = { schema: 1, action: "apply", status: "changed", form: "short", ...REST };
        assert.throws(() => decodeHostResult("mx1", "apply", line(short)),
            (e: Error) => e instanceof HostResultError && /^mx1: .*a short result line \(form "short"\) needs what the apply was given/.test(e.message));
        assert.throws(() => decodeHostResult("mx1", "apply", line({ ...short, form: "tiny" }), GIVEN), /form is "tiny", expected none or "short"/);
        assert.throws(() => decodeHostResult("mx1", "apply", line({ schema: 1, action: "apply", status: "failed", form: "short", reason: "x", rolled_back: false }), GIVEN),
            /form is "short"/, "a failure is always whole");
        assert.throws(() => decodeHostResult("mx1", "preview", line({ schema: 1, action: "preview", status: "no_change", form: "short" }), GIVEN),
            /HostResultError: mx1: .*form is "short", expected none;/);
        assert.throws(() => decodeHostResult("mx1", "apply", line({ ...short, old_port: "25" }), GIVEN), /old_port must be number or null, got "25"/, "the rest is checked as ever");
    });
});
