// Issue 16 end to end, through the real Pulumi engine on a real Postfix host
// of its own lab (lab 3, beside fleet.test.ts on lab 0; mixed-mta.test.ts
// uses lab 3 too, one suite after the other): the admin edits smtp-port's own
// line back by hand on a CRLF services file; preview shows the drift, up gives
// back the converged bytes, destroy the original bytes.
import { strict as assert } from "assert";
import * as fs from "fs";
import { labById, Lab } from "../support/lab";
import { E2eStack, DESTROY, greeting, addressOf } from "../support/e2eStack";

// SMTP_PORT_MIXED_LAB_ID, as mixed-mta.test.ts (the two share their lab):
// another lab, for an engineer who has their own id.
const LAB_ID = Number(process.env.SMTP_PORT_MIXED_LAB_ID ?? 3);
const STACK = "e2e-hand-edits";
const HOST = "mx1";
const lab3 = labById(LAB_ID);

describe("end to end: a hand edit of smtp-port's own line on a CRLF services file (issue 16, lab 3)", function () {
    this.timeout(900_000);
    let lab: Lab;
    let original = "";
    const e2e = new E2eStack(STACK, [HOST], lab3);
    const { must } = e2e;
    const addr = () => addressOf(lab, HOST);

    before(async function () {
        lab3.down();
        lab = lab3.up(1);
        // The host's services file as Windows writes it: CRLF line endings.
        // (Written by the host itself, in place: the file is bind-mounted.)
        lab3.inHost(HOST, "sh", "-c", "sed 's/$/\\r/' /etc/services > /tmp/services.crlf && cat /tmp/services.crlf > /etc/services");
        original = lab3.servicesOf(HOST);
        assert.ok(original.includes("\r\nsmtp\t\t25/tcp\t\tmail\r\n") && !/[^\r]\n/.test(original), "a CRLF services file");
        assert.equal(lab3.getent(HOST, "smtp/tcp"), "smtp 25/tcp mail");
        e2e.open();
        await e2e.init(2525, fs.readFileSync(lab.keyPath, "utf8"));
    });

    after(async function () {
        await e2e.close(DESTROY);
        lab3.down();
    });

    it("up to 2525; the admin edits the added line back to 'smtp 25/tcp mail'; preview shows the drift; up gives back the converged bytes; destroy the original bytes", async () => {
        await must(["up", "--yes"]);
        const converged = lab3.servicesOf(HOST);
        assert.ok(converged.includes("\r\n#smtp\t\t25/tcp\t\tmail\r\nsmtp\t\t2525/tcp\t\tmail\r\n"), "smtp moved, the file still CRLF");
        assert.ok(!/[^\r]\n/.test(converged), "CRLF everywhere");
        assert.equal(lab3.getent(HOST, "smtp/tcp"), "smtp 2525/tcp mail");
        assert.match(await greeting(addr(), 2525), /^220 mx1\.lab\.test ESMTP Postfix$/);

        // The admin, on the host: the new line back to what it was.
        lab3.inHost(HOST, "sh", "-c", "sed 's|^smtp\t\t2525/tcp\t\tmail\\r$|smtp 25/tcp mail\\r|' /etc/services > /tmp/s && cat /tmp/s > /etc/services");
        const edited = lab3.servicesOf(HOST);
        assert.equal(edited, converged.replace("smtp\t\t2525/tcp\t\tmail\r\n", "smtp 25/tcp mail\r\n"), "the admin's edit");
        assert.equal(lab3.getent(HOST, "smtp/tcp"), "smtp 25/tcp mail", "the hand edit took smtp back to 25 for the resolver");

        const p = await must(["preview", "--diff"]);
        assert.ok(p.stderr.includes(`${HOST}: /etc/services (drifted: changed on the host since smtp-port wrote it)\n-  smtp 25/tcp mail\n+  smtp\t\t2525/tcp\t\tmail\n`), p.stderr);
        assert.match(p.stdout, /smtp-mx1-reconcile/, "the host is in the diff");
        assert.equal(lab3.servicesOf(HOST), edited, "preview changed nothing");

        const up = await must(["up", "--yes"]);
        assert.equal(lab3.servicesOf(HOST), converged, "up gives back exactly the bytes smtp-port had written");
        assert.equal(lab3.getent(HOST, "smtp/tcp"), "smtp 2525/tcp mail");
        assert.match(up.stdout + up.stderr, /smtp-mx1-reconcile\s+updated/);
        await must(["preview", "--expect-no-changes"]);

        // Drift again, and destroy straight from the drifted file.
        lab3.inHost(HOST, "sh", "-c", "sed 's|^smtp\t\t2525/tcp\t\tmail\\r$|smtp 25/tcp mail\\r|' /etc/services > /tmp/s && cat /tmp/s > /etc/services");
        await must(["destroy", "--yes"]);
        assert.equal(lab3.servicesOf(HOST), original, "destroy gives back the original bytes: one smtp line, CRLF");
        assert.equal(lab3.getent(HOST, "smtp/tcp"), "smtp 25/tcp mail");
        assert.match(await greeting(addr(), 25), /^220 mx1\.lab\.test ESMTP Postfix$/, "Postfix greets on 25 again");
    });
});
