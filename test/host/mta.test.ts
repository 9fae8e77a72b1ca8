// The host script's mail-server adapters, against stand-in postconf and exim4
// commands (the lab has the real Postfix and Exim: test/e2e/mixed-mta.test.ts).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SHELLS, runScript, tempDir } from "../support/hostScript";

const FIX = path.join(__dirname, "..", "fixtures");
const SMTPD = "smtp       inet  n       -       y       -       -       smtpd\n";

function bin(tools: Record<string, string>): string {
    const d = tempDir();
    for (const [name, target] of Object.entries(tools)) {
        fs.writeFileSync(path.join(d, name), `#!/bin/sh\nexec /bin/sh ${target} "$@"\n`, { mode: 0o755 });
    }
    return d;
}

for (const shell of SHELLS) {
    describe(`mail-server adapters under ${shell.name}`, function () {
        this.timeout(30_000);

        function world(master = SMTPD, mainCf = "myhostname = mx1\n") {
            const dir = tempDir();
            const file = path.join(dir, "services");
            fs.writeFileSync(file, "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            fs.writeFileSync(path.join(dir, "main.cf"), mainCf);
            fs.writeFileSync(path.join(dir, "master"), master);
            const env = { FAKE_MAIN_CF: path.join(dir, "main.cf"), FAKE_MASTER: path.join(dir, "master") };
            const pathPrefix = bin({ postconf: path.join(FIX, "fake-postconf.sh") });
            const run = (...args: string[]) => runScript(shell,
                [...args, "--file", file, "--state-dir", path.join(dir, "state"), "--restart", "true", "--verify", "no", "--host-label", "mx1"],
                { env, pathPrefix });
            return { dir, file, run, mainCf: () => fs.readFileSync(env.FAKE_MAIN_CF, "utf8") };
        }

        it("postfix: the listener follows the file, outbound is pinned to 25, and revert restores main.cf byte for byte", () => {
            const w = world();
            const before = w.mainCf();
            const r = w.run("apply", "--port", "17", "--mta", "auto");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.mta, "postfix");
            assert.equal(r.json.mta_changed, true);
            assert.equal(r.json.restarted, true);
            assert.equal(r.json.mta_port, 17, "known_tcp_ports no longer maps smtp: Postfix takes the file's port");
            assert.equal(w.mainCf(), "myhostname = mx1\nknown_tcp_ports = lmtp=24, smtps=submissions=465, submission=587\nsmtp_tcp_port = 25\n");
            const again = w.run("apply", "--port", "17", "--mta", "postfix");
            assert.equal(again.json.changed, false);
            assert.equal(again.json.mta_changed, false);
            assert.equal(again.json.restarted, false, "nothing changed: no restart");
            const back = w.run("revert", "--mta", "postfix");
            assert.equal(back.code, 0, back.stderr);
            assert.equal(back.json.mta_changed, true);
            assert.equal(w.mainCf(), before);
        });

        it("postfix, found by a preview: the main.cf changes an apply would make, none once made, and what a move back to 25 would undo", () => {
            const w = world();
            const first = w.run("preview", "--port", "17", "--mta", "auto");
            assert.equal(first.code, 0, first.stderr);
            assert.equal(first.json.mta, "postfix");
            assert.equal(first.json.mta_port, 25, "Postfix's default known_tcp_ports maps smtp=25, whatever the file says");
            assert.deepEqual(first.json.mta_diff, [
                "postfix known_tcp_ports: lmtp=24, smtp=25, smtps=submissions=465, submission=587 -> lmtp=24, smtps=submissions=465, submission=587",
                "postfix smtp_tcp_port: smtp -> 25",
            ]);
            assert.equal(w.mainCf(), "myhostname = mx1\n", "a preview changes nothing");
            assert.equal(w.run("apply", "--port", "17", "--mta", "auto").code, 0);
            assert.deepEqual(w.run("preview", "--port", "17", "--mta", "auto").json.mta_diff, []);
            const back = w.run("preview", "--port", "25", "--mta", "auto");
            assert.equal(back.json.status, "would_change");
            assert.deepEqual(back.json.mta_diff, [
                "postfix known_tcp_ports: lmtp=24, smtps=submissions=465, submission=587 -> (default)",
                "postfix smtp_tcp_port: 25 -> (default)",
            ]);
        });

        it("with no --restart, the apply and the revert restart the mail server the system's way (here: service, or systemctl under systemd)", () => {
            const w = world();
            const log = path.join(w.dir, "restarts");
            const shims = tempDir();
            for (const tool of ["service", "systemctl"]) {
                fs.writeFileSync(path.join(shims, tool), `#!/bin/sh\nprintf '%s %s\\n' "${tool}" "$*" >> '${log}'\n`, { mode: 0o755 });
            }
            const expected = fs.existsSync("/run/systemd/system") ? "systemctl restart postfix\n" : "service postfix restart\n";
            const run = (...args: string[]) => runScript(shell,
                [...args, "--file", w.file, "--state-dir", path.join(w.dir, "state"), "--verify", "no", "--host-label", "mx1"],
                { env: { FAKE_MAIN_CF: path.join(w.dir, "main.cf"), FAKE_MASTER: path.join(w.dir, "master") },
                    pathPrefix: `${shims}:${bin({ postconf: path.join(FIX, "fake-postconf.sh") })}` });
            const r = run("apply", "--port", "17", "--mta", "auto");
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.restarted, true);
            assert.equal(fs.readFileSync(log, "utf8"), expected);
            const back = run("revert", "--mta", "auto");
            assert.equal(back.code, 0, back.stderr);
            assert.equal(back.json.restarted, true);
            assert.equal(fs.readFileSync(log, "utf8"), expected + expected);
        });

        it("with no --restart, and neither systemd nor a service command: Postfix's own stop and start", () => {
            const w = world();
            const log = path.join(w.dir, "restarts");
            const shims = tempDir();
            // A systemctl stand-in too: under systemd it is the one used, and never the real one.
            for (const tool of ["postfix", "systemctl"]) {
                fs.writeFileSync(path.join(shims, tool), `#!/bin/sh\nprintf '%s %s\\n' "${tool}" "$*" >> '${log}'\n`, { mode: 0o755 });
            }
            // service is in /usr/sbin: leave the sbin folders off PATH.
            const tools = shell.path.split(":").filter(d => !/sbin$/.test(d)).join(":");
            const r = runScript(shell,
                ["apply", "--port", "17", "--mta", "auto", "--file", w.file, "--state-dir", path.join(w.dir, "state"), "--verify", "no", "--host-label", "mx1"],
                { env: { FAKE_MAIN_CF: path.join(w.dir, "main.cf"), FAKE_MASTER: path.join(w.dir, "master"),
                    PATH: `${shims}:${bin({ postconf: path.join(FIX, "fake-postconf.sh") })}:${tools}` } });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.restarted, true);
            assert.equal(fs.readFileSync(log, "utf8"), fs.existsSync("/run/systemd/system") ? "systemctl restart postfix\n" : "postfix stop\npostfix start\n");
        });

        it("postfix: settings made by the admin are kept and put back as they were", () => {
            const w = world(SMTPD, "known_tcp_ports = smtp=25, submission=587\nsmtp_tcp_port = 2525\n");
            const before = w.mainCf();
            assert.equal(w.run("apply", "--port", "17", "--mta", "postfix").code, 0);
            assert.equal(w.mainCf(), "smtp_tcp_port = 2525\nknown_tcp_ports = submission=587\n", "an explicit client port is not overridden");
            assert.equal(w.run("revert", "--mta", "postfix").code, 0);
            assert.deepEqual(w.mainCf().split("\n").sort(), before.split("\n").sort());
        });

        it("postfix: refuses, before changing anything, an smtpd bound by port number", () => {
            const w = world("25         inet  n       -       y       -       -       smtpd\n");
            const r = w.run("apply", "--port", "17", "--mta", "postfix");
            assert.equal(r.code, 1);
            assert.equal(r.stderr, "smtp-port: error: [mta] postfix: master.cf runs smtpd on port 25 by number, so it will not follow the services file; use the service name ('smtp inet ... smtpd') in master.cf\n");
            assert.equal(fs.readFileSync(w.file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            assert.equal(w.mainCf(), "myhostname = mx1\n");
        });

        it("postfix: refuses when master.cf has no smtp listener at all", () => {
            const r = world("pickup     unix  n       -       y       60      1       pickup\n").run("apply", "--port", "17", "--mta", "postfix");
            assert.equal(r.stderr, "smtp-port: error: [mta] postfix: master.cf has no 'smtp inet' smtpd listener\n");
        });

        describe("exim", () => {
            const eximWith = (extra: Record<string, string>, ports: string, transportPort: string, ...args: string[]) => {
                const dir = tempDir();
                const file = path.join(dir, "services");
                fs.writeFileSync(file, "smtp 25/tcp mail\n");
                const r = runScript(shell, [...args, "--file", file, "--state-dir", path.join(dir, "state"), "--restart", "true", "--verify", "no"],
                    { env: { FAKE_EXIM_PORTS: ports, FAKE_EXIM_TRANSPORT_PORT: transportPort, ...extra }, pathPrefix: bin({ exim4: path.join(FIX, "fake-exim.sh") }) });
                return { r, text: fs.readFileSync(file, "utf8") };
            };
            const exim = (ports: string, transportPort: string, ...args: string[]) => eximWith({}, ports, transportPort, ...args);
            it("goes ahead when the daemon listens by name and remote_smtp is pinned", () => {
                const { r, text } = exim("smtp : 587", "25", "apply", "--port", "17", "--mta", "auto");
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.mta, "exim");
                assert.equal(r.json.restarted, true);
                assert.equal(text, "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            });
            it("refuses when outbound mail would follow the new port", () => {
                const { r, text } = exim("smtp", "", "apply", "--port", "17", "--mta", "exim");
                assert.equal(r.stderr, "smtp-port: error: [mta] exim: transport remote_smtp sends to port 'smtp', which would follow the services file to 17; set 'port = 25' on remote_smtp first\n");
                assert.equal(text, "smtp 25/tcp mail\n");
            });
            it("checks the transport the routers really use: a smarthost router's remote_smtp_smarthost must be pinned too", () => {
                const { r, text } = eximWith({ FAKE_EXIM_SMARTHOST: "1" }, "smtp", "25", "apply", "--port", "17", "--mta", "exim");
                assert.equal(r.code, 1);
                assert.equal(r.stderr, "smtp-port: error: [mta] exim: transport remote_smtp_smarthost sends to port 'smtp', which would follow the services file to 17; set 'port = 25' on remote_smtp_smarthost first\n");
                assert.equal(text, "smtp 25/tcp mail\n");
                const ok = eximWith({ FAKE_EXIM_SMARTHOST: "1", FAKE_EXIM_SMARTHOST_PORT: "587" }, "smtp", "25", "apply", "--port", "17", "--mta", "exim");
                assert.equal(ok.r.code, 0, ok.r.stderr);
                assert.equal(ok.text, "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            });
            it("with no --restart: restarts the unit named after the exim binary found (exim4 on Debian)", () => {
                const dir = tempDir();
                const file = path.join(dir, "services");
                fs.writeFileSync(file, "smtp 25/tcp mail\n");
                const log = path.join(dir, "restarts");
                const shims = tempDir();
                for (const tool of ["service", "systemctl"]) {
                    fs.writeFileSync(path.join(shims, tool), `#!/bin/sh\nprintf '%s %s\\n' "${tool}" "$*" >> '${log}'\n`, { mode: 0o755 });
                }
                const tools = shell.path.split(":").filter(d => !/sbin$/.test(d)).join(":");
                const r = runScript(shell, ["apply", "--port", "17", "--mta", "exim", "--file", file, "--state-dir", path.join(dir, "state"), "--verify", "no"],
                    { env: { FAKE_EXIM_PORTS: "smtp", FAKE_EXIM_TRANSPORT_PORT: "25", PATH: `${shims}:${bin({ exim4: path.join(FIX, "fake-exim.sh") })}:${tools}` } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.restarted, true);
                assert.equal(fs.readFileSync(log, "utf8"), fs.existsSync("/run/systemd/system") ? "systemctl restart exim4\n" : "service exim4 restart\n");
            });
            it("refuses when the daemon listens by number", () => {
                const { r } = exim("25 : 587", "25", "apply", "--port", "17", "--mta", "exim");
                assert.equal(r.stderr, "smtp-port: error: [mta] exim: daemon_smtp_ports is '25 : 587', not the service name 'smtp', so the listener will not follow the services file\n");
            });
        });

        it("--mta postfix on a host without postconf: refuses, saying it is not installed; nothing changes", () => {
            const dir = tempDir();
            const file = path.join(dir, "services");
            fs.writeFileSync(file, "smtp 25/tcp mail\n");
            // postconf is in /usr/sbin: leave the sbin folders off PATH.
            const tools = shell.path.split(":").filter(d => !/sbin$/.test(d)).join(":");
            const r = runScript(shell, ["apply", "--port", "17", "--mta", "postfix", "--file", file, "--state-dir", path.join(dir, "state"), "--verify", "no"],
                { env: { PATH: tools } });
            assert.equal(r.code, 1);
            assert.equal(r.stderr, "smtp-port: error: [mta] postfix: postconf is not installed on this host\n");
            assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
        });

        it("sendmail: refuses with instructions", () => {
            const w = world();
            const r = w.run("apply", "--port", "17", "--mta", "sendmail");
            assert.equal(r.code, 1);
            assert.match(r.stderr, /^smtp-port: error: \[mta\] sendmail: not handled automatically: .* pin them to 25 by hand, then use --mta none --restart 'systemctl restart sendmail'\n$/);
            assert.equal(fs.readFileSync(w.file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
        });
    });
}
