// End to end through the real Pulumi engine, on a lab of its own (lab 3, so
// it runs beside fleet.test.ts on lab 0) where one stack holds a Postfix host
// and an Exim host: Debian's Exim 4.96, unpacked from Debian's packages by
// lab.sh install. mx3 is outside the stack and plays "the internet".
import { strict as assert } from "assert";
import * as fs from "fs";
import { labById, Lab } from "../support/lab";
import { Stack } from "../support/pulumi";
import { E2eStack, DESTROY, greeting, addressOf } from "../support/e2eStack";

// SMTP_PORT_MIXED_LAB_ID: another lab, for an engineer who has their own id.
const LAB_ID = Number(process.env.SMTP_PORT_MIXED_LAB_ID ?? 3);
const STACK = "e2e-mixed";
const POSTFIX = "mx1";
const EXIM = "mx2";
const INTERNET = "mx3";
const HOSTS = [POSTFIX, EXIM];
const lab3 = labById(LAB_ID);

/** "PORT PROCESS" for every TCP listener of the host but sshd, sorted, e.g. ["0.0.0.0:25 exim4", "[::]:25 exim4"]. */
function listeners(host: string): string[] {
    return lab3.inHost(host, "ss", "-Hltnp").split("\n").filter(l => l.trim() && !l.includes('"sshd"'))
        .map(l => { const f = l.trim().split(/\s+/); return `${f[3]} ${(/\(\("([^"]+)"/.exec(l) ?? [])[1]}`; }).sort();
}

/**
 * PIDs of the host's Exim listening daemons: exim4 -bd processes whose parent
 * is not Exim (the daemon's own children, a queue run or an SMTP session,
 * carry the same command line).
 */
function eximDaemons(host: string): string[] {
    const script = `for p in /proc/[0-9]*; do
        [ "$(cat $p/comm 2>/dev/null)" = exim4 ] || continue
        tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q ' -bd' || continue
        pp=$(awk '/^PPid:/ { print $2 }' $p/status 2>/dev/null)
        [ "$(cat /proc/$pp/comm 2>/dev/null)" = exim4 ] || echo \${p#/proc/}
    done; true`;
    return lab3.inHost(host, "sh", "-c", script).split("\n").filter(Boolean);
}

describe("end to end: one stack, a Postfix host and a real Exim host (lab 3)", function () {
    this.timeout(900_000);
    let lab: Lab;
    let stack: Stack;
    const original: Record<string, string> = {};
    let mainCf = "";
    let eximTemplate = "";
    const addr = (h: string) => addressOf(lab, h);
    const e2e = new E2eStack(STACK, HOSTS, lab3);
    const { run, must } = e2e;
    const assertOriginal = async (h: string) => {
        assert.equal(lab3.servicesOf(h), original[h], `${h}: services file byte-identical to the original`);
        assert.equal(lab3.getent(h, "smtp/tcp"), "smtp 25/tcp mail");
        const banner = await greeting(addr(h), 25);
        assert.match(banner, h === EXIM ? /^220 mx2\.lab\.test ESMTP Exim 4\.96 / : /^220 mx1\.lab\.test ESMTP Postfix$/, `${h} greets on 25`);
    };

    before(async function () {
        lab3.down();
        lab = lab3.up(3, { exim: [EXIM] });
        assert.deepEqual(lab.hosts.map(h => `${h.name}:${h.mta}`), ["mx1:postfix", "mx2:exim", "mx3:postfix"]);
        for (const h of HOSTS) original[h] = lab3.servicesOf(h);
        mainCf = lab3.inHost(POSTFIX, "cat", "/etc/postfix/main.cf");
        eximTemplate = lab3.inHost(EXIM, "cat", "/etc/exim4/exim4.conf.template");
        // The Exim host is a real Exim host: no Postfix in sight, Exim at the Debian paths.
        assert.equal(lab3.inHost(EXIM, "sh", "-c", "command -v exim4; command -v postconf || echo no-postconf; readlink /usr/sbin/sendmail").trim(),
            "/usr/sbin/exim4\nno-postconf\nexim4");
        assert.deepEqual(listeners(EXIM), ["0.0.0.0:25 exim4", "[::]:25 exim4"]);
        stack = e2e.open();
        await e2e.init(17, fs.readFileSync(lab.keyPath, "utf8"));
    });

    after(async function () {
        await e2e.close(DESTROY);
        lab3.down();
    });

    it("1. (a) preview, then up to 17: `auto` finds Exim on mx2 and moves its listener; the Postfix host converges in the same run", async () => {
        const p = await must(["preview", "--diff"]);
        assert.ok(p.stderr.includes(`${EXIM}: /etc/services\n-  qotd\t\t17/tcp\t\tquote\n+  #qotd\t\t17/tcp\t\tquote\n-  smtp\t\t25/tcp\t\tmail\n+  #smtp\t\t25/tcp\t\tmail\n+  smtp\t\t17/tcp\t\tmail\n`), p.stderr);
        assert.match(p.stderr, new RegExp(`${POSTFIX}: /etc/services[\\s\\S]*postfix smtp_tcp_port: smtp -> 25`));
        const eximBefore = eximDaemons(EXIM);
        assert.equal(eximBefore.length, 1, "one Exim daemon before");
        const up = await must(["up", "--yes"]);
        const out = await stack.outputs();
        assert.equal(out.hosts[EXIM].mta, "exim", "auto detected Exim");
        assert.equal(out.hosts[EXIM].changed, true);
        assert.equal(out.hosts[EXIM].restarted, true);
        assert.equal(out.hosts[EXIM].mtaChanged, false, "Exim needs no setting changed: it follows the services file");
        assert.equal(out.hosts[EXIM].oldPort, 25);
        assert.match(out.hosts[EXIM].verifiedOnHost, /^220 mx2\.lab\.test ESMTP Exim 4\.96 /);
        assert.match(out.hosts[EXIM].banner, /^220 mx2\.lab\.test ESMTP Exim 4\.96 /);
        assert.equal(lab3.getent(EXIM, "smtp/tcp"), "smtp 17/tcp mail");
        assert.equal(lab3.getent(EXIM, "17/tcp"), "smtp 17/tcp mail");
        assert.match(await greeting(addr(EXIM), 17), /^220 mx2\.lab\.test ESMTP Exim 4\.96 /, "Exim greets on 17");
        assert.equal(await greeting(addr(EXIM), 25), "(connection refused)", "25 closed on the Exim host");
        assert.deepEqual(listeners(EXIM), ["0.0.0.0:17 exim4", "[::]:17 exim4"], "only Exim, only on 17");
        const eximAfter = eximDaemons(EXIM);
        assert.equal(eximAfter.length, 1, "one Exim daemon after");
        assert.notEqual(eximAfter[0], eximBefore[0], "a new Exim process");
        // The Postfix host of the same stack.
        assert.equal(out.hosts[POSTFIX].mta, "postfix");
        assert.equal(lab3.getent(POSTFIX, "smtp/tcp"), "smtp 17/tcp mail");
        assert.match(await greeting(addr(POSTFIX), 17), /^220 mx1\.lab\.test ESMTP Postfix$/);
        assert.equal(await greeting(addr(POSTFIX), 25), "(connection refused)");
        // The internet host is not in the stack.
        assert.equal(lab3.getent(INTERNET, "smtp/tcp"), "smtp 25/tcp mail");
        assert.match(up.stdout, /smtp-mx2-reconcile\s+created/);
        const again = await must(["up", "--yes", "--expect-no-changes"]);
        assert.doesNotMatch(again.stdout, /updated|created|replaced/);
        assert.deepEqual(eximDaemons(EXIM), eximAfter, "a no-op up does not restart Exim");
    });

    it("2. (b) mail submitted on the Exim host still goes out to port 25 (to mx3, the internet)", async () => {
        assert.match(lab3.inHost(EXIM, "exim4", "-bP", "transport", "remote_smtp"), /^port = 25$/m, "remote_smtp pinned");
        const token = `smtp-port-mixed-${Date.now()}`;
        // sendmail is Exim here; -odf: deliver in the foreground, now.
        lab3.inHost(EXIM, "sh", "-c", `printf 'Subject: %s\\n\\n%s\\n' ${token} ${token} | sendmail -odf -f root@mx2.lab.test root@mx3.lab.test`);
        const log = lab3.inHost(EXIM, "cat", "/var/log/exim4/mainlog");
        const mx3 = addr(INTERNET).replace(/\./g, "\\.");
        const id = new RegExp(`(\\S+) <= root@mx2\\.lab\\.test .*\\n(?:.*\\n)*?.*\\1 => root@mx3\\.lab\\.test R=hubbed_hosts T=remote_smtp H=${mx3} \\[${mx3}\\]:(\\d+) `).exec(log);
        assert.ok(id, `delivery in mx2's mainlog:\n${log.slice(-2000)}`);
        assert.equal(id[2], "25", "delivered to port 25 while smtp is 17 on mx2");
        let mbox = "";
        for (let i = 0; i < 40 && !mbox.includes(token); i++) {
            await new Promise(r => setTimeout(r, 250));
            mbox = lab3.inHost(INTERNET, "sh", "-c", "cat /var/mail/root 2>/dev/null || true");
        }
        assert.ok(mbox.includes(token), "in mx3's mailbox");
        assert.match(mbox, /^Received: from mx2\.lab\.test /m);
    });

    it("3. (d) destroy: both hosts get their original services file back, Exim greets on 25 again", async () => {
        const before = eximDaemons(EXIM);
        await must(["destroy", "--yes"]);
        for (const h of HOSTS) await assertOriginal(h);
        assert.equal(lab3.inHost(POSTFIX, "cat", "/etc/postfix/main.cf"), mainCf, "main.cf byte-identical");
        assert.equal(lab3.inHost(EXIM, "cat", "/etc/exim4/exim4.conf.template"), eximTemplate, "Exim's config untouched");
        assert.deepEqual(listeners(EXIM), ["0.0.0.0:25 exim4", "[::]:25 exim4"]);
        assert.notDeepEqual(eximDaemons(EXIM), before, "Exim was restarted");
    });

    it("4. (c) 17 taken on the Exim host: it rolls itself back (file and Exim as before, 220 on 25), the up fails naming it, the Postfix host converges", async () => {
        lab3.inHost(EXIM, "sh", "-c", "setsid socat TCP-LISTEN:17,fork,reuseaddr SYSTEM:'echo SSH-2.0-squatter; sleep 1' </dev/null >/dev/null 2>&1 & echo $! > /run/squatter.pid");
        try {
            const r = await run(["up", "--yes", "--continue-on-error"]);
            const text = r.stdout + r.stderr;
            assert.notEqual(r.code, 0, "the up fails");
            // Real Exim binds [::]:17 (the squatter holds only 0.0.0.0:17) and
            // logs "listening ... (IPv6 with IPv4)": its restart succeeds, and
            // the host's own check over 127.0.0.1 finds the squatter.
            const m = /smtp-port: error: mx2: (.*?); rolled back in (\d+)s: \/etc\/services and the exim configuration are as before, greeting on 25 again \('220 mx2\.lab\.test ESMTP Exim 4\.96 [^']*'\)/.exec(text);
            assert.ok(m, `rollback message in:\n${text.slice(-4000)}`);
            assert.equal(m[1], "no SMTP greeting on port 17 after 20s (127.0.0.1:17: wrong banner 'SSH-2.0-squatter')");
            console.log(`      (mx2: ${m[1]}; rolled back in ${m[2]} s; pulumi up took ${(r.ms / 1000).toFixed(1)} s)`);
            await assertOriginal(EXIM);
            assert.deepEqual(listeners(EXIM), ["0.0.0.0:17 socat", "0.0.0.0:25 exim4", "[::]:25 exim4"], "Exim back on 25 only; no Exim left on 17");
            assert.equal(eximDaemons(EXIM).length, 1, "one Exim daemon");
            assert.equal(lab3.getent(POSTFIX, "smtp/tcp"), "smtp 17/tcp mail", `the Postfix host converged; up said:\n${text.slice(-3000)}`);
            assert.match(await greeting(addr(POSTFIX), 17), /^220 mx1\.lab\.test ESMTP Postfix$/);
        } finally {
            lab3.inHost(EXIM, "sh", "-c", "kill $(cat /run/squatter.pid) 2>/dev/null; true");
        }
        // The port is free again: the next up finishes the job on mx2.
        await must(["up", "--yes"]);
        assert.equal(lab3.getent(EXIM, "smtp/tcp"), "smtp 17/tcp mail");
        assert.match(await greeting(addr(EXIM), 17), /^220 mx2\.lab\.test ESMTP Exim 4\.96 /);
        await must(["destroy", "--yes"]);
        for (const h of HOSTS) await assertOriginal(h);
    });

    it("5. (e) an Exim whose remote_smtp is not pinned is refused before anything changes; the Postfix host still converges", async () => {
        // The admin's template without the pin, as Debian ships it.
        lab3.inHost(EXIM, "sh", "-c", "cp /etc/exim4/exim4.conf.template /root/exim4.conf.template.pinned && grep -v '^  port = 25$' /root/exim4.conf.template.pinned > /etc/exim4/exim4.conf.template && update-exim4.conf");
        try {
            assert.match(lab3.inHost(EXIM, "exim4", "-bP", "transport", "remote_smtp"), /^port = smtp$/m, "unpinned: follows the smtp service");
            const pids = eximDaemons(EXIM);
            const r = await run(["up", "--yes", "--continue-on-error"]);
            assert.notEqual(r.code, 0);
            assert.ok((r.stdout + r.stderr).includes("smtp-port: error: [mta] exim: transport remote_smtp sends to port 'smtp', which would follow the services file to 17; set 'port = 25' on remote_smtp first"),
                (r.stdout + r.stderr).slice(-4000));
            assert.match(r.stdout + r.stderr, /smtp-mx2-reconcile/);
            await assertOriginal(EXIM);
            assert.deepEqual(eximDaemons(EXIM), pids, "Exim not restarted");
            assert.equal(lab3.getent(POSTFIX, "smtp/tcp"), "smtp 17/tcp mail", "the Postfix host converged");
        } finally {
            lab3.inHost(EXIM, "sh", "-c", "cat /root/exim4.conf.template.pinned > /etc/exim4/exim4.conf.template && update-exim4.conf");
            assert.equal(lab3.inHost(EXIM, "cat", "/etc/exim4/exim4.conf.template"), eximTemplate);
        }
    });
});
