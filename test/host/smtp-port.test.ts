import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cases } from "./cases";
import { SHELLS, Shell, runScript, resolvedPort, resolvedName, tempDir, SCRIPT, resultOf, shimDir } from "../support/hostScript";

/** Every line of `after` is the same line of `before`, that line commented, or the one added line. */
function assertOnlyOurEdits(before: string, after: string, commented: string[], added: string | null) {
    const b = before.split("\n");
    const a = after.split("\n");
    const strip = (s: string) => s.replace(/\r$/, "");
    let addedSeen = 0;
    const gotCommented: string[] = [];
    let j = 0;
    for (let i = 0; i < a.length; i++) {
        if (added !== null && strip(a[i]) === added && (j >= b.length || strip(b[j]) !== added) && addedSeen === 0) {
            addedSeen++;
            // The added line ends like its neighbours.
            if (i > 0) assert.equal(a[i].endsWith("\r"), a[i - 1].endsWith("\r"), "line ending of the added line");
            continue;
        }
        if (a[i] === b[j]) { j++; continue; }
        assert.equal(a[i], "#" + b[j], `line ${i + 1}: only commenting is allowed, got ${JSON.stringify(a[i])} for ${JSON.stringify(b[j])}`);
        gotCommented.push(strip(b[j]));
        j++;
    }
    assert.equal(j, b.length, "every original line is still there");
    assert.deepEqual(gotCommented, commented);
    assert.equal(addedSeen, added === null ? 0 : 1);
}

/** What smtp-port left in its state folder, besides the change token that outlives a revert on purpose. */
function leftovers(state: string): number {
    return fs.readdirSync(state).filter(f => !f.endsWith(".change")).length;
}

function setup(text: string) {
    const dir = tempDir();
    const file = path.join(dir, "services");
    fs.writeFileSync(file, text);
    return { dir, file, state: path.join(dir, "state") };
}

for (const shell of SHELLS) {
    describe(`host script under ${shell.name}`, function () {
        this.timeout(60_000);

        for (const c of cases()) {
            it(`${c.name}: apply, resolver check, idempotent re-apply, byte-identical revert`, () => {
                const { file, state } = setup(c.text);
                const args = ["--file", file, "--state-dir", state];
                const r = runScript(shell, ["apply", "--port", String(c.port), ...args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.changed, true);
                assert.equal(r.json.old_port, c.previous);
                assert.deepEqual(r.json.commented, c.commented);
                assert.equal(r.json.added, c.added);
                const after = fs.readFileSync(file, "utf8");
                assertOnlyOurEdits(c.text, after, c.commented, c.added);
                assert.equal(resolvedPort(file), c.port, "getent services smtp/tcp");
                assert.equal(resolvedName(file, c.port), "smtp", `getent services ${c.port}/tcp`);
                if (c.text.includes("\r\n")) assert.ok(!/[^\r]\n/.test(after), "still CRLF everywhere");
                assert.equal(after.endsWith("\n"), c.text === "" || c.text.endsWith("\n"), "final newline as before");
                assert.equal(fs.readFileSync(r.json.backup, "utf8"), c.text, "backup holds the original");

                const again = runScript(shell, ["apply", "--port", String(c.port), ...args]);
                assert.equal(again.code, 0, again.stderr);
                assert.equal(again.json.changed, false);
                assert.equal(again.json.old_port, c.port);
                assert.equal(fs.readFileSync(file, "utf8"), after, "second apply changes no byte");

                const back = runScript(shell, ["revert", ...args]);
                assert.equal(back.code, 0, back.stderr);
                assert.equal(back.json.changed, true);
                assert.equal(back.json.mode, "backup");
                assert.equal(fs.readFileSync(file, "utf8"), c.text, "revert gives back the original bytes");
                assert.equal(fs.existsSync(path.join(state)) ? leftovers(state) : 0, 0, "no state left behind");
            });
        }

        it("moves 25 -> 17 -> 2525 and reverts to the original; the old conflict comes back", () => {
            const text = fs.readFileSync(path.join(__dirname, "..", "fixtures", "services.debian"), "utf8");
            const { file, state } = setup(text);
            const args = ["--file", file, "--state-dir", state];
            assert.equal(runScript(shell, ["apply", "--port", "17", ...args]).code, 0);
            const r = runScript(shell, ["apply", "--port", "2525", ...args]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.old_port, 17);
            assert.deepEqual(r.json.commented, ["smtp\t\t25/tcp\t\tmail"]);
            assert.equal(resolvedPort(file), 2525);
            assert.equal(resolvedName(file, 17), "qotd", "qotd is active again once smtp left 17");
            assertOnlyOurEdits(text, fs.readFileSync(file, "utf8"), ["smtp\t\t25/tcp\t\tmail"], "smtp\t\t2525/tcp\t\tmail");
            assert.equal(runScript(shell, ["apply", "--port", "25", ...args]).json.changed, true);
            assert.equal(fs.readFileSync(file, "utf8"), text, "apply 25 is the original file");
            assert.ok(!fs.existsSync(path.join(state, file.replace(/^\//, "").replace(/[^A-Za-z0-9._-]/g, "_"))), "nothing managed any more");
        });

        it("keeps another editor's change across apply and revert (merge mode)", () => {
            const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\n");
            const args = ["--file", file, "--state-dir", state];
            assert.equal(runScript(shell, ["apply", "--port", "17", ...args]).code, 0);
            fs.appendFileSync(file, "bar 100/tcp\n");
            const st = runScript(shell, ["status", "--port", "17", ...args]);
            assert.equal(st.json.drift, true);
            const r = runScript(shell, ["apply", "--port", "17", ...args]);
            assert.equal(r.json.changed, false, "their line does not make ours change");
            const back = runScript(shell, ["revert", ...args]);
            assert.equal(back.code, 0, back.stderr);
            assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\nfoo 99/tcp\nbar 100/tcp\n");
        });

        it("repairs a hand edit that undid part of the change (drift)", () => {
            const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            const args = ["--file", file, "--state-dir", state];
            runScript(shell, ["apply", "--port", "17", ...args]);
            fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("#qotd", "qotd"));
            assert.equal(resolvedName(file, 17), "qotd");
            const r = runScript(shell, ["apply", "--port", "17", ...args]);
            assert.equal(r.json.changed, true);
            assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            assert.equal(runScript(shell, ["revert", ...args]).code, 0);
            assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
        });

        it("preview says what apply would change, writes nothing, and sees drift", () => {
            const text = "qotd 17/tcp quote\nsmtp 25/tcp mail\n";
            const { file, state } = setup(text);
            const args = ["--port", "17", "--file", file, "--state-dir", state, "--verify", "no", "--host-label", "mx1"];
            const p = runScript(shell, ["preview", ...args]);
            assert.equal(p.code, 0, p.stderr);
            assert.deepEqual(p.json, {
                schema: 1, action: "preview", status: "would_change", host: "mx1", file, port: 17, drift: false, change: "0", service_port: 25, mta: "none", mta_port: null,
                diff: ["-qotd 17/tcp quote", "+#qotd 17/tcp quote", "-smtp 25/tcp mail", "+#smtp 25/tcp mail", "+smtp 17/tcp mail"], mta_diff: [],
            });
            assert.equal(fs.readFileSync(file, "utf8"), text, "nothing written");
            assert.ok(!fs.existsSync(state), "no state created");
            assert.equal(runScript(shell, ["apply", ...args]).json.change, "1");
            const quiet = runScript(shell, ["preview", ...args]).json;
            assert.equal(quiet.status, "no_change");
            assert.equal(quiet.change, "1");
            assert.deepEqual(quiet.diff, []);
            fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("#qotd", "qotd"));
            const drift = runScript(shell, ["preview", ...args]).json;
            assert.equal(drift.drift, true);
            assert.equal(drift.status, "would_change");
            assert.deepEqual(drift.diff, ["-qotd 17/tcp quote", "+#qotd 17/tcp quote"]);
            assert.equal(runScript(shell, ["apply", ...args]).json.change, "2", "a repair is a change");
            assert.equal(runScript(shell, ["preview", ...args]).json.status, "no_change");
        });

        it("an apply that changes something records the change token it was given; a retry mark survives, other values do not", () => {
            const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            const args = ["--port", "17", "--file", file, "--state-dir", state, "--verify", "no"];
            assert.equal(runScript(shell, ["apply", ...args, "--change", "unknown"]).json.change, "1", "not a token: counted");
            const retry = runScript(shell, ["apply", "--port", "2525", "--file", file, "--state-dir", state, "--verify", "no", "--change", "2@2026-11-27T05:30:00.123Z"]);
            assert.equal(retry.json.change, "2@2026-11-27T05:30:00.123Z");
            assert.equal(runScript(shell, ["preview", "--port", "2525", "--file", file, "--state-dir", state]).json.change, "2@2026-11-27T05:30:00.123Z",
                "the look reports exactly the token Pulumi holds, so a converged host shows no change");
            assert.equal(runScript(shell, ["apply", "--port", "2525", "--file", file, "--state-dir", state, "--verify", "no", "--change", "9"]).json.change,
                "2@2026-11-27T05:30:00.123Z", "nothing changed: nothing recorded");
            assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).code, 0);
            assert.equal(runScript(shell, ["preview", ...args]).json.change, "3", "a revert counts on from the token's number");
            const bad = runScript(shell, ["apply", ...args, "--change", "3;reboot", "--host-label", "mx1"]);
            assert.equal(bad.code, 1);
            assert.equal(bad.stderr, "smtp-port: error: [change] must be a number with an optional mark of letters, digits and @:.+-, got '3;reboot'\n");
            assert.deepEqual(bad.json, { schema: 1, action: "apply", status: "failed", host: "mx1", file, rolled_back: false,
                reason: "[change] must be a number with an optional mark of letters, digits and @:.+-, got '3;reboot'" });
        });

        it("status reports what the resolver would answer without writing", () => {
            const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            const r = runScript(shell, ["status", "--port", "17", "--file", file, "--state-dir", state, "--host-label", "mx1"]);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.json, { schema: 1, action: "status", status: "not_managed", host: "mx1", file, service: "smtp", protocol: "tcp",
                service_port: 25, port: 17, port_name: "qotd", drift: null, interrupted: false });
            assert.ok(!fs.existsSync(state));
        });

        it("status names the port as the resolver does: the first entry on it for the protocol, none when no entry has it", () => {
            const { file, state } = setup("a 1/tcp\nsmtp 25/tcp mail\nb 2525/udp\nc 2525/tcp\nd 2525/tcp\n");
            const nameOf = (port: string) => runScript(shell, ["status", "--port", port, "--file", file, "--state-dir", state]).json.port_name;
            assert.equal(nameOf("2525"), "c", "getent services 2525/tcp: c");
            assert.equal(nameOf("9999"), null, "getent services 9999/tcp: nothing");
            assert.equal(resolvedName(file, 2525), "c");
            assert.equal(resolvedName(file, 9999), null);
        });

        it("runs the restart command only when the file changed, with its output off stdout", () => {
            const { dir, file, state } = setup("smtp 25/tcp mail\n");
            const log = path.join(dir, "restarts");
            const restart = `echo restarted >> '${log}'; echo noise`;
            const args = ["--file", file, "--state-dir", state, "--restart", restart, "--verify", "no"];
            const r = runScript(shell, ["apply", "--port", "17", ...args]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.restarted, true);
            assert.equal(runScript(shell, ["apply", "--port", "17", ...args]).json.restarted, false);
            assert.equal(runScript(shell, ["revert", ...args]).json.restarted, true);
            assert.equal(fs.readFileSync(log, "utf8"), "restarted\nrestarted\n");
        });

        it("runs the restart command with the admin's umask and locale, not the script's own", () => {
            const { dir, file, state } = setup("smtp 25/tcp mail\n");
            const seen = path.join(dir, "seen");
            // The script itself runs with umask 077 and LC_ALL=C; the restart
            // command (and the service it starts) must not inherit either.
            const restart = `{ umask; printf '%s\\n' "\${LC_ALL-unset}"; } >> '${seen}'`;
            const args = ["--file", file, "--state-dir", state, "--restart", restart, "--verify", "no"];
            const withUmask = (mask: string, ...env: string[]) => ["/bin/sh", "-c", `umask ${mask}; exec /usr/bin/env ${env.join(" ")} "$@"`, "sh"];
            assert.equal(runScript(shell, ["apply", "--port", "17", ...args], { prefix: withUmask("022", "LC_ALL=C.UTF-8") }).code, 0);
            assert.equal(runScript(shell, ["revert", ...args], { prefix: withUmask("027", "-u", "LC_ALL") }).code, 0);
            assert.equal(fs.readFileSync(seen, "utf8"), "0022\nC.UTF-8\n0027\nunset\n");
        });

        it("fails clearly when the restart command fails, and says how to undo", () => {
            const { file, state } = setup("smtp 25/tcp mail\n");
            const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state, "--restart", "exit 3", "--host-label", "mx7"]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /smtp-port: error: mx7: the restart command failed; rolled back in \d+s: .* and the none configuration are as before, but the restart after the rollback failed too\n$/);
            assert.equal(r.json.status, "failed");
            assert.equal(r.json.rolled_back, true);
            assert.equal(r.json.host, "mx7");
            assert.ok(r.stderr.endsWith(`smtp-port: error: ${r.json.reason}\n`), "the reason is the error message");
            assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n", "rolled back");
            assert.ok(!fs.existsSync(state) || leftovers(state) === 0, "no state of a change that did not happen");
        });

        describe("check on the host and rollback (a stand-in MTA that follows the file)", () => {
            const FAKE = path.join(__dirname, "..", "fixtures", "fake-mta.sh");
            const start = (text: string) => {
                const s = setup(text);
                const pid = path.join(s.dir, "mta.pid");
                const restart = `sh ${q(FAKE)} ${q(s.file)} ${q(pid)}`;
                assert.equal(spawnSync("sh", ["-c", restart]).status, 0, "stand-in MTA starts");
                return { ...s, pid, restart };
            };
            const stop = (pid: string) => spawnSync("sh", ["-c", `kill $(cat ${q(pid)}) 2>/dev/null`]);
            const greets = (port: number) => spawnSync("sh", ["-c", `printf '' | timeout 3 socat -T2 - TCP:127.0.0.1:${port}`], { encoding: "utf8" }).stdout;

            it("verifies the greeting on the new port and that the old one is closed", () => {
                const s = start("smtp 27525/tcp mail\n");
                try {
                    const r = runScript(shell, ["apply", "--port", "27526", "--file", s.file, "--state-dir", s.state, "--restart", s.restart, "--verify-timeout", "5"]);
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220 fake ESMTP");
                    assert.equal(r.json.restarted, true);
                    assert.equal(greets(27525), "", "old port closed");
                } finally { stop(s.pid); }
            });

            it("rolls the host back when the new port is taken by another process", async () => {
                const text = "qotd 27527/tcp quote\nsmtp 27528/tcp mail\n";
                const s = start(text);
                const net = await import("net");
                const squatter = net.createServer(c => c.end("SSH-2.0-squatter\r\n")).listen(27527, "127.0.0.1");
                try {
                    const { spawn } = await import("child_process");
                    const p = spawn(shell.argv[0], [...shell.argv.slice(1), SCRIPT, "apply", "--port", "27527", "--file", s.file, "--state-dir", s.state, "--mta", "none",
                        "--restart", s.restart, "--verify-timeout", "3", "--host-label", "mx8"], { env: { PATH: shell.path } });
                    let stderr = "", stdout = "";
                    p.stderr.on("data", d => stderr += d);
                    p.stdout.on("data", d => stdout += d);
                    const code = await new Promise(res => p.on("exit", res));
                    assert.equal(code, 1);
                    assert.equal(resultOf(stdout).status, "failed");
                    assert.equal(resultOf(stdout).rolled_back, true);
                    assert.match(stderr, /smtp-port: error: mx8: the restart command failed; rolled back in \d+s: .* and the none configuration are as before, greeting on 27528 again \('220 fake ESMTP'\)\n$/);
                    assert.equal(fs.readFileSync(s.file, "utf8"), text, "services file byte-identical");
                    assert.ok(!fs.existsSync(s.state) || leftovers(s.state) === 0);
                } finally { squatter.close(); stop(s.pid); }
            });

            it("rolls back when the old port still answers", () => {
                const s = start("smtp 27529/tcp mail\n");
                // A second greeter keeps the old port open after the restart.
                const other = path.join(s.dir, "other.pid");
                stop(s.pid);
                spawnSync("sh", ["-c", `sleep 0.2; socat TCP-LISTEN:27529,bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo 220 other' </dev/null >/dev/null 2>&1 & echo $! > ${q(other)}; sleep 0.3`]);
                try {
                    assert.match(greets(27529), /^220 other/, "the other greeter holds the old port");
                    const r = runScript(shell, ["apply", "--port", "27530", "--file", s.file, "--state-dir", s.state, "--restart", s.restart, "--verify-timeout", "3", "--host-label", "mx9"]);
                    assert.equal(r.code, 1);
                    assert.match(r.stderr, /error: mx9: the old port 27529 still accepts connections .*; rolled back in \d+s/);
                    assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27529/tcp mail\n");
                    const ok = runScript(shell, ["apply", "--port", "27530", "--file", s.file, "--state-dir", s.state, "--restart", s.restart, "--verify-timeout", "3", "--require-old-port-closed", "no"]);
                    assert.equal(ok.code, 0, ok.stderr);
                } finally { stop(other); stop(s.pid); }
            });

            it("a listener that closes the connection without a greeting is not verified: rolled back, naming the address", () => {
                const s = setup("smtp 27531/tcp mail\n");
                const pid = path.join(s.dir, "mta.pid");
                const restart = `sh ${q(FAKE)} ${q(s.file)} ${q(pid)} 127.0.0.1 -`;
                assert.equal(spawnSync("sh", ["-c", restart]).status, 0, "stand-in MTA starts");
                try {
                    const r = runScript(shell, ["apply", "--port", "27532", "--file", s.file, "--state-dir", s.state, "--restart", restart, "--verify-timeout", "2", "--host-label", "mx7"]);
                    assert.equal(r.code, 1, r.stderr);
                    // perl and python3 tell a closed connection from silence; busybox
                    // (nc only) cannot, and calls it a timeout.
                    const why = shell.name.startsWith("busybox") ? "timeout" : "closed without a greeting";
                    assert.match(r.json.reason, new RegExp(`^mx7: no SMTP greeting on port 27532 after 2s \\(127\\.0\\.0\\.1:27532: ${why}, \\[::1\\]:27532: connection refused\\); rolled back`));
                    assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27531/tcp mail\n");
                } finally { stop(pid); }
            });
        });

        it("keeps owner and mode", () => {
            const { file, state } = setup("smtp 25/tcp mail\n");
            fs.chmodSync(file, 0o640);
            fs.chownSync(file, 1234, 4321);
            assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
            const st = fs.statSync(file);
            assert.equal(st.mode & 0o7777, 0o640);
            assert.equal(st.uid, 1234);
            assert.equal(st.gid, 4321);
        });

        it("rewrites in place when rename is refused (bind-mounted file, EBUSY)", () => {
            const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            const target = path.join(dir, "etc-services");
            fs.writeFileSync(target, "");
            const inner = [...shell.argv, SCRIPT, "apply", "--port", "17", "--file", target, "--state-dir", state, "--mta", "none"].map(q).join(" ");
            const r = spawnSync("unshare", ["-m", "sh", "-c", `mount --bind ${q(file)} ${q(target)} && ${inner} && grep -c . /proc/self/mountinfo >/dev/null`],
                { encoding: "utf8", env: { PATH: shell.path } });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(resultOf(r.stdout).changed, true);
            assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            // The copy that could not be renamed over it is not left beside it.
            assert.deepEqual(fs.readdirSync(dir).filter(f => f.includes(".smtp-port.")), []);
        });

        it("rewrites in place when rename says cross-device (EXDEV), as for a mount point", () => {
            const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            // mv's own words for EXDEV, for the rename over the services file only.
            const shims = shimDir({ mv: `for a; do last=$a; done\n[ "$last" != ${q(file)} ] || { echo "mv: cannot move '$2' to '$last': Invalid cross-device link" >&2; exit 1; }\nexec mv "$@"` });
            const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state, "--mta", "none"], { pathPrefix: shims });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, `smtp-port: rewriting ${file} in place: it cannot be renamed over (a mount point)\n`);
            assert.equal(r.json.changed, true);
            assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            assert.deepEqual(fs.readdirSync(dir).filter(f => f.includes(".smtp-port.")), []);
        });

        describe("errors leave the file byte-identical", () => {
            const expectFail = (text: string, args: string[], stderr: string | RegExp, opts: { as?: "nobody"; mode?: number } = {}) => {
                const { dir, file, state } = setup(text);
                fs.chmodSync(dir, 0o755);
                if (opts.mode !== undefined) fs.chmodSync(file, opts.mode);
                const before = fs.readFileSync(file);
                const r = runScript(shell, args.map(a => a.replace("FILE", file).replace("STATE", state)),
                    opts.as ? { prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] } : {});
                assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
                assert.equal(r.json?.status, "failed", `a failed result line; stdout: ${r.stdout}`);
                assert.equal(r.json.rolled_back, false);
                assert.ok(r.stderr.endsWith(`smtp-port: error: ${r.json.reason}\n`), "the reason is the error message");
                if (typeof stderr === "string") assert.equal(r.stderr, stderr.replace(/FILE/g, file).replace(/STATE/g, state));
                else assert.match(r.stderr, stderr);
                assert.deepEqual(fs.readFileSync(file), before);
                return file;
            };

            it("file missing", () => {
                const r = runScript(shell, ["apply", "--port", "17", "--file", "/nonexistent/services", "--state-dir", "/tmp/x"]);
                assert.equal(r.code, 1);
                assert.equal(r.stderr, "smtp-port: error: /nonexistent/services does not exist (is this the services file? see --file)\n");
            });
            it("not writable (suggests sudo)", () => expectFail("smtp 25/tcp mail\n", ["apply", "--port", "17", "--file", "FILE", "--state-dir", "STATE"],
                "smtp-port: error: cannot write FILE: permission denied (run as root or enable sudo for this host)\n", { as: "nobody" }));
            it("unreadable", () => expectFail("smtp 25/tcp mail\n", ["apply", "--port", "17", "--file", "FILE", "--state-dir", "STATE"],
                "smtp-port: error: cannot read FILE: permission denied (run as root or enable sudo for this host)\n", { as: "nobody", mode: 0o600 }));
            it("a target line it cannot parse", () => expectFail("qotd 17/tcp quote\nsmtp 25tcp mail\n", ["apply", "--port", "17", "--file", "FILE", "--state-dir", "STATE"],
                `line 2: cannot parse "smtp 25tcp mail"\nsmtp-port: error: refusing to change FILE: a smtp entry cannot be parsed (see above); fix it by hand\n`));
            it("conflicts refused with --conflicts fail", () => expectFail("qotd 17/tcp quote\nsmtp 25/tcp mail\n", ["apply", "--port", "17", "--conflicts", "fail", "--file", "FILE", "--state-dir", "STATE"],
                `line 1: port 17/tcp is taken by "qotd 17/tcp quote" (conflicts: fail)\nsmtp-port: error: refusing to change FILE: other entries hold 17/tcp (see above); use --conflicts comment to comment them out\n`));
            for (const [port, msg] of [["0", "'0'"], ["65536", "'65536'"], ["17.5", "'17.5'"], ["abc", "'abc'"], ["", "''"]]) {
                it(`bad port ${msg}`, () => expectFail("smtp 25/tcp mail\n", ["apply", "--port", port, "--file", "FILE", "--state-dir", "STATE"],
                    port === "" ? "smtp-port: error: [port] is required for apply\n" : `smtp-port: error: [port] must be an integer from 1 to 65535, got ${msg}\n`));
            }
            it("a service name with shell characters", () => expectFail("smtp 25/tcp mail\n", ["apply", "--port", "17", "--service", "smtp;id", "--file", "FILE", "--state-dir", "STATE"],
                "smtp-port: error: [service] must be a plain name (letters, digits, . _ + -), got 'smtp;id'\n"));
            it("an alias with a glob", () => expectFail("smtp 25/tcp mail\n", ["apply", "--port", "17", "--aliases", "mail *", "--file", "FILE", "--state-dir", "STATE"],
                "smtp-port: error: [aliases] must be plain names (letters, digits, . _ + -), got '*'\n"));
            it("a relative path", () => {
                const r = runScript(shell, ["apply", "--port", "17", "--file", "etc/services"]);
                assert.equal(r.stderr, "smtp-port: error: [file] must be an absolute path, got 'etc/services'\n");
            });
            it("an unknown option", () => expectFail("smtp 25/tcp mail\n", ["apply", "--port", "17", "--prot", "tcp", "--file", "FILE"], /smtp-port: error: unknown option '--prot'\n$/));
        });

        describe("locking, concurrent edits and interruptions", () => {
            /** A services file whose lock is held by HOLDER (a PID, as a run writes it). */
            const heldLock = (holder: string) => {
                const s = setup("smtp 25/tcp mail\n");
                const key = s.file.replace(/^\//, "").replace(/[^A-Za-z0-9._-]/g, "_");
                const lock = path.join(s.state, `${key}.lock`);
                fs.mkdirSync(s.state, { mode: 0o700 });
                fs.symlinkSync(holder, lock);
                return { ...s, lock, clock: path.join(s.dir, "clock") };
            };
            /** A `date` whose `+%s` starts at 1000000 and moves STEP seconds per reading (kept in CLOCK). */
            const clockShim = (clock: string, step: number) =>
                `[ "$1" = +%s ] || exec date "$@"; n=$(cat '${clock}' 2>/dev/null || echo 1000000); echo $((n + ${step})) > '${clock}'; echo "$n"`;

            it("two runs at once are serialized by the lock", async () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const { spawn } = await import("child_process");
                const run = (port: string) => new Promise<number>(res => {
                    const p = spawn(shell.argv[0], [...shell.argv.slice(1), SCRIPT, "apply", "--port", port, "--file", file, "--state-dir", state, "--mta", "none"],
                        { env: { PATH: shell.path } });
                    p.on("exit", code => res(code ?? -1));
                });
                const codes = await Promise.all([run("17"), run("2525"), run("17"), run("2525")]);
                assert.deepEqual(codes, [0, 0, 0, 0]);
                const port = resolvedPort(file);
                assert.ok(port === 17 || port === 2525, `port ${port}`);
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).code, 0);
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });

            it("a stale lock of a dead process is taken over", () => {
                const { file, state } = setup("smtp 25/tcp mail\n");
                const key = file.replace(/^\//, "").replace(/[^A-Za-z0-9._-]/g, "_");
                fs.mkdirSync(path.join(state, `${key}.lock`), { recursive: true, mode: 0o700 });
                fs.chmodSync(state, 0o700);
                fs.writeFileSync(path.join(state, `${key}.lock`, "pid"), "999999\n"); // the first versions' lock: a folder
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /removing stale lock of process 999999/);
            });

            it("a break of a stale lock left half done by a dead run (its break lock) is cleared, and the stale lock taken over", () => {
                const { file, state, lock, clock } = heldLock("999999"); // a dead holder
                fs.symlinkSync("999998", `${lock}.break`); // a dead breaker
                // A run that never clears the break lock waits for its 60 s
                // deadline: the shimmed clock gets there in 60 readings.
                const shims = shimDir({ sleep: ":", date: clockShim(clock, 1) });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: shims });
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /removing stale lock of process 999999/);
                assert.equal(resolvedPort(file), 17);
                for (const l of [lock, `${lock}.break`]) assert.equal(fs.lstatSync(l, { throwIfNoEntry: false }), undefined, `${l} is gone`);
            });

            it("waits for a live run's lock, sleeping between attempts, and goes on once it is released", () => {
                const { dir, file, state, lock, clock } = heldLock(String(process.pid)); // held by a live process: this test
                const sleeps = path.join(dir, "sleeps");
                // The shimmed sleep releases the lock, as the other run would;
                // the shimmed clock moves 1 s per reading, so a loop that never
                // sleeps reaches its 60 s deadline after 60 attempts, not 60 s.
                const shims = shimDir({ sleep: `printf '%s\\n' "$*" >> '${sleeps}'; rm -f '${lock}'`, date: clockShim(clock, 1) });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: shims });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.changed, true);
                assert.equal(fs.readFileSync(sleeps, "utf8"), "0.1\n");
                assert.equal(fs.lstatSync(lock, { throwIfNoEntry: false }), undefined, "the lock is released");
            });

            it("a lock that goes between seeing it and reading it (readlink fails) is waited for, not a failure", () => {
                const { dir, file, state, lock } = heldLock(String(process.pid)); // held by a live process: this test
                const once = path.join(dir, "readlink-failed");
                // The lock's holder releases it just as the run reads it: the
                // first readlink of the lock fails; the sleep after it ends the wait.
                const shims = shimDir({
                    readlink: `case "$1" in *.lock) [ -e '${once}' ] || { : > '${once}'; exit 1; } ;; esac\nexec readlink "$@"`,
                    sleep: `rm -f '${lock}'`,
                });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: shims });
                assert.equal(r.code, 0, r.stderr);
                assert.ok(fs.existsSync(once), "the shimmed readlink failed once");
                assert.equal(resolvedPort(file), 17);
            });

            it("gives up on a live run's lock at its 60 s deadline, not an attempt later, naming the holder", () => {
                const { dir, file, state, lock, clock } = heldLock(String(process.pid)); // held by a live process: this test
                const sleeps = path.join(dir, "sleeps");
                // The clock moves 30 s per reading: the deadline is set at the
                // first, the second is before it, the third is exactly on it.
                const shims = shimDir({ sleep: `printf '%s\\n' "$*" >> '${sleeps}'`, date: clockShim(clock, 30) });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: shims });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `smtp-port: error: ${file} is locked by process ${process.pid} (${lock}); another smtp-port run is in progress\n`);
                assert.equal(fs.readFileSync(sleeps, "utf8"), "0.1\n");
                assert.equal(fs.readlinkSync(lock), String(process.pid), "the live run's lock stays");
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            it("a stray file where the journal goes does not block the next write", () => {
                const { file, state } = setup("smtp 25/tcp mail\n");
                const args = ["--file", file, "--state-dir", state];
                assert.equal(runScript(shell, ["apply", "--port", "17", ...args, "--verify", "no"]).code, 0);
                const key = file.replace(/^\//, "").replace(/[^A-Za-z0-9._-]/g, "_");
                // Not a folder, so not a journal to recover: the write makes its own.
                fs.writeFileSync(path.join(state, key, "txn"), "debris\n");
                const r = runScript(shell, ["apply", "--port", "2525", ...args, "--verify", "no"]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(resolvedPort(file), 2525);
                assert.ok(!fs.existsSync(path.join(state, key, "txn")), "the journal is gone after the write");
                assert.equal(runScript(shell, ["revert", ...args]).code, 0);
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            it("an edit made while it works is never overwritten", async () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // The edit lands while the script computes the new file: the
                // shimmed awk marks that moment and holds the script there.
                const mark = path.join(state, "planning");
                const slow = shimDir({ awk: 'case "$*" in *keeper*) : > "$SHIM_MARK"; sleep 1 ;; esac\nexec awk "$@"' });
                const { spawn } = await import("child_process");
                const p = spawn(shell.argv[0], [...shell.argv.slice(1), SCRIPT, "apply", "--port", "17", "--file", file, "--state-dir", state, "--mta", "none"],
                    { env: { PATH: `${slow}:${shell.path}`, SHIM_MARK: mark } });
                let stderr = "";
                p.stderr.on("data", d => stderr += d);
                for (let i = 0; i < 500 && !fs.existsSync(mark); i++) await new Promise(r => setTimeout(r, 20));
                assert.ok(fs.existsSync(mark), "the script never reached its planning step");
                fs.appendFileSync(file, "late 1/tcp\n");
                const code = await new Promise(r => p.on("exit", r));
                assert.equal(code, 1);
                assert.match(stderr, /smtp-port: error: .* changed while smtp-port was working on it; nothing was written, run again\n$/);
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\nlate 1/tcp\n");
            });

            it("a run stopped by a signal while it flushes the copy beside the file removes that copy on its way out; the file is as it was", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // TERM from the flush of the copy: the shell runs its trap once sync returns.
                const stopper = shimDir({ sync: `case "\${1:-}" in *.smtp-port.*) kill -TERM "$PPID"; sleep 0.3 ;; esac\nexec sync "$@"` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state, "--mta", "none"], { pathPrefix: stopper });
                assert.notEqual(r.code, 0, "stopped");
                assert.equal(r.json.status, "failed");
                assert.deepEqual(fs.readdirSync(dir).filter(f => f.includes(".smtp-port.")), [], "no copy left beside the file");
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });

            it("a run killed right after the rename is completed by the next run", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const killer = shimDir({ mv: `mv "$@"; rc=$?\nfor last in "$@"; do :; done\n[ "$last" != ${q(file)} ] || kill -9 "$PPID"\nexit $rc` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: killer });
                assert.notEqual(r.code, 0, "killed");
                assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n", "rename is all or nothing");
                const next = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(next.code, 0, next.stderr);
                assert.match(next.stderr, /completing an interrupted change/);
                assert.equal(next.json.changed, false);
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).json.mode, "backup");
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });

            it("a run killed after its journal's state was moved in, before the journal was removed, keeps the change", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // `written` is the last file moved out of txn/; the kill lands before `rm -rf txn`.
                const killer = shimDir({ mv: `mv "$@"; rc=$?\nfor a in "$@"; do case "$a" in */txn/written) kill -9 "$PPID" ;; esac; done\nexit $rc` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: killer });
                assert.notEqual(r.code, 0, "killed");
                const moved = "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n";
                assert.equal(fs.readFileSync(file, "utf8"), moved);
                const next = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(next.code, 0, next.stderr);
                assert.doesNotMatch(next.stderr, /restoring/);
                assert.equal(next.json.changed, false, "the change was kept, not undone and made again");
                assert.equal(fs.readFileSync(file, "utf8"), moved);
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).json.mode, "backup");
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });

            it("a run killed while it wrote its journal (before the journal's ready mark) leaves the file as it was; the next run drops that journal and makes the change", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // prev is the journal's last file before ready: killed once it is in place.
                const killer = shimDir({ mv: `mv "$@"; rc=$?\nfor a in "$@"; do case "$a" in */txn/prev) kill -9 "$PPID" ;; esac; done\nexit $rc` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: killer });
                assert.notEqual(r.code, 0, "killed");
                const txn = path.join(state, file.replace(/^\//, "").replace(/[^A-Za-z0-9._-]/g, "_"), "txn");
                assert.ok(fs.existsSync(path.join(txn, "prev")) && !fs.existsSync(path.join(txn, "ready")), "killed between prev and ready");
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const next = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(next.code, 0, next.stderr);
                assert.doesNotMatch(next.stderr, /restoring|completing/);
                assert.equal(next.json.changed, true);
                assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.ok(!fs.existsSync(txn), "no journal left");
            });

            /** A first apply (port 17) of the Debian file, bind-mounted (so rewritten in place), killed mid-write: 100 bytes written. */
            const tornFirstApply = () => {
                const original = fs.readFileSync(path.join(__dirname, "..", "fixtures", "services.debian"), "utf8");
                const { dir, file, state } = setup(original);
                const target = path.join(dir, "etc-services");
                fs.writeFileSync(target, "");
                // cat writing into the bind-mounted file writes 100 bytes and dies with the script.
                const torn = shimDir({ cat: `if [ "$(readlink /proc/$$/fd/1)" = ${q(target)} ]; then head -c 100 "$1"; kill -9 "$PPID"; exit 1; fi\nexec cat "$@"` });
                const inNs = (pathPrefix: string, ...args: string[]) => spawnSync("unshare", ["-m", "sh", "-c",
                    `mount --bind ${q(file)} ${q(target)} && PATH=${q(pathPrefix + shell.path)} exec ${[...shell.argv, SCRIPT, ...args, "--mta", "none"].map(q).join(" ")}`],
                    { encoding: "utf8" });
                const killed = inNs(`${torn}:`, "apply", "--port", "17", "--file", target, "--state-dir", state);
                assert.notEqual(killed.status, 0);
                assert.equal(fs.readFileSync(file, "utf8").length, 100, "the write was torn");
                return { original, file, state, target, inNs };
            };

            it("a torn in-place write restored by a run that then stops (a refused conflict) leaves no journal: no drift after it", () => {
                const { original, file, state, target, inNs } = tornFirstApply();
                // The Debian file has qotd on 17: with --conflicts fail the run stops after the restore.
                const next = inNs("", "apply", "--port", "17", "--conflicts", "fail", "--file", target, "--state-dir", state);
                assert.equal(next.status, 1, next.stderr);
                assert.match(next.stderr, /restoring .* after an interrupted write/);
                assert.equal(fs.readFileSync(file, "utf8"), original);
                const look = inNs("", "preview", "--port", "25", "--file", target, "--state-dir", state);
                assert.equal(look.status, 0, look.stderr);
                assert.equal(resultOf(look.stdout).drift, false, "no journal left for the next look to take for an interrupted run");
            });

            it("a torn in-place write (killed mid-write) is restored by the next run", () => {
                const { original, file, state, target, inNs } = tornFirstApply();
                const next = inNs("", "apply", "--port", "17", "--file", target, "--state-dir", state);
                assert.equal(next.status, 0, next.stderr);
                assert.match(next.stderr, /restoring .* after an interrupted write/);
                assert.equal(resolvedPort(file), 17);
                assert.equal(inNs("", "revert", "--file", target, "--state-dir", state).status, 0);
                assert.equal(fs.readFileSync(file, "utf8"), original);
            });
        });
    });
}

function q(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe("host script lint", () => {
    it("passes shellcheck", () => {
        const r = spawnSync("shellcheck", ["--shell=sh", SCRIPT], { encoding: "utf8" });
        assert.equal(r.error, undefined, "shellcheck must be installed");
        assert.equal(r.status, 0, r.stdout);
    });
    it("is POSIX sh: dash -n and busybox sh -n accept it", () => {
        for (const s of [["dash", "-n"], ["busybox", "sh", "-n"]] as const) {
            const r = spawnSync(s[0], [...s.slice(1), SCRIPT], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
        }
    });
});

export type { Shell };
