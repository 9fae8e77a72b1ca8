// SmtpPort as `pulumi preview` (and the preview inside `pulumi up`) runs it:
// the look at each host, what the preview prints of it, the looks handed
// over to the update run, and failOnDrift.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { copies, registrations, setDryRun, valueOf } from "./mocks";
import * as hostPreview from "../../components/hostPreview";
import { takeLooks } from "../../components/lookCache";
import { SmtpPort, SmtpPortArgs } from "../../components";
import { HOST_KEY } from "../support/testConfig";

const PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-private-key-7f3a\n-----END OPENSSH PRIVATE KEY-----\n";

function fleet(over: Partial<SmtpPortArgs> = {}): SmtpPortArgs {
    const host = (name: string, last: number) => ({ name, connection: { host: `198.18.0.${last}`, user: "root", hostKey: HOST_KEY, privateKey: pulumi.secret(PRIVATE) } });
    return { port: 17, restartCommand: "service postfix restart", hosts: [host("mx1", 11), host("mx2", 12), host("mx3", 13)], ...over };
}

/** A schema-1 PreviewResult line. */
function preview(host: string, o: { wouldChange: boolean; drift?: boolean; change: string }): string {
    return JSON.stringify({
        schema: 1, action: "preview", status: o.wouldChange ? "would_change" : "no_change", host, file: "/etc/services", port: 17,
        drift: o.drift ?? false, change: o.change, service_port: o.wouldChange ? 25 : 17, mta: "postfix", mta_port: o.wouldChange ? 25 : 17,
        diff: o.wouldChange ? ["-smtp\t\t25/tcp\t\tmail", "+#smtp\t\t25/tcp\t\tmail", "+smtp\t\t17/tcp\t\tmail"] : [],
        mta_diff: o.wouldChange ? ["postfix smtp_tcp_port: smtp -> 25"] : [],
    });
}

describe("SmtpPort in a preview (mocked engine, dry run)", () => {
    const logged: { level: string; text: string }[] = [];
    const saved = { info: pulumi.log.info, warn: pulumi.log.warn, error: pulumi.log.error, run: hostPreview.sshRunner.run };
    /** By host address: the look's answer, and whether the host lacks the script's copy (the look sends it). */
    const answers: Record<string, { out: string | Error; noCopy?: boolean }> = {};

    before(() => {
        setDryRun(true);
        hostPreview.sshRunner.run = (async (t: { host: string }, stdin: { onSend?: () => void }) => {
            const a = answers[t.host];
            if (a.out instanceof Error) throw a.out;
            if (a.noCopy) stdin.onSend?.();
            return a.out;
        }) as typeof hostPreview.sshRunner.run;
        for (const level of ["info", "warn", "error"] as const) {
            (pulumi.log as any)[level] = async (text: string) => { logged.push({ level, text }); };
        }
    });
    after(() => {
        setDryRun(false);
        Object.assign(pulumi.log, { info: saved.info, warn: saved.warn, error: saved.error });
        hostPreview.sshRunner.run = saved.run;
        process.exitCode = 0;
    });
    beforeEach(() => { logged.length = 0; copies.length = 0; });

    async function run(name: string, args: SmtpPortArgs) {
        answers["198.18.0.11"] = { out: preview("mx1", { wouldChange: true, change: "3" }) };
        answers["198.18.0.12"] = { out: preview("mx2", { wouldChange: false, change: "5" }), noCopy: true };
        answers["198.18.0.13"] = { out: new Error("ssh: connect to host 198.18.0.13 port 22: No route to host") };
        const c = new SmtpPort(name, args);
        const previews = await valueOf(c.previews);
        // The log lines are awaited before the outputs resolve; the registrations settle after.
        await new Promise(res => setTimeout(res, 50));
        const create = (h: string) => String(registrations.find(r => r.name === `${name}-${h}-reconcile`)!.inputs.create);
        return { c, previews, create };
    }

    it("prints each host's diff, or that it is right, or why it could not be looked at", async () => {
        await run("pv1", fleet());
        assert.deepEqual(logged, [
            { level: "info", text: "mx1: /etc/services\n-  smtp\t\t25/tcp\t\tmail\n+  #smtp\t\t25/tcp\t\tmail\n+  smtp\t\t17/tcp\t\tmail\n~  postfix smtp_tcp_port: smtp -> 25" },
            { level: "info", text: "mx2: /etc/services already has smtp on 17; nothing to change" },
            { level: "warn", text: "mx3: could not look at the host for this preview: ssh: connect to host 198.18.0.13 port 22: No route to host" },
        ]);
    });

    it("gives each apply the change token the look decided: the next for a change, the same for a right host, unknown without a look", async () => {
        const { create, previews } = await run("pv2", fleet());
        assert.match(create("mx1"), / --change 4 < "\$f"; else /);
        assert.match(create("mx2"), / --change 5 < "\$f"; else /);
        assert.match(create("mx3"), / --change unknown < "\$f"; else /);
        assert.equal(previews.mx1?.wouldChange, true);
        assert.equal(previews.mx2?.wouldChange, false);
        assert.equal(previews.mx3, null);
    });

    it("hands its looks over to the update run of the same command, with whether each host had the script's copy; copies nothing", async () => {
        await run("pv3", fleet());
        const looks = takeLooks("pv3");
        assert.deepEqual(Object.keys(looks).sort(), ["mx1", "mx2"], "not the host it could not look at");
        assert.equal(looks.mx1.hasCopy, true);
        assert.equal(looks.mx2.hasCopy, false, "the look had to send the script: the update copies it");
        assert.equal(looks.mx1.preview.change, "3");
        assert.match(looks.mx1.key, /^[0-9a-f]{64}$/);
        assert.deepEqual(takeLooks("pv3"), {}, "taken once");
        assert.deepEqual(copies, [], "a preview writes nothing on any host");
    });

    it("with failOnDrift, drift fails the program with one error naming every drifted host", async () => {
        answers["198.18.0.11"] = { out: preview("mx1", { wouldChange: true, drift: true, change: "3" }) };
        answers["198.18.0.12"] = { out: preview("mx2", { wouldChange: true, drift: true, change: "1" }) };
        process.exitCode = 0;
        const c = new SmtpPort("pv4", { ...fleet(), failOnDrift: true, hosts: fleet().hosts.slice(0, 2) });
        // run() would reset the answers: built by hand.
        await valueOf(c.previews);
        assert.equal(process.exitCode, 32, "32: the error is already reported");
        assert.deepEqual(logged.filter(l => l.level === "error"), [{
            level: "error",
            text: `smtp-port "pv4": drift on mx1, mx2: the services file or MTA settings were changed on the host since smtp-port wrote them (failOnDrift)`,
        }]);
        process.exitCode = 0;
    });

    it("with failOnDrift and no drift, the preview passes", async () => {
        answers["198.18.0.11"] = { out: preview("mx1", { wouldChange: true, change: "3" }) };
        answers["198.18.0.12"] = { out: preview("mx2", { wouldChange: false, change: "1" }) };
        process.exitCode = 0;
        const c = new SmtpPort("pv4b", { ...fleet(), failOnDrift: true, hosts: fleet().hosts.slice(0, 2) });
        await valueOf(c.previews);
        await new Promise(res => setTimeout(res, 20));
        assert.equal(process.exitCode, 0);
        assert.deepEqual(logged.filter(l => l.level === "error"), []);
    });

    it("under a failure budget, a preview attempts every host (nothing waits on the verdict) and warns only of the looks", async () => {
        const { create } = await run("pv6", fleet({ rollout: { failureBudget: 1 } }));
        const deps = (h: string) => registrations.find(r => r.name === `pv6-${h}-reconcile`)!.dependencies;
        for (const h of ["mx1", "mx2", "mx3"]) assert.deepEqual(deps(h), [], `${h}: one wave, nothing before it`);
        assert.match(create("mx3"), / --change unknown /);
        assert.deepEqual(logged.filter(l => l.level !== "info"), [
            { level: "warn", text: "mx3: could not look at the host for this preview: ssh: connect to host 198.18.0.13 port 22: No route to host" },
        ], "no per-host failure warnings in a preview: nothing ran");
    });

    it("without failOnDrift, drift is shown but does not fail", async () => {
        answers["198.18.0.11"] = { out: preview("mx1", { wouldChange: true, drift: true, change: "3" }) };
        process.exitCode = 0;
        const c = new SmtpPort("pv5", { ...fleet(), hosts: fleet().hosts.slice(0, 1) });
        await valueOf(c.previews);
        await new Promise(res => setTimeout(res, 20));
        assert.equal(process.exitCode, 0);
        assert.deepEqual(logged.map(l => l.text), ["mx1: /etc/services (drifted: changed on the host since smtp-port wrote it)\n-  smtp\t\t25/tcp\t\tmail\n+  #smtp\t\t25/tcp\t\tmail\n+  smtp\t\t17/tcp\t\tmail\n~  postfix smtp_tcp_port: smtp -> 25"]);
    });
});
