import { strict as assert } from "assert";
import { changeToken, describePreview, lookTarget, nextChange, previewOf } from "../../components/hostPreview";

const line = (over: Record<string, unknown> = {}) => JSON.stringify({
    schema: 1, action: "preview", status: "would_change", host: "mx2", file: "/etc/services", port: 17, drift: true, change: "3",
    service_port: 25, mta: "postfix", mta_port: 25,
    diff: ["-qotd\t17/tcp\tquote", "+#qotd\t17/tcp\tquote", "-smtp\t25/tcp\tmail", "+#smtp\t25/tcp\tmail", "+smtp\t17/tcp\tmail"],
    mta_diff: ["postfix smtp_tcp_port: smtp -> 25"],
    ...over,
});

describe("host preview", () => {
    const p = () => previewOf("mx2", line()); // per test: Stryker runs a describe body once, before any mutant is active
    it("reads the script's schema-1 preview line", () => {
        assert.deepEqual({ ...p(), diff: p().diff.length, mtaDiff: p().mtaDiff.length }, {
            wouldChange: true, drift: true, change: "3", servicePort: 25, mtaPort: 25, diff: 5, mtaDiff: 1,
        });
        assert.equal(previewOf("mx2", line({ status: "no_change" })).wouldChange, false);
    });
    it("fails with the script's reason when the preview failed, and names the host when the line is not schema 1", () => {
        const failed = JSON.stringify({ schema: 1, action: "preview", status: "failed", host: "mx2", file: "/etc/services", reason: "cannot read /etc/services: permission denied", rolled_back: false });
        assert.throws(() => previewOf("mx2", failed), { message: "cannot read /etc/services: permission denied" });
        assert.throws(() => previewOf("mx2", JSON.stringify({ action: "preview", would_change: true, generation: 3 })), /^HostResultError: mx2: the host script's result has schema undefined/);
    });
    it("gives the apply the next change token when a change is expected, the same one when not, and `unknown` without a look", () => {
        assert.equal(changeToken({ preview: p() }, ""), "4");
        assert.equal(changeToken({ preview: p() }, "@2026-11-27T05:30:00.123Z"), "4@2026-11-27T05:30:00.123Z");
        assert.equal(changeToken({ preview: { ...p(), wouldChange: false } }, "@x"), "3");
        assert.equal(changeToken({ preview: null, error: "unreachable" }, "@x"), "unknown");
        assert.equal(nextChange("3@2026-11-27T05:30:00.123Z"), "4", "a retry mark is not part of the count");
    });
    it("shows the lines in -/+ form with the host and the file", () => {
        assert.equal(describePreview("mx2", "/etc/services", 17, p()), [
            "mx2: /etc/services (drifted: changed on the host since smtp-port wrote it)",
            "-  qotd\t17/tcp\tquote",
            "+  #qotd\t17/tcp\tquote",
            "-  smtp\t25/tcp\tmail",
            "+  #smtp\t25/tcp\tmail",
            "+  smtp\t17/tcp\tmail",
            "~  postfix smtp_tcp_port: smtp -> 25",
        ].join("\n"));
    });
    it("says in one line that a host is already right", () => {
        assert.equal(describePreview("mx1", "/etc/services", 17, { ...p(), wouldChange: false }), "mx1: /etc/services already has smtp on 17; nothing to change");
    });
    it("logs in as the command provider would: port 22 and root by default, through the bastion with its own pin", () => {
        assert.deepEqual(lookTarget({ host: "mx1", hostKey: "ssh-ed25519 AAAA", privateKey: "k" }, false), {
            host: "mx1", port: 22, user: "root", privateKey: "k", privateKeyPassword: undefined, password: undefined, agent: undefined, hostKey: "ssh-ed25519 AAAA",
            insecureIgnoreHostKey: false, timeoutSeconds: 10,
        });
        const t = lookTarget({ host: "10.0.0.5", port: 2222, user: "deploy", hostKey: "h", privateKey: "k", proxy: { host: "bastion", hostKey: "b", privateKey: "k2", user: "jump" } }, false);
        assert.deepEqual(t.proxy, { host: "bastion", port: 22, user: "jump", privateKey: "k2", privateKeyPassword: undefined, password: undefined, agent: undefined, hostKey: "b", insecureIgnoreHostKey: false });
        assert.deepEqual([t.host, t.port, t.user], ["10.0.0.5", 2222, "deploy"]);
    });
    it("with no key, password or agentSocketPath, logs in with the agent of SSH_AUTH_SOCK, as the command provider does", () => {
        const env = { SSH_AUTH_SOCK: "/run/user/1000/agent.sock" };
        const agentOf = (c: Parameters<typeof lookTarget>[0], e: NodeJS.ProcessEnv = env) => lookTarget(c, false, e).agent;
        assert.equal(agentOf({ host: "mx1", hostKey: "h" }), "/run/user/1000/agent.sock");
        assert.equal(agentOf({ host: "mx1", hostKey: "h", agentSocketPath: "/tmp/mine.sock" }), "/tmp/mine.sock", "the connection's own agent first");
        assert.equal(agentOf({ host: "mx1", hostKey: "h", privateKey: "k" }), undefined, "a key: no agent needed");
        assert.equal(agentOf({ host: "mx1", hostKey: "h", password: "p" }), undefined, "a password: no agent needed");
        assert.equal(agentOf({ host: "mx1", hostKey: "h" }, {}), undefined, "no agent anywhere");
        assert.equal(agentOf({ host: "mx1", hostKey: "h" }, { SSH_AUTH_SOCK: "" }), undefined, "an empty SSH_AUTH_SOCK is none");
        const t = lookTarget({ host: "mx1", hostKey: "h", privateKey: "k", proxy: { host: "bastion", hostKey: "b" } }, false, env);
        assert.equal(t.proxy?.agent, "/run/user/1000/agent.sock", "the bastion's hop too");
    });
});
