// The commands hostSteps.ts registers, as the engine receives them: none
// asks for the previous output in its environment (servers without AcceptEnv
// warn), and the listener check runs the script beside the component.
import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { registrations, valueOf } from "./mocks";
import * as hostPreview from "../../components/hostPreview";
// The component is imported after the mocks are set.
import { SmtpPort, SmtpPortArgs } from "../../components";
import { HOST_KEY } from "../support/testConfig";

const fleet = (over: Partial<SmtpPortArgs> = {}): SmtpPortArgs => ({
    port: 17,
    previewHosts: false,
    hosts: [
        { name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY, privateKey: pulumi.secret("k") } },
        { name: "mx2", connection: { host: "198.18.0.12", hostKey: HOST_KEY, privateKey: pulumi.secret("k") } },
    ],
    ...over,
});

async function build(name: string, args: SmtpPortArgs) {
    const c = new SmtpPort(name, args);
    await valueOf(c.results);
    // With a failure budget the verdict is the last step: once it is registered, all are.
    if (args.rollout?.failureBudget !== undefined) {
        await new Promise<void>(res => { const t = setInterval(() => { if (registrations.some(r => r.name === `${name}-verdict` && r.inputs.create)) { clearInterval(t); res(); } }, 10); });
    }
    return registrations.filter(r => r.name === name || r.name.startsWith(`${name}-`));
}

describe("host steps as registered (mocked engine)", () => {
    // The look reads no host here: every host answers a preview that would change it.
    const real = hostPreview.sshRunner.run;
    before(() => {
        hostPreview.sshRunner.run = (async (t: { host: string }) => JSON.stringify({
            schema: 1, action: "preview", status: "would_change", host: t.host, file: "/etc/services", port: 17,
            drift: false, change: "0", service_port: 25, mta: "postfix", mta_port: 25, diff: [], mta_diff: [],
        })) as typeof real;
    });
    after(() => { hostPreview.sshRunner.run = real; });

    it("no command asks for its previous output in the environment: reconciles, checks, gates and the verdict", async () => {
        const mine = [
            ...await build("steps1", fleet()),
            ...await build("steps2", fleet({ rollout: { canary: "mx1", failureBudget: 1 }, previewHosts: true })),
        ];
        const commands = mine.filter(r => r.type === "command:remote:Command" || r.type === "command:local:Command");
        assert.deepEqual(commands.map(r => r.name).sort(), [
            "steps1-check", "steps1-mx1-reconcile", "steps1-mx2-reconcile",
            "steps2-mx1-reconcile", "steps2-mx2-reconcile", "steps2-verdict", "steps2-wave1-check", "steps2-wave2-check", "steps2-wave2-gate",
        ]);
        for (const r of commands) assert.equal(r.inputs.addPreviousOutputInEnv, false, r.name);
    });

    it("the listener check runs listener-check.js beside the component, named relative to the working folder", async () => {
        const mine = await build("steps3", fleet());
        const check = mine.find(r => r.name === "steps3-check")!;
        const script = path.relative(process.cwd(), path.join(__dirname, "..", "..", "components", "listener", "listener-check.js"));
        assert.match(check.inputs.create, new RegExp(`^node ${script.replace(/[.]/g, "\\.")} --timeout-ms 5000 --attempts 10 --delay-ms 1000$`));
    });
});
