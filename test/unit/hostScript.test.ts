import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolveHosts } from "../../components/args";
import { decodeHostResult } from "../../components/hostResult";
import { hostCommand, hostScript, remoteScriptPath } from "../../components/hostScript";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxh0oP0cn6JpoFvD7PBbsYybx9fS0XbO7wW+9yYSbMN";

function host(over: Record<string, unknown> = {}) {
    return resolveHosts({ port: 17, hosts: [{ name: "mx1", connection: { host: "198.18.0.11", hostKey: KEY }, ...over }] })[0];
}

/** The shells a remote login may run the command line with. */
const SHELLS: [string, string[]][] = [["dash", ["dash"]], ["bash", ["bash"]], ["busybox sh", ["busybox", "sh"]]]
    .filter(([, argv]) => spawnSync(argv[0], [...argv.slice(1), "-c", "true"]).status === 0) as [string, string[]][];

/** Run a command line as the SSH server would (`shell -c line`), the script (`sh -s`) read from `stdin`. */
function runLine(shell: string[], line: string, stdin: string) {
    return spawnSync(shell[0], [...shell.slice(1), "-c", line], { input: stdin, encoding: "utf8" });
}

/** Run a command line in a login's home (`home`), where the copy of the script is `script` (undefined: not there). */
function runInHome(shell: string[], line: string, script: string | undefined) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-home-"));
    try {
        if (script !== undefined) {
            fs.mkdirSync(path.join(home, ".smtp-port"));
            fs.writeFileSync(path.join(home, remoteScriptPath()), script, { mode: 0o644 });
        }
        return spawnSync(shell[0], [...shell.slice(1), "-c", line], { cwd: home, input: "", encoding: "utf8" });
    } finally {
        fs.rmSync(home, { recursive: true, force: true });
    }
}

describe("host script command lines", () => {
    const digest = hostScript().digest;

    it("passes every setting, so the script's defaults decide nothing", () => {
        assert.equal(hostCommand("apply", host(), { reportFailure: false, change: "3" }),
            "sh -s -- apply --port 17 --file /etc/services --service smtp --protocol tcp --aliases mail --conflicts comment --restart '' " +
            "--state-dir /var/lib/smtp-port --mta auto --verify yes --verify-timeout 20 --verify-address auto --require-old-port-closed yes --host-label mx1 " +
            `--report-failure no --change 3 # smtp-port.sh ${digest}`);
        assert.equal(hostCommand("revert", host({ sudo: true }), { reportFailure: false }),
            `sudo -n sh -s -- revert --file /etc/services --restart '' --state-dir /var/lib/smtp-port --mta auto --host-label mx1 --report-failure no # smtp-port.sh ${digest}`);
        assert.equal(hostCommand("preview", host(), { reportFailure: true, digest: false }),
            "sh -s -- preview --port 17 --file /etc/services --service smtp --protocol tcp --aliases mail --conflicts comment --restart '' " +
            "--state-dir /var/lib/smtp-port --mta auto --verify yes --verify-timeout 20 --verify-address auto --require-old-port-closed yes --host-label mx1 --report-failure yes",
            "a look reports a failed preview as a result; one that dies fails with its stderr");
    });

    it("names the copy of the script by its digest, relative to the login's home", () => {
        assert.equal(remoteScriptPath(), `.smtp-port/smtp-port-${digest}.sh`);
        const line = hostCommand("revert", host({ sudo: true }), { reportFailure: false, scriptFile: remoteScriptPath() });
        assert.ok(line.startsWith(`if [ -f .smtp-port/smtp-port-${digest}.sh ]; then sudo -n sh -s -- revert --file /etc/services `), line);
        assert.ok(line.includes(` --report-failure no < .smtp-port/smtp-port-${digest}.sh; else `), "the login's shell opens the copy: sudo's root never reads the login's home");
        assert.doesNotMatch(line, /# smtp-port\.sh/, "the digest is in the path already");
    });

    it("passes the address to verify on the host, `auto` (the MTA adapter finds it) by default", () => {
        assert.match(hostCommand("apply", host({ verifyAddress: "::1" }), { reportFailure: false }), / --verify-timeout 20 --verify-address ::1 --require-old-port-closed /);
        assert.match(hostCommand("preview", host({ verifyAddress: "203.0.113.7" }), { reportFailure: false }), / --verify-address 203\.0\.113\.7 /);
        assert.match(hostCommand("apply", host(), { reportFailure: false }), / --verify-address auto /);
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
            assert.match(r.stdout, /^apply\|--port\|17\|--file\|\/etc\/my services\|--service\|smtp\|/);
            assert.equal(r.stderr, "on stderr\n");
        });

        it(`fails with a clear error naming the host and what to do when the copy is missing (${name})`, () => {
            const line = hostCommand("revert", host(), { reportFailure: false, scriptFile: remoteScriptPath(), recopy: "pulumi up --replace 'urn:pulumi:s::p::t$x::mx1-script'" });
            const r = runInHome(shell, line, undefined);
            assert.equal(r.status, 3);
            assert.equal(r.stdout, "");
            assert.equal(r.stderr, `smtp-port: mx1: ~/.smtp-port/smtp-port-${digest}.sh is missing on the host (removed after smtp-port copied it); ` +
                "copy it again with: pulumi up --replace 'urn:pulumi:s::p::t$x::mx1-script'\n");
        });

        it(`under a failure budget, a missing copy is a failed host with that reason, not a failed step (${name})`, () => {
            const file = `/etc/odd %s %% \\ \\n 'q' "d"\ttab services`;
            const line = hostCommand("apply", host({ servicesFile: file }), { reportFailure: true, scriptFile: remoteScriptPath(), recopy: "pulumi up --replace 'urn:%s\\n'" });
            const r = runInHome(shell, line, undefined);
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(decodeHostResult("mx1", "apply", r.stdout), {
                schema: 1, action: "apply", status: "failed", host: "mx1", file, rolled_back: false,
                reason: `smtp-port: mx1: ~/.smtp-port/smtp-port-${digest}.sh is missing on the host (removed after smtp-port copied it); ` +
                    "copy it again with: pulumi up --replace 'urn:%s\\n'",
            });
            assert.match(r.stderr, /is missing on the host/);
        });

        it(`under a failure budget, a copy that dies before reporting still ends with a FailedResult (${name})`, () => {
            const r = runInHome(shell, hostCommand("apply", host(), { reportFailure: true, scriptFile: remoteScriptPath() }), "exit 5\n");
            assert.equal(r.status, 0);
            assert.equal((decodeHostResult("mx1", "apply", r.stdout) as { reason: string }).reason, "the host script exited with 5 before reporting");
        });
    }

    it("has a shell to run the fallback under", () => {
        assert.ok(SHELLS.some(([n]) => n === "dash"), `shells found: ${SHELLS.map(([n]) => n).join(", ")}`);
    });
});
