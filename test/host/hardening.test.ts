// What an outside audit of the host script found (issue 13), one describe per
// point, each under dash, bash and busybox where the shell matters.
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SHELLS, Shell, runScript, resolvedPort, tempDir, SCRIPT, resultOf, shimDir } from "../support/hostScript";

const FIX = path.join(__dirname, "..", "fixtures");
const NOBODY = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

function q(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

function setup(text: string) {
    const dir = tempDir();
    const file = path.join(dir, "services");
    fs.writeFileSync(file, text);
    return { dir, file, state: path.join(dir, "state") };
}

/** The state folder's name for a plain path (letters, digits, "-", "." and "/"). */
const key = (file: string) => file.slice(1).replace(/\//g, "_");

/** A folder with `name` linked to `target`, for PATH. */
function linkDir(links: Record<string, string>): string {
    const d = tempDir();
    fs.chmodSync(d, 0o755);
    for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(d, name));
    return d;
}

const AWKS: [string, string][] = [["mawk", "/usr/bin/mawk"], ["gawk", "/usr/bin/gawk"], ["busybox awk", "/bin/busybox"]];

for (const shell of SHELLS) {
    describe(`issue 13 hardening under ${shell.name}`, function () {
        this.timeout(120_000);

        describe("1: every string of every result line is valid JSON, under mawk, gawk and busybox awk", () => {
            for (const [awkName, awkPath] of AWKS) {
                it(`${awkName}: backslash, quote, ESC, \\x01, DEL in commented lines and the path round-trip`, () => {
                    const dir = tempDir();
                    const odd = path.join(dir, "back\\slash \x01ctl \x1b[0m \"q\" \x7f");
                    fs.mkdirSync(odd);
                    const file = path.join(odd, "services");
                    const smtpLine = "smtp 25/tcp mail # back\\slash \"quoted\" \x1b[31mred\x01\x7f";
                    const qotdLine = "qotd 17/tcp quote # a \\ and a \\\\ and \\n";
                    const text = `${qotdLine}\n${smtpLine}\nq"x\\y 18/tcp\n`;
                    fs.writeFileSync(file, text);
                    const state = path.join(odd, "state");
                    const p = linkDir({ awk: awkPath });
                    const run = (...args: string[]) => {
                        const r = runScript(shell, [...args, "--file", file, "--state-dir", state], { pathPrefix: p });
                        assert.ok(r.json, `one JSON line; stdout ${JSON.stringify(r.stdout)}; stderr ${r.stderr}`);
                        assert.equal(r.json.file, file);
                        return r;
                    };
                    const pv = run("preview", "--port", "17");
                    assert.deepEqual(pv.json.diff, [`-${qotdLine}`, `+#${qotdLine}`, `-${smtpLine}`, `+#${smtpLine}`, `+${smtpLine.replace("25/tcp", "17/tcp")}`]);
                    const a = run("apply", "--port", "17");
                    assert.equal(a.code, 0, a.stderr);
                    assert.deepEqual(a.json.commented, [qotdLine, smtpLine]);
                    assert.equal(a.json.added, smtpLine.replace("25/tcp", "17/tcp"));
                    assert.equal(a.json.backup, path.join(state, fs.readdirSync(state, { withFileTypes: true }).find(e => e.isDirectory())!.name, "orig"));
                    assert.equal(run("status", "--port", "18").json.port_name, "q\"x\\y");
                    const labelled = run("apply", "--port", "17", "--host-label", "mx\\1\x01");
                    assert.equal(labelled.json.host, "mx\\1\x01");
                    assert.equal(run("revert").json.status, "reverted");
                    assert.equal(fs.readFileSync(file, "utf8"), text);
                });
            }
        });

        describe("2: the state folder is private, and nothing in it is trusted blindly", () => {
            it("creates it 0700, owned by the running user (an unprivileged one), its files 0600", () => {
                const { dir, file } = setup("smtp 25/tcp mail\n");
                fs.chownSync(dir, 65534, 65534);
                fs.chownSync(file, 65534, 65534);
                const state = path.join(dir, "state", "deeper");
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { prefix: NOBODY });
                assert.equal(r.code, 0, r.stderr);
                for (const d of [path.join(dir, "state"), state, path.join(state, key(file))]) {
                    const st = fs.statSync(d);
                    assert.equal(st.mode & 0o777, 0o700, d);
                    assert.equal(st.uid, 65534, d);
                }
                const orig = fs.statSync(path.join(state, key(file), "orig"));
                assert.equal(orig.mode & 0o777, 0o600);
                assert.equal(fs.statSync(file).mode & 0o777, 0o644, "the services file keeps its own mode");
            });

            it("a state folder the running user owns but cannot write is refused at once, naming it, the file untouched", () => {
                const { dir, file } = setup("smtp 25/tcp mail\n");
                const state = path.join(dir, "state");
                fs.mkdirSync(state, { mode: 0o500 });
                for (const p of [dir, file, state]) fs.chownSync(p, 65534, 65534);
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state, "--mta", "none"], { prefix: NOBODY });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `smtp-port: error: cannot write state directory ${state}: permission denied (run as root or enable sudo for this host)\n`);
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            /** TEXT applied (port 17) by an unprivileged user, then the state file NAME made unreadable to it: its content, and what to run with. */
            const appliedThenHidden = (text: string, name: string) => {
                const { dir, file } = setup(text);
                fs.chownSync(dir, 65534, 65534);
                fs.chownSync(file, 65534, 65534);
                const args = ["--file", file, "--state-dir", path.join(dir, "state")];
                assert.equal(runScript(shell, ["apply", "--port", "17", ...args, "--mta", "none"], { prefix: NOBODY }).code, 0);
                const mine = path.join(dir, "state", key(file));
                const sum = fs.readFileSync(path.join(mine, name), "utf8").trim();
                fs.chmodSync(path.join(mine, name), 0);
                return { file, mine, args, sum };
            };

            it("a record of what it wrote that it cannot read is drift, whatever variables the environment exports", () => {
                const { args, sum } = appliedThenHidden("smtp 25/tcp mail\n", "written");
                // w is the name the script reads the record into: an exported
                // w holding the right sum must not stand in for the record.
                const r = runScript(shell, ["status", "--port", "17", ...args], { prefix: NOBODY, env: { w: sum } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.drift, true);
            });

            it("a checksum of the backup that it cannot read is refused as a wrong one, whatever variables the environment exports", () => {
                const { file, mine, args, sum } = appliedThenHidden("qotd 17/tcp quote\nsmtp 25/tcp mail\n", "orig.sum");
                // want is the name the script reads the checksum into.
                const r = runScript(shell, ["preview", "--port", "17", ...args, "--mta", "none"], { prefix: NOBODY, env: { want: sum } });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `smtp-port: error: the backup of ${file} (${path.join(mine, "orig")}) does not match the checksum smtp-port stored with it (emptied or edited since); refusing to use it: put ${file} back by hand, then remove ${mine}\n`);
            });

            it("a preview by an unprivileged user works in its own temporary folder only", () => {
                const { dir, file } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                fs.chmodSync(dir, 0o755);
                const tmp = path.join(dir, "tmp");
                fs.mkdirSync(tmp);
                fs.chownSync(tmp, 65534, 65534);
                const r = runScript(shell, ["preview", "--port", "17", "--file", file, "--state-dir", path.join(dir, "state"), "--mta", "none"], { prefix: NOBODY, env: { TMPDIR: tmp } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.status, "would_change");
                assert.deepEqual(fs.readdirSync(tmp), [], "its temporary folder is removed");
                assert.ok(!fs.existsSync(path.join(dir, "state")), "no state folder");
            });

            it("revert by a user who can no longer write the file is refused at once, naming it, before any work", () => {
                const { dir, file } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                fs.chownSync(dir, 65534, 65534);
                fs.chownSync(file, 65534, 65534);
                const args = ["--file", file, "--state-dir", path.join(dir, "state"), "--mta", "none"];
                assert.equal(runScript(shell, ["apply", "--port", "17", ...args], { prefix: NOBODY }).code, 0);
                const moved = fs.readFileSync(file, "utf8");
                fs.chownSync(file, 0, 0);
                fs.chownSync(dir, 0, 0);
                fs.chmodSync(dir, 0o755);
                const r = runScript(shell, ["revert", ...args], { prefix: NOBODY });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `smtp-port: error: cannot write ${file}: permission denied (run as root or enable sudo for this host)\n`);
                assert.equal(fs.readFileSync(file, "utf8"), moved);
            });

            it("refuses a state folder path that is a file, naming it; the file untouched", () => {
                const { dir, file } = setup("smtp 25/tcp mail\n");
                const notDir = path.join(dir, "state");
                fs.writeFileSync(notDir, "");
                fs.chmodSync(notDir, 0o600);
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", notDir]);
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `smtp-port: error: state directory ${notDir} is not a directory; smtp-port keeps root's backups there, so it must be owned by root (or the running user) and writable by nobody else (chmod 700, or choose another --state-dir)\n`);
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            it("refuses a state folder whose owner and mode cannot be read (ls shows nothing for it), naming it; the file untouched", () => {
                const { dir, file } = setup("smtp 25/tcp mail\n");
                const state = path.join(dir, "state");
                fs.mkdirSync(state, { mode: 0o700 });
                // As a security module denying the stat would: ls prints nothing.
                const blind = shimDir({ ls: `for a; do [ "$a" != ${q(state)} ] || { echo "ls: cannot access '$a': Permission denied" >&2; exit 2; }; done\nexec ls "$@"` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: blind });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `smtp-port: error: state directory ${state} cannot be read; smtp-port keeps root's backups there, so it must be owned by root (or the running user) and writable by nobody else (chmod 700, or choose another --state-dir)\n`);
                assert.equal(r.json.status, "failed");
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            it("refuses /tmp itself (world-writable), and a new folder directly under it", () => {
                for (const state of ["/tmp", `/tmp/smtp-port-never-${process.pid}`]) {
                    const { file } = setup("smtp 25/tcp mail\n");
                    const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                    assert.equal(r.code, 1);
                    assert.equal(r.stderr, "smtp-port: error: state directory /tmp is writable by group or others; smtp-port keeps root's backups there, so it must be owned by root (or the running user) and writable by nobody else (chmod 700, or choose another --state-dir)\n");
                    assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
                    assert.ok(!fs.existsSync(`/tmp/smtp-port-never-${process.pid}`));
                }
            });

            it("refuses a state folder another user made (with a planted link to a root-only file), on apply, revert, preview and status", () => {
                const { dir, file, state } = setup("smtp 25/tcp mail\n");
                fs.chmodSync(dir, 0o755);
                fs.mkdirSync(state, { mode: 0o700 });
                const mine = path.join(state, key(file));
                fs.mkdirSync(mine);
                const secret = path.join(dir, "root-only");
                fs.writeFileSync(secret, "root:secret-hash:19000:0:99999:7:::\n", { mode: 0o600 });
                fs.symlinkSync(secret, path.join(mine, "orig"));
                fs.writeFileSync(path.join(mine, "written"), "sha256sum:x\n");
                fs.writeFileSync(path.join(mine, "edits"), "I\tsmtp 17/tcp mail\n");
                spawnSync("chown", ["-R", "65534:65534", state]);
                for (const action of [["apply", "--port", "17"], ["revert"], ["preview", "--port", "17"], ["status"]]) {
                    const r = runScript(shell, [...action, "--file", file, "--state-dir", state]);
                    assert.equal(r.code, 1, action[0]);
                    assert.equal(r.stderr, `smtp-port: error: state directory ${state} is owned by uid 65534, not by root or the running user (uid 0); smtp-port keeps root's backups there, so it must be owned by root (or the running user) and writable by nobody else (chmod 700, or choose another --state-dir)\n`);
                    assert.ok(!r.stdout.includes("secret-hash"), "nothing of the linked file shows");
                    assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
                }
            });

            it("a user other than root may keep its state in its own folder inside root's (its own file, run as nobody): apply and revert", () => {
                const dir = tempDir();
                fs.chmodSync(dir, 0o755);
                const own = path.join(dir, "own");
                fs.mkdirSync(own);
                const file = path.join(own, "services");
                fs.writeFileSync(file, "smtp 25/tcp mail\n");
                const state = path.join(dir, "state");
                fs.mkdirSync(state, { mode: 0o700 });
                spawnSync("chown", ["-R", "65534:65534", own, state]);
                const asNobody = { prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] };
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], asNobody);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(fs.readFileSync(file, "utf8"), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state], asNobody).code, 0);
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            it("refuses another user's state folder even when it holds nothing for this file: status and revert do not answer 'unchanged' from it", () => {
                // Nothing there for this file could mean it was removed by
                // whoever owns the folder: no answer is read from it.
                const { dir, file, state } = setup("smtp 25/tcp mail\n");
                fs.chmodSync(dir, 0o755);
                fs.mkdirSync(state, { mode: 0o700 });
                spawnSync("chown", ["65534:65534", state]);
                for (const action of [["revert"], ["status"], ["preview", "--port", "17"], ["apply", "--port", "17"]]) {
                    const r = runScript(shell, [...action, "--file", file, "--state-dir", state]);
                    assert.equal(r.code, 1, action[0]);
                    assert.equal(r.stderr, `smtp-port: error: state directory ${state} is owned by uid 65534, not by root or the running user (uid 0); smtp-port keeps root's backups there, so it must be owned by root (or the running user) and writable by nobody else (chmod 700, or choose another --state-dir)\n`, action[0]);
                    assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
                }
            });

            it("refuses a group- or world-writable state folder, and one inside a world-writable (not sticky) folder", () => {
                const { dir, file } = setup("smtp 25/tcp mail\n");
                const open = path.join(dir, "open");
                fs.mkdirSync(open);
                fs.chmodSync(open, 0o770);
                let r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", open]);
                assert.equal(r.code, 1);
                assert.match(r.stderr, new RegExp(`^smtp-port: error: state directory ${open} is writable by group or others; `));
                fs.chmodSync(open, 0o777);
                const inside = path.join(open, "state");
                fs.mkdirSync(inside, { mode: 0o700 });
                r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", inside]);
                assert.equal(r.code, 1);
                assert.match(r.stderr, new RegExp(`^smtp-port: error: state directory ${open} is writable by group or others; `));
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });

            it("never follows a symbolic link in its own (root-owned) state: refuses it, on apply, revert, preview and status", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                const orig = path.join(state, key(file), "orig");
                fs.rmSync(orig);
                fs.symlinkSync("/etc/hostname", orig);
                const moved = fs.readFileSync(file, "utf8");
                for (const action of [["apply", "--port", "2525"], ["revert"], ["preview", "--port", "2525"], ["status"]]) {
                    const r = runScript(shell, [...action, "--file", file, "--state-dir", state]);
                    assert.equal(r.code, 1, action[0]);
                    assert.equal(r.stderr, `smtp-port: error: ${orig} is a symbolic link; smtp-port never follows links in its state: remove it\n`);
                    assert.equal(fs.readFileSync(file, "utf8"), moved);
                }
            });
        });

        describe("3: a symlinked, hard-linked or attributed services file keeps what it is", () => {
            it("a symbolic link: its target is edited and restored, the link stays a link", () => {
                const { dir, state } = setup("");
                fs.mkdirSync(path.join(dir, "real"));
                const target = path.join(dir, "real", "services");
                fs.writeFileSync(target, "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const link = path.join(dir, "services-link");
                fs.symlinkSync("real/services", link);
                const r = runScript(shell, ["apply", "--port", "17", "--file", link, "--state-dir", state]);
                assert.equal(r.code, 0, r.stderr);
                assert.ok(fs.lstatSync(link).isSymbolicLink(), "still a link");
                assert.equal(fs.readFileSync(target, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.equal(runScript(shell, ["revert", "--file", link, "--state-dir", state]).json.status, "reverted");
                assert.ok(fs.lstatSync(link).isSymbolicLink(), "still a link after revert");
                assert.equal(fs.readFileSync(target, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                fs.rmSync(target);
                const dangling = runScript(shell, ["apply", "--port", "17", "--file", link, "--state-dir", state]);
                assert.equal(dangling.stderr, `smtp-port: error: ${link} is a symbolic link to real/services, which does not exist\n`);
            });

            it("attributes a copy cannot carry (getfattr shows one on the file, none on the copy): rewritten in place, saying why", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // As a security.* attribute only root may set would behave: on the file, lost on the copy.
                const attrs = shimDir({ getfattr: `for last in "$@"; do :; done\ncase "$last" in *.smtp-port.[0-9]*) exit 0 ;; esac\nprintf '# file: %s\\nsecurity.test=0x31\\n\\n' "$last"` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: attrs });
                assert.equal(r.code, 0, r.stderr);
                assert.ok(r.stderr.includes(`smtp-port: rewriting ${file} in place: a copy cannot keep its extended attributes\n`), r.stderr);
                assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.deepEqual(fs.readdirSync(path.dirname(file)).filter(f => f.includes(".smtp-port.")), [], "no copy left beside it");
            });

            it("a hard link: both names keep one file (rewritten in place)", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const other = path.join(dir, "services.hardlink");
                fs.linkSync(file, other);
                const ino = fs.statSync(file).ino;
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /rewriting .* in place: it has 2 hard links/);
                assert.equal(fs.statSync(file).ino, ino);
                assert.equal(fs.readFileSync(other, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).code, 0);
                assert.equal(fs.readFileSync(other, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(fs.statSync(file).nlink, 2);
            });

            // busybox has no getfattr applet: a busybox host with the attr package has one.
            const attrPath = shell.name.startsWith("busybox") ? linkDir({ getfattr: "/usr/bin/getfattr" }) : undefined;
            it("an ACL and a user extended attribute are kept through apply and revert", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(spawnSync("setfacl", ["-m", "u:65534:r", file]).status, 0, "setfacl (Debian package acl)");
                assert.equal(spawnSync("setfattr", ["-n", "user.smtp-port-test", "-v", "kept", file]).status, 0, "setfattr (Debian package attr)");
                const attrs = () => spawnSync("getfattr", ["-d", "-m", "-", "--absolute-names", file], { encoding: "utf8" }).stdout;
                const acl = () => spawnSync("getfacl", ["-cp", file], { encoding: "utf8" }).stdout;
                const before = { attrs: attrs(), acl: acl() };
                assert.match(before.acl, /user:nobody:r--/);
                for (const action of [["apply", "--port", "17"], ["revert"]]) {
                    const ino = fs.statSync(file).ino;
                    const r = runScript(shell, [...action, "--file", file, "--state-dir", state], { pathPrefix: attrPath });
                    assert.equal(r.code, 0, r.stderr);
                    if (!shell.name.startsWith("busybox")) {
                        // GNU cp copies them: the file is replaced by a copy that has them, not rewritten in place.
                        assert.doesNotMatch(r.stderr, /in place/, `${action[0]}: renamed over`);
                        assert.notEqual(fs.statSync(file).ino, ino, `${action[0]}: a new file`);
                    }
                    assert.equal(acl(), before.acl, `${action[0]}: the ACL is kept`);
                    assert.equal(attrs(), before.attrs, `${action[0]}: the extended attributes are kept`);
                }
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });
        });

        describe("6: the on-host check probes where the MTA listens, IPv4 and IPv6", () => {
            const FAKE = path.join(FIX, "fake-mta.sh");
            const start = (text: string, address: string) => {
                const s = setup(text);
                const pid = path.join(s.dir, "mta.pid");
                const restart = `sh ${q(FAKE)} ${q(s.file)} ${q(pid)} ${q(address)}`;
                assert.equal(spawnSync("sh", ["-c", restart]).status, 0, "stand-in MTA starts");
                return { ...s, pid, restart };
            };
            const stop = (pid: string) => spawnSync("sh", ["-c", `kill $(cat ${q(pid)}) 2>/dev/null`]);
            /** The stand-in postconf (through `postconfShim`, when given: a shell body that ends by running it). */
            const fakePostconf = (postconfShim = "") => shimDir({ postconf: `${postconfShim}exec /bin/sh ${q(path.join(FIX, "fake-postconf.sh"))} "$@"` });
            /** An apply to PORT with --mta postfix, main.cf holding MAIN_CF and an smtpd listening by name. */
            const postfixApply = (s: ReturnType<typeof start>, mainCf: string, port: number, opts: { pathPrefix: string; prefix?: string[] }) => {
                fs.writeFileSync(path.join(s.dir, "main.cf"), mainCf);
                fs.writeFileSync(path.join(s.dir, "master"), "smtp       inet  n       -       y       -       -       smtpd\n");
                return runScript(shell, ["apply", "--port", String(port), "--file", s.file, "--state-dir", s.state, "--restart", s.restart,
                    "--verify-timeout", "2", "--mta", "postfix", "--host-label", "mx6"],
                    { ...opts, env: { FAKE_MAIN_CF: path.join(s.dir, "main.cf"), FAKE_MASTER: path.join(s.dir, "master") } });
            };

            it("an MTA on ::1 only: verified with --verify-address auto (loopback, both families) and ::1; refused on 127.0.0.1", () => {
                const s = start("smtp 27601/tcp mail\n", "::1");
                try {
                    const args = ["--file", s.file, "--state-dir", s.state, "--restart", s.restart, "--verify-timeout", "2", "--host-label", "mx6"];
                    let r = runScript(shell, ["apply", "--port", "27602", ...args]);
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220 fake ESMTP");
                    r = runScript(shell, ["apply", "--port", "27603", ...args, "--verify-address", "::1"]);
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220 fake ESMTP");
                    r = runScript(shell, ["apply", "--port", "27604", ...args, "--verify-address", "[::1]"]);
                    assert.equal(r.json.verified, "220 fake ESMTP", "a bracketed address");
                    r = runScript(shell, ["apply", "--port", "27605", ...args, "--verify-address", "127.0.0.1"]);
                    assert.equal(r.code, 1);
                    assert.match(r.json.reason, /^mx6: no SMTP greeting on port 27605 after 2s \(127\.0\.0\.1:27605: connection refused\); rolled back in \d+s: .*, but no greeting on 27604 yet \(127\.0\.0\.1:27604: connection refused\)$/, "the rollback probes the same address");
                    assert.equal(r.json.rolled_back, true);
                } finally { stop(s.pid); }
            });

            it("every probed address must greet or refuse: a squatter on 127.0.0.1 while the MTA is on ::1 rolls the host back", () => {
                const s = start("smtp 27631/tcp mail\n", "::1");
                const squat = { file: path.join(s.dir, "squat.services"), pid: path.join(s.dir, "squat.pid") };
                fs.writeFileSync(squat.file, "smtp 27632/tcp\n");
                assert.equal(spawnSync("sh", [FAKE, squat.file, squat.pid, "127.0.0.1", "SSH-2.0-squatter"]).status, 0, "squatter starts");
                try {
                    const r = runScript(shell, ["apply", "--port", "27632", "--file", s.file, "--state-dir", s.state, "--restart", s.restart, "--verify-timeout", "2", "--host-label", "mx6"]);
                    assert.equal(r.code, 1, r.stderr);
                    assert.match(r.json.reason, /^mx6: no SMTP greeting on port 27632 after 2s \(127\.0\.0\.1:27632: wrong banner 'SSH-2\.0-squatter'\); rolled back/);
                    assert.equal(r.json.rolled_back, true);
                    assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27631/tcp mail\n");
                } finally { stop(squat.pid); stop(s.pid); }
            });

            it("a first line that only starts with 220 (2201 not smtp) is not a greeting", () => {
                const s = setup("smtp 27641/tcp mail\n");
                const pid = path.join(s.dir, "mta.pid");
                const restart = `sh ${q(FAKE)} ${q(s.file)} ${q(pid)} 127.0.0.1 '2201 not smtp'`;
                try {
                    const r = runScript(shell, ["apply", "--port", "27642", "--file", s.file, "--state-dir", s.state, "--restart", restart, "--verify-timeout", "2", "--verify-address", "127.0.0.1", "--host-label", "mx6"]);
                    assert.equal(r.code, 1, r.stderr);
                    assert.match(r.json.reason, /^mx6: no SMTP greeting on port 27642 after 2s \(127\.0\.0\.1:27642: wrong banner '2201 not smtp'\); rolled back/);
                } finally { stop(pid); }
            });

            it("a greeting of the reply code alone (220) is a greeting", () => {
                const s = setup("smtp 27643/tcp mail\n");
                const pid = path.join(s.dir, "mta.pid");
                const restart = `sh ${q(FAKE)} ${q(s.file)} ${q(pid)} 127.0.0.1 220`;
                try {
                    const r = runScript(shell, ["apply", "--port", "27644", "--file", s.file, "--state-dir", s.state, "--restart", restart, "--verify-timeout", "2", "--verify-address", "127.0.0.1"]);
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220");
                } finally { stop(pid); }
            });

            it("the old port must be closed on every probed address", () => {
                const s = start("smtp 27611/tcp mail\n", "::1");
                const other = path.join(s.dir, "other.pid");
                stop(s.pid);
                spawnSync("sh", ["-c", `sleep 0.2; socat TCP6-LISTEN:27611,bind=[::1],ipv6only=1,reuseaddr,fork SYSTEM:'echo 220 other' </dev/null >/dev/null 2>&1 & echo $! > ${q(other)}; sleep 0.3`]);
                try {
                    // The stand-in restarts on 27612 and leaves the other greeter on [::1]:27611.
                    const r = runScript(shell, ["apply", "--port", "27612", "--file", s.file, "--state-dir", s.state, "--restart", s.restart, "--verify-timeout", "2", "--host-label", "mx6"]);
                    assert.equal(r.code, 1, r.stderr);
                    assert.match(r.json.reason, /^mx6: the old port 27611 still accepts connections on \[::1\]:27611 \(--require-old-port-closed no if that is intended\); rolled back/);
                } finally { stop(other); stop(s.pid); }
            });

            it("postfix: the addresses come from inet_interfaces and inet_protocols", () => {
                const pathPrefix = fakePostconf();
                for (const [mainCf, address, expect] of [
                    ["inet_interfaces = [::1]\ninet_protocols = ipv6\n", "::1", /^220 fake ESMTP$/],
                    ["inet_interfaces = loopback-only\ninet_protocols = ipv4\n", "::1", /no SMTP greeting on port 27622 after 2s \(127\.0\.0\.1:27622: connection refused\)/],
                    ["inet_interfaces = localhost\ninet_protocols = ipv4\n", "::1", /no SMTP greeting on port 27622 after 2s \(127\.0\.0\.1:27622: connection refused\)/],
                    ["inet_interfaces = 127.0.0.1, [::1]\ninet_protocols = all\n", "::1", /^220 fake ESMTP$/],
                ] as [string, string, RegExp][]) {
                    const s = start("smtp 27621/tcp mail\n", address);
                    try {
                        const r = postfixApply(s, mainCf, 27622, { pathPrefix });
                        assert.match(r.json.status === "failed" ? r.json.reason : r.json.verified, expect, `${mainCf}: ${r.stderr}`);
                    } finally { stop(s.pid); }
                }
            });
            it("postfix: only the addresses it listens on are probed (another program on ::1 does not count when inet_interfaces is 127.0.0.1)", () => {
                const s = start("smtp 27623/tcp mail\n", "127.0.0.1");
                const squat = { file: path.join(s.dir, "squat.services"), pid: path.join(s.dir, "squat.pid") };
                fs.writeFileSync(squat.file, "smtp 27624/tcp\n");
                assert.equal(spawnSync("sh", [FAKE, squat.file, squat.pid, "::1", "SSH-2.0-squatter"]).status, 0, "squatter starts");
                try {
                    const r = postfixApply(s, "inet_interfaces = 127.0.0.1\ninet_protocols = all\n", 27624, { pathPrefix: fakePostconf() });
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220 fake ESMTP");
                } finally { stop(squat.pid); stop(s.pid); }
            });
            it("postfix: settings that cannot be read once changed (postconf fails then): the check probes the loopback pair, and the apply completes", () => {
                // The read before the change works (the preflight needs it); the
                // one after fails, as when main.cf became unreadable meanwhile.
                const pathPrefix = fakePostconf(`case "$*" in "mail_version known_tcp_ports smtp_tcp_port inet_interfaces inet_protocols")
    ! grep -q '^smtp_tcp_port = 25' "$FAKE_MAIN_CF" || { echo "postconf: fatal: open main.cf: Permission denied" >&2; exit 1; } ;;
esac
`);
                const s = start("smtp 27627/tcp mail\n", "127.0.0.1");
                try {
                    const r = postfixApply(s, "inet_interfaces = [::1]\ninet_protocols = ipv6\n", 27628, { pathPrefix });
                    assert.equal(r.code, 0, r.stderr);
                    // main.cf says [::1], where nothing listens: 127.0.0.1 was probed.
                    assert.equal(r.json.verified, "220 fake ESMTP");
                    assert.equal(fs.readFileSync(s.file, "utf8"), "#smtp 27627/tcp mail\nsmtp 27628/tcp mail\n");
                } finally { stop(s.pid); }
            });
            it("postfix: an inet_interfaces host name is probed by that name, and only it (not the loopback pair)", () => {
                // The name is in a private /etc/hosts (a mount namespace), so
                // resolving it never asks DNS. The MTA listens on ::1, which the
                // name is not: Postfix would not listen there either.
                const s = start("smtp 27625/tcp mail\n", "::1");
                const hosts = path.join(s.dir, "hosts");
                fs.writeFileSync(hosts, "127.0.0.1 localhost\n127.0.0.1 mx-test.example\n");
                try {
                    const r = postfixApply(s, "inet_interfaces = mx-test.example\ninet_protocols = all\n", 27626,
                        { pathPrefix: fakePostconf(), prefix: ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hosts] });
                    assert.equal(r.code, 1, r.stderr);
                    assert.match(r.json.reason, /^mx6: no SMTP greeting on port 27626 after 2s \(mx-test\.example:27626: connection refused\)/);
                } finally { stop(s.pid); }
            });
        });

        describe("7: a file smtp-port moved is never taken for the user's own", () => {
            it("revert without the state (lost, or another --state-dir) fails for the host and says what to do; the file stays", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                const moved = fs.readFileSync(file, "utf8");
                const marker = path.join(dir, ".services.smtp-port-orig");
                assert.equal(fs.readFileSync(marker, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n", "the copy beside the file");
                const expected = `smtp-port: error: mx7: ${file} was changed by smtp-port (${marker} is the file as it was before), but ${path.join(dir, "elsewhere")} has no state for it (state folder lost, or --state-dir changed since the apply?); run revert with the --state-dir of the apply, or put the file back by hand (cp ${marker} ${file}) and remove ${marker}\n`;
                const r = runScript(shell, ["revert", "--file", file, "--state-dir", path.join(dir, "elsewhere"), "--host-label", "mx7"]);
                assert.equal(r.code, 1);
                assert.equal(r.stderr, expected);
                assert.equal(r.json.status, "failed");
                assert.equal(fs.readFileSync(file, "utf8"), moved);
                fs.rmSync(state, { recursive: true });
                const lost = runScript(shell, ["revert", "--file", file, "--state-dir", state, "--host-label", "mx7"]);
                assert.equal(lost.code, 1);
                assert.equal(lost.stderr, expected.replace(path.join(dir, "elsewhere"), state));
            });

            it("apply without the state does not back up the moved file as the original", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                fs.rmSync(state, { recursive: true });
                const r = runScript(shell, ["apply", "--port", "2525", "--file", file, "--state-dir", state, "--host-label", "mx7"]);
                assert.equal(r.code, 1);
                assert.match(r.stderr, /^smtp-port: error: mx7: .* was changed by smtp-port .*; run apply with the --state-dir of the apply, or put the file back by hand \(cp .*\) and remove .*\n$/);
                assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                // Done by hand as the message says: the next apply starts from the real original.
                fs.copyFileSync(path.join(dir, ".services.smtp-port-orig"), file);
                fs.rmSync(path.join(dir, ".services.smtp-port-orig"));
                assert.equal(runScript(shell, ["apply", "--port", "2525", "--file", file, "--state-dir", state]).code, 0);
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).code, 0);
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.ok(!fs.existsSync(path.join(dir, ".services.smtp-port-orig")), "the copy goes with the state");
            });

            it("a copy beside the file that was removed is made again by the next run, whole, with no temporary file left", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const marker = path.join(dir, ".services.smtp-port-orig");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                fs.rmSync(marker);
                const again = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(again.code, 0, again.stderr);
                assert.equal(again.json.changed, false);
                assert.equal(fs.readFileSync(marker, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(fs.statSync(marker).mode & 0o777, 0o600);
                assert.deepEqual(fs.readdirSync(dir).filter(f => f.endsWith(".tmp")), []);
            });

            it("a copy beside the file that cannot be made again (its write fails) is not put in place half made; the run says so and goes on", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const marker = path.join(dir, ".services.smtp-port-orig");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                fs.rmSync(marker);
                // The copy's write fails (a full disk): cat stops after creating its temporary file.
                const full = shimDir({ cat: `if [ "$(readlink /proc/$$/fd/1)" = ${JSON.stringify(marker + ".tmp")} ]; then echo "cat: write error: No space left on device" >&2; exit 1; fi\nexec cat "$@"` });
                const again = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: full });
                assert.equal(again.code, 0, again.stderr);
                assert.equal(again.stderr, `smtp-port: could not keep a copy of the original beside ${file} (${marker}); a lost state folder will not be noticed\n`);
                assert.ok(!fs.existsSync(marker), "no half-made copy in its place");
                assert.deepEqual(fs.readdirSync(dir).filter(f => f.endsWith(".tmp")), []);
            });

            it("a copy beside the file that cannot be put in place, whose temporary file cannot be removed either: the run says so and goes on", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const marker = path.join(dir, ".services.smtp-port-orig");
                // As a directory whose files cannot be renamed or removed any more would answer (an immutable or read-only mount made meanwhile).
                const stuck = shimDir({
                    mv: `case "$*" in *.smtp-port-orig) echo "mv: cannot move: Operation not permitted" >&2; exit 1 ;; esac\nexec mv "$@"`,
                    rm: `case "$*" in *.smtp-port-orig.tmp) echo "rm: cannot remove: Operation not permitted" >&2; exit 1 ;; esac\nexec rm "$@"`,
                });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: stuck });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.changed, true);
                assert.equal(r.stderr, `smtp-port: could not keep a copy of the original beside ${file} (${marker}); a lost state folder will not be noticed\n`);
                assert.ok(!fs.existsSync(marker), "no copy in its place");
                assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            });

            it("a file smtp-port never touched: revert without state succeeds (unchanged); a stale copy equal to the file is dropped", () => {
                const { dir, file, state } = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["revert", "--file", file, "--state-dir", state]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.status, "unchanged");
                assert.equal(r.json.mode, "none");
                fs.writeFileSync(path.join(dir, ".services.smtp-port-orig"), "smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).json.status, "reverted");
                assert.equal(fs.readFileSync(file, "utf8"), "smtp 25/tcp mail\n");
            });
        });

        describe("8: a stale lock is taken over by exactly one run", () => {
            // 30 rounds under dash (as the audit ran it), 10 under the others: CI time.
            const rounds = shell.name === "dash" ? 30 : 10;
            it(`three runs at once against a dead owner's lock, ${rounds} times: never two holders, every run succeeds`, async () => {
                for (let round = 0; round < rounds; round++) {
                    const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                    fs.mkdirSync(state, { mode: 0o700 });
                    // The dead owner's lock as this version writes it (a link to its PID), and every
                    // other round as the first versions did (a folder with a pid file).
                    const lock = path.join(state, `${key(file)}.lock`);
                    if (round % 2 === 0) fs.symlinkSync("999999", lock);
                    else { fs.mkdirSync(lock); fs.writeFileSync(path.join(lock, "pid"), "999999\n"); }
                    const held = path.join(dir, "held");
                    const overlaps = path.join(dir, "overlaps");
                    // Runs only while holding the lock (every run changes the file): a second holder finds "held".
                    const restart = `mkdir ${q(held)} 2>/dev/null || echo overlap >> ${q(overlaps)}; sleep 0.05; rmdir ${q(held)} 2>/dev/null; true`;
                    const run = (port: string) => new Promise<{ code: number; stderr: string; stdout: string }>(res => {
                        const p = spawn(shell.argv[0], [...shell.argv.slice(1), SCRIPT, "apply", "--port", port, "--file", file, "--state-dir", state,
                            "--mta", "none", "--restart", restart, "--verify", "no"], { env: { PATH: shell.path, LC_ALL: "C" } });
                        let stderr = "", stdout = "";
                        p.stderr.on("data", d => stderr += d);
                        p.stdout.on("data", d => stdout += d);
                        p.on("exit", code => res({ code: code ?? -1, stderr, stdout }));
                    });
                    const results = await Promise.all([run("17"), run("2525"), run("3535")]);
                    for (const r of results) assert.equal(r.code, 0, `round ${round}: ${r.stderr}`);
                    assert.ok(!fs.existsSync(overlaps), `round ${round}: two runs held the lock at once`);
                    assert.equal(results.filter(r => /removing stale lock of process 999999/.test(r.stderr)).length, 1, `round ${round}: broken once`);
                    assert.ok([17, 2525, 3535].includes(resolvedPort(file)!));
                }
            });
        });

        describe("9: the in-place path only where a rename cannot be done; an interrupted write shows", () => {
            it("a temporary copy that cannot be written (ENOSPC) fails the run; the file is not rewritten in place", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const full = shimDir({ cat: `case "$(readlink /proc/$$/fd/1)" in *.smtp-port.[0-9]*) echo "cat: write error: No space left on device" >&2; exit 1 ;; esac\nexec cat "$@"` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state, "--host-label", "mx9"], { pathPrefix: full });
                assert.equal(r.code, 1);
                assert.ok(r.stderr.endsWith(`smtp-port: error: could not write ${file}: could not write a copy beside it (${path.dirname(file)}: full, read-only or not writable); it was left as it was\n`), r.stderr);
                assert.ok(!r.stderr.includes("in place"));
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.deepEqual(fs.readdirSync(path.dirname(file)).filter(f => f.includes(".smtp-port.")), [], "no copy left beside it");
            });

            it("a temporary copy that cannot be flushed (sync fails) fails the run; nothing is renamed over the file", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // Only the copy (and flush's fallback, a sync of everything) fail: the journal's flushes succeed.
                const failing = shimDir({ sync: `case "\${1-}" in *.smtp-port.[0-9]* | "") echo "sync: error syncing: Input/output error" >&2; exit 1 ;; esac\nexec sync "$@"` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: failing });
                assert.equal(r.code, 1);
                assert.ok(r.stderr.endsWith(`smtp-port: error: could not write ${file}: could not write a copy beside it (${path.dirname(file)}: full, read-only or not writable); it was left as it was\n`), r.stderr);
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.deepEqual(fs.readdirSync(path.dirname(file)).filter(f => f.includes(".smtp-port.")), [], "no copy left beside it");
            });

            describe("in place (a hard link), a rewrite that cannot be flushed", () => {
                const original = "qotd 17/tcp quote\nsmtp 25/tcp mail\n";
                const linked = () => {
                    const s = setup(original);
                    fs.linkSync(s.file, path.join(s.dir, "services.link"));
                    return s;
                };
                /** sync fails for the services file: once (a passing error: that flush, and its fallback, a sync of everything) or always. */
                const failingSync = (file: string, once: boolean) => {
                    const n = q(file + ".failed");
                    const failOnce = `if [ ! -e ${n}2 ]; then if [ -e ${n} ]; then : > ${n}2; else : > ${n}; fi; exit 1; fi`;
                    return shimDir({ sync: `case "\${1-}" in ${q(file)} | "") ${once ? failOnce : "exit 1"} ;; esac\nexec sync "$@"` });
                };

                it("fails the run and puts the file back as it was (not kept as a finished write)", () => {
                    const { file, state } = linked();
                    const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: failingSync(file, true) });
                    assert.equal(r.code, 1);
                    assert.ok(r.stderr.includes(`smtp-port: putting ${file} back as it was\n`), r.stderr);
                    assert.ok(r.stderr.endsWith(`smtp-port: error: could not write ${file}: the rewrite in place failed; it was left as it was\n`), r.stderr);
                    assert.equal(fs.readFileSync(file, "utf8"), original);
                    assert.ok(!fs.existsSync(path.join(state, key(file), "txn")), "no journal left");
                    const again = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                    assert.equal(again.code, 0, again.stderr);
                    assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                });

                it("when putting it back cannot be flushed either: says so, keeps the journal, and the next run finishes", () => {
                    const { file, state } = linked();
                    const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: failingSync(file, false) });
                    assert.equal(r.code, 1);
                    const txn = path.join(state, key(file), "txn");
                    assert.ok(r.stderr.endsWith(`smtp-port: error: could not write ${file}: the rewrite in place failed; putting it back failed too (the rewrite in place failed): the next run completes or undoes the change (journal: ${txn})\n`), r.stderr);
                    assert.ok(fs.existsSync(path.join(txn, "ready")), "the journal is kept");
                    const again = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                    assert.equal(again.code, 0, again.stderr);
                    assert.equal(fs.readFileSync(file, "utf8"), "#qotd 17/tcp quote\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                });
            });

            it("a rename refused for another reason than EBUSY fails the run; the file is not rewritten in place", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const denied = shimDir({ mv: `for last in "$@"; do :; done\n[ "$last" != ${q(file)} ] || { echo "mv: cannot move: Permission denied" >&2; exit 1; }\nexec mv "$@"` });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: denied });
                assert.equal(r.code, 1);
                assert.ok(r.stderr.endsWith(`smtp-port: error: could not write ${file}: could not rename the new copy over it: mv: cannot move: Permission denied; it was left as it was\n`), r.stderr);
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });

            it("status reports an interrupted in-place write until the next run repairs it", () => {
                const original = "qotd 17/tcp quote\nsmtp 25/tcp mail\n".repeat(20);
                const { dir, file, state } = setup(original);
                const target = path.join(dir, "etc-services");
                fs.writeFileSync(target, "");
                const torn = shimDir({ cat: `if [ "$(readlink /proc/$$/fd/1)" = ${q(target)} ]; then head -c 100 "$1"; kill -9 "$PPID"; exit 1; fi\nexec cat "$@"` });
                const inNs = (pathPrefix: string, ...args: string[]) => spawnSync("unshare", ["-m", "sh", "-c",
                    `mount --bind ${q(file)} ${q(target)} && PATH=${q(pathPrefix + shell.path)} exec ${[...shell.argv, SCRIPT, ...args].map(q).join(" ")}`],
                    { encoding: "utf8" });
                assert.notEqual(inNs(`${torn}:`, "apply", "--port", "17", "--file", target, "--state-dir", state, "--mta", "none").status, 0);
                const st = resultOf(inNs("", "status", "--file", target, "--state-dir", state).stdout);
                assert.equal(st.interrupted, true);
                const next = inNs("", "apply", "--port", "17", "--file", target, "--state-dir", state, "--mta", "none");
                assert.equal(next.status, 0, next.stderr);
                assert.equal(resultOf(inNs("", "status", "--file", target, "--state-dir", state).stdout).interrupted, false);
            });
        });

        describe("10: the backup is checked before it is used", () => {
            for (const [how, damage] of [["emptied", ""], ["edited", "smtp 25/tcp mail\nevil 1/tcp\n"]]) {
                it(`a backup ${how} since the apply is refused, clearly; nothing changes`, () => {
                    const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                    assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                    const orig = path.join(state, key(file), "orig");
                    fs.writeFileSync(orig, damage);
                    const moved = fs.readFileSync(file, "utf8");
                    for (const action of [["revert"], ["apply", "--port", "2525"], ["preview", "--port", "2525"]]) {
                        const r = runScript(shell, [...action, "--file", file, "--state-dir", state]);
                        assert.equal(r.code, 1, action[0]);
                        assert.equal(r.stderr, `smtp-port: error: the backup of ${file} (${orig}) does not match the checksum smtp-port stored with it (emptied or edited since); refusing to use it: put ${file} back by hand, then remove ${path.join(state, key(file))}\n`);
                        assert.equal(fs.readFileSync(file, "utf8"), moved);
                    }
                });
            }
        });

        describe("10b: the copy of what smtp-port wrote is checked before it is used", () => {
            it("a record of a line that is neither the user's, commented nor added stops the run, naming it; nothing changes", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]).code, 0);
                const mine = path.join(state, key(file));
                const managed = path.join(mine, "managed");
                fs.writeFileSync(managed, fs.readFileSync(managed, "utf8").replace(/^I\t/m, "X\t"));
                const edited = fs.readFileSync(file, "utf8") + "foo 9/tcp\n";
                fs.writeFileSync(file, edited);
                for (const action of [["apply", "--port", "2525"], ["revert"]]) {
                    const r = runScript(shell, [...action, "--file", file, "--state-dir", state]);
                    assert.equal(r.code, 1, action[0]);
                    assert.ok(r.stderr.endsWith(`smtp-port: error: smtp-port's copy of what it wrote to ${file} (${managed}) is damaged (awk exit 6); nothing was written. If ${file} is as it should be, remove ${mine} to make it the base\n`), r.stderr);
                    assert.equal(fs.readFileSync(file, "utf8"), edited);
                }
            });
            it("an awk that dies while computing the new file (not one of the plan's own exits) stops the run, naming its exit; nothing changes", () => {
                const { file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                // "keeper = 0" is in the planning program only; exit 2 is what
                // mawk and gawk give for a fatal error.
                const dying = shimDir({ awk: 'case "$*" in *"keeper = 0"*) exit 2 ;; esac\nexec awk "$@"' });
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state], { pathPrefix: dying });
                assert.equal(r.code, 1);
                assert.ok(r.stderr.endsWith(`smtp-port: error: could not compute the new ${file} (awk exit 2)\n`), r.stderr);
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });
        });

        describe("11: one state per file", () => {
            it("/x/a/services and /x/a_services are managed apart", () => {
                const dir = tempDir();
                fs.mkdirSync(path.join(dir, "a"));
                const one = path.join(dir, "a", "services");
                const two = path.join(dir, "a_services");
                fs.writeFileSync(one, "smtp 25/tcp mail\n");
                fs.writeFileSync(two, "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const state = path.join(dir, "state");
                assert.equal(runScript(shell, ["apply", "--port", "17", "--file", one, "--state-dir", state]).code, 0);
                const r = runScript(shell, ["apply", "--port", "2525", "--file", two, "--state-dir", state]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.backup, path.join(state, `${key(dir)}_a=5fservices`, "orig"));
                assert.equal(runScript(shell, ["revert", "--file", one, "--state-dir", state]).code, 0);
                assert.equal(runScript(shell, ["revert", "--file", two, "--state-dir", state]).code, 0);
                assert.equal(fs.readFileSync(one, "utf8"), "smtp 25/tcp mail\n");
                assert.equal(fs.readFileSync(two, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });
        });

        describe("12: a backslash in the state folder's path", () => {
            it("apply, preview and revert work (paths reach awk without escape processing)", () => {
                const { dir, file } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                const state = path.join(dir, "st\\nate\\\\x");
                const a = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(a.code, 0, a.stderr);
                assert.equal(a.json.backup, path.join(state, key(file), "orig"));
                assert.equal(runScript(shell, ["preview", "--port", "17", "--file", file, "--state-dir", state]).json.status, "no_change");
                assert.equal(runScript(shell, ["revert", "--file", file, "--state-dir", state]).json.status, "reverted");
                assert.equal(fs.readFileSync(file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });
        });

        describe("13: what a killed run left is cleaned by the next run", () => {
            it("copies beside the file, a dead run's lock and work folder go; a live run's copy stays", () => {
                const { dir, file, state } = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                fs.mkdirSync(state, { mode: 0o700 });
                const dead = path.join(dir, ".services.smtp-port.999999");
                const live = path.join(dir, `.services.smtp-port.${process.pid}`);
                fs.writeFileSync(dead, "half");
                fs.writeFileSync(live, "in use");
                fs.mkdirSync(path.join(state, `${key(file)}.lock`));
                fs.writeFileSync(path.join(state, `${key(file)}.lock`, "pid"), "999998\n");
                const work = path.join(state, `${key(file)}.work.AbC123`);
                fs.mkdirSync(work);
                const r = runScript(shell, ["apply", "--port", "17", "--file", file, "--state-dir", state]);
                assert.equal(r.code, 0, r.stderr);
                assert.match(r.stderr, /removing stale lock of process 999998/);
                assert.ok(r.stderr.includes(`removing ${dead}, left by an interrupted run`));
                assert.ok(r.stderr.includes(`removing ${work}, left by an interrupted run`));
                assert.ok(!fs.existsSync(dead) && !fs.existsSync(work));
                assert.ok(fs.existsSync(live), "a running process's copy is not touched");
                assert.deepEqual(fs.readdirSync(state).sort(), [key(file), `${key(file)}.change`].sort());
            });
        });
    });
}

describe("host script files on this machine", () => {
    it("the attr and acl tools the hardening tests use are installed (lab/lab.sh install)", () => {
        for (const tool of ["setfattr", "getfattr", "setfacl", "getfacl", "gawk", "mawk"]) {
            assert.equal(spawnSync("sh", ["-c", `command -v ${tool}`]).status, 0, `${tool} is missing: run sh lab/lab.sh install`);
        }
    });
});

export type { Shell };
