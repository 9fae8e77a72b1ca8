import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { applyOutputs, copies, failedApply, registeredOutputs, registrations, valueOf, SECRET_SIG } from "./mocks";
import * as hostPreview from "../../components/hostPreview";
// The component is imported after the mocks are set.
import { SmtpPort, SmtpPortArgs, SmtpPortArgsError, hostScript, shellQuote } from "../../components";
import { copyCommand, remoteScriptPath } from "../../components/hostScript";

const KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxh0oP0cn6JpoFvD7PBbsYybx9fS0XbO7wW+9yYSbMN";
const KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGv8dCT7qk3n3dBsGFZgWk8nN4ayl1Jt8vEbOJH5mJ6C";
const PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-private-key-7f3a\n-----END OPENSSH PRIVATE KEY-----\n";

function fleet(over: Partial<SmtpPortArgs> = {}): SmtpPortArgs {
    return {
        port: 17,
        restartCommand: "systemctl restart postfix",
        // The unit tests contact no host.
        previewHosts: false,
        hosts: [
            { name: "mx1", connection: { host: "198.18.0.11", user: "root", hostKey: KEY1, privateKey: pulumi.secret(PRIVATE) } },
            { name: "mx2", connection: { host: "198.18.0.12", user: "deploy", hostKey: KEY2, privateKey: pulumi.secret(PRIVATE) }, sudo: true, port: 2525 },
        ],
        ...over,
    };
}

/** Paths in a serialized input where `needle` appears outside any secret wrapper. */
function plainTextPaths(v: any, needle: string, at = "$"): string[] {
    if (typeof v === "string") return v.includes(needle) ? [at] : [];
    if (v === null || typeof v !== "object") return [];
    if (v[SECRET_SIG] !== undefined) return [];
    return Object.entries(v).flatMap(([k, x]) => plainTextPaths(x, needle, `${at}.${k}`));
}

/** Registrations of one component instance, after its outputs resolved. */
async function build(name: string, args: SmtpPortArgs) {
    const c = new SmtpPort(name, args);
    const results = await valueOf(c.results);
    const mine = registrations.filter(r => r.name === name || r.name.startsWith(`${name}-`));
    return { c, results, mine };
}

describe("SmtpPort (mocked engine)", () => {
    it("creates one reconcile command per host, named after the host, and one listener check for the wave", async () => {
        const { mine } = await build("fleet1", fleet());
        assert.deepEqual(mine.map(r => `${r.type} ${r.name}`).sort(), [
            "command:local:Command fleet1-check",
            "command:remote:Command fleet1-mx1-reconcile",
            "command:remote:Command fleet1-mx2-reconcile",
            "smtp-port:index:SmtpPort fleet1",
        ]);
    });

    it("copies the script to each host (no look: the copy checks its digest there) before the reconcile that runs it is registered", async () => {
        copies.length = 0;
        const { mine } = await build("fleet1c", fleet());
        assert.deepEqual(copies.map(c => c.host).sort(), ["198.18.0.11", "198.18.0.12"]);
        for (const c of copies) assert.equal(c.command, copyCommand(remoteScriptPath()));
        for (const h of ["mx1", "mx2"]) {
            const rec = mine.find(r => r.name === `fleet1c-${h}-reconcile`)!;
            assert.deepEqual(rec.dependencies, [], "one wave: nothing before it");
            assert.equal(rec.inputs.stdin, undefined, "the script does not travel on stdin");
            assert.ok(rec.inputs.create.startsWith(`f=${remoteScriptPath()}; `), "it runs the copy, by a path named by the digest");
            assert.ok(!JSON.stringify(rec.raw).includes("set -eu"), "no script text in the reconcile's inputs");
        }
    });

    it("keeps only the summary as the component's outputs in the state (the program exports the results; the looks are not kept)", async () => {
        const { c } = await build("fleet1o", fleet());
        const urn = await valueOf(c.urn);
        // Registered once every output resolved.
        await new Promise(res => setTimeout(res, 50));
        assert.deepEqual(Object.keys(registeredOutputs[urn]), ["summary"]);
        assert.match(String(registeredOutputs[urn].summary), /^mx1: smtp 25 -> 17 \(changed/);
        assert.equal(Object.keys(await valueOf(c.results)).length, 2, "the results are still the component's property");
    });

    it("parents every child to the component", async () => {
        const { mine } = await build("fleet2", fleet());
        const comp = mine.find(r => r.type === "smtp-port:index:SmtpPort")!;
        assert.doesNotMatch(comp.parent, /SmtpPort/, "the component itself sits at the top");
        for (const child of mine.filter(r => r.type !== "smtp-port:index:SmtpPort")) {
            assert.match(child.parent, /::smtp-port:index:SmtpPort::fleet2$/, `${child.name} parent ${child.parent}`);
        }
    });

    it("runs the wave's check after every reconcile command of the wave", async () => {
        const { mine } = await build("fleet3", fleet());
        const check = mine.find(r => r.name === "fleet3-check")!;
        assert.deepEqual(check.dependencies.map(d => d.split("::").pop()).sort(), ["fleet3-mx1-reconcile", "fleet3-mx2-reconcile"]);
    });

    it("passes every parameter as a quoted argument and runs the copied script", async () => {
        const { mine } = await build("fleet4", fleet());
        const mx1 = mine.find(r => r.name === "fleet4-mx1-reconcile")!.inputs;
        const file = `.smtp-port/smtp-port-${hostScript().digest}.sh`;
        // The path once ($f, printed by %s): the lines are kept in the state four times per host.
        const message = "smtp-port: mx1: ~/%s is not on the host; pulumi up copies it again\\n";
        const missing = (then: string) => `else printf ${shellQuote(message)} "$f" >&2; ${then}; fi`;
        // Only what differs from the script's defaults (SCRIPT_DEFAULTS, held to the script by test/host/defaults.test.ts).
        assert.equal(mx1.create,
            `f=${file}; if [ -f "$f" ]; then sh -s -- apply --port 17 --restart 'systemctl restart postfix' --host-label mx1 < "$f"; ${missing("exit 3")}`);
        assert.equal(mx1.delete,
            `f=${file}; if [ -f "$f" ]; then sh -s -- revert --restart 'systemctl restart postfix' --host-label mx1 < "$f"; ${missing("exit 3")}`);
        assert.equal(mx1.addPreviousOutputInEnv, false);
        assert.equal(mx1.environment, undefined, "no environment: it needs AcceptEnv on the server");
        const mx2 = mine.find(r => r.name === "fleet4-mx2-reconcile")!.inputs;
        assert.match(mx2.create, /^f=\S+; if \[ -f "\$f" \]; then sudo -n sh -s -- apply --port 2525 /, "per-host port and sudo");
        const check = mine.find(r => r.name === "fleet4-check")!.inputs;
        assert.equal(check.create, "node components/listener/listener-check.js --timeout-ms 5000 --attempts 10 --delay-ms 1000");
        const lines = String(check.stdin).trim().split("\n").map(l => JSON.parse(l));
        assert.deepEqual(lines, [
            { name: "mx1", host: "198.18.0.11", port: 17, oldPort: 25 },
            { name: "mx2", host: "198.18.0.12", port: 2525, oldPort: 25 },
        ], "the old port comes from the host script's result");
    });

    it("quotes hostile values instead of splicing them into the command", async () => {
        const { mine } = await build("fleet5", fleet({ restartCommand: "echo 'it''s'; rm -rf /tmp/x", servicesFile: "/etc/my services" }));
        const create: string = mine.find(r => r.name === "fleet5-mx1-reconcile")!.inputs.create;
        assert.ok(create.includes(`--file '/etc/my services'`), create);
        assert.ok(create.includes(`--restart 'echo '\\''it'\\'''\\''s'\\''; rm -rf /tmp/x'`), create);
    });

    it("keeps the private key secret, and the script's text out of what is sent to the engine", async () => {
        const { mine } = await build("fleet6", fleet());
        for (const r of mine.filter(r => r.type.startsWith("command:remote:"))) {
            assert.ok(JSON.stringify(r.raw).includes("unit-test-private-key-7f3a"), "the key is sent");
            assert.deepEqual(plainTextPaths(r.raw, "unit-test-private-key-7f3a"), [], `${r.name}: key outside a secret`);
            assert.ok(!JSON.stringify(r.raw).includes("set -eu"), `${r.name}: the script's text is sent`);
        }
        for (const r of mine.filter(r => r.type === "command:local:Command")) {
            assert.ok(!JSON.stringify(r.raw).includes("unit-test-private-key-7f3a"), "the check never sees the key");
        }
    });

    it("reports per-host results and a summary", async () => {
        const { c, results } = await build("fleet7", fleet());
        assert.deepEqual(results.mx2, {
            name: "mx2", port: 2525, oldPort: 25, changed: true, added: "smtp\t\t2525/tcp\t\tmail",
            commented: ["smtp\t\t25/tcp\t\tmail"], backup: "/var/lib/smtp-port/etc_services/orig", restarted: true,
            mta: "postfix", mtaChanged: true, verifiedOnHost: "220 mx.example ESMTP Postfix",
            resolverPort: 2525, mtaPort: 2525, changedThisUpdate: null,
            banner: "220 mx.example ESMTP Postfix", status: "changed", failure: null,
        });
        const summary = await valueOf(c.summary);
        assert.equal(summary.split("\n")[0], `mx1: smtp 25 -> 17 (changed; commented 1 line; restarted), greeting "220 mx.example ESMTP Postfix"`);
    });

    it("creates no listener check when it is disabled", async () => {
        const { mine, results } = await build("fleet8", fleet({ listenerCheck: { enabled: false } }));
        assert.equal(mine.filter(r => r.type === "command:local:Command").length, 0);
        assert.equal(results.mx1.banner, null);
    });

    it("passes the mail server and check settings per host", async () => {
        const args = fleet({ mta: "postfix", verifyOnHost: false, requireOldPortClosed: false });
        args.hosts[1].mta = "none";
        args.hosts[1].requireOldPortClosed = true;
        args.hosts[1].verifyAddress = "::1";
        const { mine } = await build("fleet10", args);
        const c1: string = mine.find(r => r.name === "fleet10-mx1-reconcile")!.inputs.create;
        const c2: string = mine.find(r => r.name === "fleet10-mx2-reconcile")!.inputs.create;
        assert.match(c1, / --mta postfix --verify no --require-old-port-closed no --host-label mx1 /);
        assert.match(c2, / --mta none --verify no --verify-address ::1 --host-label mx2 /, "the defaults (verify-timeout 20, require-old-port-closed yes) are the script's own");
        const lines = String(mine.find(r => r.name === "fleet10-check")!.inputs.stdin).trim().split("\n").map(l => JSON.parse(l));
        assert.deepEqual(lines.map(l => [l.name, l.oldPort]), [["mx1", null], ["mx2", 25]]);
    });

    it("orders waves through the dependency graph: canary, then batches", async () => {
        const args = fleet({ rollout: { canary: "mx3", batchSize: 1 } });
        args.hosts.push({ name: "mx3", connection: { host: "198.18.0.13", hostKey: KEY1, privateKey: pulumi.secret(PRIVATE) } });
        const { mine } = await build("fleet11", args);
        const deps = (n: string) => mine.find(r => r.name === `fleet11-${n}-reconcile`)!.dependencies.map(d => d.split("::").pop());
        assert.deepEqual(deps("mx3"), [], "the canary goes first");
        assert.deepEqual(deps("mx1"), ["fleet11-wave1-check"], "then mx1, after the canary's check passed");
        assert.deepEqual(deps("mx2"), ["fleet11-wave2-check"], "then mx2, after mx1's");
    });

    it("accepts a host without hostKey only when it opts out explicitly", async () => {
        const args = fleet();
        delete (args.hosts[0].connection as any).hostKey;
        assert.throws(() => new SmtpPort("fleet9", args), /host "mx1": \[connection.hostKey\] is required/);
        args.hosts[0].insecureIgnoreHostKey = true;
        const { mine } = await build("fleet9b", args);
        assert.equal(mine.length, 4, "the component, two reconciles, one check");
    });

    it("creates nothing and names every problem when the input is bad", () => {
        const before = registrations.length;
        let err: unknown;
        try {
            new SmtpPort("bad", { ...fleet(), port: 65536, service: "smtp mail", hosts: [
                { name: "mx1", connection: { host: "a", hostKey: KEY1 }, servicesFile: "etc/services" },
                { name: "mx1", connection: { host: "b", hostKey: KEY2 } },
            ] });
        } catch (e) { err = e; }
        assert.ok(err instanceof SmtpPortArgsError);
        assert.equal(err.message, [
            `smtp-port "bad": invalid arguments:`,
            `  - [port] must be an integer from 1 to 65535, got 65536`,
            `  - [service] must be a plain name (letters, digits, . _ + -; no whitespace, # or shell characters), got "smtp mail"`,
            `  - host "mx1": [servicesFile] must be an absolute path, got "etc/services"`,
            `  - host "mx1": [name] is used twice (hosts[0] and hosts[1])`,
        ].join("\n"));
        assert.equal(registrations.length, before, "no resource registered");
    });

    describe("connections known only as Outputs (library use)", () => {
        /** The first error the program would die of (Pulumi reports unhandled rejections), or undefined within 5 s. */
        /**
         * The language host logs a program's unhandled error with
         * `log.error`, which also tells the runtime that the program failed:
         * the registrations it stopped then stay pending, and are not reported
         * as leaked promises (that report would make the test process exit 1
         * with every test passed). Its "error:" line is not printed here.
         */
        function failedAsTheLanguageHostWould(e: any) {
            const print = console.error;
            console.error = () => undefined;
            try { void pulumi.log.error(String(e?.message ?? e)); } finally { console.error = print; }
        }
        async function programError(start: () => unknown): Promise<any> {
            let seen: unknown;
            const onError = (e: unknown) => { seen ??= e; };
            process.on("unhandledRejection", onError);
            try {
                start();
                for (let i = 0; i < 100 && seen === undefined; i++) await new Promise(res => setTimeout(res, 50));
                await new Promise(res => setTimeout(res, 100));
                if (seen !== undefined) failedAsTheLanguageHostWould(seen);
                return seen;
            } finally {
                process.off("unhandledRejection", onError);
            }
        }
        const reconciles = (name: string) => registrations.filter(r => r.name.startsWith(`${name}-`) && r.name.endsWith("-reconcile"));

        it("checks the pinned key when the connection resolves, and changes no host when it is missing", async () => {
            let c: SmtpPort | undefined;
            const args = fleet();
            args.hosts[0].connection = pulumi.output({ host: "198.18.0.11", privateKey: pulumi.secret(PRIVATE) });
            const err = await programError(() => { c = new SmtpPort("outconn1", args); });
            assert.ok(err instanceof pulumi.ResourceError, `a ResourceError, got ${err}`);
            assert.equal(err.resource, c, "on the component");
            assert.equal(err.message, [
                `smtp-port "outconn1": invalid connections (checked once they resolved):`,
                `  - host "mx1": [connection.hostKey] is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key`,
            ].join("\n"));
            assert.deepEqual(reconciles("outconn1"), [], "no host is changed, not even the one whose connection is right");
        });

        it("refuses a key that reached the program in plain text inside an Output connection", async () => {
            const args = fleet();
            args.hosts[1].connection = pulumi.output({ host: "198.18.0.12", hostKey: KEY2, privateKey: PRIVATE });
            const err = await programError(() => new SmtpPort("outconn2", args));
            assert.match(String(err?.message), /host "mx2": \[connection.privateKey\] must be a Pulumi secret/);
            assert.ok(!String(err?.message).includes("unit-test-private-key"), "the key itself is never in the message");
            assert.deepEqual(reconciles("outconn2"), []);
        });

        it("requires a pinned key for the bastion too, unless the host opts out", async () => {
            const args = fleet();
            args.hosts[0].connection = { host: "198.18.0.11", hostKey: KEY1, privateKey: pulumi.secret(PRIVATE), proxy: { host: "bastion.example", privateKey: pulumi.secret(PRIVATE) } };
            const err = await programError(() => new SmtpPort("proxy1", args));
            assert.match(String(err?.message), /^smtp-port "proxy1": invalid connections \(checked once they resolved\):\n {2}- host "mx1": \[connection.proxy.hostKey\] is required/);
            assert.deepEqual(reconciles("proxy1"), []);
            args.hosts[0].insecureIgnoreHostKey = true;
            const { mine } = await build("proxy2", args);
            assert.equal(mine.filter(r => r.name.endsWith("-reconcile")).length, 2);
        });

        it("runs a fleet whose pinned, secret connections are Outputs as it runs plain ones", async () => {
            const args = fleet({ rollout: { batchSize: 1 } });
            args.hosts[0].connection = pulumi.output({ host: "198.18.0.11", hostKey: KEY1, privateKey: pulumi.secret(PRIVATE) });
            args.hosts[1].connection = { host: "198.18.0.12", hostKey: pulumi.output(KEY2), privateKey: pulumi.secret(PRIVATE), proxy: { host: "b", hostKey: pulumi.output(KEY1) } };
            const { mine, results } = await build("outconn3", args);
            const deps = (n: string) => mine.find(r => r.name === `outconn3-${n}-reconcile`)!.dependencies.map(d => d.split("::").pop());
            assert.deepEqual(deps("mx1"), []);
            assert.deepEqual(deps("mx2"), ["outconn3-wave1-check"]);
            assert.equal(results.mx1.status, "changed");
            const check = mine.find(r => r.name === "outconn3-wave1-check")!;
            assert.deepEqual(JSON.parse(String(check.inputs.stdin)), { name: "mx1", host: "198.18.0.11", port: 17, oldPort: 25 }, "the check's address from the resolved connection");
        });
    });

    describe("with a failure budget", () => {
        // The look at each host goes over SSH; here it answers from a table.
        const real = hostPreview.sshRunner.run;
        const answers: Record<string, string | Error> = {};
        /** The script copies the runner was asked for, by host address; with `noCopyYet`, each look asks for the script (no copy there yet). */
        const copied: string[] = [];
        let noCopyYet = false;
        before(() => {
            hostPreview.sshRunner.run = async (t: { host: string }, input: string | { onSend?: () => void }, command: string) => {
                if (command === copyCommand(remoteScriptPath())) copied.push(t.host);
                else if (noCopyYet && typeof input !== "string") input.onSend?.();
                const a = answers[t.host];
                if (a instanceof Error) throw a;
                return a;
            };
        });
        after(() => { hostPreview.sshRunner.run = real; });

        const preview = (host: string, wouldChange: boolean, change: string) => JSON.stringify({
            schema: 1, action: "preview", status: wouldChange ? "would_change" : "no_change", host, file: "/etc/services", port: 17,
            drift: false, change, service_port: 25, mta: "postfix", mta_port: 25, diff: [], mta_diff: [],
        });

        async function budgetFleet(name: string) {
            answers["198.18.0.11"] = preview("mx1", true, "4");
            answers["198.18.0.12"] = new Error("ssh: connect to host 198.18.0.12 port 22: No route to host");
            answers["198.18.0.13"] = preview("mx3", false, "2");
            const args = fleet({ previewHosts: true, rollout: { batchSize: 1, failureBudget: 2 } });
            args.hosts.push({ name: "mx3", connection: { host: "198.18.0.13", hostKey: KEY1, privateKey: pulumi.secret(PRIVATE) } });
            const c = new SmtpPort(name, args);
            // The verdict is the last step: once it is registered, all are.
            await new Promise<void>(res => { const t = setInterval(() => { if (registrations.some(r => r.name === `${name}-verdict` && r.inputs.create)) { clearInterval(t); res(); } }, 10); });
            await new Promise(res => setTimeout(res, 50));
            const mine = registrations.filter(r => r.name.startsWith(`${name}-`));
            const get = (n: string) => mine.find(r => r.name === `${name}-${n}`)!;
            const deps = (n: string) => get(n).dependencies.map(d => d.split("::").pop()).sort();
            return { c, get, deps, mine };
        }

        it("puts a gate before every wave after the first and a verdict after the last", async () => {
            const { deps, get, mine } = await budgetFleet("budget1");
            assert.deepEqual(mine.filter(r => /gate|verdict/.test(r.name)).map(r => r.name).sort(), ["budget1-verdict", "budget1-wave2-gate", "budget1-wave3-gate"]);
            assert.deepEqual(deps("mx1-reconcile"), []);
            assert.deepEqual(deps("wave2-gate"), ["budget1-mx1-reconcile", "budget1-wave1-check"], "wave 2 waits for mx1's steps");
            assert.deepEqual(deps("wave3-gate"), ["budget1-mx1-reconcile", "budget1-wave1-check", "budget1-wave2-check"], "mx2 is unreachable: only its wave's (empty) check");
            assert.deepEqual(deps("wave2-check"), [], "the unreachable host is not in its wave's check");
            assert.equal(get("wave2-check").inputs.stdin, "");
            assert.deepEqual(deps("mx3-reconcile"), ["budget1-wave3-gate"]);
            assert.deepEqual(deps("verdict"), ["budget1-mx1-reconcile", "budget1-mx3-reconcile", "budget1-wave1-check", "budget1-wave2-check", "budget1-wave3-check"]);
            assert.deepEqual(deps("mx2-reconcile"), ["budget1-verdict"], "the unreachable host waits behind the verdict, which fails, so it is never attempted");
        });

        it("copies the script to the hosts it will attempt, and not to the one its look could not reach", async () => {
            copied.length = 0;
            noCopyYet = true;
            try {
                await budgetFleet("budget0");
            } finally {
                noCopyYet = false;
            }
            assert.deepEqual(copied.sort(), ["198.18.0.11", "198.18.0.13"]);
        });

        it("reports a failed host instead of failing its step, and retries it on the next update", async () => {
            const { get } = await budgetFleet("budget2");
            const create: string = get("mx1-reconcile").inputs.create;
            const file = `.smtp-port/smtp-port-${hostScript().digest}.sh`;
            assert.ok(create.startsWith(`f=${file}; `), create);
            assert.ok(create.includes(` --change ${/--change (\S+)/.exec(create)![1]} < "$f" || printf '{"schema":1,"action":"apply","status":"failed","host":"mx1","file":"/etc/services","reason":"the host script exited with %s before reporting","rolled_back":false}\\n' "$?"; else `), create);
            assert.match(create, /; else printf 'smtp-port: mx1: ~\/%s is not on the host; pulumi up copies it again\\n' "\$f" >&2; printf '\{"schema":1,"action":"apply","status":"failed","host":"mx1","file":"\/etc\/services","reason":"smtp-port: mx1: ~\/%s is not on the host; pulumi up copies it again","rolled_back":false\}\\n' "\$f"; fi$/, "a missing copy is a failed host too");
            assert.match(create, / --report-failure yes --change 5@\d{4}-\d\d-\d\dT[0-9:.]+Z < "\$f" \|\| /, "the next change, marked with this attempt");
            assert.match(get("mx3-reconcile").inputs.create, / --change 2 < "\$f" \|\| printf /, "a host that is right keeps its change number: no update");
            assert.match(get("wave1-check").inputs.create, / --soft yes$/);
        });

        it("counts the unreachable host as failed: the gate after it stays open within the budget, the verdict fails", async () => {
            const { get } = await budgetFleet("budget3");
            assert.equal(get("wave2-gate").inputs.create, "cat");
            assert.equal(get("wave2-gate").inputs.stdin, `smtp-port "budget3": wave 2 of 3 may start: every host before it passed (mx1)`);
            assert.equal(get("wave3-gate").inputs.create, "cat");
            assert.equal(get("wave3-gate").inputs.stdin, [
                `smtp-port "budget3": wave 3 of 3 may start: 1 host failed so far, the failure budget is 2`,
                `  changed (1): mx1`,
                `  unreachable: mx2: ssh: connect to host 198.18.0.12 port 22: No route to host`,
                `  untouched (1): mx3`,
            ].join("\n"));
            assert.equal(get("verdict").inputs.create, "cat >&2; exit 1 # smtp-port: stop the rollout");
            assert.equal(get("verdict").inputs.stdin, [
                `smtp-port "budget3": 1 of 3 hosts failed (failure budget 2)`,
                `  changed (1): mx1`,
                `  already right (1): mx3`,
                `  unreachable: mx2: ssh: connect to host 198.18.0.12 port 22: No route to host`,
            ].join("\n"));
        });

        it("keeps each resource's source position in the program (the stack-trace speed-up must not lose it)", async () => {
            const { mine } = await budgetFleet("positions");
            assert.deepEqual(mine.map(r => r.type).sort(), [...Array(6).fill("command:local:Command"), ...Array(3).fill("command:remote:Command")]);
            for (const r of mine) {
                assert.ok(r.sourcePosition, `${r.name}: no source position`);
                assert.match(r.sourcePosition.uri, /^file:\/\/.*\/components\/hostSteps\.ts$/, `${r.name}: ${r.sourcePosition.uri}`);
                assert.ok(r.sourcePosition.line > 0, `${r.name}: line ${r.sourcePosition.line}`);
            }
        });

        it("counts a host the script rolled back from its result, leaves it out of the check, and stops the rollout once the budget is spent", async () => {
            const reason = "mx1: the restart command failed; rolled back in 1s: /etc/services and the postfix configuration are as before";
            applyOutputs.mx1 = "smtp-port: restarting the mail service\n" + failedApply("mx1", reason, true);
            try {
                const { c, get } = await budgetFleet("budget5");
                assert.equal(get("wave1-check").inputs.stdin, "", "nothing to probe on a host that was put back");
                assert.equal(get("wave3-gate").inputs.create, "cat >&2; exit 1 # smtp-port: stop the rollout");
                assert.equal(get("wave3-gate").inputs.stdin, [
                    `smtp-port "budget5": rollout stopped before wave 3 of 3: 2 hosts failed, the failure budget is 2; no later host was touched`,
                    `  rolled back: mx1: ${reason}`,
                    `  unreachable: mx2: ssh: connect to host 198.18.0.12 port 22: No route to host`,
                    `  untouched (1): mx3`,
                ].join("\n"));
                const results = await valueOf(c.results);
                assert.deepEqual([results.mx1.status, results.mx1.failure, results.mx1.oldPort, results.mx1.banner, results.mx1.changed], ["rolled back", reason, null, null, false]);
            } finally {
                delete applyOutputs.mx1;
            }
        });

        it("keeps only the first frames (the source position first) in the stack trace of each host resource (the state holds it)", async () => {
            const { mine } = await budgetFleet("traces");
            for (const r of mine.filter(r => r.type.startsWith("command:remote:"))) {
                const frames = r.stackTrace!.framesList;
                assert.ok(frames.length >= 1 && frames.length <= 3, `${r.name}: ${frames.length} frames`);
                assert.deepEqual(frames[0].pc, r.sourcePosition, `${r.name}: the first frame is the source position`);
            }
            const check = mine.find(r => r.name === "traces-wave1-check")!;
            assert.ok(check.stackTrace!.framesList.length > 3, "other steps keep theirs (the test sees whole traces)");
        });

        it("refuses a budget without looking at hosts", () => {
            assert.throws(() => new SmtpPort("budget4", fleet({ rollout: { failureBudget: 1 } })),
                /\[rollout.failureBudget\] needs previewHosts/);
        });
    });
});
