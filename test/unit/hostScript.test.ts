import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { resolveHosts } from "../../components/args";
import { decodeHostResult } from "../../components/hostResult";
import { hostCommand, hostScript } from "../../components/hostScript";

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

    it("has a shell to run the fallback under", () => {
        assert.ok(SHELLS.some(([n]) => n === "dash"), `shells found: ${SHELLS.map(([n]) => n).join(", ")}`);
    });
});
