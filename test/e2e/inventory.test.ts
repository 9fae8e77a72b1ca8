// End to end through the real Pulumi CLI, on a lab of its own (lab 2): the
// hosts come from an Ansible inventory and their keys from a hashed
// known_hosts file, both generated from the lab's hosts.json the way a user
// would have them. The stack config holds only the port, the two paths, the
// private key (a secret) and one per-host setting.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { labById, Lab, LabHost, ROOT } from "../support/lab";
import { Stack } from "../support/pulumi";
import { E2eStack, DESTROY, STACK_RM, steady, greeting, addressOf, hostFiles, assertHostFilesUnchanged, HostFiles } from "../support/e2eStack";

const LAB_ID = 2;
const STACK = "e2e-inventory";
const HOSTS = ["mx1", "mx2"];
const lab2 = labById(LAB_ID);

/** The name ssh looks a host up by. */
const sshName = (h: LabHost) => (h.port === 22 ? h.address : `[${h.address}]:${h.port}`);

/** A known_hosts file of these hosts' keys, hashed with `ssh-keygen -H` (no name in clear left). */
function writeHashedKnownHosts(file: string, hosts: LabHost[], keyOf: (h: LabHost) => string = h => h.hostKey) {
    fs.writeFileSync(file, hosts.map(h => `${sshName(h)} ${keyOf(h)}\n`).join(""));
    const r = spawnSync("ssh-keygen", ["-H", "-f", file], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh-keygen -H ${file}: ${r.stderr}`);
    fs.rmSync(`${file}.old`, { force: true });
    const lines = fs.readFileSync(file, "utf8").split("\n").filter(l => l !== "" && !l.startsWith("#"));
    assert.equal(lines.length, hosts.length, `${file}: one line a host`);
    for (const l of lines) assert.match(l, /^\|1\|[^ ]+ ssh-ed25519 /, `${file}: hashed`);
    for (const h of hosts) assert.ok(!lines.join("\n").includes(h.address), `${file}: ${h.address} not in clear`);
}

describe("end to end: hosts from an Ansible inventory and a hashed known_hosts file (lab 2)", function () {
    this.timeout(900_000);
    let lab: Lab;
    let stack: Stack;
    let key: string;
    let dir: string;
    /** Paths as the stack config gives them: relative to the project folder. */
    let rel: (f: string) => string;
    let original: Record<string, HostFiles> = {};
    const e2e = new E2eStack(STACK, HOSTS, lab2);
    const { run, must, stateTypes, runs, refusedPreview } = e2e;
    const addr = (h: string) => addressOf(lab, h);
    const assertUntouched = (when: string) => assertHostFilesUnchanged(lab2, HOSTS, original, when);

    before(async function () {
        lab2.down();
        lab = lab2.up(HOSTS.length);
        original = hostFiles(lab2, HOSTS);
        key = fs.readFileSync(lab.keyPath, "utf8");

        // What an Ansible user already has: an INI inventory (the shape the
        // benchmark's playbook runs with) and a hashed known_hosts file.
        dir = path.join(lab2.dir, "ansible");
        fs.mkdirSync(dir, { recursive: true });
        rel = f => path.relative(ROOT, path.join(dir, f));
        fs.writeFileSync(path.join(dir, "hosts.ini"), [
            "# The lab as an Ansible inventory (from hosts.json).",
            "[mx]",
            ...lab.hosts.map(h => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`),
            "",
            "[mx:vars]",
            `ansible_user=${lab.hosts[0].user}`,
            `ansible_ssh_private_key_file=${lab.keyPath}`,
            "",
        ].join("\n"));
        writeHashedKnownHosts(path.join(dir, "known_hosts"), lab.hosts);
        writeHashedKnownHosts(path.join(dir, "known_hosts.without-mx2"), lab.hosts.filter(h => h.name !== "mx2"));
        // mx1's key given for mx2 too: a stale line.
        writeHashedKnownHosts(path.join(dir, "known_hosts.stale-mx2"), lab.hosts, h => (h.name === "mx2" ? lab.hosts[0].hostKey : h.hostKey));

        stack = e2e.open();
        await run(STACK_RM);
        fs.rmSync(e2e.configFile, { force: true });
        await must(["stack", "init"]);
        await must(["config", "set", "smtp-port:port", "17"]);
        await must(["config", "set", "smtp-port:inventory", rel("hosts.ini")]);
        await must(["config", "set", "smtp-port:knownHosts", rel("known_hosts.without-mx2")]);
        await must(["config", "set", "--secret", "smtp-port:privateKey"], { input: key });
        // The one per-host setting: mx2 on its own port.
        await must(["config", "set", "--path", "smtp-port:hosts[0].name", "mx2"]);
        await must(["config", "set", "--path", "smtp-port:hosts[0].port", "2526"]);
    });

    after(async function () {
        await e2e.close(DESTROY, STACK_RM);
        lab2.down();
    });

    it("0. the stack config holds only the port, the inventory, known_hosts, the secret key and one per-host setting", () => {
        const cfg = fs.readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), "utf8");
        const keys = [...cfg.matchAll(/^ {2}(smtp-port:[A-Za-z]+):/gm)].map(m => m[1]).sort();
        assert.deepEqual(keys, ["smtp-port:hosts", "smtp-port:inventory", "smtp-port:knownHosts", "smtp-port:port", "smtp-port:privateKey"]);
        assert.doesNotMatch(cfg, /198\.18\.|ssh-ed25519/, "no address and no host key in the stack config");
    });

    it("1. a host missing from known_hosts: preview and up fail naming it, nothing is registered, no host is touched", async () => {
        const kh = rel("known_hosts.without-mx2");
        const mx2 = addr("mx2");
        const line = `smtp-port:knownHosts: ${kh}: host "mx2": [hostKey] no key for ${mx2} in ${kh}: add it (\`ssh-keyscan ${mx2}\`, and check the fingerprint)`;
        // The inventory's warning (test 2) comes once the config is usable.
        const expected = refusedPreview([line]);
        for (const args of [["preview"], ["up", "--yes"]]) {
            const r = await run(args);
            assert.notEqual(r.code, 0, `${args[0]} fails`);
            assert.equal(steady(r.stdout), expected, args[0]);
            assert.equal(r.stderr, "");
            assert.doesNotMatch(r.stdout, /^\s+at /m, "no stack trace");
        }
        assert.deepEqual(await stateTypes(), [], "nothing registered");
        assertUntouched("missing key");
    });

    it("2. preview with every key pinned: both hosts from the inventory, mx2 on its own port, the unused Ansible setting a warning", async () => {
        await must(["config", "set", "smtp-port:knownHosts", rel("known_hosts")]);
        const r = await must(["preview", "--diff"]);
        for (const h of HOSTS) assert.match(r.stdout, new RegExp(`smtp-${h}-reconcile`), `${h} in preview`);
        assert.match(r.stdout, /create\s*:\s*"f=\.smtp-port\/smtp-port-[0-9a-f]{12}\.sh; if \[ -f \\?"\$f\\?" \]; then sh -s -- apply --port 17 --host-label mx1 /);
        assert.match(r.stdout, /create\s*:\s*"f=\.smtp-port\/smtp-port-[0-9a-f]{12}\.sh; if \[ -f \\?"\$f\\?" \]; then sh -s -- apply --port 2526 --host-label mx2 /);
        // The look at each host used the pinned key (a host it could not look at is a warning naming it).
        assert.doesNotMatch(r.stdout + r.stderr, /could not look at the host/);
        for (const h of HOSTS) assert.ok(r.stderr.includes(`${h}: /etc/services\n`), `${h}'s diff read from the host:\n${r.stderr}`);
        // With --diff the engine prints the program's messages on stderr.
        assert.ok((r.stdout + r.stderr).includes("warning: smtp-port:inventory: ansible_ssh_private_key_file is set for mx1, mx2 and not used: set the key as a secret: pulumi config set --secret smtp-port:privateKey < KEY (or smtp-port:hostSecrets)"), r.stdout + r.stderr);
        assertUntouched("preview");
    });

    it("3. a stale key in known_hosts is enforced: the look at mx2 is refused (host key verification), nothing changes", async () => {
        await must(["config", "set", "smtp-port:knownHosts", rel("known_hosts.stale-mx2")]);
        try {
            const r = await must(["preview"]);
            assert.match(r.stdout + r.stderr, new RegExp(`mx2: could not look at the host for this preview: host key verification failed for ${addr("mx2").replace(/\./g, "\\.")}: it presented ssh-ed25519 SHA256:\\S+, but connection\\.hostKey pins ssh-ed25519 SHA256:\\S+`));
            assert.doesNotMatch(r.stdout + r.stderr, /mx1: could not look/);
        } finally {
            await must(["config", "set", "smtp-port:knownHosts", rel("known_hosts")]);
        }
        assertUntouched("stale key");
    });

    it("4. up moves mx1 to 17 and mx2 to 2526: resolver, greeting on the new port, 25 closed", async () => {
        await must(["up", "--yes"]);
        const out = await stack.outputs();
        for (const [h, port] of [["mx1", 17], ["mx2", 2526]] as const) {
            assert.equal(lab2.getent(h, "smtp/tcp"), `smtp ${port}/tcp mail`, `${h} resolver`);
            assert.equal(lab2.getent(h, `${port}/tcp`), `smtp ${port}/tcp mail`);
            assert.match((await greeting(addr(h), port)) ?? "", new RegExp(`^220 ${h}\\.lab\\.test ESMTP`), `${h} greets on ${port}`);
            assert.equal(await greeting(addr(h), 25), "(connection refused)", `${h}: 25 closed`);
            assert.equal(out.hosts[h].port, port);
            assert.equal(out.hosts[h].oldPort, 25);
            assert.equal(out.hosts[h].changed, true);
            assert.match(out.hosts[h].banner, /^220 /);
        }
        assert.match(lab2.servicesOf("mx1"), /^#qotd\t\t17\/tcp\t\tquote$/m, "qotd commented on mx1");
        await must(["up", "--yes", "--expect-no-changes"]);
    });

    it("5. destroy gives every host its original bytes back, and Postfix greets on 25 again", async () => {
        await must(["destroy", "--yes"]);
        assertUntouched("destroy");
        for (const h of HOSTS) assert.match((await greeting(addr(h), 25)) ?? "", /^220 /, `${h} greets on 25 again`);
    });

    it("6. the private key never appears in any output or in the state", () => {
        const body = key.split("\n").filter(l => l && !l.startsWith("-----"))[1];
        assert.ok(body && body.length > 20);
        assert.ok(runs.length >= 10, `${runs.length} pulumi runs scanned`);
        for (const r of runs) assert.ok(!(r.stdout + r.stderr).includes(body), "key in pulumi output");
        const state = stack.stateText();
        assert.ok(state.length > 1000, "state scanned");
        assert.ok(!state.includes(body), "key in the state backend");
    });
});
