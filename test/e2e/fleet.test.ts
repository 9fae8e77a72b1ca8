// End to end through the real Pulumi engine, on a lab of real Postfix hosts
// reached over real SSH. Nothing here is mocked.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { labUp, labDown, servicesOf, getent, inHost, Lab, LAB_DIR, ROOT } from "../support/lab";
import { Stack } from "../support/pulumi";
import { E2eStack, DESTROY, greeting, addressOf } from "../support/e2eStack";

const STACK = "e2e";
const PASSWORD = "smtp-port-e2e-password-7731-recognisable";
const HOSTS = ["mx1", "mx2", "mx3"];

/** SSH sessions each host's sshd accepted so far: its "Accepted publickey" log lines (sshd -e logs into the host's init.log). */
function sshSessions(): Record<string, number> {
    return Object.fromEntries(HOSTS.map(h => {
        const log = fs.readFileSync(path.join(LAB_DIR, "hosts", h, "init.log"), "utf8");
        return [h, (log.match(/^Accepted publickey for /gm) ?? []).length];
    }));
}

describe("end to end: real engine, real SSH, real Postfix", function () {
    this.timeout(900_000);
    let lab: Lab;
    let stack: Stack;
    let key: string;
    const original: Record<string, string> = {};
    const mainCf: Record<string, string> = {};
    // mx4 is not in the stack: it plays "the internet" for outbound mail.
    const e2e = new E2eStack(STACK, HOSTS);
    const { run, must, writeConfig, runs: outputsSeen } = e2e;
    const addr = (h: string) => addressOf(lab, h);
    /** The lab's bridge, in the root namespace (where `pulumi` runs): 198.18.N.1 for lab N. */
    const bridge = () => addr("mx1").replace(/\.\d+$/, ".1");
    const runWithEnv = (env: Record<string, string>, args: string[]) => run(args, { env });

    before(async function () {
        labDown();
        lab = labUp(4);
        for (const h of HOSTS) {
            original[h] = servicesOf(h);
            mainCf[h] = inHost(h, "cat", "/etc/postfix/main.cf");
        }
        key = fs.readFileSync(lab.keyPath, "utf8");
        stack = e2e.open();
        await e2e.init(17, key);
        // Unused by the key-only lab sshd, but sent: it must never show anywhere.
        await must(["config", "set", "--secret", "smtp-port:password"], { input: PASSWORD });
    });

    after(async function () {
        await e2e.close(DESTROY);
        labDown();
    });

    it("1. preview --diff names every host and shows the port change, not the script or the key", async () => {
        const r = await must(["preview", "--diff"]);
        for (const h of HOSTS) {
            assert.match(r.stdout, new RegExp(`smtp-${h}-reconcile`), `${h} in preview`);
        }
        assert.match(r.stdout, /smtp-check/, "one listener check for the fleet (one wave)");
        // The reconcile runs the host's copy of the script, named by its
        // digest; the copy itself is no resource (the update run makes it).
        for (const h of HOSTS) assert.doesNotMatch(r.stdout, new RegExp(`smtp-${h}-script`), `${h}: no copy step`);
        // Only the flags that differ from the script's defaults; the copy named once ($f).
        assert.match(r.stdout, /create\s*:\s*"f=\.smtp-port\/smtp-port-[0-9a-f]{12}\.sh; if \[ -f \\?"\$f\\?" \]; then sh -s -- apply --port 17 --restart /);
        assert.doesNotMatch(r.stdout, /stdin\s*:\s*\[secret\]/, "no script on stdin");
        // What each host will really see, read from the host (read-only).
        for (const h of HOSTS) {
            assert.ok((r.stdout + r.stderr).includes(`${h}: /etc/services\n-  qotd\t\t17/tcp\t\tquote\n+  #qotd\t\t17/tcp\t\tquote\n-  smtp\t\t25/tcp\t\tmail\n+  #smtp\t\t25/tcp\t\tmail\n+  smtp\t\t17/tcp\t\tmail\n~  postfix known_tcp_ports: lmtp=24, smtp=25, smtps=submissions=465, submission=587 -> lmtp=24, smtps=submissions=465, submission=587\n~  postfix smtp_tcp_port: smtp -> 25`), `${h} preview diff in:\n${r.stdout}\n${r.stderr}`);
        }
        assert.doesNotMatch(r.stdout, /set -eu/, "no script body in the preview");
        assert.ok(!r.stdout.includes("OPENSSH PRIVATE KEY"), "no key in the preview");
        for (const h of HOSTS) assert.equal(getent(h, "smtp/tcp"), "smtp 25/tcp mail", "preview changed nothing");
    });

    it("2. up moves every host to 17: resolver, qotd commented, Postfix greets on 17, 25 closed, outputs", async () => {
        await must(["up", "--yes"]);
        const out = await stack.outputs();
        for (const h of HOSTS) {
            assert.equal(getent(h, "smtp/tcp"), "smtp 17/tcp mail", `${h} resolver`);
            assert.equal(getent(h, "17/tcp"), "smtp 17/tcp mail");
            assert.match(servicesOf(h), /^#qotd\t\t17\/tcp\t\tquote$/m, `${h} qotd commented`);
            assert.match((await greeting(addr(h), 17)) ?? "", /^220 .*ESMTP/, `${h} greets on 17`);
            assert.equal(await greeting(addr(h), 25), "(connection refused)", `${h}: 25 closed`);
            assert.equal(out.hosts[h].oldPort, 25);
            assert.equal(out.hosts[h].changed, true);
            assert.equal(out.hosts[h].restarted, true);
            assert.match(out.hosts[h].banner, /^220 /);
            assert.equal(out.hosts[h].mta, "postfix");
            assert.equal(out.hosts[h].mtaChanged, true);
            assert.match(out.hosts[h].verifiedOnHost, /^220 /);
            // The Postfix adapter: listener follows the file, outbound pinned to 25.
            assert.equal(inHost(h, "postconf", "-h", "known_tcp_ports").trim(), "lmtp=24, smtps=submissions=465, submission=587");
            assert.equal(inHost(h, "postconf", "-h", "smtp_tcp_port").trim(), "25");
            assert.match(inHost(h, "cat", "/var/spool/postfix/etc/services"), /^smtp\t\t17\/tcp\t\tmail$/m, "chroot copy in sync");
        }
        assert.match(out.summary, /^mx1: smtp 25 -> 17 \(changed; commented 2 lines; restarted\), greeting "220 /m);
        // The script (62 KB) is not in the checkpoint, not even encrypted:
        // the copy keeps its hash. On stdin it was ~190 KB per host.
        const checkpoint = fs.statSync(path.join(stack.backendDir, ".pulumi", "stacks", "smtp-port", `${STACK}.json`)).size;
        assert.ok(checkpoint / HOSTS.length < 16_000, `${checkpoint} bytes of checkpoint for ${HOSTS.length} hosts`);
    });

    it("2b. outbound mail still goes out on port 25 (to mx4, which plays the internet)", async () => {
        const token = `smtp-port-e2e-${Date.now()}`;
        inHost("mx1", "sh", "-c", `printf 'Subject: %s\\n\\n%s\\n' ${token} ${token} | sendmail -f root@mx1.lab.test root@mx4.lab.test`);
        let log = "";
        for (let i = 0; i < 40 && !/status=sent/.test(log); i++) {
            await new Promise(r => setTimeout(r, 250));
            log = inHost("mx1", "sh", "-c", "grep 'to=<root@mx4.lab.test>' /var/log/postfix.log || true");
        }
        assert.ok(new RegExp(`relay=mx4\\.lab\\.test\\[${addr("mx4").replace(/\./g, "\\.")}\\]:25, .*status=sent`).test(log), `mx1 log: ${log}`);
        let mbox = "";
        for (let i = 0; i < 40 && !mbox.includes(token); i++) {
            await new Promise(r => setTimeout(r, 250));
            mbox = inHost("mx4", "sh", "-c", "cat /var/mail/root 2>/dev/null || true");
        }
        assert.ok(mbox.includes(token), "delivered into mx4's mailbox");
    });

    it("3. a second up changes nothing, on the stack or on any host, and opens exactly one SSH session per host", async () => {
        const before = HOSTS.map(servicesOf);
        const sessionsBefore = sshSessions();
        const r = await must(["up", "--yes", "--expect-no-changes"]);
        assert.doesNotMatch(r.stdout, /updated|created|replaced/);
        assert.deepEqual(HOSTS.map(servicesOf), before);
        // The preview's look at each host, handed to the update run
        // (components/lookCache.ts); a broken hand-over makes it two.
        const after = sshSessions();
        assert.deepEqual(Object.fromEntries(HOSTS.map(h => [h, after[h] - sessionsBefore[h]])), Object.fromEntries(HOSTS.map(h => [h, 1])));
    });

    it("3b. a converged fleet previews quietly: one line per host, no resource changes", async () => {
        const r = await must(["preview", "--diff", "--expect-no-changes"]);
        // The engine prints the program's messages on stderr.
        for (const h of HOSTS) assert.ok(r.stderr.includes(`${h}: /etc/services already has smtp on 17; nothing to change`), r.stderr);
        assert.doesNotMatch(r.stdout, /to update|to create|to replace/);
    });

    it("3c. a hand edit on one host shows as drift; --fail-on-drift fails; up repairs it", async () => {
        const managed = servicesOf("mx2");
        inHost("mx2", "sh", "-c", "sed 's/^#qotd/qotd/' /etc/services > /tmp/s && cat /tmp/s > /etc/services");
        assert.equal(getent("mx2", "17/tcp"), "qotd 17/tcp quote", "the hand edit took 17 back for qotd");
        const gate = await stack.run(["preview"], {});
        assert.equal(gate.code, 0, "a plain preview does not fail");
        const ci = await runWithEnv({ SMTP_PORT_FAIL_ON_DRIFT: "1" }, ["preview"]);
        assert.notEqual(ci.code, 0, "the drift check fails");
        assert.match(ci.stdout + ci.stderr, /drift on mx2: the services file or MTA settings were changed on the host/);
        const p = await must(["preview", "--diff"]);
        assert.ok(p.stderr.includes("mx2: /etc/services (drifted: changed on the host since smtp-port wrote it)\n-  qotd\t\t17/tcp\t\tquote\n+  #qotd\t\t17/tcp\t\tquote\n"), p.stderr);
        assert.match(p.stdout, /smtp-mx2-reconcile[\s\S]*--change 1 [\s\S]*=> [\s\S]*--change 2 /);
        // Only mx2 changes: its reconcile, and the wave's check after it.
        assert.match(p.stdout, /2 to update/);
        assert.match(p.stdout, /smtp-check/);
        assert.doesNotMatch(p.stdout, /smtp-mx[13]-reconcile/, "mx1 and mx3 are not in the diff");
        for (const h of ["mx1", "mx3"]) assert.ok(p.stderr.includes(`${h}: /etc/services already has smtp on 17; nothing to change`));
        await must(["up", "--yes"]);
        assert.equal(servicesOf("mx2"), managed, "repaired to exactly what smtp-port had written");
        assert.equal(getent("mx2", "17/tcp"), "smtp 17/tcp mail");
        await must(["preview", "--expect-no-changes"]);
    });

    it("3d. a copy of the script removed or altered on a host: the next up copies it again, whole, and repairs the host", async () => {
        const copies = inHost("mx3", "sh", "-c", "ls /root/.smtp-port").trim().split("\n");
        assert.equal(copies.length, 1, `one copy on mx3: ${copies}`);
        const file = `/root/.smtp-port/${copies[0]}`;
        const good = inHost("mx3", "cat", file);
        assert.equal(inHost("mx3", "stat", "-c", "%a", file).trim(), "600");
        for (const spoil of [`rm ${file}`, `printf 'exit 0\\n' > ${file}`]) {
            inHost("mx3", "sh", "-c", spoil);
            // A hand edit, so that the next up runs mx3's reconcile.
            inHost("mx3", "sh", "-c", "sed 's/^#qotd/qotd/' /etc/services > /tmp/s && cat /tmp/s > /etc/services");
            await must(["up", "--yes"]);
            assert.equal(inHost("mx3", "sh", "-c", "ls /root/.smtp-port").trim(), copies[0], `copied again (${spoil}), nothing else left`);
            assert.equal(inHost("mx3", "cat", file), good, "the whole script");
            assert.equal(getent("mx3", "17/tcp"), "smtp 17/tcp mail", "and repaired");
            await must(["preview", "--expect-no-changes"]);
        }
    });

    it("4. port 2525 with 2525 taken on mx2: mx2 rolls itself back, mx1 and mx3 move through the update path", async () => {
        const before = servicesOf("mx2");
        inHost("mx2", "sh", "-c", "setsid socat TCP-LISTEN:2525,fork,reuseaddr SYSTEM:'echo SSH-2.0-squatter' </dev/null >/dev/null 2>&1 & echo $! > /run/squatter.pid");
        try {
            writeConfig(2525);
            const p = await must(["preview", "--diff"]);
            assert.match(p.stdout, /--port 17 [\s\S]*--port 2525/);
            const r = await run(["up", "--yes", "--continue-on-error"]);
            const text = r.stdout + r.stderr;
            assert.notEqual(r.code, 0, "the up fails");
            assert.match(text, /smtp-port: error: mx2: the restart command failed; rolled back in \d+s: \/etc\/services and the postfix configuration are as before, greeting on 17 again \('220 mx2\.lab\.test ESMTP Postfix'\)/);
            const took = /mx2: the restart command failed; rolled back in (\d+)s/.exec(text)!;
            console.log(`      (mx2 rolled back in ${took[1]} s)`);
            assert.equal(servicesOf("mx2"), before, "mx2's services file is as before the run");
            assert.equal(getent("mx2", "smtp/tcp"), "smtp 17/tcp mail");
            assert.match((await greeting(addr("mx2"), 17)) ?? "", /^220 mx2/, "mx2 keeps accepting mail on its old port");
            for (const h of ["mx1", "mx3"]) {
                assert.equal(getent(h, "smtp/tcp"), "smtp 2525/tcp mail");
                assert.equal(getent(h, "17/tcp"), "qotd 17/tcp quote", "qotd is back on 17");
                assert.match((await greeting(addr(h), 2525)) ?? "", /^220 /);
            }
            assert.doesNotMatch(r.stdout.slice(r.stdout.indexOf("Updating (")), /smtp-mx[13]-reconcile[^\n]*(deleting|creating)/, "updated, not replaced");
        } finally {
            inHost("mx2", "sh", "-c", "kill $(cat /run/squatter.pid) 2>/dev/null; true");
        }
        // The port is free again: the next up finishes the job on mx2.
        await must(["up", "--yes"]);
        assert.equal(getent("mx2", "smtp/tcp"), "smtp 2525/tcp mail");
        const out = await stack.outputs();
        assert.equal(out.hosts.mx2.oldPort, 17);
        assert.match(out.hosts.mx2.banner, /^220 mx2/);
    });

    it("5. a per-host override puts one host on its own port", async () => {
        writeConfig(2525, ["--override", "mx2=2526"]);
        await must(["up", "--yes"]);
        assert.equal(getent("mx1", "smtp/tcp"), "smtp 2525/tcp mail");
        assert.equal(getent("mx2", "smtp/tcp"), "smtp 2526/tcp mail");
        assert.equal(getent("mx3", "smtp/tcp"), "smtp 2525/tcp mail");
        assert.match((await greeting(addr("mx2"), 2526)) ?? "", /^220 /);
    });

    it("6. destroy gives every host its original services file and Postfix back on 25", async () => {
        await must(["destroy", "--yes"]);
        for (const h of HOSTS) {
            assert.equal(servicesOf(h), original[h], `${h} byte-identical`);
            assert.equal(inHost(h, "cat", "/etc/postfix/main.cf"), mainCf[h], `${h} main.cf byte-identical`);
            assert.match((await greeting(addr(h), 25)) ?? "", /^220 /, `${h} greets on 25 again`);
        }
    });

    it("6b. rollout: a failing canary stops the fleet; a passing one goes first, then one batch at a time", async () => {
        const rollout = ["--rollout", JSON.stringify({ canary: "mx2", batchSize: 1 })];
        writeConfig(17, rollout);
        inHost("mx2", "sh", "-c", "setsid socat TCP-LISTEN:17,fork,reuseaddr SYSTEM:'echo SSH-2.0-squatter' </dev/null >/dev/null 2>&1 & echo $! > /run/squatter.pid");
        try {
            const r = await run(["up", "--yes", "--continue-on-error"]);
            assert.notEqual(r.code, 0);
            assert.match(r.stdout + r.stderr, /mx2: the restart command failed; rolled back/);
            for (const h of HOSTS) assert.equal(servicesOf(h), original[h], `${h} untouched or rolled back`);
            assert.ok(r.stdout.includes("Updating ("), "the update ran");
            const update = r.stdout.slice(r.stdout.indexOf("Updating ("));
            assert.doesNotMatch(update, /smtp-mx[13]-reconcile\s+creat/, "no other host was touched");
        } finally {
            inHost("mx2", "sh", "-c", "kill $(cat /run/squatter.pid) 2>/dev/null; true");
        }
        // The engine prints progress events in the order they happen.
        const up = await must(["up", "--yes"]);
        const lines = up.stdout.slice(up.stdout.indexOf("Updating (")).split("\n");
        const at = (re: RegExp) => { const i = lines.findIndex(l => re.test(l)); assert.ok(i >= 0, `${re} in:\n${lines.join("\n")}`); return i; };
        assert.ok(at(/smtp-wave1-check created/) < at(/smtp-mx1-reconcile creating/), "mx1 waits for the canary's check");
        assert.ok(at(/smtp-wave2-check created/) < at(/smtp-mx3-reconcile creating/), "mx3 waits for mx1's batch");
        for (const h of HOSTS) assert.equal(getent(h, "smtp/tcp"), "smtp 17/tcp mail");
        await must(["destroy", "--yes"]);
        for (const h of HOSTS) assert.equal(servicesOf(h), original[h]);
    });

    it("6c. failure budget: failed and unreachable hosts are counted; once the budget is spent no further host is touched; the error lists every host", async () => {
        // Waves: mx9 (unreachable, the lab bridge on a closed port) alone, then mx1, mx2, mx3 one at a time.
        const budget = (n: number) => ["--extra-host", `mx9=${bridge()}:2`, "--rollout", JSON.stringify({ canary: "mx9", batchSize: 1, failureBudget: n })];
        inHost("mx1", "sh", "-c", "setsid socat TCP-LISTEN:17,fork,reuseaddr SYSTEM:'echo SSH-2.0-squatter' </dev/null >/dev/null 2>&1 & echo $! > /run/squatter.pid");
        try {
            // Budget 2: mx9 fails (unreachable), mx1 fails (rolled back): mx2 and mx3 are never touched.
            writeConfig(17, budget(2));
            const spent = await run(["up", "--yes"]);
            const text = spent.stdout + spent.stderr;
            assert.notEqual(spent.code, 0, "the up fails");
            assert.match(text, /smtp-port "smtp": rollout stopped before wave 3 of 4: 2 hosts failed, the failure budget is 2; no later host was touched/);
            assert.match(text, /rolled back: mx1: mx1: the restart command failed; rolled back in \d+s: \/etc\/services and the postfix configuration are as before/);
            assert.match(text, /unreachable: mx9: .*(refused|port 2)/i);
            assert.match(text, /untouched \(2\): mx2, mx3/);
            for (const h of HOSTS) assert.equal(servicesOf(h), original[h], `${h} as before (rolled back or untouched)`);
            const update = spent.stdout.slice(spent.stdout.indexOf("Updating ("));
            assert.doesNotMatch(update, /smtp-mx[23]-reconcile\s+creat/, "mx2 and mx3 were not touched");
            assert.doesNotMatch(update, /smtp-mx9-reconcile\s+creat/, "the unreachable host was not attempted");
            assert.match((await greeting(addr("mx1"), 25)) ?? "", /^220 mx1/, "mx1 keeps accepting mail on 25");

            // Budget 3: the same two failures leave room, so mx2 and mx3 move; mx1 is tried again and rolls back again.
            writeConfig(17, budget(3));
            const within = await run(["up", "--yes"]);
            const text2 = within.stdout + within.stderr;
            assert.notEqual(within.code, 0, "the up still fails: two hosts failed");
            assert.match(text2, /smtp-port "smtp": 2 of 4 hosts failed \(failure budget 3\)/);
            assert.match(text2, /changed \(2\): mx2, mx3/);
            assert.match(text2, /rolled back: mx1: mx1: the restart command failed; rolled back in \d+s/);
            assert.match(text2, /unreachable: mx9: /);
            for (const h of ["mx2", "mx3"]) assert.equal(getent(h, "smtp/tcp"), "smtp 17/tcp mail", `${h} moved`);
            assert.equal(servicesOf("mx1"), original.mx1, "mx1 rolled back again");
        } finally {
            inHost("mx1", "sh", "-c", "kill $(cat /run/squatter.pid) 2>/dev/null; true");
        }
        // Port free, mx9 gone from the stack (it was never created): the next up finishes mx1 and passes.
        writeConfig(17, ["--rollout", JSON.stringify({ batchSize: 1, failureBudget: 1 })]);
        const done = await must(["up", "--yes"]);
        assert.match(done.stdout + done.stderr, /smtp-port "smtp": all 3 hosts passed: mx1, mx2, mx3/);
        for (const h of HOSTS) assert.equal(getent(h, "smtp/tcp"), "smtp 17/tcp mail");
        await must(["preview", "--expect-no-changes"]);
        await must(["destroy", "--yes"]);
        for (const h of HOSTS) assert.equal(servicesOf(h), original[h]);
    });

    it("7. an unreachable host fails with its name; the other hosts still converge", async () => {
        // The lab's bridge (198.18.N.1): nothing listens on port 2.
        writeConfig(17, ["--extra-host", `mx9=${bridge()}:2`]);
        const p = await run(["preview"]);
        assert.match(p.stdout + p.stderr, /mx9: could not look at the host for this preview: .*(refused|port 2)/i);
        const r = await run(["up", "--yes", "--continue-on-error"]);
        assert.notEqual(r.code, 0);
        const text = r.stdout + r.stderr;
        // The script's copy is the first to try it (a warning), then its reconcile fails.
        assert.match(text, /mx9: could not copy the host script to ~\/\.smtp-port\/smtp-port-[0-9a-f]{12}\.sh: .*(refused|port 2)/i);
        assert.match(text, /smtp-mx9-reconcile/);
        assert.match(text, /198\.18\.\d+\.1:2|connection refused/i);
        for (const h of HOSTS) assert.equal(getent(h, "smtp/tcp"), "smtp 17/tcp mail", `${h} converged; up said:\n${text.slice(-4000)}`);
        writeConfig(17);
        await must(["destroy", "--yes"]);
        for (const h of HOSTS) assert.equal(servicesOf(h), original[h]);
    });

    it("8. the private key and the password never appear in plain text in any output or in the state; no AcceptEnv noise, no script bodies", () => {
        const body = key.split("\n").filter(l => l && !l.startsWith("-----"))[1];
        assert.ok(body && body.length > 20);
        assert.ok(outputsSeen.length > 10, `${outputsSeen.length} pulumi runs scanned`);
        for (const r of outputsSeen) {
            const text = r.stdout + r.stderr;
            assert.ok(!text.includes(body), "key in pulumi output");
            assert.ok(!text.includes(PASSWORD), "password in pulumi output");
            assert.doesNotMatch(text, /AcceptEnv|setenv/i, "no environment warnings");
            assert.doesNotMatch(text, /set -eu|^main "\$@"/m, "no script body");
        }
        const state = stack.stateText();
        assert.ok(state.length > 1000, "state scanned");
        assert.ok(!state.includes(body), "key in the state backend");
        assert.ok(!state.includes(PASSWORD), "password in the state backend");
        const cfg = fs.readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), "utf8");
        assert.ok(!cfg.includes(body) && !cfg.includes(PASSWORD), "secrets in stack config");
    });
});
