// The script's defaults are the component's (components/args.ts `defaults`):
// the component passes every option, but a host run by hand, or a field the
// component leaves out, must mean the same thing.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { defaults } from "../../components/args";
import { SCRIPT_DEFAULTS } from "../../components/hostScript";
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

        it("every flag the component leaves out (components/hostScript.ts SCRIPT_DEFAULTS) has that default in the script", () => {
            const d = scriptDefaults(i);
            const shown = Object.fromEntries(Object.keys(SCRIPT_DEFAULTS).map(flag => [flag, d[flag.slice(2)]]));
            assert.deepEqual(shown, SCRIPT_DEFAULTS);
        });

        it("an apply and a revert with those flags left out do exactly what they do with them given", () => {
            const given = Object.entries(SCRIPT_DEFAULTS).filter(([f]) => !["--file", "--state-dir", "--mta", "--restart"].includes(f)).flat();
            const runs = [[], given].map(extra => {
                const dir = tempDir();
                const file = path.join(dir, "services");
                fs.writeFileSync(file, "qotd 17/tcp quote\nsmtp 25/tcp mail mailer\n");
                const at = ["--file", file, "--state-dir", path.join(dir, "state"), "--mta", "none", "--host-label", "mx1"];
                const apply = runScript(shell, ["apply", "--port", "17", ...at, ...extra]);
                const after = fs.readFileSync(file, "utf8");
                const revert = runScript(shell, ["revert", ...at, ...extra]);
                const out = (j: any) => j && { ...j, file: undefined, backup: j.backup && j.backup.split(dir).join("DIR").replace(/[^/]*_services/, "KEY") };
                return { apply: [apply.code, out(apply.json)], after, revert: [revert.code, out(revert.json)], back: fs.readFileSync(file, "utf8") };
            });
            assert.equal(runs[0].apply[0], 0);
            assert.deepEqual(runs[1], runs[0]);
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
