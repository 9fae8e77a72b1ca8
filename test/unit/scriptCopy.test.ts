import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { copyOnlySsh, valueOf } from "./mocks";
import { resolveHosts } from "../../components/args";
import * as hostPreview from "../../components/hostPreview";
import { copyCommand, hostScript, remoteScriptPath, SEND_SCRIPT } from "../../components/hostScript";
import { copyScript } from "../../components/scriptCopy";
import { registerShort } from "../../components/hostSteps";
import { HOST_KEY } from "../support/testConfig";

const h = resolveHosts({ port: 17, hosts: [{ name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY } }] })[0];
const conn = pulumi.secret({ host: "198.18.0.11", hostKey: HOST_KEY, privateKey: "k" });
const parent = new pulumi.ComponentResource("smtp-port:test:Parent", "copy-parent");

describe("the script's copy (scriptCopy.ts)", () => {
    const calls: { host: string; stdin: any; command: string }[] = [];
    let answer: (stdin: any) => Promise<string> = async () => "";
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    beforeEach(() => {
        calls.length = 0;
        warnings.length = 0;
        answer = async () => "";
        hostPreview.sshRunner.run = (async (t: { host: string }, stdin: any, command: string) => {
            calls.push({ host: t.host, stdin, command });
            return answer(stdin);
        }) as typeof hostPreview.sshRunner.run;
        pulumi.log.warn = (async (m: string) => { warnings.push(m); }) as typeof pulumi.log.warn;
    });
    afterEach(() => {
        hostPreview.sshRunner.run = copyOnlySsh as typeof hostPreview.sshRunner.run;
        pulumi.log.warn = warn;
    });

    it("copies when the look did not find this version there, sending the script only if the host asks", async () => {
        for (const look of [{ preview: null }, { preview: null, hasCopy: false }, { preview: null, error: "no route" }]) {
            calls.length = 0;
            await valueOf(copyScript(h, conn, pulumi.output(look), parent, () => false));
            assert.equal(calls.length, 1, JSON.stringify(look));
            assert.equal(calls[0].host, "198.18.0.11");
            assert.equal(calls[0].command, copyCommand(remoteScriptPath()));
            assert.equal(calls[0].stdin.onRequest, SEND_SCRIPT);
            assert.equal(calls[0].stdin.text, hostScript().text);
        }
        assert.deepEqual(warnings, []);
    });

    it("copies nothing when the look found this version, or the host will not be attempted", async () => {
        await valueOf(copyScript(h, conn, pulumi.output({ preview: null, hasCopy: true }), parent, () => false));
        await valueOf(copyScript(h, conn, pulumi.output({ preview: null, error: "no route" }), parent, l => l.error !== undefined));
        assert.deepEqual(calls, []);
    });

    it("a copy that fails is a warning naming the host and the path, not a failed program (the reconcile then says the copy is missing)", async () => {
        answer = async () => { throw new Error("ssh: connect to host 198.18.0.11 port 22: Connection refused"); };
        await valueOf(copyScript(h, conn, pulumi.output({ preview: null }), parent, () => false));
        assert.deepEqual(warnings, [`mx1: could not copy the host script to ~/${remoteScriptPath()}: ssh: connect to host 198.18.0.11 port 22: Connection refused`]);
    });

    it("is not secret, though the connection is: the reconcile's command waits for it and must stay readable in diffs", async () => {
        const o = copyScript(h, conn, pulumi.output({ preview: null, hasCopy: true }), parent, () => false);
        assert.equal(await (o as any).isSecret, false);
    });

    it("a look tells whether the host had the copy: it had, unless the look had to send the script", async () => {
        const preview = JSON.stringify({
            schema: 1, action: "preview", status: "no_change", host: "mx1", file: "/etc/services", port: 17,
            drift: false, change: "2", service_port: 17, mta: "postfix", mta_port: 17, diff: [], mta_diff: [],
        });
        let key = "";
        for (const asks of [false, true]) {
            answer = async stdin => { if (asks) stdin.onSend(); return preview; };
            const look = await valueOf(hostPreview.lookAt(h, conn, undefined));
            assert.equal(look.hasCopy, !asks);
            assert.equal(look.preview?.change, "2");
            key = look.key!;
        }
        calls.length = 0;
        for (const hasCopy of [true, false, undefined]) {
            const handed = await valueOf(hostPreview.lookAt(h, conn, { key, preview: JSON.parse("{}"), hasCopy }));
            assert.equal(handed.hasCopy, hasCopy === true, "the preview's look, handed over, says what it found (unknown: copy)");
        }
        assert.deepEqual(calls, [], "a handed-over look contacts nothing");
        answer = async () => preview;
        const other = await valueOf(hostPreview.lookAt(h, conn, { key: "another look's key", preview: JSON.parse("{}"), hasCopy: false }));
        assert.equal(calls.length, 1, "a look taken with other settings is taken again");
        assert.equal(other.preview?.change, "2");
        assert.equal(other.hasCopy, true);
    });

    it("a look's key depends on where it went: host, port, user and pinned key", async () => {
        answer = async () => JSON.stringify({
            schema: 1, action: "preview", status: "no_change", host: "mx1", file: "/etc/services", port: 17,
            drift: false, change: "2", service_port: 17, mta: "postfix", mta_port: 17, diff: [], mta_diff: [],
        });
        const keyOf = async (c: Record<string, unknown>) => (await valueOf(hostPreview.lookAt(h, pulumi.output({ host: "198.18.0.11", hostKey: HOST_KEY, privateKey: "k", ...c }) as any, undefined))).key;
        const base = await keyOf({});
        assert.equal(await keyOf({}), base, "the same settings, the same key");
        for (const c of [{ host: "198.18.0.12" }, { port: 2222 }, { user: "deploy" }, { hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGv8dCT7qk3n3dBsGFZgWk8nN4ayl1Jt8vEbOJH5mJ6C" }]) {
            assert.notEqual(await keyOf(c), base, JSON.stringify(c));
        }
        assert.equal(await keyOf({ privateKey: "another" }), base, "no secret in it");
    });
});

describe("registerShort (the host resources' stack traces)", () => {
    it("keeps the SDK's frames and three of ours, formatted as V8 formats them, when nothing else formats stack traces", () => {
        const saved = Error.prepareStackTrace;
        Error.prepareStackTrace = undefined as unknown as typeof Error.prepareStackTrace;
        try {
            // As the SDK takes a resource's trace: with the limit lifted (withoutPromiseStacks set it to 0).
            const trace = () => {
                const limit = Error.stackTraceLimit;
                Error.stackTraceLimit = 50;
                try {
                    return String(new Error("here").stack);
                } finally {
                    Error.stackTraceLimit = limit;
                }
            };
            const deep = (n: number): string => (n === 0 ? registerShort(trace) : deep(n - 1));
            const stack = deep(12);
            const lines = stack.split("\n");
            assert.equal(lines[0], "Error: here");
            assert.equal(lines.length, 1 + 8, stack);
            for (const l of lines.slice(1)) assert.match(l, /^ {4}at \S/);
            assert.equal(Error.prepareStackTrace, undefined, "put back as it was");
            assert.ok(String(new Error("after").stack).split("\n").length > 9, "outside, whole traces again");
        } finally {
            Error.prepareStackTrace = saved;
        }
    });
});
