// hostScript.ts's words: several aliases reach the script as one argument,
// and a missing copy's message says how to copy it again, with or without
// the step's URN.
import { strict as assert } from "assert";
import { resolveHosts } from "../../components/args";
import { hostCommand, hostScript, missingScriptMessage, remoteScriptPath } from "../../components/hostScript";
import { HOST_KEY } from "../support/testConfig";

const host = (over: Record<string, unknown> = {}) =>
    resolveHosts({ port: 17, aliases: ["mail", "mx-in"], hosts: [{ name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY }, ...over }] })[0];

describe("host script words", () => {
    it("passes several aliases as one space-separated argument", () => {
        const line = hostCommand("preview", host(), { reportFailure: true, digest: false });
        assert.ok(line.includes(" --aliases 'mail mx-in' "), line);
    });

    it("a missing copy's message names the host, the path and how to copy it again", () => {
        const h = host();
        assert.equal(missingScriptMessage(h, ".smtp-port/smtp-port-abc.sh"),
            "smtp-port: mx1: ~/.smtp-port/smtp-port-abc.sh is not on the host; pulumi up copies it again");
        assert.match(remoteScriptPath(), new RegExp(`^\\.smtp-port/smtp-port-${hostScript().digest}\\.sh$`));
    });

    it("the script is read as text once", () => {
        assert.equal(typeof hostScript().text, "string");
        assert.ok(hostScript().text.startsWith("#!/bin/sh\n"));
        assert.equal(hostScript(), hostScript(), "read once");
    });
});
