// components/hostResult.ts decodes the one line the host script prints per
// run. test/host/contract.test.ts runs the script and decodes its lines; this
// file pins the decoder itself in-process (StrykerJS runs this layer, not
// test/host): every action's lines as the script prints them, every field's
// type, every refusal and its exact message.
import { strict as assert } from "assert";
import { decodeHostResult, HOST_RESULT_SCHEMA, HostResultError, isFailed } from "../../components/hostResult";

// Printed by components/host/smtp-port.sh (dash, --mta none, --host-label mx1)
// on a file holding "qotd 17/tcp quote\nsmtp 25/tcp mail\n", in this order:
// preview, apply, status, preview, apply again, revert, revert again, status,
// and apply --port 0. Only the temporary folder's name is replaced.
const LINES = {
    previewWould: `{"schema":1,"action":"preview","status":"would_change","host":"mx1","file":"/srv/t/services","port":17,"drift":false,"change":"0","service_port":25,"mta":"none","mta_port":null,"diff":["-qotd 17/tcp quote","+#qotd 17/tcp quote","-smtp 25/tcp mail","+#smtp 25/tcp mail","+smtp 17/tcp mail"],"mta_diff":[]}`,
    applyChanged: `{"schema":1,"action":"apply","status":"changed","host":"mx1","file":"/srv/t/services","service":"smtp","protocol":"tcp","port":17,"old_port":25,"changed":true,"added":"smtp 17/tcp mail","commented":["qotd 17/tcp quote","smtp 25/tcp mail"],"backup":"/srv/t/state/srv_t_services/orig","mta":"none","mta_changed":false,"restarted":false,"verified":null,"resolver_port":17,"mta_port":null,"change":"1"}`,
    statusManaged: `{"schema":1,"action":"status","status":"managed","host":"mx1","file":"/srv/t/services","service":"smtp","protocol":"tcp","service_port":17,"port":17,"port_name":"smtp","drift":false,"interrupted":false}`,
    previewNo: `{"schema":1,"action":"preview","status":"no_change","host":"mx1","file":"/srv/t/services","port":17,"drift":false,"change":"1","service_port":17,"mta":"none","mta_port":null,"diff":[],"mta_diff":[]}`,
    applyUnchanged: `{"schema":1,"action":"apply","status":"unchanged","host":"mx1","file":"/srv/t/services","service":"smtp","protocol":"tcp","port":17,"old_port":17,"changed":false,"added":"smtp 17/tcp mail","commented":["qotd 17/tcp quote","smtp 25/tcp mail"],"backup":"/srv/t/state/srv_t_services/orig","mta":"none","mta_changed":false,"restarted":false,"verified":null,"resolver_port":17,"mta_port":null,"change":"1"}`,
    revertReverted: `{"schema":1,"action":"revert","status":"reverted","host":"mx1","file":"/srv/t/services","changed":true,"mode":"backup","mta":"none","mta_changed":false,"restarted":false}`,
    revertUnchanged: `{"schema":1,"action":"revert","status":"unchanged","host":"mx1","file":"/srv/t/services","changed":false,"mode":"none","mta":"none","mta_changed":false,"restarted":false}`,
    statusNotManaged: `{"schema":1,"action":"status","status":"not_managed","host":"mx1","file":"/srv/t/services","service":"smtp","protocol":"tcp","service_port":25,"port":null,"port_name":null,"drift":null,"interrupted":false}`,
    applyFailed: `{"schema":1,"action":"apply","status":"failed","host":"mx1","file":"/srv/t/services","reason":"[port] must be an integer from 1 to 65535, got '0'","rolled_back":false}`,
};

type Action = "apply" | "revert" | "status" | "preview";
type FieldType = "string" | "number" | "boolean" | "string[]";

// The schema as docs/host-script.md states it: per action, each field, its type, and whether null is allowed.
const FIELDS: Record<Action | "failed", [string, FieldType, boolean][]> = {
    apply: [["host", "string", false], ["file", "string", false], ["service", "string", false], ["protocol", "string", false],
        ["port", "number", false], ["old_port", "number", true], ["changed", "boolean", false], ["added", "string", true],
        ["commented", "string[]", false], ["backup", "string", true], ["mta", "string", false], ["mta_changed", "boolean", false],
        ["restarted", "boolean", false], ["verified", "string", true], ["resolver_port", "number", true], ["mta_port", "number", true],
        ["change", "string", false]],
    revert: [["host", "string", false], ["file", "string", false], ["changed", "boolean", false], ["mode", "string", false],
        ["mta", "string", false], ["mta_changed", "boolean", false], ["restarted", "boolean", false]],
    status: [["host", "string", false], ["file", "string", false], ["service", "string", false], ["protocol", "string", false],
        ["service_port", "number", true], ["port", "number", true], ["port_name", "string", true], ["drift", "boolean", true],
        ["interrupted", "boolean", false]],
    preview: [["host", "string", false], ["file", "string", false], ["port", "number", false], ["drift", "boolean", false],
        ["change", "string", false], ["service_port", "number", true], ["mta", "string", false], ["mta_port", "number", true],
        ["diff", "string[]", false], ["mta_diff", "string[]", false]],
    failed: [["host", "string", false], ["file", "string", false], ["reason", "string", false], ["rolled_back", "boolean", false]],
};

const STATUSES: Record<Action, string[]> = {
    apply: ["changed", "unchanged", "failed"],
    revert: ["reverted", "unchanged", "failed"],
    status: ["managed", "not_managed", "failed"],
    preview: ["would_change", "no_change", "failed"],
};

// A valid line of each action and status, to vary one field at a time.
const VALID: [Action, string][] = [
    ["apply", LINES.applyChanged], ["apply", LINES.applyUnchanged], ["apply", LINES.applyFailed],
    ["revert", LINES.revertReverted], ["revert", LINES.revertUnchanged],
    ["status", LINES.statusManaged], ["status", LINES.statusNotManaged],
    ["preview", LINES.previewWould], ["preview", LINES.previewNo],
];

const failedLine = (action: Action) => JSON.stringify({ ...JSON.parse(LINES.applyFailed), action });

/** The error decodeHostResult throws, or a failed assertion when it returns. */
function refusal(host: string, action: Action, stdout: string): HostResultError {
    try {
        decodeHostResult(host, action, stdout);
    } catch (e) {
        assert.ok(e instanceof HostResultError, `a HostResultError, got ${String(e)}`);
        return e;
    }
    assert.fail(`decoded ${JSON.stringify(stdout)} as a ${action} result`);
}

const mismatch = (host: string, action: Action, ...problems: string[]) =>
    `${host}: the host script's ${action} result does not match schema 1: ${problems.join("; ")}`;

/** A value of the wrong type for a field of `type`, and how the error shows it. */
const WRONG: Record<FieldType, unknown[]> = {
    string: [17, true, ["x"], {}],
    number: ["17", false, [17]],
    boolean: ["true", 0, "yes"],
    "string[]": ["a", [1], ["a", 2], [null], {}],
};

describe("host result lines (components/hostResult.ts)", () => {
    it("decodes every action's lines as the host script prints them, every field as printed", () => {
        for (const [action, line] of VALID) {
            const r = decodeHostResult("mx1", action, `${line}\n`);
            assert.deepEqual(r, JSON.parse(line), line);
        }
        assert.equal(HOST_RESULT_SCHEMA, 1);
    });

    it("decodes a failed result of every action", () => {
        for (const action of ["apply", "revert", "status", "preview"] as const) {
            const r = decodeHostResult("mx1", action, failedLine(action));
            assert.deepEqual(r, { schema: 1, action, status: "failed", host: "mx1", file: "/srv/t/services",
                reason: "[port] must be an integer from 1 to 65535, got '0'", rolled_back: false });
            assert.equal(isFailed(r), true, action);
        }
    });

    it("isFailed is true for a failed result only", () => {
        for (const [action, line] of VALID) {
            const r = decodeHostResult("mx1", action, line);
            assert.equal(isFailed(r), r.status === "failed", line);
        }
        assert.equal(isFailed(decodeHostResult("mx1", "apply", LINES.applyChanged)), false);
    });

    it("reads the last non-empty line: messages before it, blank lines, spaces and a CR after it", () => {
        const stdout = `smtp-port: note: working on /srv/t/services\n{"not":"the result"}\n${LINES.revertReverted}\n\n  \n`;
        assert.deepEqual(decodeHostResult("mx1", "revert", stdout), JSON.parse(LINES.revertReverted));
        assert.deepEqual(decodeHostResult("mx1", "revert", `  ${LINES.revertReverted}\r\n\r\n`), JSON.parse(LINES.revertReverted));
        assert.deepEqual(decodeHostResult("mx1", "revert", `${LINES.applyChanged}\n${LINES.revertUnchanged}`), JSON.parse(LINES.revertUnchanged));
        // The line before the result is what a non-trimming reader would take from "result\n   \n".
        assert.deepEqual(decodeHostResult("mx1", "revert", `${LINES.revertUnchanged}\n \t \n`), JSON.parse(LINES.revertUnchanged));
    });

    it("refuses output with no result line, showing stdout (cut at 300 characters)", () => {
        assert.equal(refusal("mx1", "apply", "").message, `mx1: the host script printed no result line (stdout: "")`);
        assert.equal(refusal("mx2", "status", "\n  \n\r\n").message, `mx2: the host script printed no result line (stdout: "\\n  \\n\\r\\n")`);
        const exactly300 = " ".repeat(299) + "\n";
        assert.equal(refusal("mx1", "apply", exactly300).message, `mx1: the host script printed no result line (stdout: ${JSON.stringify(exactly300)})`);
        const over = "\n".repeat(301);
        assert.equal(refusal("mx1", "apply", over).message, `mx1: the host script printed no result line (stdout: ${JSON.stringify("\n".repeat(300) + "...")})`);
    });

    it("refuses a last line that is not JSON, with the parser's reason and the line (cut at 300 characters)", () => {
        const parserSays = (s: string) => { try { JSON.parse(s); } catch (e) { return (e as Error).message; } return "parsed"; };
        const e = refusal("mx1", "apply", `${LINES.applyChanged}\nsmtp-port: error: something\n`);
        assert.equal(e.message, `mx1: the host script's result line is not JSON (${parserSays("smtp-port: error: something")}): "smtp-port: error: something"`);
        assert.equal(e.name, "HostResultError");
        assert.match(String(e), /^HostResultError: mx1: /);
        const long = "x".repeat(400);
        assert.equal(refusal("mx3", "preview", long).message, `mx3: the host script's result line is not JSON (${parserSays(long)}): "${"x".repeat(300)}"`);
    });

    it("refuses JSON that is not an object", () => {
        for (const line of ["null", "17", `"text"`, "true", "[]", `[${LINES.applyChanged}]`]) {
            const shown = JSON.stringify(line.slice(0, 300));
            assert.equal(refusal("mx1", "apply", line).message, `mx1: the host script's result line is not a JSON object: ${shown}`, line);
        }
        const longArray = `[${"1,".repeat(200)}1]`;
        assert.equal(refusal("mx1", "apply", longArray).message, `mx1: the host script's result line is not a JSON object: ${JSON.stringify(longArray.slice(0, 300))}`);
    });

    it("refuses another schema, or none, before looking at any other field", () => {
        const base = JSON.parse(LINES.applyChanged);
        const cases: [unknown, string][] = [[2, "2"], [0, "0"], ["1", `"1"`], [null, "null"], [true, "true"]];
        for (const [schema, shown] of cases) {
            assert.equal(refusal("mx1", "apply", JSON.stringify({ ...base, schema, status: "bogus" })).message,
                `mx1: the host script's result has schema ${shown}, this component reads schema 1 (is the host running another version of smtp-port.sh?)`);
        }
        const { schema: _s, ...noSchema } = base;
        assert.equal(refusal("mx1", "apply", JSON.stringify(noSchema)).message,
            "mx1: the host script's result has schema undefined, this component reads schema 1 (is the host running another version of smtp-port.sh?)");
    });

    it("refuses the line of another action, naming both", () => {
        assert.equal(refusal("mx1", "revert", LINES.applyChanged).message,
            mismatch("mx1", "revert", `action is "apply", expected "revert"`, `status is "changed", expected one of reverted, unchanged, failed`,
                "mode must be string, got undefined"));
        // Same status word, another action: only the action is wrong.
        assert.equal(refusal("mx1", "apply", JSON.stringify({ ...JSON.parse(LINES.applyUnchanged), action: "revert" })).message,
            mismatch("mx1", "apply", `action is "revert", expected "apply"`));
        const { action: _a, ...noAction } = JSON.parse(LINES.statusManaged);
        assert.equal(refusal("mx1", "status", JSON.stringify(noAction)).message, mismatch("mx1", "status", `action is undefined, expected "status"`));
    });

    it("accepts each action's statuses and refuses every other, listing the allowed ones", () => {
        for (const action of ["apply", "revert", "status", "preview"] as const) {
            const others = Object.values(STATUSES).flat().filter(s => !STATUSES[action].includes(s));
            for (const status of [...others, "", "CHANGED", null, 1]) {
                const line = JSON.stringify({ ...JSON.parse(failedLine(action)), status });
                const e = refusal("mx1", action, line);
                // Not "failed": the success fields of the action are asked for too, after the status problem.
                assert.ok(e.message.startsWith(mismatch("mx1", action, `status is ${JSON.stringify(status)}, expected one of ${STATUSES[action].join(", ")}`)), e.message);
            }
            for (const status of STATUSES[action]) {
                const line = VALID.find(([a, l]) => a === action && JSON.parse(l).status === status)?.[1] ?? failedLine(action);
                const withStatus = status === "failed" ? failedLine(action) : JSON.stringify({ ...JSON.parse(line), status });
                assert.equal(decodeHostResult("mx1", action, withStatus).status, status, `${action} ${status}`);
            }
        }
    });

    it("checks every field of every action: a missing or mistyped field is named with its type, null only where allowed", () => {
        let checked = 0;
        for (const kind of ["apply", "revert", "status", "preview", "failed"] as const) {
            const action: Action = kind === "failed" ? "apply" : kind;
            const base = kind === "failed" ? JSON.parse(LINES.applyFailed) : JSON.parse(VALID.find(([a]) => a === action)![1]);
            for (const [field, type, nullable] of FIELDS[kind]) {
                const want = `${type}${nullable ? " or null" : ""}`;
                const { [field]: _gone, ...without } = base;
                assert.equal(refusal("mx4", action, JSON.stringify(without)).message, mismatch("mx4", action, `${field} must be ${want}, got undefined`), `${kind} without ${field}`);
                for (const bad of WRONG[type]) {
                    assert.equal(refusal("mx4", action, JSON.stringify({ ...base, [field]: bad })).message,
                        mismatch("mx4", action, `${field} must be ${want}, got ${JSON.stringify(bad)}`), `${kind} ${field}=${JSON.stringify(bad)}`);
                }
                const withNull = JSON.stringify({ ...base, [field]: null });
                if (nullable) assert.equal(decodeHostResult("mx4", action, withNull)[field as "host"], null, `${kind} ${field} may be null`);
                else assert.equal(refusal("mx4", action, withNull).message, mismatch("mx4", action, `${field} must be ${want}, got null`), `${kind} ${field}=null`);
                if (type === "string[]") {
                    assert.deepEqual((decodeHostResult("mx4", action, JSON.stringify({ ...base, [field]: ["a", "b"] })) as any)[field], ["a", "b"]);
                    assert.deepEqual((decodeHostResult("mx4", action, JSON.stringify({ ...base, [field]: [] })) as any)[field], []);
                }
                checked++;
            }
        }
        assert.equal(checked, 17 + 7 + 9 + 10 + 4);
    });

    it("lists every problem of a line at once, in order", () => {
        const line = JSON.stringify({ schema: 1, action: "preview", status: "would_change", host: 7, file: "/srv/t/services", port: "17", drift: false,
            change: 1, service_port: null, mta: "none", mta_port: null, diff: "-a", mta_diff: [] });
        assert.equal(refusal("mx5", "preview", line).message, mismatch("mx5", "preview",
            "host must be string, got 7", `port must be number, got "17"`, "change must be string, got 1", `diff must be string[], got "-a"`));
    });

    it("a failed result needs only the failure's fields, not the action's", () => {
        for (const action of ["apply", "revert", "status", "preview"] as const) {
            const { reason: _r, ...noReason } = JSON.parse(failedLine(action));
            assert.equal(refusal("mx1", action, JSON.stringify(noReason)).message, mismatch("mx1", action, "reason must be string, got undefined"));
            const { rolled_back: _b, ...noRolled } = JSON.parse(failedLine(action));
            assert.equal(refusal("mx1", action, JSON.stringify(noRolled)).message, mismatch("mx1", action, "rolled_back must be boolean, got undefined"));
        }
        // A success line needs no reason.
        const { reason: _r, rolled_back: _b, ...ok } = { ...JSON.parse(LINES.revertReverted), reason: "", rolled_back: false };
        assert.equal(decodeHostResult("mx1", "revert", JSON.stringify(ok)).status, "reverted");
    });
});
