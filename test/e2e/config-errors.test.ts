// End to end through the real Pulumi CLI, on a lab of its own (lab 2): what a
// user sees when the stack config is wrong. Each case starts from a config
// that previews cleanly, makes one mistake the way a user would (`pulumi
// config set ...`), and asserts the exact text of `pulumi preview` and
// `pulumi up`, that nothing was registered, and that every host is
// byte-for-byte untouched.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { labById, Lab, ROOT } from "../support/lab";
import { PulumiRun } from "../support/pulumi";
import { E2eStack, STACK_RM, steady, hostFiles, assertHostFilesUnchanged, HostFiles } from "../support/e2eStack";

const LAB_ID = 2;
const STACK = "e2e-config";
const HOSTS = ["mx1", "mx2"];
const lab2 = labById(LAB_ID);

describe("end to end: what a user sees when the stack config is wrong (lab 2)", function () {
    this.timeout(900_000);
    let lab: Lab;
    let key: string;
    let original: Record<string, HostFiles> = {};
    const e2e = new E2eStack(STACK, HOSTS, lab2);
    const { run, must, stateTypes, refusedPreview } = e2e;

    /**
     * A new stack (an empty state: `up --skip-preview` leaves the SDK's root
     * resource behind) with the lab's config, which previews cleanly (the
     * control case proves it).
     */
    async function freshStack() {
        await run(STACK_RM);
        await e2e.init(17, key);
    }

    const assertUntouched = (when: string) => assertHostFilesUnchanged(lab2, HOSTS, original, when);

    function assertClean(r: PulumiRun, what: string) {
        const all = r.stdout + r.stderr;
        assert.notEqual(r.code, 0, `${what} fails`);
        assert.ok(!all.includes("\x1b"), `${what}: no colour codes with --color never and NO_COLOR:\n${JSON.stringify(all)}`);
        assert.doesNotMatch(all, /^\s+at /m, `${what}: no stack trace`);
        assert.doesNotMatch(all, /unhandled exception/, what);
        assert.ok(!all.includes("OPENSSH PRIVATE KEY") && !all.includes(key.trim().split("\n")[1]), `${what}: the key is never shown`);
    }

    /**
     * `pulumi preview` and `pulumi up` (with its preview, and with
     * --skip-preview: the update run itself) each print exactly these
     * problems, register nothing of smtp-port, and leave every host as it was.
     */
    async function assertRefused(problems: string[]) {
        const preview = await run(["preview"]);
        assertClean(preview, "preview");
        assert.equal(steady(preview.stdout), refusedPreview(problems));
        assert.equal(preview.stderr, "");

        const up = await run(["up", "--yes"]);
        assertClean(up, "up");
        assert.equal(steady(up.stdout), refusedPreview(problems));
        assert.equal(up.stderr, "");
        assert.deepEqual(await stateTypes(), [], "up: its preview failed, nothing registered");

        const direct = await run(["up", "--yes", "--skip-preview"]);
        assertClean(direct, "up --skip-preview");
        assert.equal(direct.stderr, "");
        const diagnostics = steady(direct.stdout).split("Diagnostics:\n")[1]?.split("\nResources:")[0];
        assert.equal(diagnostics, refusedPreview(problems).split("Diagnostics:\n")[1].split("\nResources:")[0]);
        // The SDK registers the stack's own root resource before the program
        // runs; nothing of smtp-port is registered.
        assert.deepEqual((await stateTypes()).filter(t => t !== "pulumi:pulumi:Stack"), [], "up --skip-preview: nothing of smtp-port registered");
        assertUntouched(problems[0]);
    }

    before(async function () {
        lab2.down();
        lab = lab2.up(HOSTS.length);
        original = hostFiles(lab2, HOSTS);
        key = fs.readFileSync(lab.keyPath, "utf8");
        e2e.open();
    });

    beforeEach(freshStack);

    after(async function () {
        await e2e.close(STACK_RM);
        lab2.down();
    });

    it("0. control: the lab's config previews cleanly (so each case below fails for its one mistake)", async () => {
        const r = await must(["preview"]);
        for (const h of HOSTS) assert.match(r.stdout, new RegExp(`smtp-${h}-reconcile`));
        assertUntouched("control");
    });

    it("1. a bad port: `config set smtp-port:port 70000`", async () => {
        await must(["config", "set", "smtp-port:port", "70000"]);
        await assertRefused(["smtp-port:port must be an integer from 1 to 65535, got 70000"]);
    });

    it("2. a host without a pinned key: `config rm --path 'smtp-port:hosts[1].hostKey'`", async () => {
        await must(["config", "rm", "--path", "smtp-port:hosts[1].hostKey"]);
        await assertRefused([
            "smtp-port:hosts[1].hostKey (mx2) is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key",
        ]);
    });

    it("3. a plain-text private key: `config set smtp-port:privateKey < key` (no --secret), never shown", async () => {
        await must(["config", "set", "smtp-port:privateKey"], { input: key });
        assert.match(fs.readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), "utf8"), /OPENSSH PRIVATE KEY/, "the mistake is made: the key is in the file in plain text");
        await assertRefused([
            `smtp-port:privateKey must be a secret, but it is in plain text in Pulumi.${STACK}.yaml: set it again with pulumi config set --secret smtp-port:privateKey < KEYFILE (and replace the credential if that file was shared)`,
        ]);
    });

    it("3b. a plain-text private key in a host entry: `config set --path 'smtp-port:hosts[1].privateKey' < key`, never shown", async () => {
        await must(["config", "set", "--path", "smtp-port:hosts[1].privateKey"], { input: key });
        await assertRefused([
            `smtp-port:hosts[1].privateKey (mx2) must not be in smtp-port:hosts, which is plain text: remove it, and set it as a secret with pulumi config set --secret --path 'smtp-port:hostSecrets.mx2.privateKey' < KEYFILE (and replace the credential if Pulumi.${STACK}.yaml was shared)`,
        ]);
    });

    it("4. a per-host field with the wrong type: `config set --path 'smtp-port:hosts[1].sshPort' twenty-two`", async () => {
        await must(["config", "set", "--path", "smtp-port:hosts[1].sshPort", "twenty-two"]);
        await assertRefused([`smtp-port:hosts[1].sshPort (mx2) must be an integer from 1 to 65535, got "twenty-two"`]);
    });

    it("5. an unknown key: `config set smtp-port:prot 17`", async () => {
        await must(["config", "set", "smtp-port:prot", "17"]);
        await assertRefused(["smtp-port:prot is not a setting of smtp-port: did you mean smtp-port:port?"]);
    });

    it("6. several mistakes at once: one line each", async () => {
        await must(["config", "set", "smtp-port:prot", "17"]);
        await must(["config", "set", "smtp-port:port", "0"]);
        await must(["config", "set", "--path", "smtp-port:hosts[0].sudo", "yes"]);
        await must(["config", "rm", "--path", "smtp-port:hosts[1].hostKey"]);
        await assertRefused([
            "smtp-port:prot is not a setting of smtp-port: did you mean smtp-port:port?",
            "smtp-port:port must be an integer from 1 to 65535, got 0",
            `smtp-port:hosts[0].sudo (mx1) must be true or false, got "yes"`,
            "smtp-port:hosts[1].hostKey (mx2) is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key",
        ]);
    });

    it("7. a top-level value of the wrong type is refused by Pulumi itself, from Pulumi.yaml's declaration, before the program runs", async () => {
        await must(["config", "set", "smtp-port:port", "abc"]);
        for (const args of [["preview"], ["up", "--yes"]]) {
            const r = await run(args);
            assertClean(r, args[0]);
            assert.equal(r.stdout, "");
            assert.equal(r.stderr, `error: validating stack config: Stack '${STACK}' with configuration key 'smtp-port:port' must be of type 'integer'\n`);
        }
        assert.deepEqual(await stateTypes(), []);
        assertUntouched("port abc");
    });

    it("8. `pulumi config` lists every declared key with its default", async () => {
        const r = await must(["config", "--json"]);
        const cfg = JSON.parse(r.stdout);
        assert.equal(cfg["smtp-port:servicesFile"].value, "/etc/services");
        assert.equal(cfg["smtp-port:mta"].value, "auto");
        assert.equal(cfg["smtp-port:inventory"].value, "");
        assert.equal(cfg["smtp-port:knownHosts"].value, "");
        assert.equal(cfg["smtp-port:privateKey"].secret, true);
    });
});
