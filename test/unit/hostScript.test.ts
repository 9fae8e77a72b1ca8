import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolveHosts } from "../../components/args";
import { decodeHostResult } from "../../components/hostResult";
import { copyCommand, hostCommand, hostScript, lookCommand, remoteScriptPath, SCRIPT_DEFAULTS, SEND_SCRIPT } from "../../components/hostScript";
import { HOST_KEY } from "../support/testConfig";


function host(over: Record<string, unknown> = {}) {
    return resolveHosts({ port: 17, hosts: [{ name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY }, ...over }] })[0];
}

/** The shells a remote login may run the command line with. */
const SHELLS: [string, string[]][] = [["dash", ["dash"]], ["bash", ["bash"]], ["busybox sh", ["busybox", "sh"]]]
    .filter(([, argv]) => spawnSync(argv[0], [...argv.slice(1), "-c", "true"]).status === 0) as [string, string[]][];

/** Run a command line as the SSH server would (`shell -c line`), the script (`sh -s`) read from `stdin`. */
function runLine(shell: string[], line: string, stdin: string) {
    return spawnSync(shell[0], [...shell.slice(1), "-c", line], { input: stdin, encoding: "utf8" });
}

/** Every file under `dir` with its bytes (what a run left there). */
function tree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) for (const [k, v] of Object.entries(tree(p))) out[path.join(e.name, k)] = v;
        else out[e.name] = fs.readFileSync(p, "latin1");
    }
    return out;
}

/**
 * Run a command line in a login's home (`home`), where the copy of the
 * script is `script` (undefined: not there), with `stdin` on the session.
 * `after`: every file of the home after the run.
 */
function runInHome(shell: string[], line: string, script: string | undefined, stdin = "") {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-home-"));
    try {
        if (script !== undefined) {
            fs.mkdirSync(path.join(home, ".smtp-port"));
            fs.writeFileSync(path.join(home, remoteScriptPath()), script, { mode: 0o644 });
        }
        const r = spawnSync(shell[0], [...shell.slice(1), "-c", line], { cwd: home, input: stdin, encoding: "utf8" });
        return { ...r, after: tree(home) };
    } finally {
        fs.rmSync(home, { recursive: true, force: true });
    }
}

describe("host script command lines", () => {
    const digest = hostScript().digest;

    it("passes only what differs from the script's defaults, the host label and the change token always", () => {
        assert.equal(hostCommand("apply", host(), { reportFailure: false, change: "3" }),
            `sh -s -- apply --port 17 --host-label mx1 --change 3 # smtp-port.sh ${digest}`);
        assert.equal(hostCommand("revert", host({ sudo: true }), { reportFailure: false }),
            `sudo -n sh -s -- revert --host-label mx1 # smtp-port.sh ${digest}`);
        assert.equal(hostCommand("revert", host(), { reportFailure: false, change: "3" }),
            `sh -s -- revert --host-label mx1 # smtp-port.sh ${digest}`, "a revert records no change token");
        assert.equal(hostCommand("preview", host(), { reportFailure: true, digest: false }),
            "sh -s -- preview --port 17 --host-label mx1 --report-failure yes",
            "a look reports a failed preview as a result; one that dies fails with its stderr");
    });

    it("passes every setting that is not the script's default, each as the script spells it", () => {
        const h = host({
            servicesFile: "/srv/etc/services", restartCommand: "rc-service postfix restart", stateDir: "/root/smtp-port-state", mta: "postfix",
            verifyAddress: "::1", requireOldPortClosed: false,
        });
        const other = resolveHosts({
            port: 2525, service: "submission", protocol: "udp", aliases: ["a", "b"], conflicts: "fail", verifyOnHost: false, verifyTimeout: 7,
            hosts: [{ name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY } }],
        })[0];
        assert.equal(hostCommand("preview", h, { reportFailure: true, digest: false }),
            "sh -s -- preview --port 17 --file /srv/etc/services --restart 'rc-service postfix restart' --state-dir /root/smtp-port-state --mta postfix " +
            "--verify-address ::1 --require-old-port-closed no --host-label mx1 --report-failure yes");
        assert.equal(hostCommand("apply", other, { reportFailure: false, digest: false }),
            "sh -s -- apply --port 2525 --service submission --protocol udp --aliases 'a b' --conflicts fail --verify no --verify-timeout 7 --host-label mx1");
        assert.equal(hostCommand("revert", h, { reportFailure: false, digest: false }),
            "sh -s -- revert --file /srv/etc/services --restart 'rc-service postfix restart' --state-dir /root/smtp-port-state --mta postfix --host-label mx1");
        // A value equal to a default by accident of spelling is still the default: a number and its string.
        assert.equal(SCRIPT_DEFAULTS["--verify-timeout"], "20");
        assert.doesNotMatch(hostCommand("apply", host(), { reportFailure: false }), /--verify-timeout/);
    });

    it("names the copy of the script by its digest, relative to the login's home", () => {
        assert.equal(remoteScriptPath(), `.smtp-port/smtp-port-${digest}.sh`);
        const line = hostCommand("revert", host({ sudo: true }), { reportFailure: false, scriptFile: remoteScriptPath() });
        assert.ok(line.startsWith(`f=.smtp-port/smtp-port-${digest}.sh; if [ -f "$f" ]; then sudo -n sh -s -- revert --host-label mx1 < "$f"; else `),
            `${line}: the login's shell opens the copy: sudo's root never reads the login's home`);
        assert.doesNotMatch(line, /# smtp-port\.sh/, "the digest is in the path already");
    });

    it("passes the address to verify on the host, `auto` (the MTA adapter finds it) by default", () => {
        assert.match(hostCommand("apply", host({ verifyAddress: "::1" }), { reportFailure: false }), / --port 17 --verify-address ::1 --host-label /);
        assert.match(hostCommand("preview", host({ verifyAddress: "203.0.113.7" }), { reportFailure: false }), / --verify-address 203\.0\.113\.7 /);
        assert.doesNotMatch(hostCommand("apply", host(), { reportFailure: false }), /--verify-address/, "auto is the script's default");
        assert.doesNotMatch(hostCommand("revert", host({ verifyAddress: "::1" }), { reportFailure: false }), /--verify-address/, "a revert verifies nothing");
    });

    for (const [name, shell] of SHELLS) {
        it(`under a failure budget, ends the output with a schema-1 FailedResult when the script dies before reporting (${name})`, () => {
            const file = `/etc/odd %s %% \\ \\n 'q' "d"\ttab services`;
            const h = host({ servicesFile: file });
            const line = hostCommand("apply", h, { reportFailure: true, digest: false });
            const r = runLine(shell, line, "echo half a line of progress >&2; exit 3\n");
            assert.equal(r.status, 0, `the step does not fail: ${r.stderr}`);
            assert.deepEqual(decodeHostResult("mx1", "apply", r.stdout), {
                schema: 1, action: "apply", status: "failed", host: "mx1", file, reason: "the host script exited with 3 before reporting", rolled_back: false,
            });
        });

        it(`adds nothing when the script reported, whatever it reported (${name})`, () => {
            const reported = JSON.stringify({ schema: 1, action: "apply", status: "failed", host: "mx1", file: "/etc/services", reason: "cannot write /etc/services", rolled_back: false });
            const r = runLine(shell, hostCommand("apply", host(), { reportFailure: true }), `printf '%s\\n' '${reported}'; exit 0\n`);
            assert.equal(r.stdout, `${reported}\n`);
        });
    }

    for (const [name, shell] of SHELLS) {
        it(`runs the copy of the script from the login's home, with its arguments (${name})`, () => {
            const line = hostCommand("apply", host({ servicesFile: "/etc/my services" }), { reportFailure: false, scriptFile: remoteScriptPath() });
            const r = runInHome(shell, line, `printf '%s|' "$@"; echo; echo on stderr >&2; exit 4\n`);
            assert.equal(r.status, 4, "the script's exit status is the step's");
            assert.equal(r.stdout, "apply|--port|17|--file|/etc/my services|--host-label|mx1|\n");
            assert.equal(r.stderr, "on stderr\n");
        });

        it(`fails with a clear error naming the host and what to do when the copy is missing (${name})`, () => {
            const line = hostCommand("revert", host(), { reportFailure: false, scriptFile: remoteScriptPath() });
            const r = runInHome(shell, line, undefined);
            assert.equal(r.status, 3);
            assert.equal(r.stdout, "");
            assert.equal(r.stderr, `smtp-port: mx1: ~/.smtp-port/smtp-port-${digest}.sh is not on the host; pulumi up copies it again\n`);
        });

        it(`under a failure budget, a missing copy is a failed host with that reason, not a failed step (${name})`, () => {
            const file = `/etc/odd %s %% \\ \\n 'q' "d"\ttab services`;
            const line = hostCommand("apply", host({ servicesFile: file }), { reportFailure: true, scriptFile: remoteScriptPath() });
            const r = runInHome(shell, line, undefined);
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(decodeHostResult("mx1", "apply", r.stdout), {
                schema: 1, action: "apply", status: "failed", host: "mx1", file, rolled_back: false,
                reason: `smtp-port: mx1: ~/.smtp-port/smtp-port-${digest}.sh is not on the host; pulumi up copies it again`,
            });
            assert.equal(r.stderr, `smtp-port: mx1: ~/.smtp-port/smtp-port-${digest}.sh is not on the host; pulumi up copies it again\n`);
        });

        it(`under a failure budget, a copy that dies before reporting still ends with a FailedResult (${name})`, () => {
            const r = runInHome(shell, hostCommand("apply", host(), { reportFailure: true, scriptFile: remoteScriptPath() }), "exit 5\n");
            assert.equal(r.status, 0);
            assert.equal((decodeHostResult("mx1", "apply", r.stdout) as { reason: string }).reason, "the host script exited with 5 before reporting");
        });
    }

    for (const [name, shell] of SHELLS) {
        const script = hostScript().text;
        // Per test: Stryker runs a describe body once, before any mutant is active.
        const look = () => lookCommand(host({ servicesFile: "/etc/my services", sudo: false }), remoteScriptPath());
        // A stand-in reads its arguments; the real script is used where its digest matters.
        const echo = `printf 'preview:%s|' "$@"; echo\n`;

        it(`the look runs the host's copy when it is this version, and asks for nothing on stdin (${name})`, () => {
            const r = runInHome(shell, look(), script, echo);
            assert.equal(r.status, 0, r.stderr);
            // The real script ran (it reports the missing services file), not the stdin.
            assert.doesNotMatch(r.stdout, new RegExp(SEND_SCRIPT));
            assert.equal(decodeHostResult("mx1", "preview", r.stdout).status, "failed");
            assert.match((decodeHostResult("mx1", "preview", r.stdout) as { reason: string }).reason, /\/etc\/my services does not exist/);
            assert.deepEqual(Object.keys(r.after), [remoteScriptPath()], "a look writes nothing");
        });

        it(`the look asks for the script on stdin when the host has no copy, or another version (${name})`, () => {
            for (const copy of [undefined, `${script}\n# edited\n`, script.slice(0, 1000)]) {
                const r = runInHome(shell, look(), copy, echo);
                assert.equal(r.status, 0, r.stderr);
                assert.equal(r.stdout, `${SEND_SCRIPT}\npreview:preview|preview:--port|preview:17|preview:--file|preview:/etc/my services|preview:--host-label|preview:mx1|preview:--report-failure|preview:yes|\n`);
                assert.deepEqual(r.after, copy === undefined ? {} : { [remoteScriptPath()]: copy }, "a look writes nothing, not even a missing copy");
            }
        });
    }

    for (const [name, shell] of SHELLS) {
        const script = hostScript().text;
        const copy = () => copyCommand(remoteScriptPath()); // per test, as look above

        it(`the copy asks for the script and writes it, private, when the host has no copy or another version (${name})`, () => {
            for (const before of [undefined, `${script}\n# edited\n`, script.slice(0, 1000)]) {
                const r = runInHome(shell, copy(), before, script);
                assert.equal(r.status, 0, r.stderr);
                assert.equal(r.stdout, `${SEND_SCRIPT}\n`);
                assert.equal(r.stderr, "");
                assert.deepEqual(Object.keys(r.after), [remoteScriptPath()], "no temporary file left");
                assert.ok(r.after[remoteScriptPath()] === script, "the copy is the script, byte for byte");
            }
            const home = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-home-"));
            try {
                spawnSync(shell[0], [...shell.slice(1), "-c", copy()], { cwd: home, input: script });
                assert.equal(fs.statSync(path.join(home, ".smtp-port")).mode & 0o777, 0o700);
                assert.equal(fs.statSync(path.join(home, remoteScriptPath())).mode & 0o777, 0o600);
            } finally {
                fs.rmSync(home, { recursive: true, force: true });
            }
        });

        it(`the copy does nothing, and reads nothing, when the host has this version (${name})`, () => {
            const r = runInHome(shell, copy(), script, "not the script");
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, "");
            assert.deepEqual(r.after, { [remoteScriptPath()]: script });
        });

        it(`a copy cut short or altered on the way is not kept, and the old copy stays (${name})`, () => {
            const old = `${script}\n# an older version\n`;
            for (const sent of ["", script.slice(0, script.length - 1), `${script.slice(0, -2)}X\n`]) {
                const r = runInHome(shell, copy(), old, sent);
                assert.equal(r.status, 1);
                assert.equal(r.stdout, `${SEND_SCRIPT}\n`);
                assert.equal(r.stderr, `the copy of the host script to ~/${remoteScriptPath()} did not arrive whole\n`);
                assert.deepEqual(r.after, { [remoteScriptPath()]: old }, "nothing half-written, no temporary file");
            }
        });
    }

    it("the look runs the copy under sudo as the reconcile does: the login's shell opens it", () => {
        const look = lookCommand(host({ sudo: true }), remoteScriptPath());
        assert.equal(look, `f=${remoteScriptPath()}; if [ -f "$f" ] && [ "$(sha256sum < "$f" 2>/dev/null | cut -c1-12)" = ${digest} ]; ` +
            `then sudo -n sh -s -- preview --port 17 --host-label mx1 --report-failure yes < "$f"; else echo '${SEND_SCRIPT}'; sudo -n sh -s -- preview --port 17 --host-label mx1 --report-failure yes; fi`);
    });

    it("has a shell to run the fallback under", () => {
        assert.ok(SHELLS.some(([n]) => n === "dash"), `shells found: ${SHELLS.map(([n]) => n).join(", ")}`);
    });
});
