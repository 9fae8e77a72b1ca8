// The script's defaults are the component's (components/args.ts `defaults`):
// the component passes every option, but a host run by hand, or a field the
// component leaves out, must mean the same thing.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { defaults } from "../../components/args";
import { SHELLS, runScript, tempDir } from "../support/hostScript";

/** The defaults the script prints in its usage (from the variables it runs with). */
function scriptDefaults(shellIndex: number): Record<string, string> {
    const r = runScript(SHELLS[shellIndex], ["--help"], { asIs: true });
    assert.equal(r.code, 0, r.stderr);
    const text = r.stderr.slice(r.stderr.indexOf("defaults:"));
    const out: Record<string, string> = {};
    for (const m of text.matchAll(/--([a-z-]+) ("[^"]*"|\S+)/g)) out[m[1]] = m[2].replace(/^"|"$/g, "");
    return out;
}

for (const [i, shell] of SHELLS.entries()) {
    describe(`host script defaults under ${shell.name} equal components/args.ts`, () => {
        it("every default both have", () => {
            const d = scriptDefaults(i);
            assert.deepEqual({
                file: d["file"], service: d["service"], protocol: d["protocol"], aliases: d["aliases"], conflicts: d["conflicts"],
                stateDir: d["state-dir"], mta: d["mta"], verify: d["verify"], verifyTimeout: d["verify-timeout"],
                requireOldPortClosed: d["require-old-port-closed"],
            }, {
                file: defaults.servicesFile, service: defaults.service, protocol: defaults.protocol, aliases: defaults.aliases.join(" "),
                conflicts: defaults.conflicts, stateDir: defaults.stateDir, mta: defaults.mta, verify: defaults.verifyOnHost ? "yes" : "no",
                verifyTimeout: String(defaults.verifyTimeout), requireOldPortClosed: defaults.requireOldPortClosed ? "yes" : "no",
            });
        });

        it("the defaults the usage shows are the ones an apply uses", () => {
            const dir = tempDir();
            const file = path.join(dir, "services");
            fs.writeFileSync(file, "qotd 17/tcp quote\nsmtp 25/tcp mail mailer\n");
            // No --service, --protocol, --aliases, --conflicts: smtp/tcp, alias mail, conflicts commented.
            const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", path.join(dir, "state")]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.service, defaults.service);
            assert.equal(r.json.protocol, defaults.protocol);
            assert.equal(r.json.added, `${defaults.service}\t\t17/${defaults.protocol}\t\t${defaults.aliases.join(" ")}`);
            assert.deepEqual(r.json.commented, ["qotd 17/tcp quote", "smtp 25/tcp mail mailer"], "conflicts: comment");
            const st = runScript(shell, ["status"], { asIs: true });
            assert.equal(st.json.file, defaults.servicesFile, "status without --file reads the default file");
        });
    });
}
