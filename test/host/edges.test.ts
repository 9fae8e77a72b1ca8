// Holes a mutation pass found in the host-script tests (issue 18): the edge
// ports, and fsync that nothing noticed when it was removed.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SHELLS, runScript, resolvedPort, resolvedName, shimDir, tempDir } from "../support/hostScript";

const DEBIAN = fs.readFileSync(path.join(__dirname, "..", "fixtures", "services.debian"), "utf8");
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

for (const shell of SHELLS) {
    describe(`host script edges under ${shell.name}`, function () {
        this.timeout(60_000);

        for (const port of [1, 65535]) {
            it(`applies the edge port ${port} (Debian's file; tcpmux holds 1) and reverts byte for byte`, () => {
                const dir = tempDir();
                const file = path.join(dir, "services");
                fs.writeFileSync(file, DEBIAN);
                const args = ["--file", file, "--state-dir", path.join(dir, "state")];
                const r = runScript(shell, ["apply", "--port", String(port), ...args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.port, port);
                assert.equal(r.json.resolver_port, port);
                assert.deepEqual(r.json.commented, port === 1 ? ["tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer", "smtp\t\t25/tcp\t\tmail"] : ["smtp\t\t25/tcp\t\tmail"]);
                assert.equal(resolvedPort(file), port, "getent services smtp/tcp");
                assert.equal(resolvedName(file, port), "smtp");
                assert.equal(runScript(shell, ["revert", ...args]).json.status, "reverted");
                assert.equal(fs.readFileSync(file, "utf8"), DEBIAN);
            });
        }

        describe("the data is on disk before it counts (a sync shim records each call)", () => {
            const shims = (log: string) => shimDir({
                sync: `[ "$#" -gt 0 ] || echo "sync" >> ${JSON.stringify(log)}\n` +
                    `for a in "$@"; do if [ -f "$a" ]; then printf 'sync %s %s\\n' "$a" "$(sha256sum < "$a" | cut -c1-64)"; else printf 'sync %s\\n' "$a"; fi; done >> ${JSON.stringify(log)}\n` +
                    'exec sync "$@"',
                mv: `printf 'mv %s\\n' "$*" >> ${JSON.stringify(log)}\nexec mv "$@"`,
            });

            it("renamed: the new copy is flushed with its final bytes before the rename, the folder after it", () => {
                const dir = tempDir();
                const file = path.join(dir, "services");
                fs.writeFileSync(file, "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const log = path.join(dir, "log");
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", path.join(dir, "state")], { pathPrefix: shims(log) });
                assert.equal(r.code, 0, r.stderr);
                const want = "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n";
                assert.equal(fs.readFileSync(file, "utf8"), want);
                const lines = fs.readFileSync(log, "utf8").split("\n");
                const tmp = path.join(dir, ".services.smtp-port.");
                const rename = lines.findIndex(l => l.startsWith(`mv -f ${tmp}`) && l.endsWith(` ${file}`));
                assert.ok(rename > 0, `a rename onto the file: ${lines.join("\n")}`);
                const flushed = lines.findIndex(l => l.startsWith(`sync ${tmp}`) && l.endsWith(` ${sha(want)}`));
                assert.ok(flushed >= 0 && flushed < rename, `the copy flushed, with the new bytes, before the rename:\n${lines.join("\n")}`);
                assert.ok(lines.slice(rename).includes(`sync ${dir}`), "the folder flushed after the rename");
                const ready = lines.findIndex(l => /^sync .*\/txn\/ready /.test(l));
                assert.ok(ready >= 0 && ready < rename, "the journal is on disk before the file changes");
            });

            it("in place (a hard link): the file is flushed after the rewrite, with its new bytes", () => {
                const dir = tempDir();
                const file = path.join(dir, "services");
                fs.writeFileSync(file, "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                fs.linkSync(file, path.join(dir, "services.link"));
                const log = path.join(dir, "log");
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", path.join(dir, "state")], { pathPrefix: shims(log) });
                assert.equal(r.code, 0, r.stderr);
                const lines = fs.readFileSync(log, "utf8").split("\n");
                assert.ok(!lines.some(l => l.startsWith("mv ") && l.endsWith(` ${file}`)), "no rename onto the file");
                assert.ok(lines.includes(`sync ${file} ${sha("#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n")}`),
                    `the file flushed after it was rewritten:\n${lines.join("\n")}`);
            });
        });
    });
}
